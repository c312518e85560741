"""Batch normalization kernels (twin ``torch.nn.functional.batch_norm``).

Input (N, C) or (N, C, L); statistics per channel over the n = N*L values.
Train:  mu = mean(x), var = mean((x - mu)^2) (biased), xhat = (x - mu) / sqrt(var + eps),
        y = gamma * xhat + beta
        dL/dx = gamma / sqrt(var + eps) / n * (n g - sum(g) - xhat * sum(g * xhat))
Eval:   xhat = (x - running_mean) / sqrt(running_var + eps); dL/dx = g * gamma / sqrt(running_var + eps)
Both:   dL/dgamma = sum(g * xhat), dL/dbeta = sum(g).
The running variance uses the unbiased estimate var * n / (n - 1) (Bessel), the
normalization uses the biased one: that asymmetry is torch's and a classic bug source.

Precision: the kernels keep d = x - mu (not xhat) and work elementwise in the input's
dtype, like torch's CPU kernel, but every per-channel sum accumulates in float64 and
mu carries its float64 digits into d (see ``center``). Why: the earlier version did
every elementwise pass in float64 and cost 3.7x torch in float32 (10 float64 passes
forward and 10 backward on (512, 256)); float32 passes move half the bytes.
The sums are what small batches need exact: with N = 2, xhat = +-a and
dL/dx ~ (1 - a^2)(g0 - g1) with 1 - a^2 ~ eps / var, so sum(g) and sum(g d) rounded to
float32 would lose that difference (worst error / allowed on 3000 small random cases,
the registry's tolerance formula at one sample: all float32 0.85, this 0.44, all float64 0.33).
"""

from __future__ import annotations

import threading

import numpy as np


def _bcast(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


_LOCAL = threading.local()  # per thread (sweeps may run in threads): name -> one array reused from call to call


def _scratch(name, shape, dtype):
    """A work array for a temporary that is consumed before the next call (by a gemv). Why: a
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


def channel_sums(a, dtype=None):
    """Per-channel sums of an (N, C) or (N, C, L) array, in ``dtype`` (default a's).

    One BLAS matrix-vector product ones @ a: on (512, 256) it takes 20 us in float64
    (a.sum(axis=0) 31 us) and 7 us in float32."""
    a2 = a if a.ndim == 2 else np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])
    a2 = _converted(a2, np.dtype(dtype or a.dtype))
    return np.ones(a2.shape[0], a2.dtype) @ a2


def center(x, mean):
    """x - mean in x's dtype, for a float64 per-channel ``mean``.

    mean is split as hi + lo (hi = mean rounded to x's dtype, lo the rest), so d keeps
    the float64 mean's digits: with offset inputs (x ~ 1e4 and a small spread) a mean
    rounded to float32 alone would shift every d by up to half an ulp of 1e4."""
    hi = mean.astype(x.dtype)
    d = x - _bcast(hi, x)
    if x.dtype != mean.dtype:
        np.subtract(d, _bcast((mean - hi).astype(x.dtype), x), out=d)
    return d


def batch_stats(x):
    """Per-channel (mean, biased variance, n, d = x - mean); mean and variance in float64."""
    n = x.size // x.shape[1]
    mean = channel_sums(x, np.float64) / n
    d = center(x, mean)
    sq = np.square(d, out=_scratch("square", d.shape, d.dtype))
    var = channel_sums(sq, np.float64) / n  # two-pass: no cancellation for offset inputs
    return mean, var, n, d


def batch_norm_forward(d, inv_std, weight=None, bias=None):
    """y = d * (inv_std * weight) + bias in d's dtype; d = x - mean, the rest float64 per channel."""
    alpha = inv_std if weight is None else inv_std * weight
    y = d * _bcast(alpha.astype(d.dtype), d)
    if bias is not None:
        np.add(y, _bcast(bias.astype(d.dtype), d), out=y)
    return y


def batch_norm_backward(grad_output, d, inv_std, weight=None, batch_statistics=True):
    """Returns (grad_input, grad_weight, grad_bias); grad_weight and grad_bias in float64.

    With xhat = d * inv_std the training formula reads
    dL/dx = (g - sum(g) / n - d * k) * inv_std * gamma, k = sum(g d) * inv_std^2 / n,
    torch's form. ``batch_statistics`` says whether mean/var came from this batch (train,
    or track_running_stats=False): then they depend on x and add the two extra terms.
    """
    dt = grad_output.dtype
    g_sum = channel_sums(grad_output, np.float64)
    gd = np.multiply(grad_output, d, out=_scratch("product", d.shape, np.result_type(grad_output, d)))
    gd_sum = channel_sums(gd, np.float64)  # sum(g (x - mean)), products rounded once
    scale = inv_std if weight is None else inv_std * weight
    if batch_statistics:
        n = grad_output.size // grad_output.shape[1]
        k = gd_sum * inv_std * inv_std / n
        grad_input = grad_output - _bcast((g_sum / n).astype(dt), d)
        np.subtract(grad_input, d * _bcast(k.astype(dt), d), out=grad_input)
        np.multiply(grad_input, _bcast(scale.astype(dt), d), out=grad_input)
    else:
        grad_input = grad_output * _bcast(scale.astype(dt), d)
    return grad_input, gd_sum * inv_std, g_sum


def update_running_stats(running_mean, running_var, mean, var, n, momentum):
    """torch's exponential average; ``momentum`` weighs the *new* batch. Returns new arrays."""
    unbiased = var * (n / (n - 1))
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * unbiased
    return new_mean.astype(running_mean.dtype), new_var.astype(running_var.dtype)
