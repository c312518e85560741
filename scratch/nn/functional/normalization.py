"""Batch normalization kernels (twin ``torch.nn.functional.batch_norm``).

Input (N, C) or (N, C, L); statistics per channel over the n = N*L values.
Train:  mu = mean(x), var = mean((x - mu)^2) (biased), xhat = (x - mu) / sqrt(var + eps),
        y = gamma * xhat + beta
        dL/dx = gamma / sqrt(var + eps) * (g - mean(g) - xhat * mean(g * xhat))
Eval:   xhat = (x - running_mean) / sqrt(running_var + eps); dL/dx = g * gamma / sqrt(running_var + eps)
Both:   dL/dgamma = sum(g * xhat), dL/dbeta = sum(g).
The running variance uses the unbiased estimate var * n / (n - 1) (Bessel), the
normalization uses the biased one: that asymmetry is torch's and a classic bug source.

Precision: every step runs in float64 (x and g are converted once) and the result is rounded
once to the input's dtype. Small batches need the exact sums: with N = 2, xhat = +-a and
dL/dx ~ (1 - a^2)(g0 - g1) with 1 - a^2 ~ eps / var, which float32 sums would lose; offset
inputs (1e4 + N(0, 1)) need the mean's float64 digits.
"""

from __future__ import annotations

import numpy as np


def _axes(x):
    """The axes a per-channel statistic reduces: all but dim 1."""
    return (0,) if x.ndim == 2 else (0, 2)


def _bcast(v, x):
    """A per-channel vector (C,) shaped to broadcast over x: (1, C) or (1, C, 1)."""
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def batch_stats(x):
    """Per-channel (mean, biased variance, n) in float64; two passes: the mean, then mean((x - mean)^2)."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=_axes(x))
    var = np.square(x64 - _bcast(mean, x)).mean(axis=_axes(x))
    return mean, var, x.size // x.shape[1]


def batch_norm_forward(x, mean, inv_std, weight=None, bias=None):
    """Returns (y, xhat): xhat = (x - mean) * inv_std in float64, y = xhat * weight + bias in x's dtype.
    ``mean``, ``inv_std`` (and ``weight``) are float64 per-channel vectors."""
    xhat = (x.astype(np.float64) - _bcast(mean, x)) * _bcast(inv_std, x)
    y = xhat if weight is None else xhat * _bcast(weight, x)
    y = y if bias is None else y + _bcast(bias, x)
    return y.astype(x.dtype), xhat


def batch_norm_backward(grad_output, xhat, inv_std, weight=None, batch_statistics=True):
    """Returns (grad_input, grad_weight, grad_bias); grad_weight and grad_bias in float64 (grad_weight
    is also returned without a weight; the caller drops it). ``batch_statistics``: mean and var came
    from this batch (train, or track_running_stats=False), so they depend on x and add the two terms."""
    g = grad_output.astype(np.float64)
    g_sum = g.sum(axis=_axes(g))
    g_xhat_sum = (g * xhat).sum(axis=_axes(g))
    scale = _bcast(inv_std if weight is None else inv_std * weight, g)
    if batch_statistics:
        n = g.size // g.shape[1]
        grad_input = (g - _bcast(g_sum / n, g) - xhat * _bcast(g_xhat_sum / n, g)) * scale
    else:
        grad_input = g * scale
    return grad_input.astype(grad_output.dtype), g_xhat_sum, g_sum


def update_running_stats(running_mean, running_var, mean, var, n, momentum):
    """torch's exponential average; ``momentum`` weighs the *new* batch. Returns new arrays."""
    unbiased = var * (n / (n - 1))
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * unbiased
    return new_mean.astype(running_mean.dtype), new_var.astype(running_var.dtype)
