"""Label-preserving augmentation of image batches (N, C, H, W), seeded per sample.

Twins: ``torchvision.transforms.RandomHorizontalFlip(p=0.5)`` and ``RandomCrop(size,
padding=None, fill=0, padding_mode='constant')``, applied independently to every image of a
batch (torchvision transforms one image per call).

- Flip: image n is mirrored along W (``x[n, :, :, ::-1]``) when u_n < p, u_n ~ U[0, 1).
- Crop: pad H and W by ``padding`` on each side, then take the (h, w) window whose top-left
  corner (i_n, j_n) is uniform over the H + 2*pad - h + 1 by W + 2*pad - w + 1 positions.

Both keep the batch order and size, so the labels of the batch still apply. The randomness
comes from the ``generator`` (a ``numpy.random.Generator`` or a seed): same seed, same batch.
"""

from __future__ import annotations

import numpy as np

from scratch.data.loader import as_generator

__all__ = ["RandomHorizontalFlip", "RandomCrop", "Compose", "hflip", "crop", "pad"]

_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _check_images(x, name: str = "images") -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray of shape (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D batch (N, C, H, W), got shape {x.shape}")
    return x


def hflip(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pure kernel: a copy of x (N, C, H, W) with the images where ``mask`` is True mirrored along W."""
    out = x.copy()
    out[mask] = x[mask][..., ::-1]
    return out


def pad(x: np.ndarray, padding: int, fill=0, padding_mode: str = "constant") -> np.ndarray:
    """Pad H and W by ``padding`` on both sides (N and C untouched)."""
    widths = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    if padding_mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=fill)
    return np.pad(x, widths, mode=padding_mode)


def crop(x: np.ndarray, tops: np.ndarray, lefts: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pure kernel: image n's (h, w) window starting at (tops[n], lefts[n])."""
    h, w = size
    rows = tops[:, None] + np.arange(h)                      # (N, h)
    cols = lefts[:, None] + np.arange(w)                     # (N, w)
    n = np.arange(x.shape[0])[:, None, None]
    # advanced indices around a slice put the broadcast dims first: (N, h, w, C)
    return np.moveaxis(x[n, :, rows[:, :, None], cols[:, None, :]], -1, 1)


class RandomHorizontalFlip:
    """Mirror each image along W with probability ``p``."""

    def __init__(self, p: float = 0.5, generator=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip p: expected a probability in [0, 1], got {p}")
        self.p, self.generator = float(p), as_generator(generator)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _check_images(x)
        mask = self.generator.random(x.shape[0]) < self.p
        return hflip(x, mask)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop:
    """Pad by ``padding`` then crop a random ``size`` window from each image."""

    def __init__(self, size, padding: int | None = None, fill=0, padding_mode: str = "constant", generator=None):
        size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(size) != 2 or any(int(s) != s or s < 1 for s in size):
            raise ValueError(f"RandomCrop size: expected a positive int or (h, w), got {size!r}")
        if padding is not None and (int(padding) != padding or padding < 0):
            raise ValueError(f"RandomCrop padding: expected a non-negative int or None, got {padding!r}")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"RandomCrop padding_mode: expected one of {_PAD_MODES}, got {padding_mode!r}")
        self.size = tuple(int(s) for s in size)
        self.padding, self.fill, self.padding_mode = int(padding or 0), fill, padding_mode
        self.generator = as_generator(generator)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _check_images(x)
        H, W = x.shape[2] + 2 * self.padding, x.shape[3] + 2 * self.padding
        h, w = self.size
        if h > H or w > W:
            raise ValueError(f"RandomCrop: expected crop size {self.size} to fit the padded image "
                             f"({H}, {W}) of input shape {x.shape}")
        xp = pad(x, self.padding, self.fill, self.padding_mode) if self.padding else x
        tops = self.generator.integers(0, H - h + 1, size=x.shape[0])
        lefts = self.generator.integers(0, W - w + 1, size=x.shape[0])
        return crop(xp, tops, lefts, self.size)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class Compose:
    """Apply transforms in order (torchvision's ``Compose``)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x
