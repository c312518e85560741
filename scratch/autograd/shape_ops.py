"""Reductions, reshapes and indexing of ``scratch.autograd``: forward next to local derivative.

    sum(a, dims, keepdim)   -> g re-expanded at the reduced dims and broadcast to a's shape
    mean(a, dims, keepdim)  -> the same divided by the number of reduced elements
    reshape(a, shape)       -> g reshaped to a's shape
    permute(a, dims)        -> g permuted by the inverse permutation (transpose and T are permutes)
    a[index]                -> zeros of a's shape with g scattered back at ``index``; np.add.at so a
                               repeated fancy index accumulates (x[[0, 0]] gives x[0] twice the gradient)

Dims follow torch: negative dims wrap, ``dim=None`` or ``()`` reduces every dim, a repeated dim is
an error, and a 0-d tensor accepts dim 0 or -1. Twins: torch.Tensor.sum, mean, reshape, transpose,
T and __getitem__.
"""

from __future__ import annotations

import numpy as np

from scratch._checks import normalize_dim
from scratch.autograd.function import Context, Function


def reduced_dims(dim, ndim: int) -> tuple[int, ...]:
    """torch's dim argument as a sorted tuple of non-negative dims (all of them for None or ())."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"dim: expected an int or a tuple of ints, got {dim!r}")
    out = [normalize_dim(int(d), ndim) for d in dims]
    for d in out:
        if out.count(d) > 1:
            raise ValueError(f"dim: dim {d} appears multiple times in the list of dims {dim!r}")
    return tuple(sorted(d for d in out if d < ndim))  # a 0-d input's dim 0 reduces nothing


class Sum(Function):
    @staticmethod
    def forward(ctx: Context, a, dim=None, keepdim=False):
        a = np.asarray(a)
        dims = reduced_dims(dim, a.ndim)
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        return np.asarray(np.sum(a, axis=dims, keepdims=keepdim))

    @staticmethod
    def backward(ctx: Context, g):
        if not ctx.keepdim:
            g = np.expand_dims(g, ctx.dims)
        return (np.broadcast_to(g, ctx.shape),)


class Mean(Function):
    @staticmethod
    def forward(ctx: Context, a, dim=None, keepdim=False):
        a = np.asarray(a)
        dims = reduced_dims(dim, a.ndim)
        ctx.shape, ctx.dims, ctx.keepdim = a.shape, dims, keepdim
        ctx.count = int(np.prod([a.shape[d] for d in dims]))
        with np.errstate(invalid="ignore", divide="ignore"):  # mean over no elements is nan, like torch
            return np.asarray(np.sum(a, axis=dims, keepdims=keepdim) / ctx.count)

    @staticmethod
    def backward(ctx: Context, g):
        if not ctx.keepdim:
            g = np.expand_dims(g, ctx.dims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.broadcast_to(g / ctx.count, ctx.shape),)


class Reshape(Function):
    @staticmethod
    def forward(ctx: Context, a, shape=()):
        a = np.asarray(a)
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: shape {tuple(shape)} is invalid for an input of size {a.size} "
                             f"(shape {a.shape})") from None

    @staticmethod
    def backward(ctx: Context, g):
        return (np.reshape(g, ctx.shape),)


class Permute(Function):
    @staticmethod
    def forward(ctx: Context, a, dims=()):
        ctx.dims = tuple(dims)
        return np.transpose(a, ctx.dims)

    @staticmethod
    def backward(ctx: Context, g):
        return (np.transpose(g, np.argsort(ctx.dims)),)


class Index(Function):
    @staticmethod
    def forward(ctx: Context, a, index=()):
        a = np.asarray(a)
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx: Context, g):
        full = np.zeros(ctx.shape, dtype=np.result_type(ctx.dtype, g))
        np.add.at(full, ctx.index, g)  # repeated indices accumulate instead of overwriting
        return (full,)
