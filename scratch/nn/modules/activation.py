"""Activation modules: thin shells that cache what ``scratch.nn.functional`` needs for backward.

Twins: torch.nn.ReLU, LeakyReLU, PReLU, ELU, Sigmoid, Tanh, SiLU, GELU, Softmax, LogSoftmax.
``inplace`` is accepted for signature compatibility; scratch never mutates its input.
"""

from __future__ import annotations

import numpy as np

from scratch import _checks
from scratch.nn import functional as F
from scratch.nn.functional import activation as FA
from scratch.nn.modules.module import Module
from scratch.nn.parameter import Parameter


class _Elementwise(Module):
    """y = f(x) elementwise; subclasses give ``_f`` and ``_df`` (dL/dx from g, x and y)."""

    def forward(self, x):
        x = _checks.as_float_array(x, f"{type(self).__name__} input")
        y = np.asarray(self._f(x), dtype=x.dtype)  # NumPy turns 0-d results into scalars; keep an array
        self._x, self._y = x, y
        return y

    def backward(self, grad_output):
        return np.asarray(self._df(grad_output, self._x, self._y), dtype=grad_output.dtype)


class ReLU(_Elementwise):
    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def _f(self, x):
        self._gate = FA.relu_gate(x)  # kept: backward is one pass (g & gate)
        return FA.relu(x, self._gate)

    def _df(self, g, x, y):
        return FA.relu_backward(g, x, self._gate)


class LeakyReLU(_Elementwise):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def _f(self, x):
        self._factor = FA.leaky_relu_factor(x, self.negative_slope)  # kept: backward is g * factor
        return FA.leaky_relu(x, self.negative_slope, self._factor)

    def _df(self, g, x, y):
        return FA.leaky_relu_backward(g, x, self.negative_slope, self._factor)


class ELU(_Elementwise):
    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def _f(self, x):
        self._masks = FA.elu_masks(x)  # kept: backward selects with the same masks
        return FA.elu(x, self.alpha, self._masks)

    def _df(self, g, x, y):
        return FA.elu_backward(g, x, self.alpha, self._masks)


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
        self._s = F.sigmoid(x)  # kept for backward: saves an exp
        return x * self._s

    def _df(self, g, x, y):
        return F.silu_backward(g, x, self._s)


class GELU(_Elementwise):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate expected 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _f(self, x):
        if self.approximate == "tanh":
            return F.gelu(x, "tanh")
        self._kept = {}
        self._cdf = FA.normal_cdf(x, self._kept)  # kept for backward: saves the erf (and x^2 in float32)
        return x * self._cdf

    def _df(self, g, x, y):
        if self.approximate == "tanh":
            return F.gelu_backward(g, x, "tanh")
        return F.gelu_backward(g, x, cdf=self._cdf, x2=self._kept.get("x2"))


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
        self._x = x
        return np.asarray(F.prelu(x, self.weight.data), dtype=x.dtype)

    def backward(self, grad_output):
        gx, gw = F.prelu_backward(grad_output, self._x, self.weight.data)
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
        self._dim = self._resolve_dim(x)
        self._y = self._f(x.reshape(x.shape or (1,)), self._dim).reshape(x.shape)
        return self._y

    def backward(self, grad_output):
        shape = grad_output.shape or (1,)
        return self._df(grad_output.reshape(shape), self._y.reshape(shape), self._dim).reshape(grad_output.shape)


class Softmax(_SoftmaxBase):
    """y = exp(x - max) / sum exp(x - max) along ``dim``."""

    _f = staticmethod(F.softmax)
    _df = staticmethod(F.softmax_backward)


class LogSoftmax(_SoftmaxBase):
    """y = x - max - log sum exp(x - max) along ``dim``."""

    def _f(self, x, dim):
        self._kept = {}  # exp(x - shift) and its sum: backward's exp(y) without another exp
        return FA.log_softmax(x, dim, keep=self._kept)

    def _df(self, g, y, dim):
        return FA.log_softmax_backward(g, y, dim, kept=self._kept)
