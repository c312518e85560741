"""``Tensor``: a NumPy array that records the ops applied to it, so ``backward()`` can run them in
reverse. Twin: ``torch.Tensor`` with ``requires_grad`` (the subset listed in ``scratch.autograd``).

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()      # y.data == 5.0
    y.backward()           # x.grad == [2.0, 4.0]

``data`` keeps NumPy's dtype (a list of Python floats becomes float64, where torch.tensor picks
float32). Python numbers and NumPy arrays on either side of an operator are constants; a Python
number does not promote a float32 tensor (NumPy 2 and torch agree on that). ``data`` is the array
passed in, not a copy (like ``torch.from_numpy``): changing it between forward and backward changes
the gradient, which torch would detect with version counters and this engine does not.
"""

from __future__ import annotations

import warnings

import numpy as np

from scratch._checks import normalize_dim
from scratch.autograd import ops, shape_ops
from scratch.autograd.engine import run_backward
from scratch.autograd.function import Context

__all__ = ["Tensor", "apply", "maximum"]


class Node:
    """The op that produced a tensor: its Function, the Context it saved, and its inputs."""

    __slots__ = ("fn", "ctx", "inputs")

    def __init__(self, fn, ctx, inputs):
        self.fn, self.ctx, self.inputs = fn, ctx, inputs

    def name(self) -> str:
        return f"{self.fn.__name__}Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def apply(fn, *inputs, **options) -> "Tensor":
    """Run ``fn.forward`` on the inputs' arrays; record a Node when any input requires grad."""
    raw = [t.data if isinstance(t, Tensor) else t for t in inputs]
    needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
    ctx = Context(needs)
    out = Tensor(np.asarray(fn.forward(ctx, *raw, **options)))
    if any(needs):
        out.requires_grad = True
        out._node = Node(fn, ctx, inputs)
    return out


class Tensor:
    """An array with ``data``, ``grad`` (None until a backward reaches it), ``requires_grad``."""

    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = np.asarray(data)
        if self.data.dtype == object or not (np.issubdtype(self.data.dtype, np.number) or self.data.dtype == bool):
            raise TypeError(f"Tensor: expected numeric data, got dtype {self.data.dtype}")
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(f"Tensor: only floating point dtypes can require gradients, got {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self._node: Node | None = None

    # -- array facts
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    is_leaf = property(lambda self: self._node is None)
    grad_fn = property(lambda self: self._node)

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def detach(self) -> "Tensor":
        return Tensor(self.data)

    def __repr__(self) -> str:
        extra = f", grad_fn={self._node!r}" if self._node else (", requires_grad=True" if self.requires_grad else "")
        return f"Tensor({np.array2string(self.data, separator=', ')}{extra})"

    # -- the backward pass
    def backward(self, gradient=None, retain_graph: bool | None = None) -> None:
        """Accumulate d(sum(self * gradient))/d(leaf) into every leaf's ``.grad`` (module engine)."""
        run_backward(self, gradient, bool(retain_graph))

    # -- operators: Python numbers and arrays on either side are constants
    def __add__(self, o): return apply(ops.Add, self, o)
    def __radd__(self, o): return apply(ops.Add, o, self)
    def __sub__(self, o): return apply(ops.Sub, self, o)
    def __rsub__(self, o): return apply(ops.Sub, o, self)
    def __mul__(self, o): return apply(ops.Mul, self, o)
    def __rmul__(self, o): return apply(ops.Mul, o, self)
    def __truediv__(self, o): return apply(ops.Div, self, o)
    def __rtruediv__(self, o): return apply(ops.Div, o, self)
    def __pow__(self, o): return apply(ops.Pow, self, o)
    def __rpow__(self, o): return apply(ops.Pow, o, self)
    def __matmul__(self, o): return apply(ops.MatMul, self, o)
    def __rmatmul__(self, o): return apply(ops.MatMul, o, self)
    def __neg__(self): return apply(ops.Neg, self)
    def __pos__(self): return self

    # -- elementwise methods
    def exp(self): return apply(ops.Exp, self)
    def log(self): return apply(ops.Log, self)
    def tanh(self): return apply(ops.Tanh, self)
    def sigmoid(self): return apply(ops.Sigmoid, self)
    def relu(self): return apply(ops.ReLU, self)

    # -- reductions and shapes
    def sum(self, dim=None, keepdim: bool = False):
        return apply(shape_ops.Sum, self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        if not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"mean: expected a floating point tensor, got dtype {self.dtype}")
        return apply(shape_ops.Mean, self, dim=dim, keepdim=keepdim)

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return apply(shape_ops.Reshape, self, shape=shape)

    view = reshape

    def transpose(self, dim0: int, dim1: int):
        d0, d1 = normalize_dim(dim0, self.ndim, "dim0"), normalize_dim(dim1, self.ndim, "dim1")
        if self.ndim == 0:
            return apply(shape_ops.Permute, self, dims=())
        dims = list(range(self.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return apply(shape_ops.Permute, self, dims=tuple(dims))

    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        norm = tuple(normalize_dim(d, self.ndim) for d in dims)
        if sorted(norm) != list(range(self.ndim)):
            raise ValueError(f"permute: expected a permutation of the {self.ndim} dims, got {dims}")
        return apply(shape_ops.Permute, self, dims=norm)

    @property
    def T(self):
        """Transpose of a 2-D tensor; like torch, other ranks reverse their dims with a UserWarning."""
        if self.ndim != 2:
            warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
                          "deprecated (torch's warning); use transpose or permute", UserWarning, stacklevel=2)
        return apply(shape_ops.Permute, self, dims=tuple(reversed(range(self.ndim))))

    def __getitem__(self, index):
        return apply(shape_ops.Index, self, index=_as_index(index))


def _as_index(index):
    """Tensors inside an index become their arrays (a bool Tensor is a mask, an integer one a fancy index)."""
    if isinstance(index, tuple):
        return tuple(_as_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def maximum(a, b) -> Tensor:
    """Elementwise max; at a tie each input gets half the gradient (torch.maximum's rule). NaN propagates."""
    return apply(ops.Maximum, a, b)
