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
from scratch.nn.functional.activation import sigmoid


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


# With logits, torch's formulas, lw = 1 + (pw - 1) y (1 without pos_weight):
#   loss = (1 - y) x - lw log_sigmoid(x),  log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))  (no exp of a positive)
#   dL/dx = g w (sigmoid(x) - y), or g w ((pw y + 1 - y) sigmoid(x) - pw y) with pos_weight; / numel for mean
def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy_with_logits", reduction, check_range=False)
    pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
    lw = 1 if pw is None else 1 + (pw - 1) * y
    log_sigmoid = np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
    loss = (1 - y) * x - lw * log_sigmoid
    return _reduce(loss * w if w is not None else loss, reduction)


def binary_cross_entropy_with_logits_backward(grad, input, target, weight=None, reduction="mean", pos_weight=None):
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy_with_logits", reduction, check_range=False)
    pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
    gx = sigmoid(x) - y if pw is None else (pw * y + 1 - y) * sigmoid(x) - pw * y
    gx = gx * np.asarray(1.0 if grad is None else grad, x.dtype)
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
