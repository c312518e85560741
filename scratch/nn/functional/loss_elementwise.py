"""Elementwise regression losses (target.shape == input.shape; torch's deprecated broadcasting is
refused): mse, l1, smooth_l1, huber, each forward next to its ``*_backward(grad, ...) -> dL/dinput``.
The elementwise losses on probabilities (bce, bce_with_logits, kl_div) are in ``loss_probability``.

"mean" divides by numel.
Textbook variant: ``half_sum_of_squares`` (1/2 sum (x - y)^2 = N*D/2 x mse_loss mean).
Torch twins: mse_loss, l1_loss, smooth_l1_loss, huber_loss.
"""

from __future__ import annotations

import numpy as np

from scratch.nn.functional._loss_checks import (
    LossInputError, _quiet, _reduce, _upstream, check_elementwise,
)
# np.where's per-element branch mispredicts on random data (8x a multiply): select by bit masks,
# and write into fresh buffers (out=) instead of chaining temporaries
from scratch.nn.functional._select import _SIGN_BIT, _bits, _new, _where_into


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


def _norm_and_grad(grad, x, reduction):
    """torch's elementwise backward kernels: norm = 1/numel for mean (1 otherwise), times g."""
    norm = x.dtype.type(1.0 / max(x.size, 1) if reduction == "mean" else 1.0)
    return norm, np.asarray(1.0 if grad is None else grad, x.dtype)


def _check_positive(v, name, what, allow_zero=False):
    if not (v >= 0 if allow_zero else v > 0):
        raise LossInputError(f"{name}: {what} expected {'>= 0' if allow_zero else '> 0'}, got {v}")
