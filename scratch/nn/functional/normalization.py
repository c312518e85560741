"""Batch normalization kernels (twin ``torch.nn.functional.batch_norm``).

Input (N, C) or (N, C, L); statistics per channel over the n = N*L values.
Train:  mu = mean(x), var = mean((x - mu)^2) (biased), xhat = (x - mu) / sqrt(var + eps),
        y = gamma * xhat + beta
        dL/dx = gamma / sqrt(var + eps) / n * (n g - sum(g) - xhat * sum(g * xhat))
Eval:   xhat = (x - running_mean) / sqrt(running_var + eps); dL/dx = g * gamma / sqrt(running_var + eps)
Both:   dL/dgamma = sum(g * xhat), dL/dbeta = sum(g).
The running variance uses the unbiased estimate var * n / (n - 1) (Bessel), the
normalization uses the biased one: that asymmetry is torch's and a classic bug source.

Precision: the kernels work in the dtype they are given; ``BatchNorm1d`` hands them
float64 and rounds only its results. Torch's float32 CPU batch norm is that accurate
and scratch must be too: with N = 2, x_hat = +-a and dL/dx ~ (1 - a^2)(g0 - g1), where
1 - a^2 ~ eps / var ~ 5e-6, so an x_hat rounded to float32 loses ~1% to cancellation.
"""

from __future__ import annotations

import numpy as np


def _axes(x):
    return (0,) if x.ndim == 2 else (0, 2)


def _bcast(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def batch_stats(x):
    """Per-channel (mean, biased variance, n)."""
    axes = _axes(x)
    mean = x.mean(axis=axes)
    d = x - _bcast(mean, x)
    var = np.square(d, out=d).mean(axis=axes)  # in place: one buffer
    n = x.size // x.shape[1]
    return mean, var, n


def batch_norm_forward(x, mean, var, weight=None, bias=None, eps=1e-5):
    """Normalize with the given per-channel mean/var; returns (y, xhat, inv_std)."""
    inv_std = 1 / np.sqrt(var + eps)
    xhat = x - _bcast(mean, x)
    np.multiply(xhat, _bcast(inv_std, x), out=xhat)
    y = xhat
    if weight is not None:
        y = y * _bcast(weight, x)
    if bias is not None:
        y = np.add(y, _bcast(bias, x), out=y) if weight is not None else y + _bcast(bias, x)
    return y, xhat, inv_std


def batch_norm_backward(grad_output, xhat, inv_std, weight=None, batch_statistics=True):
    """Returns (grad_input, grad_weight, grad_bias).

    ``batch_statistics`` says whether mean/var came from this batch (train, or
    track_running_stats=False): then they depend on x and add the two extra terms.
    """
    axes = _axes(grad_output)
    g_sum = grad_output.sum(axis=axes)
    gx_sum = (grad_output * xhat).sum(axis=axes)
    scale = inv_std if weight is None else weight * inv_std
    if batch_statistics:
        n = grad_output.size // grad_output.shape[1]
        # (n g - sum g - xhat sum(g xhat)) scale / n, in one buffer plus one temporary
        grad_input = n * grad_output
        np.subtract(grad_input, _bcast(g_sum, xhat), out=grad_input)
        np.subtract(grad_input, xhat * _bcast(gx_sum, xhat), out=grad_input)
        np.multiply(_bcast(scale / n, xhat), grad_input, out=grad_input)
    else:
        grad_input = grad_output * _bcast(scale, xhat)
    return grad_input, gx_sum, g_sum


def update_running_stats(running_mean, running_var, mean, var, n, momentum):
    """torch's exponential average; ``momentum`` weighs the *new* batch. Returns new arrays."""
    unbiased = var * (n / (n - 1))
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * unbiased
    return new_mean.astype(running_mean.dtype), new_var.astype(running_var.dtype)
