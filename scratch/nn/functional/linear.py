"""Affine kernels: Linear and Maxout.

Linear (twin ``torch.nn.functional.linear``): x (*, in), W (out, in), b (out,)
    y = x W^T + b                       (*, out)
    dL/dx = g W                         (*, in)
    dL/dW = g^T x  (leading dims flattened)   (out, in)
    dL/db = sum of g over leading dims  (out,)

Maxout (Goodfellow et al. 2013; torch has no module): W (out*k, in), b (out*k,),
rows j*k .. j*k+k-1 are the k pieces of unit j.
    y_j = max_i (x W^T + b)[j*k + i]
The max gate routes the gradient to the winning piece only; on a tie to the
first one (torch's ``max(dim)`` rule).
"""

from __future__ import annotations

import numpy as np


def linear(x, weight, bias=None):
    y = x @ weight.T  # BLAS reads the transposed view in place: no copy of W
    if bias is not None:
        y += bias  # in place: y is a fresh array, so one allocation per call, not two
    return y


def linear_backward(grad_output, x, weight, has_bias=True, input_grad=True):
    """Returns (grad_input or None, grad_weight, grad_bias or None). ``input_grad=False``
    skips dL/dx like torch does for an input that does not require grad (the data fed
    to the first layer): one GEMM in three saved."""
    rows = int(np.prod(x.shape[:-1]))  # explicit: reshape(-1, 0) is ambiguous for empty arrays
    g2 = grad_output.reshape(rows, grad_output.shape[-1])
    x2 = x.reshape(rows, x.shape[-1])
    grad_input = grad_output @ weight if input_grad else None
    grad_weight = g2.T @ x2
    grad_bias = g2.sum(axis=0) if has_bias else None
    return grad_input, grad_weight, grad_bias


def maxout(x, weight, bias, pieces):
    """Returns (y, winner) where winner (*, out) is the index of the winning piece."""
    z = linear(x, weight, bias)
    z = z.reshape(z.shape[:-1] + (z.shape[-1] // pieces, pieces))
    winner = z.argmax(axis=-1)  # argmax returns the first index on ties
    y = np.take_along_axis(z, winner[..., None], axis=-1)[..., 0]
    return y, winner


def maxout_backward(grad_output, x, weight, winner, pieces, has_bias=True):
    """Returns (grad_input, grad_weight, grad_bias or None)."""
    gz = np.zeros(grad_output.shape + (pieces,), dtype=grad_output.dtype)
    np.put_along_axis(gz, winner[..., None], grad_output[..., None], axis=-1)
    gz = gz.reshape(grad_output.shape[:-1] + (-1,))
    return linear_backward(gz, x, weight, has_bias)
