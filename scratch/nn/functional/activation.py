"""Activation kernels: each forward sits next to its local derivative.

Every ``*_backward(grad_output, ...)`` returns dL/dx given dL/dy. Values at kinks
follow torch's autograd (``../shared/reference/torch-semantics.md`` A9):
relu'(0) = 0, leaky_relu'(0) = slope, prelu'(0) = a, elu'(0) = alpha.
All are finite for |x| up to 1e4 in float32 and float64 (no overflow, no NaN).
"""

from __future__ import annotations

import numpy as np

from scratch.nn.functional._select import _bits, _factor, _gate, _gated, _new, _scale_where, _where_into, _zero_where
from scratch.nn.functional.gelu import _erf, gelu, gelu_backward, normal_cdf  # noqa: F401
from scratch.nn.functional.softmax import (  # noqa: F401
    log_softmax, log_softmax_backward, softmax, softmax_backward,
)

# ReLU: y = max(x, 0); dy/dx = 1 if x > 0 else 0 (the max gate routes the gradient).
# Both sides are one mask: x & gate, g & gate with gate = 0 where x <= 0 (NaN passes, as in max and in torch's
# backward). Forward keeps the gate (ReLU does), so backward is one pass. max(x, 0) with a scalar 0 is a slow
# NumPy loop (50 us per 512x256 float32 array, against 12 us for an and); x & gate gives its bits (+0.0 for -0.0).
def relu(x, gate=None):
    """``gate``: a buffer from ``relu_gate(x)`` (ReLU keeps it for backward); else made here."""
    return _gated(x, relu_gate(x) if gate is None else gate)


def relu_gate(x):
    """0 where x <= 0, all ones elsewhere (NaN included), as unsigned integers of x's width and layout."""
    return _gate(x <= 0, x)


def relu_backward(grad_output, x, gate=None):
    g = np.asarray(grad_output)
    if gate is None or g.dtype != x.dtype or g.strides != gate.strides:  # the gate fits g's bits and layout
        return _zero_where(x <= 0, g)  # torch: NaN passes g
    return _gated(g, gate)


# LeakyReLU: y = x if x > 0 else s*x; dy/dx = 1 if x > 0 else s (s at the kink, like torch).
# Both are a product with one factor f = where(x > 0, 1, s): y = x f, dL/dx = g f; LeakyReLU keeps f.
def leaky_relu(x, negative_slope=0.01, factor=None):
    """``factor``: ``leaky_relu_factor(x, negative_slope)`` if the caller has it."""
    f = leaky_relu_factor(x, negative_slope) if factor is None else factor
    return np.multiply(x, f)


def leaky_relu_factor(x, negative_slope=0.01):
    """where(x > 0, 1, negative_slope), branch-free, in x's (and the slope's) result dtype."""
    return _factor(x > 0, negative_slope, np.result_type(x, negative_slope))


def leaky_relu_backward(grad_output, x, negative_slope=0.01, factor=None):
    if factor is None or factor.dtype != np.result_type(grad_output, negative_slope):  # f has g's precision
        return _scale_where(grad_output, x > 0, negative_slope, np.result_type(grad_output, negative_slope))
    return np.multiply(grad_output, factor)


def _channel_view(weight, ndim):
    """PReLU's weight: one slope for every element, or (C,) broadcast along dim 1 of (N, C, ...)."""
    if weight.size == 1:
        return weight.reshape((1,) * ndim)
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


# PReLU: y = x if x > 0 else a*x, with a learned; dy/dx as LeakyReLU, dy/da = x if x <= 0 else 0
def prelu(x, weight):
    a = _channel_view(weight, x.ndim)
    return _scale_where(x, x > 0, a, np.result_type(x, a), scale_first=True)


def prelu_backward(grad_output, x, weight):
    """Returns (grad_input, grad_weight); grad_weight sums over every non-channel position."""
    a = _channel_view(weight, x.ndim)
    pos = x > 0
    grad_input = _scale_where(grad_output, pos, a, np.result_type(grad_output, a))
    contrib = _zero_where(pos, _new(grad_output * x))
    if weight.size == 1:
        grad_weight = np.asarray(contrib.sum(), dtype=weight.dtype).reshape(weight.shape)
    else:
        axes = tuple(i for i in range(x.ndim) if i != 1)
        grad_weight = contrib.sum(axis=axes).astype(weight.dtype)
    return grad_input, grad_weight


