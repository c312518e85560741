"""Batch normalization kernels (twin ``torch.nn.functional.batch_norm``).

Input (N, C) or (N, C, L); statistics per channel over the n = N*L values.
Train:  mu = mean(x), var = mean((x - mu)^2) (biased), xhat = (x - mu) / sqrt(var + eps),
        y = gamma * xhat + beta
        dL/dx = gamma / sqrt(var + eps) / n * (n g - sum(g) - xhat * sum(g * xhat))
Eval:   xhat = (x - running_mean) / sqrt(running_var + eps); dL/dx = g * gamma / sqrt(running_var + eps)
Both:   dL/dgamma = sum(g * xhat), dL/dbeta = sum(g).
The running variance uses the unbiased estimate var * n / (n - 1) (Bessel), the
normalization uses the biased one: that asymmetry is torch's and a classic bug source.

Precision: the kernels keep x - mu as d - lo (``Centered``: d in the input's dtype, lo None
or a float64 per-channel shift folded into the per-channel constants) and work elementwise
in the input's dtype, like torch's CPU kernel, but every per-channel sum accumulates in
float64 and mu keeps its float64 digits (see ``center``). Why: the earlier version did
every elementwise pass in float64 and cost 3.7x torch in float32 (10 float64 passes
forward and 10 backward on (512, 256)); float32 passes move half the bytes.
The sums are what small batches need exact: with N = 2, xhat = +-a and
dL/dx ~ (1 - a^2)(g0 - g1) with 1 - a^2 ~ eps / var, so sum(g) and sum(g d) rounded to
float32 would lose that difference (worst error / allowed on 3000 small random cases,
the registry's tolerance formula at one sample: all float32 0.85, this 0.44, all float64 0.33).
(torch's own kernel for 2-D float32 input, the "channels last" one, accumulates in float32:
its running mean over 4096 rows of 1e4 + N(0, 1) is off by 24 ulps; for (N, C, L) in double.)
For float32 (N, C) input near zero mean the four sums come from float64 copies of x and g
(exact squares and products, see ``batch_stats``): forward+backward on (512, 256) 412 -> ~300 us.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np


def _bcast(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


_LOCAL = threading.local()  # per thread (sweeps may run in threads): name -> one array reused from call to call


def _scratch(name, shape, dtype):
    """A work array for a temporary that is consumed before the next call. Why: a
    fresh megabyte-sized array costs more in page faults (glibc hands it back to the OS when
    it is freed) than the pass that fills it: BatchNorm1d's float32 forward on (512, 256) took
    640 us with fresh temporaries, 210 us with these."""
    arrays = _LOCAL.__dict__
    buf = arrays.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = arrays[name] = np.empty(shape, dtype)
    return buf


def _converted(a, dtype):
    """``a`` in ``dtype`` (itself when it already is; else in a reused work array)."""
    if a.dtype == dtype:
        return a
    buf = _scratch("converted", a.shape, dtype)
    np.copyto(buf, a)
    return buf


def _ones(n, dtype):
    """A reused vector of n ones (np.ones per call was 4 of the ~70 us fixed cost per step)."""
    ones = _LOCAL.__dict__.get("ones")
    if ones is None or ones.shape != (n,) or ones.dtype != dtype:
        ones = _LOCAL.ones = np.ones(n, dtype)
    return ones


def channel_sums(a, dtype=None):
    """Per-channel sums of an (N, C) or (N, C, L) array, in ``dtype`` (default a's).

    One BLAS matrix-vector product ones @ a: on (512, 256) it takes 20 us in float64
    (a.sum(axis=0) 31 us) and 7 us in float32."""
    a2 = a if a.ndim == 2 else np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])
    a2 = _converted(a2, np.dtype(dtype or a.dtype))
    return _ones(a2.shape[0], a2.dtype) @ a2


_INNER = 8192  # elements per inner loop of ``channelwise`` (measured: 4096 is as slow as plain broadcasting)


def channelwise(op, a, v, out=None):
    """``op(a, v)`` for a per-channel vector v (in a's dtype) broadcast over axis 1 of a,
    into ``out`` (a fresh array when None).

    Why not plain broadcasting: NumPy runs (N, C) op (1, C) as N inner loops of C
    elements, 1.5x a flat pass (float32 (512, 256) multiply: 27 us, flat 17.5 us).
    Viewed as rows of h * C >= 8192 elements against v tiled h times, it runs at the flat
    speed (18 us; float64 48 -> 34 us). Same ufunc on the same pairs: same bits."""
    if out is None:
        out = np.empty(a.shape, a.dtype)
    n = a.shape[0]
    width = a.size // n if a.size else 1
    h = -(-_INNER // width)
    m = n - n % h
    if m == 0 or not (a.flags.c_contiguous and out.flags.c_contiguous):
        return op(a, _bcast(v, a), out=out)
    row = v if a.ndim == 2 else np.repeat(v, a.shape[2])  # (N, C, L): one row is C runs of L
    tile = _scratch("tile", (h, width), a.dtype)
    tile[...] = row
    a2, out2 = a.reshape(n, width), out.reshape(n, width)
    op(a2[:m].reshape(-1, h * width), tile.reshape(-1), out=out2[:m].reshape(-1, h * width))
    if m < n:
        op(a2[m:], row, out=out2[m:])
    return out


class Centered(NamedTuple):
    """x - mean as the kernels keep it for the backward: d - lo, with d in x's dtype and lo
    float64 per channel (None: zero); ``mean`` float64; ``x64`` x in float64 when the
    backward takes sum(g (x - mean)) from it (see ``batch_stats``), else None."""
    d: np.ndarray
    lo: np.ndarray | None
    mean: np.ndarray
    x64: np.ndarray | None = None


def center(x, mean):
    """``Centered`` x for a float64 per-channel ``mean``: d = x - mean in x's dtype, lo None.

    mean is split as hi + lo (hi = mean rounded to x's dtype, lo the rest), and d = (x - hi) - lo,
    so d keeps the float64 mean's digits: with offset inputs (x ~ 1e4 and a small spread) a mean
    rounded to float32 alone would shift every d by up to half an ulp of 1e4."""
    hi = mean.astype(x.dtype)
    d = x if not hi.any() else channelwise(np.subtract, x, hi)
    lo = mean - hi
    if lo.any():
        d = channelwise(np.subtract, d, lo.astype(x.dtype), out=None if d is x else d)
    return Centered(d, None, mean)


_UNCENTERED = 1 / 16  # the float32 (N, C) route below where every mean^2 <= var / 16


def batch_stats(x, x64=None):
    """Per-channel (mean, biased variance, n, Centered x); mean and variance in float64.
    ``x64``: the float64 copy of x an earlier call returned in Centered (its caller's own,
    reused when it fits; the module keeps one per instance).

    float32 (N, C) input with |mean| <= std / 4 in every channel (activations with zero-mean
    init, the benchmark's case): one float64 copy of x gives sum(x) and sum(x^2) (squares
    exact in float64; with mean^2 <= var / 16, mean(x^2) - mean^2 is within ~3 n 2^-53 of var),
    the backward takes sum(g (x - mean)) = sum(g x) - mean sum(g) from it with exact
    products, and d is x itself with lo = mean folded into the per-channel constants:
    no centering pass, and every sum is exact for the very d the elementwise passes use
    (rounding errors scale with |x| <= |x - mean| + std / 4, as in torch's x * alpha + beta).
    Why only there: with a rounded d = x - hi the exact sums no longer match d, and small
    batches with var >> eps amplify that mismatch (N = 3: 0.06 -> 0.25 of the allowed error).
    BatchNorm1d on (512, 256) float32: forward 213 -> 138 us, backward 196 -> 157 us.
    Otherwise two passes: mean, then var = mean(d^2) from d = x - mean."""
    n = x.size // x.shape[1]
    if x.dtype != np.float64 and x.ndim == 2:
        owned = x64 is not None and x64.shape == x.shape
        buf = x64 if owned else _scratch("converted", x.shape, np.float64)
        np.copyto(buf, x)
        mean = _ones(n, np.float64) @ buf / n
        mean_sq = mean * mean
        var = np.einsum("ij,ij->j", buf, buf) / n - mean_sq  # einsum: no 1 MB square array
        if (mean_sq <= var * _UNCENTERED).all():
            buf = buf if owned else buf.copy()  # the backward needs it after other layers' calls
            return mean, var, n, Centered(x, mean if mean.any() else None, mean, buf)
    else:
        mean = channel_sums(x, np.float64) / n
    c = center(x, mean)
    sq = np.square(c.d, out=_scratch("square", x.shape, x.dtype))
    var = channel_sums(sq, np.float64) / n  # two-pass: no cancellation for offset inputs
    return mean, var, n, c


def batch_norm_forward(c, inv_std, weight=None, bias=None):
    """y = (d - lo) * alpha + bias = d * alpha + (bias - lo * alpha), alpha = inv_std * weight,
    for ``Centered`` c; elementwise in d's dtype, lo and the rest float64 per channel."""
    d, lo = c.d, c.lo
    alpha = (inv_std if weight is None else inv_std * weight).astype(d.dtype)
    y = channelwise(np.multiply, d, alpha)
    shift = None if lo is None else -lo * alpha  # with the rounded alpha: y = d * alpha + (bias - lo * alpha)
    if bias is not None:
        shift = bias if shift is None else bias + shift
    if shift is not None:
        channelwise(np.add, y, shift.astype(d.dtype), out=y)
    return y


def batch_norm_backward(grad_output, c, inv_std, weight=None, batch_statistics=True):
    """Returns (grad_input, grad_weight, grad_bias) for ``Centered`` c; grad_weight (None
    without weight) and grad_bias in float64.

    With xhat = (d - lo) * inv_std the training formula reads
    dL/dx = (g - sum(g) / n - (d - lo) * k) * inv_std * gamma, k = sum(g (d - lo)) * inv_std^2 / n,
    torch's form, computed as (g - (sum(g) / n - lo * k) - d * k) * scale: g minus its
    (shifted) mean first, as torch does, so a gradient with a large common part cancels
    exactly (Sterbenz) before anything else rounds. ``batch_statistics`` says whether
    mean/var came from this batch (train, or track_running_stats=False): then they depend
    on x and add the two extra terms.
    """
    d, lo, dt = c.d, c.lo, grad_output.dtype
    scale = inv_std if weight is None else inv_std * weight
    if c.x64 is not None:
        # g converted once for both sums; sum(g x) with exact products in one pass (36 us)
        # instead of g * d, its conversion and a gemv (50 us)
        g64 = _converted(grad_output, np.float64)
        g_sum = _ones(g64.shape[0], np.float64) @ g64
        gd_sum = np.einsum("ij,ij->j", g64, c.x64) - c.mean * g_sum  # sum(g (x - mean))
    else:  # lo is None: d is x - mean
        g_sum = channel_sums(grad_output, np.float64)
        if not batch_statistics and weight is None:  # sum(g xhat) is not needed
            return channelwise(np.multiply, grad_output, scale.astype(dt)), None, g_sum
        gd = np.multiply(grad_output, d, out=_scratch("product", d.shape, dt))
        gd_sum = channel_sums(gd, np.float64)  # sum(g d), products rounded once
    if batch_statistics:
        n = grad_output.size // grad_output.shape[1]
        k = gd_sum * inv_std * inv_std / n
        mean_g = g_sum / n if lo is None else g_sum / n - lo * k
        grad_input = channelwise(np.subtract, grad_output, mean_g.astype(dt))
        dk = channelwise(np.multiply, d, k.astype(dt), out=_scratch("dk", d.shape, dt))
        np.subtract(grad_input, dk, out=grad_input)
        channelwise(np.multiply, grad_input, scale.astype(dt), out=grad_input)
    else:
        grad_input = channelwise(np.multiply, grad_output, scale.astype(dt))
    return grad_input, gd_sum * inv_std, g_sum


def update_running_stats(running_mean, running_var, mean, var, n, momentum):
    """torch's exponential average; ``momentum`` weighs the *new* batch. Returns new arrays."""
    unbiased = var * (n / (n - 1))
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * unbiased
    return new_mean.astype(running_mean.dtype), new_var.astype(running_var.dtype)
