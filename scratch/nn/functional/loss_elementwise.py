"""Elementwise losses (target.shape == input.shape; torch's deprecated broadcasting is refused):
regression (mse, l1, smooth_l1, huber), binary cross-entropy (on probabilities or logits) and
kl_div, each forward next to its ``*_backward(grad, ...) -> dL/dinput``.

"mean" divides by numel; kl_div's "batchmean" by input.shape[0].
Textbook variant: ``half_sum_of_squares`` (1/2 sum (x - y)^2 = N*D/2 x mse_loss mean).
Torch twins: mse_loss, l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy(_with_logits),
kl_div.
"""

from __future__ import annotations

import numpy as np

from scratch.nn.functional._loss_checks import (
    LossInputError, _quiet, _reduce, _upstream, check_elementwise, floats,
)
# np.where's per-element branch mispredicts on random data (8x a multiply): select by bit masks,
# and write into fresh buffers (out=) instead of chaining temporaries
from scratch.nn.functional._select import _bits, _new, _where_into


# -- elementwise regression losses ------------------------------------------------------------------------

def mse_loss(input, target, reduction="mean"):
    x, y = check_elementwise(input, target, "mse_loss", reduction)
    d = x - y
    return _reduce(d * d, reduction)


def mse_loss_backward(grad, input, target, reduction="mean"):
    x, y = check_elementwise(input, target, "mse_loss", reduction)
    norm = x.dtype.type(2.0 / max(x.size, 1) if reduction == "mean" else 2.0)  # torch: norm * (x - y) * g
    return (norm * (x - y) * np.asarray(1.0 if grad is None else grad, x.dtype)).astype(x.dtype)


def half_sum_of_squares(input, target):
    """The textbook 1/2 sum (x - y)^2: N*D/2 x mse_loss(reduction="mean") for an (N, D) input."""
    x, y = check_elementwise(input, target, "half_sum_of_squares", "sum")
    d = x - y
    return np.asarray(0.5 * (d * d).sum(), x.dtype)


def half_sum_of_squares_backward(grad, input, target):
    x, y = check_elementwise(input, target, "half_sum_of_squares", "sum")
    return ((x - y) * np.asarray(1.0 if grad is None else grad, x.dtype)).astype(x.dtype)


def l1_loss(input, target, reduction="mean"):
    x, y = check_elementwise(input, target, "l1_loss", reduction)
    return _reduce(np.abs(x - y), reduction)


def l1_loss_backward(grad, input, target, reduction="mean"):
    """sign(x - y) * g: 0 exactly where x == y (abs'(0) = 0 in torch)."""
    x, y = check_elementwise(input, target, "l1_loss", reduction)
    return (np.sign(x - y) * _upstream(grad, x.shape, reduction, x.dtype, x.size)).astype(x.dtype)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0, *, _keep=None):
    """|d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta, d = x - y; beta = 0 is l1_loss (torch's dispatch).
    ``_keep``: a dict that receives what backward needs (see ``_band_loss``)."""
    _check_positive(beta, "smooth_l1_loss", "beta", allow_zero=True)
    if beta == 0:
        return l1_loss(input, target, reduction)
    x, y = check_elementwise(input, target, "smooth_l1_loss", reduction)
    return _reduce(_band_loss(x, y, x.dtype.type(beta), False, _keep), reduction)


def smooth_l1_loss_backward(grad, input, target, reduction="mean", beta=1.0, *, _kept=None):
    """-norm g for d <= -beta, norm g for d >= beta, norm d g / beta between (torch's kernel and
    order). A beta > 0 that rounds to 0 in the input's dtype: sign(d) norm g, so 0 at d == 0 (the
    math, and torch's scalar path; its float32 SIMD lanes give -norm g there, machine-dependent).
    ``_kept``: smooth_l1_loss's ``_keep`` dict, so nothing is recomputed."""
    _check_positive(beta, "smooth_l1_loss", "beta", allow_zero=True)
    if beta == 0:
        return l1_loss_backward(grad, input, target, reduction)
    x, y = check_elementwise(input, target, "smooth_l1_loss", reduction)
    b = x.dtype.type(beta)
    if b == 0:
        norm, g = _norm_and_grad(grad, x, reduction)
        return (np.sign(x - y) * norm * g).astype(x.dtype)
    return _band_backward(grad, x, y, b, reduction, False, _kept)


def huber_loss(input, target, reduction="mean", delta=1.0, *, _keep=None):
    """|d| < delta ? 0.5 d^2 : delta (|d| - 0.5 delta) = delta x smooth_l1(beta=delta).
    ``_keep``: a dict that receives what backward needs (see ``_band_loss``)."""
    _check_positive(delta, "huber_loss", "delta")
    x, y = check_elementwise(input, target, "huber_loss", reduction)
    return _reduce(_band_loss(x, y, x.dtype.type(delta), True, _keep), reduction)


