"""Elementwise losses on probabilities (target.shape == input.shape; torch's deprecated
broadcasting is refused): binary cross-entropy on probabilities or on logits, and kl_div, each
forward next to its ``*_backward(grad, ...) -> dL/dinput``.

"mean" divides by numel; kl_div's "batchmean" by input.shape[0].
Torch twins: binary_cross_entropy, binary_cross_entropy_with_logits, kl_div.
"""

from __future__ import annotations

import numpy as np

from scratch.nn.functional._loss_checks import (
    LossInputError, _quiet, _reduce, _upstream, check_elementwise, floats,
)
# np.where's per-element branch mispredicts on random data (8x a multiply): select by bit masks,
# and write into fresh buffers (out=) instead of chaining temporaries
from scratch.nn.functional._select import _SIGN_BIT, _bits, _new


# -- binary cross-entropy ---------------------------------------------------------------------------------

_LOG_FLOOR = -100.0              # torch clamps each log at -100
_BCE_EPSILON = np.float32(1e-12)  # backward floors x(1-x) here; torch's constant is a float: 9.9999999600e-13


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w [y max(log x, -100) + (1 - y) max(log1p(-x), -100)]; x and y must lie in [0, 1]."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy", reduction)
    with _quiet():
        loss = (y - 1) * np.maximum(np.log1p(-x), _LOG_FLOOR) - y * np.maximum(np.log(x), _LOG_FLOOR)
    return _reduce((loss * w if w is not None else loss).astype(x.dtype), reduction)


def binary_cross_entropy_backward(grad, input, target, weight=None, reduction="mean"):
    """g (x - y) / max(x (1 - x), 1e-12) * w, then / numel for mean (torch's order)."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy", reduction)
    g = np.broadcast_to(np.asarray(1.0 if grad is None else grad, x.dtype), x.shape)
    gx = g * (x - y) / np.maximum((1 - x) * x, x.dtype.type(_BCE_EPSILON))
    gx = gx * w if w is not None else gx
    return (gx / x.dtype.type(x.size) if reduction == "mean" else gx).astype(x.dtype)


def _exp_neg_abs(x):
    """e^-|x| in one buffer: the only exp BCE-with-logits needs (softplus(+-x), sigmoid(+-x) share it).
    -|x| is x with its sign bit set: one integer pass instead of abs and negative (same bits)."""
    e = _new(np.bitwise_or(_bits(x), _SIGN_BIT[x.dtype.itemsize])).view(x.dtype)
    return np.exp(e, out=e)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None, *,
                                     _keep=None):
    """w [(1 - y) softplus(x) + pw y softplus(-x)]: the softplus form never cancels, finite at |x| = 1e4
    (it equals torch's (1 - y) x - (1 + (pw - 1) y) log_sigmoid(x)). softplus(+-x) = max(+-x, 0) + L with
    L = log1p(e^-|x|) computed once; max(-x, 0) + L is computed as L - min(x, 0) (the same bits: the sum
    of L and -min(x, 0)). ``_keep``: a dict that receives e^-|x| as "e" and 1 - y as "neg" for backward."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy_with_logits", reduction, check_range=False)
    pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
    pos = y * pw if pw is not None else y
    e = _exp_neg_abs(x)
    L = _new(np.log1p(e))
    # pos = y * pw has input's shape (pw broadcasts without enlarging), so every step fits one buffer.
    # clip(x, 0, inf) is max(x, 0) (up to the sign of a zero, which + L = log 2 there erases): clip with two
    # bounds is SIMD, maximum with a scalar is not (17 vs 50 us for float32 (512, 256)). With the bit-set
    # -|x| and the sigmoid swap in backward: forward + backward 819 -> 525 us for float32 (512, 256).
    neg = _new(np.subtract(1, y))
    sp = _new(np.clip(x, 0, np.inf))           # softplus(x), then (1 - y) softplus(x)
    np.add(sp, L, out=sp)
    np.multiply(neg, sp, out=sp)
    lo = _new(np.clip(x, -np.inf, 0))          # min(x, 0), then softplus(-x), then pw y softplus(-x)
    np.subtract(L, lo, out=lo)
    np.multiply(pos, lo, out=lo)
    loss = np.add(sp, lo, out=sp)
    if _keep is not None:
        _keep.update(e=e, neg=neg)
    return _reduce(loss * w if w is not None else loss, reduction)


