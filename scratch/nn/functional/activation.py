"""Activation kernels: each forward sits next to its local derivative.

Every ``*_backward(grad_output, ...)`` returns dL/dx given dL/dy. Values at kinks
follow torch's autograd (``../shared/reference/torch-semantics.md`` A9):
relu'(0) = 0, leaky_relu'(0) = slope, prelu'(0) = a, elu'(0) = alpha.
All are finite for |x| up to 1e4 in float32 and float64 (no overflow, no NaN).
"""

from __future__ import annotations

import math

import numpy as np

# ReLU: y = max(x, 0); dy/dx = 1 if x > 0 else 0 (the max gate routes the gradient)
def relu(x):
    return np.maximum(x, 0, dtype=x.dtype)


def relu_backward(grad_output, x):
    return np.where(x <= 0, 0, grad_output).astype(grad_output.dtype, copy=False)  # torch: NaN passes g


# LeakyReLU: y = x if x > 0 else s*x; dy/dx = 1 if x > 0 else s (s at the kink, like torch)
def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, x * negative_slope)


def leaky_relu_backward(grad_output, x, negative_slope=0.01):
    return np.where(x > 0, grad_output, grad_output * negative_slope)


def _channel_view(weight, ndim):
    """PReLU's weight: one slope for every element, or (C,) broadcast along dim 1 of (N, C, ...)."""
    if weight.size == 1:
        return weight.reshape((1,) * ndim)
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


# PReLU: y = x if x > 0 else a*x, with a learned; dy/dx as LeakyReLU, dy/da = x if x <= 0 else 0
def prelu(x, weight):
    return np.where(x > 0, x, _channel_view(weight, x.ndim) * x)


def prelu_backward(grad_output, x, weight):
    """Returns (grad_input, grad_weight); grad_weight sums over every non-channel position."""
    a = _channel_view(weight, x.ndim)
    grad_input = np.where(x > 0, grad_output, grad_output * a)
    contrib = np.where(x > 0, 0, grad_output * x)
    if weight.size == 1:
        grad_weight = np.asarray(contrib.sum(), dtype=weight.dtype).reshape(weight.shape)
    else:
        axes = tuple(i for i in range(x.ndim) if i != 1)
        grad_weight = contrib.sum(axis=axes).astype(weight.dtype)
    return grad_input, grad_weight


# ELU: y = x if x > 0 else alpha*(exp(x) - 1); dy/dx = 1 if x > 0 else alpha*exp(x) (alpha at 0)
def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_backward(grad_output, x, alpha=1.0):
    return np.where(x <= 0, grad_output * (alpha * np.exp(np.minimum(x, 0))), grad_output)  # torch: NaN passes g


# Sigmoid: y = 1 / (1 + exp(-x)); dy/dx = y(1 - y). exp is only taken of -|x| (no overflow).
def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(grad_output, y):
    return grad_output * (1 - y) * y


# Tanh: y = tanh(x); dy/dx = 1 - y^2
def tanh(x):
    return np.tanh(x)


def tanh_backward(grad_output, y):
    return grad_output * (1 - y * y)


# SiLU (Swish): y = x * sigmoid(x); dy/dx = s * (1 + x * (1 - s))
def silu(x):
    return x * sigmoid(x)


def silu_backward(grad_output, x):
    s = sigmoid(x)
    return grad_output * (s * (1 + x * (1 - s)))


_erf = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf; math.erf is exact to double precision
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _phi_cdf(x):
    erf = np.asarray(_erf(np.asarray(x, dtype=np.float64) / math.sqrt(2)), dtype=np.float64)  # 0-d safe
    return np.asarray(0.5 * (1 + erf)).astype(x.dtype)


# GELU: exact y = x * Phi(x), dy/dx = Phi(x) + x * phi(x);
#       tanh y = x/2 * (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
def gelu(x, approximate="none"):
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + np.tanh(u))
    return x * _phi_cdf(x)


def gelu_backward(grad_output, x, approximate="none"):
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = np.tanh(u)
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return grad_output * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return grad_output * (_phi_cdf(x) + x * pdf)


# Softmax along dim: y = exp(x - max) / sum(exp(x - max)); dL/dx = y * (g - sum(g * y))
def softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(grad_output, y, dim):
    return y * (grad_output - (grad_output * y).sum(axis=dim, keepdims=True))


# LogSoftmax: y = (x - max) - log(sum(exp(x - max))); dL/dx = g - exp(y) * sum(g)
def log_softmax(x, dim):
    z = x - x.max(axis=dim, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))


def log_softmax_backward(grad_output, y, dim):
    return grad_output - np.exp(y) * grad_output.sum(axis=dim, keepdims=True)