def huber_loss_backward(grad, input, target, reduction="mean", delta=1.0, *, _kept=None):
    """-norm g delta for d <= -delta, norm g delta for d >= delta, norm d g between (torch's order).
    ``_kept``: huber_loss's ``_keep`` dict, so nothing is recomputed."""
    _check_positive(delta, "huber_loss", "delta")
    x, y = check_elementwise(input, target, "huber_loss", reduction)
    return _band_backward(grad, x, y, x.dtype.type(delta), reduction, True, _kept)


# Both band losses, b = beta (smooth_l1) or delta (huber), a = |d|, d = x - y:
#   smooth_l1: a < b ? (0.5 a) a / b : a - 0.5 b        huber: a < b ? (0.5 a) a : b (a - 0.5 b)
# For b == 1 (both defaults) the two are the same bits (x / 1 and 1 x are exact) and need no selection:
# with dc = clip(d, -1, 1), q = (0.5 dc) dc and lin = a - 0.5, the loss is max(q, lin): q - lin =
# (a - 1)^2 / 2 >= 0 inside, q = 0.5 <= lin outside, and each side is one correctly rounded operation
# (0.5 dc is exact; rounding is monotone), so max picks exactly the branch torch picks. Backward is
# then norm dc g: outside, dc = +-1 gives +-norm g exactly. 7 passes forward and 1 backward instead of
# 14 and 16 (sign, abs and a bit-mask selection each way): forward + backward 435 -> 160 us for float32
# (512, 256), 880 -> 280 us for float64 (smooth_l1; huber alike).
# Other b: d and the band mask are kept from forward, the branches selected by bit masks.

def _band_loss(x, y, b, huber, keep):
    """Per-element band loss (b > 0 in x's dtype, or a beta that rounds to 0: never inside).
    ``keep``: None or a dict that receives {"dc": clip(d, -1, 1)} (b == 1) or {"d", "outside"}."""
    d = _new(np.subtract(x, y))
    if b == 1:
        dc = _new(np.clip(d, -1.0, 1.0))  # clip with both bounds is SIMD; minimum(a, 1) is 3x slower
        q = _new(np.multiply(0.5, dc))
        np.multiply(q, dc, out=q)
        lin = np.abs(d, out=d)            # d is not needed any more: its buffer takes lin
        np.subtract(lin, 0.5, out=lin)
        if keep is not None:
            keep["dc"] = dc
        return np.maximum(q, lin, out=q)
    a = _new(np.abs(d))
    outside = a >= b                      # NaN counts as inside, as in torch's backward
    with _quiet():  # a beta that rounds to 0 in float32: the quadratic branch is never taken
        q = _new(np.multiply(0.5, a))
        np.multiply(q, a, out=q)
        if not huber:
            np.divide(q, b, out=q)
        lin = np.subtract(a, 0.5 * b, out=a)
        if huber:
            np.multiply(b, lin, out=lin)
    if keep is not None:
        keep.update(d=d, outside=outside)
    return _where_into(outside, lin, q)


def _band_backward(grad, x, y, b, reduction, huber, kept):
    """dL/dx of ``_band_loss`` from what it kept (recomputed when ``kept`` is None or empty)."""
    norm, g = _norm_and_grad(grad, x, reduction)
    if not kept:  # called on its own (or after a forward that raised): recompute what forward keeps
        kept = {}
        _band_loss(x, y, b, huber, kept)
    if b == 1:
        out = _new(np.multiply(norm, kept["dc"]))
        return out if grad is None else np.multiply(out, g, out=out)  # g = 1 by default: x 1 is exact
    d = kept["d"]
    out = _new(np.multiply(norm, d))
    np.multiply(out, g, out=out)
    if not huber:
        np.divide(out, b, out=out)
    # outside: sign(d) edge, with edge = norm g (times delta for huber); |d| >= b > 0 there, so sign(d) is
    # +-1 and the product is edge with d's sign bit xor-ed in (np.sign costs 4x the two bit operations)
    edge = _bits(np.asarray(norm * g * b if huber else norm * g, x.dtype))
    sign = _new(np.bitwise_and(_bits(d), _SIGN_BIT[x.dtype.itemsize]))
    np.bitwise_xor(sign, edge, out=sign)
    return _where_into(kept["outside"], sign.view(x.dtype), out)


_SIGN_BIT = {4: np.uint32(1 << 31), 8: np.uint64(1 << 63)}


def _norm_and_grad(grad, x, reduction):
    """torch's elementwise backward kernels: norm = 1/numel for mean (1 otherwise), times g."""
    norm = x.dtype.type(1.0 / max(x.size, 1) if reduction == "mean" else 1.0)
    return norm, np.asarray(1.0 if grad is None else grad, x.dtype)


def _check_positive(v, name, what, allow_zero=False):
    if not (v >= 0 if allow_zero else v > 0):
        raise LossInputError(f"{name}: {what} expected {'>= 0' if allow_zero else '> 0'}, got {v}")


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