# ELU: y = x if x > 0 else alpha*(exp(x) - 1); dy/dx = 1 if x > 0 else alpha*exp(x) (alpha at 0).
# One pair of masks serves both sides (ELU keeps it): keep = all ones where x > 0 or NaN (x, or g, passes),
# neg = ~keep. x & neg is min(x, 0) but for -0.0 (made +0.0 by adding 0, as min gives) and NaN (0: those
# positions take x or g anyway, and NaN stays NaN). Selecting by the masks costs an and and an or; np.minimum
# with a scalar 0 alone costs 50 us per 512x256 float32 array (an and: 12 us).
def elu_masks(x, like=None):
    """(keep, neg): unsigned-integer masks of x's width (and like's layout, x's by default), keep all ones
    where x > 0 or NaN, neg = ~keep."""
    keep = _gate(x <= 0, x if like is None else like)
    return keep, np.invert(keep)


def _neg_part(x, neg):
    """min(x, 0) bit for bit where neg is set (x <= 0: x, with -0.0 made +0.0), +0.0 elsewhere."""
    out = _gated(x, neg)
    return np.add(out, 0, out=out)


def elu(x, alpha=1.0, masks=None):
    """``masks``: ``elu_masks(x)`` if the caller has them."""
    keep, neg = elu_masks(x) if masks is None else masks
    v = _neg_part(x, neg)
    np.expm1(v, out=v)
    np.multiply(alpha, v, out=v)
    vb = _bits(v)
    if not alpha >= 0:            # alpha * 0 is -0.0 on the kept positions: clear it there
        np.bitwise_and(vb, neg, out=vb)
    return np.bitwise_or(vb, np.bitwise_and(_bits(x), keep), out=vb).view(v.dtype)  # | x on the kept ones


def elu_backward(grad_output, x, alpha=1.0, masks=None):
    g = np.asarray(grad_output)
    if g.dtype != x.dtype:        # mixed precisions: in x's dtype, as np.where(x > 0 or NaN, g, g alpha exp(x))
        d = _new(np.minimum(x, 0))
        np.exp(d, out=d)
        np.multiply(alpha, d, out=d)
        return _where_into(~(x <= 0), g, np.multiply(g, d, out=d))
    if masks is None or g.strides != masks[0].strides:  # the masks must have g's layout
        masks = elu_masks(x, like=g)
    keep, neg = masks
    d = _gated(x, neg)            # exp(+-0) = 1: no -0.0 fix needed here
    np.exp(d, out=d)
    np.multiply(alpha, d, out=d)
    np.multiply(g, d, out=d)
    db = _bits(d)
    np.bitwise_and(db, neg, out=db)
    return np.bitwise_or(db, np.bitwise_and(_bits(g), keep), out=db).view(d.dtype)  # torch: NaN passes g


# Sigmoid: y = 1 / (1 + exp(-x)), torch's own formula; dy/dx = y(1 - y). Below x = -88.7 (float32; -709.8 in
# float64) exp(-x) overflows to inf and y = 1 / inf = 0, the limit (the true y is below the smallest normal).
# The overflow-free form where(x >= 0, 1, e) / (1 + e), e = exp(-|x|), costs a compare and a mixed-type max
# more: 142 -> 100 us per 512x256 float32 array; for x >= 0 both give the same bits.
def sigmoid(x):
    e = _new(np.negative(x))
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    np.add(e, 1, out=e)
    return np.divide(1, e, out=e)


def sigmoid_backward(grad_output, y):
    out = _new(np.subtract(1, y))
    np.multiply(grad_output, out, out=out)
    return np.multiply(out, y, out=out)


# Tanh: y = tanh(x); dy/dx = 1 - y^2
def tanh(x):
    return np.tanh(x)


def tanh_backward(grad_output, y):
    out = _new(np.multiply(y, y))
    np.subtract(1, out, out=out)
    return np.multiply(grad_output, out, out=out)


# SiLU (Swish): y = x * sigmoid(x); dy/dx = s * (1 + x * (1 - s))
def silu(x):
    s = sigmoid(x)
    return np.multiply(x, s, out=s)


def silu_backward(grad_output, x, s=None):
    """``s`` = sigmoid(x) when the caller kept it from forward (saves an exp)."""
    s = sigmoid(x) if s is None else s
    out = _new(np.subtract(1, s))
    np.multiply(x, out, out=out)
    np.add(1, out, out=out)
    np.multiply(s, out, out=out)
    return np.multiply(grad_output, out, out=out)