def binary_cross_entropy_with_logits_backward(grad, input, target, weight=None, reduction="mean", pos_weight=None,
                                              *, _e=None, _neg=None):
    """g w [(1 - y) sigmoid(x) - pw y sigmoid(-x)] (/ numel for mean). sigmoid(+-x) from e = e^-|x|:
    1 / (1 + e) on the side where +-x >= 0, e / (1 + e) on the other. ``_e``, ``_neg``: e^-|x| and
    1 - y kept from forward."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy_with_logits", reduction, check_range=False)
    pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
    pos = y * pw if pw is not None else y
    e = _exp_neg_abs(x) if _e is None else _e
    d = _new(np.add(1, e))
    big = _new(np.divide(1, d))                # sigmoid of the non-negative side
    small = np.divide(e, d, out=d)             # sigmoid of the negative side
    # sigmoid(x) is big and sigmoid(-x) small, swapped where x's sign bit is set. With D = big ^ small and
    # m all ones there (an arithmetic shift of the sign bit): sigmoid(x) = big ^ (D & m), sigmoid(-x) =
    # that ^ D. Five integer passes instead of two comparisons, two bit-mask selections and a copy. At
    # x = -0 (sign set, yet x >= 0) both sides are 1/2, so the swap changes nothing.
    ib, D = _bits(big), _bits(small)
    np.bitwise_xor(ib, D, out=D)
    m = _new(np.right_shift(x.view(np.dtype(f"i{x.dtype.itemsize}")), 8 * x.dtype.itemsize - 1)).view(D.dtype)
    np.bitwise_and(m, D, out=m)
    s_pos = np.bitwise_xor(ib, m, out=ib).view(x.dtype)    # sigmoid(x)
    s_neg = np.bitwise_xor(ib, D, out=D).view(x.dtype)     # sigmoid(-x)
    np.multiply(pos, s_neg, out=s_neg)
    gx = np.multiply(_new(np.subtract(1, y)) if _neg is None else _neg, s_pos, out=s_pos)
    np.subtract(gx, s_neg, out=gx)
    if grad is not None:  # g = 1 by default: x 1 is exact
        np.multiply(gx, np.asarray(grad, x.dtype), out=gx)
    gx = gx * w if w is not None else gx
    return (gx / x.dtype.type(x.size) if reduction == "mean" else gx).astype(x.dtype, copy=False)


def _broadcast_weight(weight, x, name, what="weight"):
    """A weight that broadcasts to input's shape without enlarging it (torch's rule), in input's dtype."""
    if weight is None:
        return None
    w = floats(weight, f"{name}: {what}").astype(x.dtype, copy=False)
    try:
        if np.broadcast_shapes(w.shape, x.shape) == x.shape:
            return w
    except ValueError:
        pass
    raise LossInputError(f"{name}: {what} of shape {w.shape} expected to broadcast to the input's shape {x.shape}")


def _bce_args(input, target, weight, name, reduction, check_range=True):
    x, y = check_elementwise(input, target, name, reduction, float_target=True)
    if check_range:
        for a, what in ((x, "input"), (y, "target")):
            if not ((a >= 0) & (a <= 1)).all():  # NaN fails too, like torch
                bad = a[~((a >= 0) & (a <= 1))].flat[0]
                raise LossInputError(f"{name}: all elements of {what} should be between 0 and 1, found {bad}")
    return x, y, _broadcast_weight(weight, x, name)


# -- KL divergence ----------------------------------------------------------------------------------------

def kl_div(input, target, reduction="mean", log_target=False):
    """input = log q; pointwise t (log t - input) with 0 where t == 0 (xlogy), or
    exp(t) (t - input) when log_target. "mean" divides by numel, "batchmean" by input.shape[0]."""
    x, t = check_elementwise(input, target, "kl_div", reduction, float_target=True, kl=True)
    with _quiet():
        if log_target:
            loss = np.exp(t) * (t - x)
        else:
            loss = np.where(t == 0, 0, t * np.log(np.where(t == 0, 1, t))) - t * x
        loss = loss.astype(x.dtype)
        if reduction == "batchmean":
            s = loss.sum()
            return np.asarray(s / x.dtype.type(x.shape[0]) if x.ndim else s, x.dtype)
    return _reduce(loss, reduction)


def kl_div_backward(grad, input, target, reduction="mean", log_target=False):
    """-t * g (or -exp(t) * g), g divided by numel ("mean") or input.shape[0] ("batchmean")."""
    x, t = check_elementwise(input, target, "kl_div", reduction, float_target=True, kl=True)
    count = x.size if reduction == "mean" else (x.shape[0] if x.ndim else 1)
    g = _upstream(grad, x.shape, "mean" if reduction == "batchmean" else reduction, x.dtype, count)
    with _quiet():
        return (-g * (np.exp(t) if log_target else t)).astype(x.dtype)
