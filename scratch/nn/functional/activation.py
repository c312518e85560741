"""Activation kernels: each forward sits next to its local derivative.

Every ``*_backward(grad_output, ...)`` returns dL/dx given dL/dy = g, and takes what torch's
derivative formula takes (x, or the output y where the derivative is written in y).
Values at kinks follow torch's autograd (the registry's kink cases check each one):
relu'(0) = 0, leaky_relu'(0) = slope, prelu'(0) = a, elu'(0) = alpha.

Piecewise functions use ``np.where`` with torch's own condition, so NaN and inf go where torch
sends them. ReLU, the hot path of every MLP, is arithmetic instead (np.where branches per element,
slow on inputs of random sign): max(x, 0), and g * (x > 0), which differs from torch only for a
NaN input (gradient 0; torch passes g) or a non-finite g where x <= 0 (NaN; torch gives 0).
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


# LeakyReLU: y = x if x > 0 else s * x; dy/dx = 1 if x > 0 else s
def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_backward(grad_output, x, negative_slope=0.01):
    return np.where(x > 0, grad_output, negative_slope * grad_output)


def _channel_view(weight, ndim):
    """PReLU's weight: one slope for every element, or (C,) broadcast along dim 1 of (N, C, ...)."""
    if weight.size == 1:
        return weight.reshape((1,) * ndim)
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


# PReLU: y = x if x > 0 else a * x, a learned; dy/dx = 1 if x > 0 else a; dy/da = 0 if x > 0 else x
def prelu(x, weight):
    a = _channel_view(weight, x.ndim)
    return np.where(x > 0, x, a * x)


def prelu_backward(grad_output, x, weight):
    """Returns (grad_input, grad_weight); grad_weight sums over every non-channel position."""
    a = _channel_view(weight, x.ndim)
    grad_input = np.where(x > 0, grad_output, a * grad_output)
    contrib = np.where(x > 0, 0, x * grad_output)
    if weight.size == 1:
        return grad_input, np.asarray(contrib.sum(), dtype=weight.dtype).reshape(weight.shape)
    axes = tuple(i for i in range(x.ndim) if i != 1)
    return grad_input, contrib.sum(axis=axes).astype(weight.dtype)


# ELU: y = x if x > 0 else alpha * (exp(x) - 1); dy/dx = 1 if x > 0 else alpha * exp(x)
# (min(x, 0) keeps exp from overflowing on the side np.where does not take)
def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_backward(grad_output, x, alpha=1.0):
    return np.where(x <= 0, grad_output * alpha * np.exp(np.minimum(x, 0)), grad_output)


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
