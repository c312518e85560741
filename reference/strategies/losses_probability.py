"""The probability-target losses' strategies: BCE on probabilities (exactly 0 and 1 among them)
and on logits (with ``pos_weight``, zeros too), and KL divergence (targets with exact zeros, or
log targets). Targets are hard 0/1 labels or soft ones; ``weight`` has the input's shape or its
last dim (torch broadcasts it). ``smooth=True``: BCE inputs in [0.05, 0.95], positive weights.
``reference.strategies.losses`` re-exports them with the other loss strategies.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from reference.strategies.common import float_arrays, seeds
from reference.strategies.loss_parts import GAP, REDUCTIONS, _case, _logits, _probabilities, _weights, loss_shapes

__all__ = ["bce_cases", "bce_with_logits_cases", "kl_div_cases"]


def _binary_targets(draw, rng, shape):
    """Hard 0/1 labels or soft ones in [0, 1] with exact 0s and 1s."""
    if draw(st.booleans()):
        return (rng.random(shape) < 0.5).astype(np.float64)
    y = rng.random(shape)
    if y.size:
        y.flat[rng.integers(0, y.size, size=max(1, y.size // 3))] = rng.integers(0, 2, size=max(1, y.size // 3))
    return y


def _broadcast_weight(draw, shape, smooth):
    """None, or a weight of the input's shape or of its last dim (torch broadcasts it); none for 0-d input."""
    if not shape:
        return None
    if draw(st.booleans()):
        return _weights(draw, shape, smooth)
    return _weights(draw, shape[-1:], smooth)


@st.composite
def bce_cases(draw, n_calls=1, smooth=False):
    shape = draw(loss_shapes())
    rng = np.random.default_rng(draw(seeds()))
    if smooth:
        x = rng.uniform(GAP, 1 - GAP, shape)
    else:  # sigmoid of logits up to +-30 (down to 1e-13 from 0 or 1), then exact 0s and 1s
        x = 1 / (1 + np.exp(-rng.standard_normal(shape) * draw(st.sampled_from([1.0, 5.0, 30.0]))))
        for _ in range(draw(st.integers(0, 4))) if x.size else ():
            x.flat[rng.integers(0, x.size)] = draw(st.sampled_from([0.0, 1.0]))
    cfg = dict(reduction=draw(st.sampled_from(REDUCTIONS)))
    w = _broadcast_weight(draw, shape, smooth)
    if w is not None:
        cfg["weight"] = w
    return _case(cfg, [x, _binary_targets(draw, rng, shape)], seed=draw(seeds()))


@st.composite
def bce_with_logits_cases(draw, n_calls=1, smooth=False):
    shape = draw(loss_shapes())
    rng = np.random.default_rng(draw(seeds()))
    x = _logits(draw, shape, smooth, edges=(0.0, 1e4, -1e4), offsets=(0.0,))
    cfg = dict(reduction=draw(st.sampled_from(REDUCTIONS)))
    w = _broadcast_weight(draw, shape, smooth)
    if w is not None:
        cfg["weight"] = w
    if shape and draw(st.booleans()):  # pos_weight: one per class along the last dim, zeros too
        pw = rng.uniform(0.5, 3.0, shape[-1:]) if smooth else rng.uniform(0.0, 5.0, shape[-1:])
        if not smooth and draw(st.booleans()):
            pw[rng.integers(0, pw.size)] = 0.0
        cfg["pos_weight"] = pw
    return _case(cfg, [x, _binary_targets(draw, rng, shape)], seed=draw(seeds()))


@st.composite
def kl_div_cases(draw, n_calls=1, smooth=False):
    """input = log q (log-probabilities along the last dim, or any floats); target p with exact
    zeros, or log p when log_target."""
    shape = draw(loss_shapes())
    rng = np.random.default_rng(draw(seeds()))
    axis = -1 if shape else None
    if smooth or draw(st.booleans()):
        z = rng.standard_normal(shape) * (1.0 if smooth else draw(st.sampled_from([1.0, 10.0])))
        x = z - np.log(np.exp(z).sum(axis=axis, keepdims=bool(shape))) if shape else -np.abs(z)
    else:
        x = draw(float_arrays(shape, edges=(0.0,)))
    log_target = draw(st.booleans())
    p = _probabilities(rng, shape, -1, zeros=not log_target) if shape else np.asarray(rng.random())
    target = np.log(np.maximum(p, 1e-12)) if log_target else p
    cfg = dict(reduction=draw(st.sampled_from(REDUCTIONS + ("batchmean",))), log_target=log_target)
    return _case(cfg, [np.asarray(x, dtype=np.float64), np.asarray(target, dtype=np.float64)], seed=draw(seeds()))
