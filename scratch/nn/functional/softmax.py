"""Softmax and LogSoftmax along a dim (twins: torch.nn.Softmax / LogSoftmax), with the row
reductions they share (BLAS sums, integer-view maxima: faster than NumPy's along-axis reductions)."""

from __future__ import annotations

import math

import numpy as np

from scratch.nn.functional._select import _bits, _new


# -- row reductions for softmax / log_softmax ------------------------------------------------------------
# On a 512x256 float32 array NumPy's max along the rows takes 42 us and its pairwise sum 29 us; the max of the
# same bits read as signed integers takes 22 us, and BLAS sums the rows (a matrix-vector product with ones) in
# 8 us and takes the row dot products of two arrays in 16 us (NumPy: a multiply and a sum, 47 us).

def _max_along(x, dim):
    """x.max(axis=dim, keepdims=True). Floats with the sign bit clear order like their bits as signed integers
    and sit above every float with it set, so the integer max is the float max in any row holding a value >= +0
    (a NaN with the sign bit clear wins, as NaN wins np.max; a -NaN still makes the whole softmax row NaN).
    Rows with every sign bit set (all <= -0) order backwards as integers: those take NumPy's float max."""
    m = _bits(x).view(np.dtype(f"i{x.dtype.itemsize}")).max(axis=dim, keepdims=True)
    neg = m < 0
    m = m.view(x.dtype)
    return np.where(neg, x.max(axis=dim, keepdims=True), m) if neg.any() else m


def _sum_along(a, dim):
    """a.sum(axis=dim, keepdims=True); along the last axis as a @ ones (BLAS: another summation order than
    NumPy's pairwise one, as accurate)."""
    if dim != a.ndim - 1:
        return a.sum(axis=dim, keepdims=True)
    return np.matmul(a, np.ones(a.shape[-1], a.dtype))[..., None]


def _dot_along(a, b, dim):
    """(a * b).sum(axis=dim, keepdims=True); along the last axis one BLAS dot per row (batched matmul)."""
    if dim != a.ndim - 1:
        return _new(np.multiply(a, b)).sum(axis=dim, keepdims=True)
    return np.matmul(a[..., None, :], b[..., :, None])[..., 0]


def _exp_sum(x, dim):
    """(e, s): e = exp(x - shift) (a new array), s = its sum along dim (keepdims), for softmax.

    softmax is invariant to the shift; torch's, the max along dim, keeps exp from overflowing. When no exp can
    overflow the sum (global max below log(max float / n)) and every sum is far above the underflow threshold
    (so the terms that count are normal numbers), the shift is 0: no row max and no broadcast subtract (each
    ~30 us per 512x256 float32 array; the global max is 7 us), and exp is taken of x itself, without the
    rounding of x - max (as accurate or more). Otherwise (NaN, inf, large or very negative logits): the row max."""
    if x.size:
        info = np.finfo(x.dtype)
        n = x.shape[dim]
        if x.max() <= math.log(float(info.max) / n) - 1:  # false for NaN and +inf too
            e = _new(np.exp(x))
            s = _sum_along(e, dim)
            if s.min() >= n * float(info.tiny) / float(info.eps):  # false for a NaN sum too
                return e, s
    e = _new(np.subtract(x, _max_along(x, dim)))
    np.exp(e, out=e)
    return e, _sum_along(e, dim)


# Softmax along dim: y = exp(x - max) / sum(exp(x - max)); dL/dx = y * (g - sum(g * y))
def softmax(x, dim):
    e, s = _exp_sum(x, dim)
    return np.divide(e, s, out=e)


def softmax_backward(grad_output, y, dim):
    out = _new(np.subtract(grad_output, _dot_along(grad_output, y, dim)))
    return np.multiply(y, out, out=out)


# LogSoftmax: y = (x - max) - log(sum(exp(x - max))); dL/dx = g - exp(y) * sum(g)
# The shift is any value >= the row max; with the global max M instead, x - M is a scalar subtract (13 us per
# 512x256 float32 array; the row max and a broadcast subtract: ~55 us). As accurate as torch's while each row's
# log-sum stays within a few units of 0, i.e. the rows' maxima are near M: log s >= -4 is checked (else: row max).
# Rows of one element keep the row max: y = 0 - log(exp(0)) = 0 exactly, not log(exp(z)) - z rounding noise.
def log_softmax(x, dim, keep=None):
    """``keep``: a dict that receives e = exp(x - shift) as "exp" and its sum as "sum", so that backward
    gets exp(y) = e / sum without a second exp (LogSoftmax keeps them)."""
    top = x.max() if x.size and x.shape[dim] > 1 else np.nan
    if np.isfinite(top):
        z = _new(np.subtract(x, top))
        e = _new(np.exp(z))
        s = _sum_along(e, dim)
        if not s.min() >= math.exp(-4):  # a row far below the global max (or NaN): shift each row by its own max
            z = None
    else:
        z = None
    if z is None:
        z = _new(np.subtract(x, _max_along(x, dim)))
        e = _new(np.exp(z))
        s = _sum_along(e, dim)
    if keep is not None:
        keep["exp"], keep["sum"] = e, s
    return np.subtract(z, np.log(s), out=z)


def log_softmax_backward(grad_output, y, dim, kept=None):
    """``kept``: log_softmax's ``keep`` dict; then exp(y) * sum(g) = e * (sum(g) / sum(e)): one pass, no exp."""
    if kept is None:
        out = _new(np.exp(y))
        np.multiply(out, _sum_along(grad_output, dim), out=out)
    else:
        out = _new(np.multiply(kept["exp"], _sum_along(grad_output, dim) / kept["sum"]))
    return np.subtract(grad_output, out, out=out)
