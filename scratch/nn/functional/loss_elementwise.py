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
from scratch.nn.functional.activation import _new, _where_into


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


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """|d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta, d = x - y; beta = 0 is l1_loss (torch's dispatch)."""
    _check_positive(beta, "smooth_l1_loss", "beta", allow_zero=True)
    if beta == 0:
        return l1_loss(input, target, reduction)
    x, y = check_elementwise(input, target, "smooth_l1_loss", reduction)
    z, b = _new(np.subtract(x, y)), x.dtype.type(beta)
    np.abs(z, out=z)
    with _quiet():  # a beta that rounds to 0 in float32: the quadratic branch is never taken
        quad = _new(np.multiply(0.5, z))
        np.multiply(quad, z, out=quad)
        np.divide(quad, b, out=quad)
        inside = z < b
        lin = np.subtract(z, 0.5 * b, out=z)
        return _reduce(_where_into(inside, quad, lin).astype(x.dtype, copy=False), reduction)


def _norm_and_grad(grad, x, reduction):
    """torch's elementwise backward kernels: norm = 1/numel for mean (1 otherwise), times g."""
    norm = x.dtype.type(1.0 / max(x.size, 1) if reduction == "mean" else 1.0)
    return norm, np.asarray(1.0 if grad is None else grad, x.dtype)


def smooth_l1_loss_backward(grad, input, target, reduction="mean", beta=1.0):
    """-norm g for d <= -beta, norm g for d >= beta, norm d g / beta between (torch's kernel and
    order). A beta > 0 that rounds to 0 in the input's dtype: sign(d) norm g, so 0 at d == 0 (the
    math, and torch's scalar path; its float32 SIMD lanes give -norm g there, machine-dependent)."""
    _check_positive(beta, "smooth_l1_loss", "beta", allow_zero=True)
    if beta == 0:
        return l1_loss_backward(grad, input, target, reduction)
    x, y = check_elementwise(input, target, "smooth_l1_loss", reduction)
    d, b = _new(x - y), x.dtype.type(beta)
    norm, g = _norm_and_grad(grad, x, reduction)
    if b == 0:
        return (np.sign(d) * norm * g).astype(x.dtype)
    out = _new(np.multiply(norm, d))
    np.multiply(out, g, out=out)
    np.divide(out, b, out=out)
    return _outside_band(out, d, b, norm * g).astype(x.dtype, copy=False)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """|d| < delta ? 0.5 d^2 : delta (|d| - 0.5 delta) = delta x smooth_l1(beta=delta)."""
    _check_positive(delta, "huber_loss", "delta")
    x, y = check_elementwise(input, target, "huber_loss", reduction)
    z, dl = _new(np.subtract(x, y)), x.dtype.type(delta)
    np.abs(z, out=z)
    quad = _new(np.multiply(0.5, z))
    np.multiply(quad, z, out=quad)
    inside = z < dl
    lin = np.subtract(z, 0.5 * dl, out=z)
    np.multiply(dl, lin, out=lin)
    return _reduce(_where_into(inside, quad, lin).astype(x.dtype, copy=False), reduction)


def huber_loss_backward(grad, input, target, reduction="mean", delta=1.0):
    """-norm g delta for d <= -delta, norm g delta for d >= delta, norm d g between (torch's order)."""
    _check_positive(delta, "huber_loss", "delta")
    x, y = check_elementwise(input, target, "huber_loss", reduction)
    d, dl = x - y, x.dtype.type(delta)
    norm, g = _norm_and_grad(grad, x, reduction)
    out = _new(np.multiply(norm, d))
    np.multiply(out, g, out=out)
    return _outside_band(out, d, dl, norm * g * dl).astype(x.dtype, copy=False)


def _outside_band(out, d, b, edge):
    """``out`` with edge where d >= b and -edge where d <= -b (b > 0), written into ``out``: one
    selection instead of two. sign(d) = +-1 there, and edge * -1 is -edge exactly; NaN d stays inside."""
    s = _new(np.sign(d))
    np.multiply(edge, s, out=s)
    return _where_into(np.abs(d) >= b, s, out)


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


def _softplus(x):
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _exp_neg_abs(x):
    """e^-|x| in one buffer: the only exp BCE-with-logits needs (softplus(+-x), sigmoid(+-x) share it)."""
    e = _new(np.abs(x))
    np.negative(e, out=e)
    return np.exp(e, out=e)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None, *,
                                     _keep=None):
    """w [(1 - y) softplus(x) + pw y softplus(-x)]: the softplus form never cancels, finite at |x| = 1e4
    (it equals torch's (1 - y) x - (1 + (pw - 1) y) log_sigmoid(x)). softplus(+-x) = max(+-x, 0) + L with
    L = log1p(e^-|x|) computed once. ``_keep``: a dict that receives e^-|x| as "e" for backward."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy_with_logits", reduction, check_range=False)
    pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
    pos = y * pw if pw is not None else y
    e = _exp_neg_abs(x)
    if _keep is not None:
        _keep["e"] = e
    L = _new(np.log1p(e))
    # pos = y * pw has input's shape (pw broadcasts without enlarging), so every step fits one buffer
    neg = _new(np.subtract(1, y))
    sp = _new(np.maximum(x, 0))                # softplus(x), then (1 - y) softplus(x)
    np.add(sp, L, out=sp)
    np.multiply(neg, sp, out=neg)
    np.negative(x, out=sp)                     # softplus(-x), then pw y softplus(-x)
    np.maximum(sp, 0, out=sp)
    np.add(sp, L, out=sp)
    np.multiply(pos, sp, out=sp)
    loss = np.add(neg, sp, out=neg)
    loss = loss.astype(x.dtype, copy=False)
    return _reduce(loss * w if w is not None else loss, reduction)


def binary_cross_entropy_with_logits_backward(grad, input, target, weight=None, reduction="mean", pos_weight=None,
                                              *, _e=None):
    """g w [(1 - y) sigmoid(x) - pw y sigmoid(-x)] (/ numel for mean). sigmoid(+-x) from e = e^-|x|:
    1 / (1 + e) on the side where +-x >= 0, e / (1 + e) on the other. ``_e``: e^-|x| kept from forward."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy_with_logits", reduction, check_range=False)
    pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
    pos = y * pw if pw is not None else y
    g = np.broadcast_to(np.asarray(1.0 if grad is None else grad, x.dtype), x.shape)
    e = _exp_neg_abs(x) if _e is None else _e
    d = _new(np.add(1, e))
    big = _new(np.divide(1, d))                # sigmoid of the non-negative side
    small = np.divide(e, d, out=d)             # sigmoid of the negative side
    s_neg = _where_into(-x >= 0, big, small.copy())   # sigmoid(-x); the selection writes into its last argument
    s_pos = _where_into(x >= 0, big, small)           # sigmoid(x)
    np.multiply(pos, s_neg, out=s_neg)
    gx = np.multiply(_new(np.subtract(1, y)), s_pos, out=s_pos)
    np.subtract(gx, s_neg, out=gx)
    np.multiply(gx, g, out=gx)
    gx = gx * w if w is not None else gx
    return (gx / x.dtype.type(x.size) if reduction == "mean" else gx).astype(x.dtype)


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
