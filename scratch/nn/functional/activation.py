"""Activation kernels: each forward sits next to its local derivative.

Every ``*_backward(grad_output, ...)`` returns dL/dx given dL/dy. Values at kinks
follow torch's autograd (``../shared/reference/torch-semantics.md`` A9):
relu'(0) = 0, leaky_relu'(0) = slope, prelu'(0) = a, elu'(0) = alpha.
All are finite for |x| up to 1e4 in float32 and float64 (no overflow, no NaN).
"""

from __future__ import annotations

import math

import numpy as np

# -- branch-free selection --------------------------------------------------------------------------------
# np.where(c, a, b) branches per element: on random signs it mispredicts and costs ~450 us for a
# 512x256 array, 8x a multiply. Choosing by bit masks computes the same bits without branches.
# Kernels also write into one fresh buffer (out=) instead of chaining temporaries: a second live
# megabyte-sized temporary makes glibc return and re-fault heap pages on every call (measured 20x).

def _bits(a):
    """The unsigned-integer view of a float array (same memory, same bits)."""
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def _new(a):
    """A fresh ufunc result as an array: NumPy returns a scalar for 0-d input, and out= needs an array."""
    return a if isinstance(a, np.ndarray) else np.asarray(a)


def _zero_where(cond, values):
    """np.where(cond, 0, values) bit for bit (+0.0 where cond), as a new array."""
    m = np.empty_like(values, dtype=np.dtype(f"u{values.dtype.itemsize}"))  # values' layout: sums stay bitwise
    np.copyto(m, cond)         # 1 where cond, 0 elsewhere
    np.subtract(m, 1, out=m)                                   # 0 where cond, all ones elsewhere
    np.bitwise_and(m, _bits(values), out=m)
    return m.view(values.dtype)


def _where_into(cond, a, b):
    """np.where(cond, a, b) bit for bit, written into ``b`` (a buffer the caller owns) and returned.
    ``a`` is an array or a scalar of b's dtype: (a & m) | (b & ~m), m all ones where cond."""
    bb = _bits(b)
    m = np.asarray(cond).astype(bb.dtype)
    np.subtract(m, 1, out=m)  # all ones where not cond
    np.bitwise_and(bb, m, out=bb)
    np.invert(m, out=m)       # all ones where cond
    np.bitwise_and(m, _bits(np.asarray(a, b.dtype)), out=m)
    np.bitwise_or(bb, m, out=bb)
    return b


def _scale_where(v, cond, scale, dtype, scale_first=False):
    """np.where(cond, v, v * scale) (or scale * v) bit for bit: v times a factor that is 1 where
    cond (v * 1 == v exactly, NaN included) and ``scale`` elsewhere; one buffer, no branches."""
    u = np.dtype(f"u{np.dtype(dtype).itemsize}")
    one, k = _bits(np.ones((), dtype)), _bits(np.asarray(scale, dtype))
    f = np.empty(np.broadcast_shapes(np.shape(cond), np.shape(scale)), u)
    np.copyto(f, cond)
    np.negative(f, out=f)                      # all ones where cond
    np.bitwise_and(f, np.bitwise_xor(one, k), out=f)
    np.bitwise_xor(f, k, out=f)                # the bits of 1 where cond, of scale elsewhere
    f = f.view(dtype)
    return np.multiply(f, v, out=f) if scale_first else np.multiply(v, f, out=f)


# ReLU: y = max(x, 0); dy/dx = 1 if x > 0 else 0 (the max gate routes the gradient)
def relu(x):
    return np.maximum(x, 0, dtype=x.dtype)


def relu_backward(grad_output, x):
    return _zero_where(x <= 0, np.asarray(grad_output))  # torch: NaN passes g


# LeakyReLU: y = x if x > 0 else s*x; dy/dx = 1 if x > 0 else s (s at the kink, like torch)
def leaky_relu(x, negative_slope=0.01):
    return _scale_where(x, x > 0, negative_slope, np.result_type(x, negative_slope))


def leaky_relu_backward(grad_output, x, negative_slope=0.01):
    return _scale_where(grad_output, x > 0, negative_slope, np.result_type(grad_output, negative_slope))


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


# ELU: y = x if x > 0 else alpha*(exp(x) - 1); dy/dx = 1 if x > 0 else alpha*exp(x) (alpha at 0)
def elu(x, alpha=1.0):
    neg = _new(np.minimum(x, 0))
    np.expm1(neg, out=neg)
    return _where_into(x > 0, x, np.multiply(alpha, neg, out=neg))


def elu_backward(grad_output, x, alpha=1.0):
    d = _new(np.minimum(x, 0))
    np.exp(d, out=d)
    np.multiply(alpha, d, out=d)
    return _where_into(~(x <= 0), grad_output, np.multiply(grad_output, d, out=d))  # torch: NaN passes g


# Sigmoid: y = 1 / (1 + exp(-x)); dy/dx = y(1 - y). exp is only taken of -|x| (no overflow).
def sigmoid(x):
    e = _new(np.abs(x))
    np.negative(e, out=e)
    np.exp(e, out=e)
    d = _new(np.add(1, e))
    # numerator where(x >= 0, 1, e) without a branch: e <= 1 where x >= 0, e >= 0 elsewhere (NaN stays)
    return np.divide(np.maximum(e, x >= 0, out=e), d, out=d)


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


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)

