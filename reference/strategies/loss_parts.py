"""Building blocks shared by the loss strategies (``losses`` and ``losses_probability``): the
reductions, the distance ``GAP`` smooth cases keep from every kink, dyadic values (exact kinks),
weights with exact zeros, logits that reach the edges, probability rows with exact zeros, and
``_case`` that makes every input an array.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from reference.spec import Case
from reference.strategies.common import OFFSETS, float_arrays, seeds

__all__ = ["loss_shapes", "REDUCTIONS", "GAP"]

REDUCTIONS = ("none", "mean", "sum")
LOGIT_EDGES = (0.0, 1e4, -1e4, 1e4)  # 1e4 twice as likely: ties at the max of a row
GAP = 0.05                             # smooth cases stay this far from every kink


def _dyadic(a, step=8):
    """Multiples of 1/step: x - y and margin sums are exact in float32 and float64, so kinks stay kinks."""
    return np.round(np.asarray(a) * step) / step


def _case(config, inputs, seed):
    """0-d draws come back from NumPy as scalars: make every input an array (float64 or int64)."""
    return Case(config, [np.asarray(a) for a in inputs], seed=seed)


def loss_shapes(min_dims=0, max_dims=3, max_side=5):
    return st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def _weights(draw, shape, smooth, zeros=True):
    """None, or a float64 array in [0, 2) with some exact zeros (positive in [0.5, 2] when smooth)."""
    if not draw(st.booleans()):
        return None
    rng = np.random.default_rng(draw(seeds()))
    if smooth:
        return np.asarray(rng.uniform(0.5, 2.0, shape))
    w = np.asarray(rng.uniform(0.0, 2.0, shape))
    if zeros and w.size and draw(st.booleans()):
        w.flat[rng.integers(0, w.size, size=draw(st.integers(1, max(1, w.size - 1))))] = 0.0
    return w


def _logits(draw, shape, smooth, edges=LOGIT_EDGES, offsets=OFFSETS):
    if smooth:
        return draw(float_arrays(shape, edges=(), magnitude=1.0))
    return draw(float_arrays(shape, edges=edges, offsets=offsets))


def _probabilities(rng, shape, axis, zeros=True):
    """Rows that sum to 1 along ``axis``, some entries exactly 0 (or one-hot)."""
    p = rng.random(shape) ** 3
    if zeros and p.size:
        p.flat[rng.integers(0, p.size, size=max(1, p.size // 3))] = 0.0
    s = p.sum(axis=axis, keepdims=True)
    return np.where(s > 0, p / np.where(s > 0, s, 1), 1.0 / p.shape[axis])
