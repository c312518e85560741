"""Random expression graphs for the autograd engine: a DAG of Tensor ops over a few input arrays.

A ``Graph`` is data, not code (``reference.strategies.graph_eval``: the steps' format, and
``evaluate_graph``, which replays a graph on scratch.autograd or on torch).

What the strategy reaches: every op of scratch.autograd (``+ - * / ** @``, unary ``-``, Python
numbers on either side, exp, log, tanh, sigmoid, relu, maximum, sum/mean over None, an int, a
negative dim, a tuple or ``()`` with and without keepdim, reshape, transpose, T, int / slice /
boolean-mask / repeated fancy indexing); broadcasting between (), (C,), (R, 1), (1, C), (R, C)
and (C, K) inputs, some holding an exact 0 (relu's kink, maximum ties); shared subexpressions
(any earlier node may be an operand again, including both operands of one op: maximum(v, v) is
an exact tie). Dims are 1..4 so a case runs in milliseconds.

Validity is kept by looking at the values (float64 NumPy, computed while drawing): log and a
tensor-exponent ``**`` only see arguments >= 0.1 (else v*v + 1 is inserted), a denominator has
|b| >= 0.1 (else b*b + 1), fractional or negative scalar exponents see a positive base, and a
node above 1e3 in magnitude is squashed by tanh. Every node that nothing consumes is reduced and
added to the output, so every input reaches it. ``gradient`` is None for a scalar output
(``backward()``) or a Gaussian array of the output's shape (``backward(gradient)``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from reference.strategies.common import seeds
from reference.strategies.graph_eval import BINARY, REDUCE, SHAPE, UNARY, Graph, _apply, _Np, step_operands

__all__ = ["expression_graphs", "KINDS"]

SCALAR = ("add", "sub", "mul", "div", "pow")  # with a Python number on the left or right
SQUASH = 1e3


class _Builder:
    def __init__(self, draw, inputs):
        self.draw, self.inputs, self.steps = draw, inputs, []
        self.values = [_Np(a) for a in inputs]
        self.used = set()

    def add(self, step) -> int:
        with np.errstate(all="ignore"):
            v = _apply(step, self.values, lambda a, b: _Np(np.maximum(a.v, b.v)))
        self.steps.append(step)
        self.values.append(v)
        self.used.update(step_operands(step))
        idx = len(self.values) - 1
        if v.v.size and np.abs(v.v).max() > SQUASH:
            return self.add(("tanh", idx))
        return idx

    def positive(self, i) -> int:
        """``i`` itself when every element is >= 0.1, else v*v + 1 (a fresh positive node)."""
        v = self.values[i].v
        if v.size == 0 or v.min() >= 0.1:
            return i
        return self.add(("scalar", "add", self.add(("binary", "mul", i, i)), 1.0, False))

    def bounded(self, i, limit) -> int:
        """``i`` when every |element| <= limit, else tanh(i): keeps exp and ** from overflowing."""
        v = self.values[i].v
        return i if v.size == 0 or np.abs(v).max() <= limit else self.add(("tanh", i))

    def away_from_zero(self, i) -> int:
        v = self.values[i].v
        return i if v.size == 0 or np.abs(v).min() >= 0.1 else self.positive(i)

    def node(self) -> int:
        # recent nodes more often (deeper chains), any earlier node possible (shared subexpressions)
        n = len(self.values)
        return self.draw(st.integers(max(0, n - 2) if self.draw(st.booleans()) else 0, n - 1))


def _broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _matmul_ok(a, b) -> bool:
    if not a or not b or a[-1] != b[-2 if len(b) > 1 else 0]:
        return False
    return _broadcastable(a[:-2], b[:-2])


def _binary(b: _Builder, name):
    draw, n = b.draw, len(b.values)
    i = b.node()
    ok = _matmul_ok if name == "matmul" else _broadcastable
    partners = [j for j in range(n) if ok(b.values[i].shape, b.values[j].shape)]
    if not partners and name == "matmul" and b.values[i].ndim >= 1:  # v @ v^T (or a dot product v @ v)
        t = i if b.values[i].ndim == 1 else b.add(("transpose", i, -1, -2))
        return b.add(("binary", "matmul", i, t))
    if not partners:
        return b.add(("tanh", i))
    # maximum(v, v) half the time: an exact tie, where torch splits the gradient half/half
    j = i if name == "maximum" and draw(st.booleans()) else draw(st.sampled_from(partners))
    if name == "div":
        j = b.away_from_zero(j)
    if name == "pow":
        i, j = b.positive(b.bounded(i, 20.0)), b.bounded(j, 5.0)
    return b.add(("binary", name, i, j))


def _scalar(b: _Builder, name):
    draw, i = b.draw, b.node()
    left = draw(st.booleans())
    if name == "pow":
        c = draw(st.sampled_from([2.0, 0.5, 3.0])) if left else draw(st.sampled_from([2, 3, 0.0, 0.5, -1.5]))
        i = b.bounded(i, 20.0)
        if not left and c not in (2, 3, 0.0):
            i = b.positive(i)
    else:
        c = draw(st.sampled_from([2.0, -0.5, 1.5]))
        if name == "div" and left:
            i = b.away_from_zero(i)
    return b.add(("scalar", name, i, c, left))


def _reduce(b: _Builder, name):
    draw, i = b.draw, b.node()
    nd = b.values[i].ndim
    dims = [None, ()] + list(range(-nd, nd)) + ([(0, -1)] if nd >= 2 else [])
    return b.add((name, i, draw(st.sampled_from(dims)), draw(st.booleans())))


def _shape_op(b: _Builder, name):
    draw, i = b.draw, b.node()
    v = b.values[i].v
    if name == "reshape":
        shapes = [(-1,), (v.size, 1), (1, -1), v.shape[::-1]]
        return b.add(("reshape", i, draw(st.sampled_from(shapes))))
    if v.ndim == 0:
        return b.add(("sigmoid", i))
    if name == "transpose":
        return b.add(("transpose", i, draw(st.integers(-v.ndim, v.ndim - 1)), draw(st.integers(0, v.ndim - 1))))
    if name == "T":
        return b.add(("T", i)) if v.ndim == 2 else b.add(("transpose", i, 0, -1))
    n0 = v.shape[0]
    kind = draw(st.sampled_from(["fancy", "mask", "int", "slice", "tuple"]))
    if kind == "int":
        index = draw(st.integers(-n0, n0 - 1))
    elif kind == "slice":
        index = slice(draw(st.integers(0, n0 - 1)), None, draw(st.integers(1, 2)))
    elif kind == "mask":
        mask = np.random.default_rng(draw(seeds())).random(v.shape) < 0.5
        mask.flat[draw(st.integers(0, v.size - 1))] = True
        index = mask
    elif kind == "fancy":  # repeats on purpose: the gradient must accumulate
        index = np.array(draw(st.lists(st.integers(0, n0 - 1), min_size=1, max_size=5)))
    else:
        index = (slice(None),) * (v.ndim - 1) + (draw(st.integers(-v.shape[-1], v.shape[-1] - 1)),)
    return b.add(("index", i, index))


def _input_shapes(draw):
    r, c, k = (draw(st.integers(1, 4)) for _ in range(3))
    palette = [(), (c,), (r, 1), (1, c), (r, c), (c, k)]
    return [draw(st.sampled_from(palette)) for _ in range(draw(st.integers(1, 4)))]


KINDS = ("binary", "scalar", "unary", "reduce", "shape")


@st.composite
def expression_graphs(draw, max_steps: int = 8, reduce_output=None, kinds=KINDS):
    """A ``Graph`` of 1..``max_steps`` drawn ops (plus the guards and the final reduction).

    ``kinds`` narrows the drawn ops to some of KINDS (e.g. ("shape",) for reshapes and indexing);
    ``reduce_output`` forces a scalar output (True) or a ``gradient`` (False)."""
    rng = np.random.default_rng(draw(seeds()))
    inputs = [rng.standard_normal(s) for s in _input_shapes(draw)]
    for a in inputs:  # exact zeros: relu's kink, and ties in maximum (both sides must use torch's rules)
        if a.size and draw(st.booleans()):
            a.flat[draw(st.integers(0, a.size - 1))] = 0.0
    b = _Builder(draw, inputs)
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(kinds))
        if kind == "binary":
            _binary(b, draw(st.sampled_from(BINARY)))
        elif kind == "scalar":
            _scalar(b, draw(st.sampled_from(SCALAR)))
        elif kind == "unary":
            i = b.node()
            op = draw(st.sampled_from(UNARY))
            i = b.positive(i) if op == "log" else b.bounded(i, 20.0) if op == "exp" else i
            b.add((op, i))
        elif kind == "reduce":
            _reduce(b, draw(st.sampled_from(REDUCE)))
        else:
            _shape_op(b, draw(st.sampled_from(SHAPE)))
    out = len(b.values) - 1
    scalar = draw(st.booleans()) if reduce_output is None else reduce_output
    if scalar:
        out = b.add(("sum", out, None, False))
    for i in sorted(set(range(len(b.values))) - b.used - {out}):  # sinks: every input reaches the output
        out = b.add(("binary", "add", out, b.add(("sum", i, None, False))))
    gradient = None if scalar else rng.standard_normal(b.values[out].shape)
    return Graph(inputs, b.steps, gradient)
