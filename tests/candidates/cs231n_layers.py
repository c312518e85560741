"""Course-style layers written from the formulas (the CS231n function interface), for the
verifier's tests and the README's examples. Only NumPy."""

import numpy as np


def affine_forward(x, w, b):
    """out = x W + b, x reshaped to (N, D); w is (D, M)."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def relu_at_zero_forward(x):
    """A variant: the derivative taken as 1 at x == 0."""
    return np.maximum(x, 0), x


def relu_at_zero_backward(dout, cache):
    return dout * (cache >= 0)


def relu_inplace_forward(x):
    """A bug: clamps the caller's array in place."""
    np.maximum(x, 0, out=x)
    return x.copy(), x


def relu_inplace_backward(dout, cache):
    return dout * (cache > 0)


def batchnorm_forward(x, gamma, beta, bn_param):
    """Train: normalize with the batch's mean and (biased) variance and update the running
    statistics with the decay rate momentum; test: normalize with the running statistics."""
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
        n = x.shape[0]
        unbiased = var * n / max(n - 1, 1)  # torch keeps the unbiased variance
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * unbiased
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean) / np.sqrt(var + eps)
    bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    return gamma * x_hat + beta, (x_hat, gamma, np.sqrt(var + eps))


def batchnorm_backward(dout, cache):
    """dx = gamma / std * (dout - mean(dout) - x_hat * mean(dout * x_hat))."""
    x_hat, gamma, std = cache
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, dgamma, dbeta


def biased_batchnorm_forward(x, gamma, beta, bn_param):
    """The course's own convention: the running variance is updated with the biased variance."""
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    running_mean, running_var = bn_param["running_mean"], bn_param["running_var"]
    if bn_param["mode"] == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x_hat, gamma, np.sqrt(var + eps))


biased_batchnorm_backward = batchnorm_backward
