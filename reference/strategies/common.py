"""Building blocks: seeds, sizes, and float arrays that deliberately reach edges.

Arrays are a seeded Gaussian bulk (realistic, well conditioned, cheap to draw) times
a drawn magnitude (1, 1e-3, 1e2, 1e4: tiny gradients and huge logits), with up to
a few elements overwritten by edge values (exact kinks such as 0, ties). Shrinking
goes towards seed 0, magnitude 1 and no overrides, so a minimal failing case is small.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

__all__ = ["seeds", "magnitudes", "feature_sizes", "batch_sizes", "float_arrays", "MAGNITUDES", "OFFSETS"]

MAGNITUDES = (1.0, 1e-3, 1e2, 1e4)


def seeds():
    return st.integers(0, 2**32 - 1)


def magnitudes(values=MAGNITUDES):
    return st.sampled_from(values)


def feature_sizes(lo=1, hi=64):
    """Feature counts, shrinking to small ones; the bounds themselves are drawn on purpose."""
    return st.one_of(st.integers(lo, min(hi, 8)), st.sampled_from([lo, hi]), st.integers(lo, hi))


def batch_sizes(lo=1, hi=8):
    return st.integers(lo, hi)


OFFSETS = (0.0, 10.0, 100.0)


@st.composite
def float_arrays(draw, shape, edges=(0.0,), magnitude=None, max_overrides=8, offsets=(0.0,)):
    """A float64 array of ``shape``: (Gaussian + offset) * magnitude, with up to
    ``max_overrides`` elements set to values drawn from ``edges``. An offset (mean
    much larger than spread, like activations after a ReLU) exposes unstable
    variance and softmax formulas."""
    shape = tuple(shape)
    scale = draw(magnitudes()) if magnitude is None else magnitude
    offset = draw(st.sampled_from(offsets))
    a = (np.random.default_rng(draw(seeds())).standard_normal(shape) + offset) * scale
    if a.size and edges:
        k = draw(st.integers(0, min(a.size, max_overrides)))
        for _ in range(k):
            a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(edges))
    return a
