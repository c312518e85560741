"""``Linear``, ``Maxout``, ``Flatten``, ``Identity`` (twins: torch.nn.Linear, Flatten, Identity;
Maxout's twin is built from torch ops in ``reference.twins``)."""

from __future__ import annotations

import math

import numpy as np

from scratch import _checks
from scratch.autograd.function import Context
from scratch.nn import functional as F
from scratch.nn import init
from scratch.nn.modules.module import Module
from scratch.nn.parameter import Parameter


def _check_affine_input(x, weight, in_features, name):
    _checks.as_float_array(x, f"{name} input")
    _checks.check_min_ndim(x, 1, f"{name} input")
    _checks.check_dim_size(x, -1, in_features, f"{name} input", "in_features")
    _checks.check_same_dtype(x, weight, f"{name} input")


def _accumulate_affine(module, grad_weight, grad_bias):
    module.weight.accumulate_grad(grad_weight, owned=True)  # fresh from linear_backward's GEMM
    if module.bias is not None:
        module.bias.accumulate_grad(grad_bias, owned=True)


class Linear(Module):
    """y = x W^T + b. x (*, in_features) -> y (*, out_features); W is (out, in) like torch.

    Default init is torch's: W ~ kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(in)), b ~ U(+-1/sqrt(in)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None, generator=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dtype = np.dtype(dtype or np.float32)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        rng = init._rng(generator)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=rng)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=rng)

    def forward(self, x):
        _check_affine_input(x, self.weight.data, self.in_features, "Linear")
        self._ctx = Context()
        self._ctx.save_for_backward(x)
        return F.linear(x, self.weight.data, None if self.bias is None else self.bias.data)

    def backward(self, grad_output, input_grad: bool = True):
        """dL/dx; with ``input_grad=False`` only the parameter gradients (returns None)."""
        (x,) = self._ctx.saved_tensors
        gx, gw, gb = F.linear_backward(grad_output, x, self.weight.data, self.bias is not None, input_grad)
        _accumulate_affine(self, gw, gb)
        return gx

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Maxout(Module):
    """y_j = max over k pieces of (x W^T + b); W (out*k, in), rows j*k..j*k+k-1 belong to unit j.

    Initialized like a Linear(in, out*k). On ties the first piece wins the gradient.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int = 2, bias: bool = True,
                 device=None, dtype=None, generator=None):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: expected pieces >= 1, got {pieces}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        proto = Linear(in_features, out_features * pieces, bias=bias, dtype=dtype, generator=generator)
        self.weight = proto.weight
        if bias:
            self.bias = proto.bias
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        _check_affine_input(x, self.weight.data, self.in_features, "Maxout")
        y, winner = F.maxout(x, self.weight.data, None if self.bias is None else self.bias.data, self.pieces)
        self._ctx = Context()
        self._ctx.save_for_backward(x, winner)
        return y

    def backward(self, grad_output):
        x, winner = self._ctx.saved_tensors
        gx, gw, gb = F.maxout_backward(grad_output, x, self.weight.data, winner, self.pieces, self.bias is not None)
        _accumulate_affine(self, gw, gb)
        return gx

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}"


class Flatten(Module):
    """Flattens dims start_dim..end_dim into one (torch.nn.Flatten defaults: 1, -1)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        _checks.as_float_array(x, "Flatten input")
        self._ctx = Context()
        self._ctx.shape = x.shape
        if x.ndim == 0:
            return x.reshape(1)
        s = _checks.normalize_dim(self.start_dim, x.ndim, "start_dim")
        e = _checks.normalize_dim(self.end_dim, x.ndim, "end_dim")
        if s > e:
            raise ValueError(f"Flatten: start_dim ({self.start_dim}) cannot come after end_dim ({self.end_dim})")
        return x.reshape(x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])

    def backward(self, grad_output):
        return grad_output.reshape(self._ctx.shape)


class Identity(Module):
    """y = x; accepts and ignores any constructor arguments, like torch."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return _checks.as_float_array(x, "Identity input")

    def backward(self, grad_output):
        return grad_output