# erf in float64, vectorized (NumPy has none; math.erf one element at a time cost 23 ms per 512x256).
# Three polynomials, fitted offline (Chebyshev, 40 digits) with errors below 1e-16 of erf, Horner in float64:
#   |z| < 1:      erf(z) = z P(z^2)                          P: erf(sqrt(t)) / sqrt(t) on t in [0, 1]
#   1 <= |z| < 2: erf(z) = Q(|z| - 1.5)                      Q: erf on [1, 2]
#   2 <= |z| < 6: erf(z) = 1 - exp(-z^2) R(1/|z| - 1/3)      R: erfcx(z) = exp(z^2) erfc(z) on [2, 6]
#   |z| >= 6:     erf(z) = 1 (erfc(6) = 2e-17 is below half an ulp of 1)
# with erf's sign put back by copysign. Against math.erf on 450k points (tails, interval ends, tiny): within 2 ulp.
_ERF_P = (5.957176147748911e-11, -1.1372848856791674e-09, 1.4659775274047436e-08, -1.6350312701054695e-07, 1.6461000484121368e-06, -1.4925595266831182e-05, 0.0001205533111164271, -0.000854832698083379, 0.0052239776248180145, -0.026866170645076792, 0.11283791670954879, -0.3761263890318375, 1.1283791670955126)
_ERF_Q = (-2.8346118565278276e-07, 1.4171216409416466e-06, 5.712902189436902e-07, -1.4038638152371658e-05, 1.7961323135211212e-05, 7.767647032419676e-05, -0.00025444927807681647, -9.291229551299306e-05, 0.0017098196278538453, -0.002362677793021706, -0.004743053204878897, 0.019326172007209028, -0.014866286152863747, -0.04459885845906473, 0.1387520040942334, -0.17839543383544215, 0.11893028922362937, 0.9661051464753108)
_ERF_R = (3.586406604048527, -1.3271449305035954, -0.6686072573809234, 0.9989363349361461, -0.6508548181638285, 0.16324701037124956, 0.17991584144147027, -0.27846985499680166, 0.18107643257615744, -0.004657735518726179, -0.134841286913459, 0.1614728561865362, -0.05014611072271878, -0.18141695624433918, 0.4893503400645558, 0.17900115118139)


def _horner(coefs, x):
    """sum_k coefs[k] x^(n-1-k) (highest power first), in one buffer."""
    out = np.multiply(x, coefs[0])
    for c in coefs[1:-1]:
        np.add(out, c, out=out)
        np.multiply(out, x, out=out)
    return np.add(out, coefs[-1], out=out)


def _erf(z):
    """erf of a float64 array (any shape, 0-d included); NaN stays NaN, erf(+-inf) = +-1."""
    z = np.asarray(z, dtype=np.float64, order="C")
    a = np.abs(z).reshape(-1)
    out = _horner(_ERF_P, a * a)
    np.multiply(out, a, out=out)
    big = np.flatnonzero(a >= 1)        # the rest, usually a minority: evaluated on their own
    if big.size:
        ab = a[big]
        vals = np.ones_like(ab)
        mid = ab < 2
        vals[mid] = _horner(_ERF_Q, ab[mid] - 1.5)
        tail = (ab >= 2) & (ab < 6)
        at = ab[tail]
        vals[tail] = 1 - np.exp(-(at * at)) * _horner(_ERF_R, 1 / at - 1 / 3)
        out[big] = vals
    return np.copysign(out, z.reshape(-1), out=out).reshape(z.shape)


def normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2, computed in float64 and rounded once to x's dtype."""
    cdf = _erf(np.asarray(x, dtype=np.float64) / math.sqrt(2))
    np.add(1, cdf, out=cdf)
    return np.multiply(0.5, cdf, out=cdf).astype(x.dtype, copy=False)


# GELU: exact y = x * Phi(x), dy/dx = Phi(x) + x * phi(x);
#       tanh y = x/2 * (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
def gelu(x, approximate="none"):
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + np.tanh(u))
    return x * normal_cdf(x)


def gelu_backward(grad_output, x, approximate="none", cdf=None):
    """``cdf`` = normal_cdf(x) when the caller kept it from forward (saves the erf)."""
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = np.tanh(u)
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return grad_output * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
    out = _new(np.multiply(-0.5, x))       # pdf = exp(-x^2 / 2) / sqrt(2 pi), then Phi + x pdf
    np.multiply(out, x, out=out)
    np.exp(out, out=out)
    np.multiply(_INV_SQRT_2PI, out, out=out)
    np.multiply(x, out, out=out)
    np.add(normal_cdf(x) if cdf is None else cdf, out, out=out)
    return np.multiply(grad_output, out, out=out)


# Softmax along dim: y = exp(x - max) / sum(exp(x - max)); dL/dx = y * (g - sum(g * y))
def softmax(x, dim):
    e = _new(np.subtract(x, x.max(axis=dim, keepdims=True)))
    np.exp(e, out=e)
    return np.divide(e, e.sum(axis=dim, keepdims=True), out=e)


def softmax_backward(grad_output, y, dim):
    out = _new(np.multiply(grad_output, y))
    s = out.sum(axis=dim, keepdims=True)
    np.subtract(grad_output, s, out=out)
    return np.multiply(y, out, out=out)


# LogSoftmax: y = (x - max) - log(sum(exp(x - max))); dL/dx = g - exp(y) * sum(g)
def log_softmax(x, dim):
    z = _new(np.subtract(x, x.max(axis=dim, keepdims=True)))
    lse = np.log(np.exp(z).sum(axis=dim, keepdims=True))
    return np.subtract(z, lse, out=z)


def log_softmax_backward(grad_output, y, dim):
    out = _new(np.exp(y))
    np.multiply(out, grad_output.sum(axis=dim, keepdims=True), out=out)
    return np.subtract(grad_output, out, out=out)
