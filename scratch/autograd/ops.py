"""Elementwise and matrix ops of ``scratch.autograd``: each forward next to its local derivative.

With g the upstream gradient (output shape; the engine sums it back to each input's shape):

    a + b   -> (g, g)                     add gate: copies g to both inputs
    a - b   -> (g, -g)
    a * b   -> (g b, g a)                 multiply gate: each input scaled by the *other*
    a / b   -> (g / b, -g (a / b) / b)    torch's div backward, same rounding order
    a ** b  -> (g b a^(b-1), g a^b log a) torch: 0 where b == 0 (base); 0 where a == 0 and b >= 0 (exponent)
    -a      -> -g
    exp     -> g y                        log -> g / x (x = 0 gives inf, like torch)
    tanh    -> g (1 - y^2)                sigmoid -> g y (1 - y)
    relu    -> g where y > 0 else 0       (relu'(0) = 0, torch's threshold_backward)
    maximum(a, b) -> g to the larger input; at a == b, g / 2 to each (torch.maximum's tie rule)
    a @ b   -> (g b^T, a^T g)             1-D operands promoted like torch.matmul, batch dims broadcast

Twins: the torch.Tensor operators and methods of the same names, and torch.maximum.
"""

from __future__ import annotations

import numpy as np

from scratch.autograd.function import Context, Function, unbroadcast


class Add(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        return np.add(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        return g, -g


class Mul(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        return g * b, g * a


class Div(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):  # x / 0 is +-inf or nan, like torch
            return np.divide(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = g / b if ctx.needs_input_grad[0] else None
            gb = -g * ((a / b) / b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx: Context, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx: Context, g):
        return (-g,)


class Pow(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        a, b, y = ctx.saved_tensors
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if ctx.needs_input_grad[0]:
                ga = np.where(np.equal(b, 0), 0.0, g * (b * np.power(a, b - 1)))
            if ctx.needs_input_grad[1]:  # log of a negative base is nan, like torch
                gb = g * np.where(np.equal(a, 0) & np.greater_equal(b, 0), 0.0, y * np.log(a))
        return ga, gb


class Exp(Function):
    @staticmethod
    def forward(ctx: Context, a):
        with np.errstate(over="ignore"):
            y = np.exp(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (g * y,)


class Log(Function):
    @staticmethod
    def forward(ctx: Context, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(<0) = nan
            return np.log(a)

    @staticmethod
    def backward(ctx: Context, g):
        (a,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / a,)


class Tanh(Function):
    @staticmethod
    def forward(ctx: Context, a):
        y = np.tanh(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (g * (1 - y * y),)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), split by sign so exp never overflows and tiny outputs keep full relative accuracy."""
    a = np.asarray(a)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx: Context, a):
        y = _sigmoid(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (g * (1 - y) * y,)


class ReLU(Function):
    @staticmethod
    def forward(ctx: Context, a):
        y = np.maximum(a, 0).astype(np.asarray(a).dtype, copy=False)  # NaN propagates, like torch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g):
        (y,) = ctx.saved_tensors
        return (np.where(y <= 0, 0, g).astype(g.dtype, copy=False),)


class Maximum(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        split = np.where(np.equal(a, b), g / 2, g)  # torch: a tie splits the gradient half/half
        ga = np.where(np.less(a, b), 0, split) if ctx.needs_input_grad[0] else None
        gb = np.where(np.greater(a, b), 0, split) if ctx.needs_input_grad[1] else None
        return ga, gb


class MatMul(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                             f"(a's last dim must equal b's {'second-to-last' if b.ndim > 1 else 'only'} dim)")
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx: Context, g):
        a, b = ctx.saved_tensors
        # promote 1-D operands like matmul does: a (n,) -> (1, n), b (n,) -> (n, 1)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = np.reshape(g, np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb

