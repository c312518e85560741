"""Expression graphs as data, and their evaluation (the graphs themselves are drawn by
``reference.strategies.graphs.expression_graphs``).

A ``Graph`` is data, not code: input arrays plus a list of steps, each an op name and the indices
of earlier nodes (inputs are nodes 0..k-1). ``evaluate_graph`` replays it on any tensor library
spelled like torch (scratch.autograd or torch itself), so both sides run the same program; ``_Np``
is NumPy float64 with that spelling, so the strategy can look at every node's value while drawing.
``gradient`` is None for a scalar output (``backward()``) or an array of the output's shape
(``backward(gradient)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Graph", "evaluate_graph", "step_operands", "BINARY", "UNARY", "REDUCE", "SHAPE"]

BINARY = ("add", "sub", "mul", "div", "pow", "matmul", "maximum")
UNARY = ("neg", "exp", "log", "tanh", "sigmoid", "relu")
REDUCE = ("sum", "mean")
SHAPE = ("index", "reshape", "transpose", "T")


@dataclass
class Graph:
    inputs: list
    steps: list = field(default_factory=list)
    gradient: np.ndarray | None = None

    def __repr__(self) -> str:
        lines = [f"v{i} = input {a.shape}" for i, a in enumerate(self.inputs)]
        lines += [f"v{len(self.inputs) + j} = {s}" for j, s in enumerate(self.steps)]
        lines.append("backward()" if self.gradient is None else f"backward(gradient of shape {self.gradient.shape})")
        return "Graph:\n  " + "\n  ".join(lines)


def _apply(step, nodes, maximum):
    op, args = step[0], step[1:]
    if op == "binary":
        name, i, j = args
        a, b = nodes[i], nodes[j]
        return maximum(a, b) if name == "maximum" else _BIN[name](a, b)
    if op == "scalar":
        name, i, c, left = args
        return _BIN[name](c, nodes[i]) if left else _BIN[name](nodes[i], c)
    x = nodes[args[0]]
    if op in UNARY:
        return -x if op == "neg" else getattr(x, op)()
    if op in REDUCE:
        return getattr(x, op)(dim=args[1], keepdim=args[2])
    if op == "reshape":
        return x.reshape(args[1])
    if op == "transpose":
        return x.transpose(args[1], args[2])
    if op == "T":
        return x.T
    if op == "index":
        return x[args[1]]
    raise ValueError(f"unknown step {step!r}")


_BIN = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "matmul": lambda a, b: a @ b}


class _Np:
    """NumPy values with the Tensor method spelling, so drawing can look at every node's value."""

    def __init__(self, v):
        self.v = np.asarray(v, dtype=np.float64)

    shape = property(lambda self: self.v.shape)
    ndim = property(lambda self: self.v.ndim)
    T = property(lambda self: _Np(self.v.T))

    def _bin(f):
        return lambda self, o: _Np(f(self.v, getattr(o, "v", o)))

    def _rbin(f):
        return lambda self, o: _Np(f(getattr(o, "v", o), self.v))

    __add__, __sub__, __mul__ = _bin(np.add), _bin(np.subtract), _bin(np.multiply)
    __truediv__, __pow__, __matmul__ = _bin(np.divide), _bin(np.power), _bin(np.matmul)
    __radd__, __rsub__, __rmul__ = _rbin(np.add), _rbin(np.subtract), _rbin(np.multiply)
    __rtruediv__, __rpow__ = _rbin(np.divide), _rbin(np.power)

    def __neg__(self): return _Np(-self.v)
    def exp(self): return _Np(np.exp(self.v))
    def log(self): return _Np(np.log(self.v))
    def tanh(self): return _Np(np.tanh(self.v))
    def sigmoid(self): return _Np(1 / (1 + np.exp(-self.v)))
    def relu(self): return _Np(np.maximum(self.v, 0))
    def reshape(self, s): return _Np(self.v.reshape(s))
    def transpose(self, a, b): return _Np(np.swapaxes(self.v, a, b))
    def __getitem__(self, i): return _Np(self.v[i])

    def sum(self, dim, keepdim):
        return _Np(np.sum(self.v, axis=None if dim in (None, ()) else dim, keepdims=keepdim))

    def mean(self, dim, keepdim):
        return _Np(np.mean(self.v, axis=None if dim in (None, ()) else dim, keepdims=keepdim))


def evaluate_graph(graph: Graph, leaves: list, maximum) -> object:
    """Replay ``graph`` on ``leaves`` (one tensor per input); returns the output tensor."""
    nodes = list(leaves)
    for step in graph.steps:
        nodes.append(_apply(step, nodes, maximum))
    return nodes[-1]


def step_operands(step) -> tuple:
    """The node indices a step reads."""
    if step[0] == "binary":
        return step[2], step[3]
    return (step[2],) if step[0] == "scalar" else (step[1],)
