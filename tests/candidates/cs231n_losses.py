"""Course-style losses written from the formulas: (loss, dx) for scores x (N, C) and labels y (N,).
Only NumPy."""

import numpy as np


def svm_loss(x, y):
    """mean over N of sum over j != y of max(0, x_j - x_y + 1)."""
    n = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n
    dx = (margins > 0).astype(x.dtype)
    dx[np.arange(n), y] = -dx.sum(axis=1)
    return loss, dx / n


def softmax_loss(x, y):
    """mean over N of -log softmax(x)_y, the max subtracted first (log-sum-exp)."""
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].sum() / n
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return loss, dx / n


def unshifted_softmax_loss(x, y):
    """A bug: exp of the raw scores overflows once they pass ~709 (float64)."""
    n = x.shape[0]
    e = np.exp(x)
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).sum() / n
    dx = probs.copy()
    dx[np.arange(n), y] -= 1
    return loss, dx / n
