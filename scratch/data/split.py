"""Seeded train/test and train/validation/test splits, optionally stratified.

Twin: ``sklearn.model_selection.train_test_split`` (sizes as there: a float fraction gives
``ceil(fraction * n)`` samples to the held-out part, an int is a count). Stratified splits
give every class ``c`` with ``n_c`` samples a share of each part proportional to ``n_c``:
``floor(n_c * k / n)`` plus one for the classes with the largest remainders, so the part
sizes are exact and each class's share is within one sample of proportional.
"""

from __future__ import annotations

import math

import numpy as np

from scratch.data.loader import as_generator

__all__ = ["train_test_split", "train_val_test_split", "split_indices"]


def _count(size, n: int, name: str) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a float in (0, 1) or an int count, got {type(size).__name__}")
    if isinstance(size, (float, np.floating)):
        if not 0.0 < size < 1.0:
            raise ValueError(f"{name}: expected a fraction in (0, 1), got {size}")
        return math.ceil(size * n)
    if not 0 <= size <= n:
        raise ValueError(f"{name}: expected a count in [0, {n}], got {size}")
    return int(size)


def _allocate(counts: np.ndarray, k: int) -> np.ndarray:
    """Largest-remainder apportionment of ``k`` items over groups of sizes ``counts``
    (never more than a group holds; ties go to the earlier group)."""
    total = counts.sum()
    if k == 0 or total == 0:
        return np.zeros_like(counts)
    exact = counts * k / total
    share = np.floor(exact).astype(np.int64)
    extra = k - share.sum()
    order = np.argsort(-(exact - share), kind="stable")
    share[order[:extra]] += 1
    return share


def split_indices(n: int, sizes: list[int], stratify=None, generator=None) -> list[np.ndarray]:
    """Pure kernel: disjoint index arrays with ``sizes[j]`` elements each for the held-out
    parts, followed by the rest (the training part), all drawn from one permutation."""
    rng = as_generator(generator)
    if sum(sizes) >= n:
        raise ValueError(f"split: held-out sizes {sizes} leave no training samples out of {n}")
    if stratify is None:
        perm = rng.permutation(n)
        bounds = np.cumsum([0, *sizes])
        return [perm[a:b] for a, b in zip(bounds[:-1], bounds[1:])] + [perm[bounds[-1]:]]
    labels = np.asarray(stratify)
    if labels.shape != (n,):
        raise ValueError(f"stratify: expected labels of shape ({n},), got {labels.shape}")
    classes, inverse = np.unique(labels, return_inverse=True)
    pools = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
    remaining = np.array([len(p) for p in pools])
    taken = np.zeros_like(remaining)
    parts = []
    for k in sizes:
        share = _allocate(remaining, k)
        parts.append(np.concatenate([p[t:t + s] for p, t, s in zip(pools, taken, share)]))
        taken, remaining = taken + share, remaining - share
    parts.append(np.concatenate([p[t:] for p, t in zip(pools, taken)]))
    # shuffle within each part so classes are not in blocks (same generator: still deterministic)
    return [rng.permutation(part) for part in parts]


def _check_arrays(arrays) -> int:
    if not arrays:
        raise ValueError("split: expected at least one array")
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray) or a.ndim == 0:
            raise TypeError(f"split: array {i} expected a numpy.ndarray with at least 1 dim, got {type(a).__name__}")
    sizes = [a.shape[0] for a in arrays]
    if len(set(sizes)) != 1:
        raise ValueError(f"split: expected arrays with the same first dimension, got sizes {sizes}")
    return sizes[0]


def train_test_split(*arrays, test_size=0.25, stratify=None, generator=None):
    """``[a_train, a_test for a in arrays]`` (sklearn's output order)."""
    n = _check_arrays(arrays)
    test, train = split_indices(n, [_count(test_size, n, "test_size")], stratify, generator)
    return [part for a in arrays for part in (a[train], a[test])]


def train_val_test_split(*arrays, val_size=0.15, test_size=0.15, stratify=None, generator=None):
    """``[a_train, a_val, a_test for a in arrays]``; the test part is drawn first, then validation."""
    n = _check_arrays(arrays)
    sizes = [_count(test_size, n, "test_size"), _count(val_size, n, "val_size")]
    test, val, train = split_indices(n, sizes, stratify, generator)
    return [part for a in arrays for part in (a[train], a[val], a[test])]
