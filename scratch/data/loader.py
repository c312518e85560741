"""Mini-batches over in-memory arrays: ``TensorDataset``, ``DataLoader`` and ``ReplayLoader``.

Twin: ``torch.utils.data.TensorDataset`` / ``DataLoader(dataset, batch_size=1, shuffle=False,
drop_last=False, generator=None)``. One pass over a loader is one epoch: with ``shuffle=True``
each epoch draws a fresh permutation ``generator.permutation(n)`` and cuts it into batches of
``batch_size`` (the last one shorter unless ``drop_last``). Each batch is the tuple
``(a[idx] for a in dataset.arrays)``, so a loader over ``(X, y)`` yields ``(xb, yb)``.

Determinism: the order depends only on the generator's seed. Every epoch's batch indices are
kept in ``loader.order`` (a list of epochs, each a list of index arrays); ``ReplayLoader``
consumes such an order, so a second model (the torch side of a side-by-side run) sees exactly
the same batches in the same order.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TensorDataset", "DataLoader", "ReplayLoader", "batch_indices", "as_generator"]


def as_generator(generator, name: str = "generator") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, an int seed or None (fresh entropy, like torch)."""
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is None or (isinstance(generator, (int, np.integer)) and not isinstance(generator, bool)):
        return np.random.default_rng(generator)
    raise TypeError(f"{name}: expected a numpy.random.Generator, an int seed or None, "
                    f"got {type(generator).__name__}")


def batch_indices(n: int, batch_size: int, shuffle: bool, drop_last: bool,
                  rng: np.random.Generator | None) -> list[np.ndarray]:
    """Pure kernel: one epoch's batches as index arrays (a permutation drawn from ``rng`` when
    shuffling, else 0..n-1), cut into consecutive chunks of ``batch_size``."""
    perm = rng.permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return [perm[i:i + batch_size] for i in range(0, stop, batch_size)]


class TensorDataset:
    """Arrays that share their first dimension; item ``i`` is ``tuple(a[i] for a in arrays)``."""

    def __init__(self, *arrays: np.ndarray):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array, got none")
        for i, a in enumerate(arrays):
            if not isinstance(a, np.ndarray) or a.ndim == 0:
                got = type(a).__name__ if not isinstance(a, np.ndarray) else "a 0-d array"
                raise TypeError(f"TensorDataset: array {i} expected a numpy.ndarray with at least 1 dim, got {got}")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: expected arrays with the same first dimension, got sizes {sizes}")
        self.arrays = tuple(arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, idx):
        return tuple(a[idx] for a in self.arrays)


def _as_dataset(data) -> TensorDataset:
    if isinstance(data, TensorDataset):
        return data
    if isinstance(data, np.ndarray):
        return TensorDataset(data)
    if isinstance(data, (tuple, list)):
        return TensorDataset(*data)
    raise TypeError(f"dataset: expected a TensorDataset, an ndarray or a tuple of ndarrays, got {type(data).__name__}")


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    return int(batch_size)


class _Batches:
    """Shared iteration: yields ``dataset[idx]`` for each index array, transformed if asked."""

    def _emit(self, epoch: list[np.ndarray]):
        for idx in epoch:
            batch = self.dataset[idx]
            if self.transform is not None:  # augmentation touches the inputs only: labels keep their order
                batch = (self.transform(batch[0]),) + batch[1:]
            yield batch if len(batch) > 1 else batch[0]


class DataLoader(_Batches):
    """Mini-batches of a ``TensorDataset`` (or an array, or a tuple of arrays), one epoch per pass.

    ``transform``: optional callable applied to each batch's first array (the inputs), such as
    ``scratch.data.RandomCrop``; it sees the batch after indexing, labels are never touched.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 generator=None, transform=None):
        self.dataset = _as_dataset(dataset)
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        # validated even when unused, so a wrong argument never passes silently
        self.generator = as_generator(generator) if shuffle or generator is not None else None
        if transform is not None and not callable(transform):
            raise TypeError(f"transform: expected a callable or None, got {type(transform).__name__}")
        self.transform = transform
        self.order: list[list[np.ndarray]] = []  # every epoch's batch indices, in the order served

    def __len__(self) -> int:
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def next_epoch_indices(self) -> list[np.ndarray]:
        """Draw the next epoch's batches (advancing the generator) and record them in ``order``."""
        epoch = batch_indices(len(self.dataset), self.batch_size, self.shuffle, self.drop_last, self.generator)
        self.order.append([idx.copy() for idx in epoch])
        return epoch

    def __iter__(self):
        return self._emit(self.next_epoch_indices())

    def export_order(self) -> list[list[np.ndarray]]:
        """A copy of the batch order served so far (for ``ReplayLoader``)."""
        return [[idx.copy() for idx in epoch] for epoch in self.order]


class ReplayLoader(_Batches):
    """Serves a recorded batch order: pass ``k`` yields the batches of ``order[k]``.

    ``order`` is ``DataLoader.export_order()`` (a list of epochs, each a list of index arrays).
    Iterating past the recorded epochs is an error, not a silent wrap-around.
    """

    def __init__(self, dataset, order, transform=None):
        self.dataset = _as_dataset(dataset)
        n = len(self.dataset)
        checked = []
        for e, epoch in enumerate(order):
            idxs = [np.asarray(i) for i in epoch]
            for idx in idxs:
                if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer) or (idx.size and (idx.min() < 0 or idx.max() >= n)):
                    raise ValueError(f"ReplayLoader: epoch {e} expected 1-D integer index arrays in [0, {n}), "
                                     f"got {idx.dtype} of shape {idx.shape}")
            checked.append([i.copy() for i in idxs])
        self.order, self.transform, self.epoch = checked, transform, 0

    def __len__(self) -> int:
        return len(self.order[min(self.epoch, len(self.order) - 1)]) if self.order else 0

    def __iter__(self):
        if self.epoch >= len(self.order):
            raise RuntimeError(f"ReplayLoader: all {len(self.order)} recorded epochs were served; "
                               f"record more epochs with the DataLoader")
        epoch, self.epoch = self.order[self.epoch], self.epoch + 1
        return self._emit(epoch)
