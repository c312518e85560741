"""Activation kernels: each forward sits next to its local derivative.

Every ``*_backward(grad_output, ...)`` returns dL/dx given dL/dy = g, and takes what torch's
derivative formula takes (x, or the output y where the derivative is written in y).
Values at kinks follow torch's autograd (``../shared/reference/torch-semantics.md`` A9):
relu'(0) = 0, leaky_relu'(0) = slope, prelu'(0) = a, elu'(0) = alpha.

A piecewise function is written as a sum of its pieces, each times its 0/1 indicator,
(x > 0) * a + (x <= 0) * b, rather than ``np.where``: the same values (a * 1 + b * 0 = a
exactly), and no per-element branch (np.where mispredicts on random signs, ~10x a multiply).
Where a piece is inf or NaN on the other side, the pieces are written so that never happens
(max(x, 0) and min(x, 0) instead of indicators).
"""

from __future__ import annotations

import numpy as np

from scratch.nn.functional.gelu import gelu, gelu_backward, normal_cdf  # noqa: F401
from scratch.nn.functional.softmax import (  # noqa: F401
    log_softmax, log_softmax_backward, softmax, softmax_backward,
)


# ReLU: y = max(x, 0); dy/dx = 1 if x > 0 else 0
def relu(x):
    return np.maximum(x, 0)


def relu_backward(grad_output, x):
    return grad_output * (x > 0)


# LeakyReLU: y = max(x, 0) + s * min(x, 0); dy/dx = 1 if x > 0 else s
def leaky_relu(x, negative_slope=0.01):
    return np.maximum(x, 0) + negative_slope * np.minimum(x, 0)


def leaky_relu_backward(grad_output, x, negative_slope=0.01):
    positive = x > 0
    return grad_output * positive + negative_slope * grad_output * ~positive


def _channel_view(weight, ndim):
    """PReLU's weight: one slope for every element, or (C,) broadcast along dim 1 of (N, C, ...)."""
    if weight.size == 1:
        return weight.reshape((1,) * ndim)
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


# PReLU: y = max(x, 0) + a * min(x, 0), a learned; dy/dx = 1 if x > 0 else a; dy/da = min(x, 0)
def prelu(x, weight):
    a = _channel_view(weight, x.ndim)
    return np.maximum(x, 0) + a * np.minimum(x, 0)


def prelu_backward(grad_output, x, weight):
    """Returns (grad_input, grad_weight); grad_weight sums over every non-channel position."""
    a = _channel_view(weight, x.ndim)
    positive = x > 0
    grad_input = grad_output * positive + a * grad_output * ~positive
    contrib = grad_output * np.minimum(x, 0)
    if weight.size == 1:
        return grad_input, np.asarray(contrib.sum(), dtype=weight.dtype).reshape(weight.shape)
    axes = tuple(i for i in range(x.ndim) if i != 1)
    return grad_input, contrib.sum(axis=axes).astype(weight.dtype)


# ELU: y = max(x, 0) + alpha * (exp(min(x, 0)) - 1); dy/dx = 1 if x > 0 else alpha * exp(x)
def elu(x, alpha=1.0):
    return np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0))


def elu_backward(grad_output, x, alpha=1.0):
    positive = x > 0
    return grad_output * positive + alpha * np.exp(np.minimum(x, 0)) * grad_output * ~positive


# Sigmoid: y = 1 / (1 + exp(-x)) (torch's formula); dy/dx = y (1 - y).
# exp(-x) overflows to inf below x = -88.7 (float32): then y = 1 / inf = 0, the limit.
def sigmoid(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def sigmoid_backward(grad_output, y):
    return grad_output * (1 - y) * y


# Tanh: y = tanh(x); dy/dx = 1 - y^2
def tanh(x):
    return np.tanh(x)


def tanh_backward(grad_output, y):
    return grad_output * (1 - y * y)


# SiLU (Swish): y = x * sigmoid(x); dy/dx = s (1 + x (1 - s)), s = sigmoid(x)
def silu(x):
    return x * sigmoid(x)


def silu_backward(grad_output, x):
    s = sigmoid(x)
    return grad_output * (s * (1 + x * (1 - s)))
