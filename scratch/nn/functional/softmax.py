"""Softmax and LogSoftmax along a dim (twins: torch.nn.Softmax / LogSoftmax).

Both shift x by its max along dim first (the result does not change; exp cannot overflow).
Softmax:    y = exp(x - max) / sum(exp(x - max));    dL/dx = y (g - sum(g y))
LogSoftmax: y = (x - max) - log(sum(exp(x - max)));  dL/dx = g - exp(y) sum(g)
"""

from __future__ import annotations

import numpy as np


def softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(grad_output, y, dim):
    return y * (grad_output - (grad_output * y).sum(axis=dim, keepdims=True))


def log_softmax(x, dim):
    z = x - x.max(axis=dim, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))


def log_softmax_backward(grad_output, y, dim):
    return grad_output - np.exp(y) * grad_output.sum(axis=dim, keepdims=True)
