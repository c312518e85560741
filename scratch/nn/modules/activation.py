"""Activation modules: thin shells over ``scratch.nn.functional``; each forward saves what
backward needs in one ``Context`` (``self._ctx``), and backward reads it.

Twins: torch.nn.ReLU, LeakyReLU, PReLU, ELU, Sigmoid, Tanh, SiLU, GELU, Softmax, LogSoftmax.
``inplace`` is accepted for signature compatibility; scratch never mutates its input.
"""

from __future__ import annotations

import numpy as np

from scratch import _checks
from scratch.autograd.function import Context
from scratch.nn import functional as F
from scratch.nn.modules.module import Module
from scratch.nn.parameter import Parameter


class _Elementwise(Module):
    """y = f(x) elementwise; subclasses give ``_f(x)`` and ``_df(g, x, y)`` (dL/dx); forward saves x and y."""

    def forward(self, x):
        x = _checks.as_float_array(x, f"{type(self).__name__} input")
        y = np.asarray(self._f(x), dtype=x.dtype)  # NumPy turns 0-d results into scalars; keep an array
        self._ctx = Context()
        self._ctx.save_for_backward(x, y)
        return y

    def backward(self, grad_output):
        x, y = self._ctx.saved_tensors
        return np.asarray(self._df(grad_output, x, y), dtype=grad_output.dtype)


class ReLU(_Elementwise):
    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def _f(self, x):
        return F.relu(x)

    def _df(self, g, x, y):
        return F.relu_backward(g, x)


class LeakyReLU(_Elementwise):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def _f(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def _df(self, g, x, y):
        return F.leaky_relu_backward(g, x, self.negative_slope)


class ELU(_Elementwise):
    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def _f(self, x):
        return F.elu(x, self.alpha)

    def _df(self, g, x, y):
        return F.elu_backward(g, x, self.alpha)


class Sigmoid(_Elementwise):
    def _f(self, x):
        return F.sigmoid(x)

    def _df(self, g, x, y):
        return F.sigmoid_backward(g, y)


class Tanh(_Elementwise):
    def _f(self, x):
        return F.tanh(x)

    def _df(self, g, x, y):
        return F.tanh_backward(g, y)


class SiLU(_Elementwise):
    """Swish with beta = 1: y = x * sigmoid(x)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def _f(self, x):
        return F.silu(x)

    def _df(self, g, x, y):
        return F.silu_backward(g, x)


class GELU(_Elementwise):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate expected 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _f(self, x):
        return F.gelu(x, self.approximate)

    def _df(self, g, x, y):
        return F.gelu_backward(g, x, self.approximate)


class PReLU(Module):
    """y = x if x > 0 else a * x with a learned: one slope, or one per channel (dim 1), init 0.25."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full(num_parameters, init, dtype=np.dtype(dtype or np.float32)))

    def forward(self, x):
        x = _checks.as_float_array(x, "PReLU input")
        _checks.check_same_dtype(x, self.weight.data, "PReLU input")
        if self.num_parameters > 1 and (x.ndim < 2 or x.shape[1] != self.num_parameters):
            raise ValueError(f"PReLU input: expected {self.num_parameters} channels in dim 1 "
                             f"(an (N, C, ...) input), got shape {x.shape}")
        self._ctx = Context()
        self._ctx.save_for_backward(x)
        return np.asarray(F.prelu(x, self.weight.data), dtype=x.dtype)

    def backward(self, grad_output):
        (x,) = self._ctx.saved_tensors
        gx, gw = F.prelu_backward(grad_output, x, self.weight.data)
        self.weight.accumulate_grad(gw)
        return np.asarray(gx, dtype=grad_output.dtype)


def _legacy_softmax_dim(ndim: int) -> int:
    """torch's choice when dim=None: 0 for 0-, 1- and 3-D input, else 1 (a trap for 3-D input)."""
    return 0 if ndim in (0, 1, 3) else 1


class _SoftmaxBase(Module):
    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def _resolve_dim(self, x):
        dim = _legacy_softmax_dim(x.ndim) if self.dim is None else self.dim
        return _checks.normalize_dim(dim, x.ndim)

    def forward(self, x):
        x = _checks.as_float_array(x, f"{type(self).__name__} input")
        dim = self._resolve_dim(x)
        y = self._f(x.reshape(x.shape or (1,)), dim).reshape(x.shape)
        self._ctx = Context()
        self._ctx.save_for_backward(y)
        self._ctx.dim = dim
        return y

    def backward(self, grad_output):
        (y,) = self._ctx.saved_tensors
        shape = grad_output.shape or (1,)
        return self._df(grad_output.reshape(shape), y.reshape(shape), self._ctx.dim).reshape(grad_output.shape)


class Softmax(_SoftmaxBase):
    """y = exp(x - max) / sum exp(x - max) along ``dim``."""

    _f = staticmethod(F.softmax)
    _df = staticmethod(F.softmax_backward)


class LogSoftmax(_SoftmaxBase):
    """y = x - max - log sum exp(x - max) along ``dim``."""

    _f = staticmethod(F.log_softmax)
    _df = staticmethod(F.log_softmax_backward)
