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


# SmoothL1 and Huber, d = x - y, b = beta or delta (torch's kernels, branch for branch):
#   smooth_l1 = 0.5 d^2 / b if |d| < b else |d| - 0.5 b       dL/dx = norm g * (-1 if d <= -b, 1 if d >= b, else d / b)
#   huber     = 0.5 d^2     if |d| < b else b (|d| - 0.5 b)    dL/dx = norm g * (-b if d <= -b, b if d >= b, else d)
# A beta > 0 that rounds to 0 in the input's dtype takes the outer branches only (-norm g at d == 0, as torch's
# float32 SIMD kernel does; the strategies leave such betas out).

def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """beta = 0 is l1_loss (torch's dispatch)."""
    _check_positive(beta, "smooth_l1_loss", "beta", allow_zero=True)
    if beta == 0:
        return l1_loss(input, target, reduction)
    x, y = check_elementwise(input, target, "smooth_l1_loss", reduction)
    b = x.dtype.type(beta)
    a = np.abs(x - y)
    with _quiet():  # the quadratic piece divides by a b that may round to 0; np.where then takes the other
        loss = np.where(a < b, 0.5 * a * a / b, a - 0.5 * b)
    return _reduce(loss, reduction)


def smooth_l1_loss_backward(grad, input, target, reduction="mean", beta=1.0):
    _check_positive(beta, "smooth_l1_loss", "beta", allow_zero=True)
    if beta == 0:
        return l1_loss_backward(grad, input, target, reduction)
    x, y = check_elementwise(input, target, "smooth_l1_loss", reduction)
    b = x.dtype.type(beta)
    d = x - y
    norm, g = _norm_and_grad(grad, x, reduction)
    with _quiet():
        return np.select([d <= -b, d >= b], [-norm * g, norm * g], norm * d * g / b).astype(x.dtype)


def huber_loss(input, target, reduction="mean", delta=1.0):
    _check_positive(delta, "huber_loss", "delta")
    x, y = check_elementwise(input, target, "huber_loss", reduction)
    b = x.dtype.type(delta)
    a = np.abs(x - y)
    with _quiet():
        loss = np.where(a < b, 0.5 * a * a, b * (a - 0.5 * b))
    return _reduce(loss, reduction)


def huber_loss_backward(grad, input, target, reduction="mean", delta=1.0):
    _check_positive(delta, "huber_loss", "delta")
    x, y = check_elementwise(input, target, "huber_loss", reduction)
    b = x.dtype.type(delta)
    d = x - y
    norm, g = _norm_and_grad(grad, x, reduction)
    with _quiet():
        return np.select([d <= -b, d >= b], [-norm * g * b, norm * g * b], norm * d * g).astype(x.dtype)


def _norm_and_grad(grad, x, reduction):
    """torch's elementwise backward kernels: norm = 1/numel for mean (1 otherwise), times g."""
    norm = x.dtype.type(1.0 / max(x.size, 1) if reduction == "mean" else 1.0)
    return norm, np.asarray(1.0 if grad is None else grad, x.dtype)


def _check_positive(v, name, what, allow_zero=False):
    if not (v >= 0 if allow_zero else v > 0):
        raise LossInputError(f"{name}: {what} expected {'>= 0' if allow_zero else '> 0'}, got {v}")
