"""scratch.autograd against hand-derived circuits, torch.autograd (float64), and scratch.nn modules.

Tolerance for generated graphs, per element: |got - torch| <= 1e-12 * max(1, max|torch|) + 1e-10 * |torch|.
Both sides run the same formulas in float64 and differ only in summation order; over 4000
generated graphs the worst difference used 1.1% of this allowance, and a wrong local
derivative misses it by orders of magnitude (tests/test_autograd_graphs.py, which compares the
generated graphs with torch).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scratch.nn as snn
from scratch.autograd import Tensor, maximum

RTOL, ATOL = 1e-10, 1e-12


def leaf(*values):
    return Tensor(np.array(values if len(values) > 1 else values[0], dtype=np.float64), requires_grad=True)


def assert_close(got, expected, what=""):
    expected = np.asarray(expected)
    finite = np.abs(expected[np.isfinite(expected)])
    atol = ATOL * max(1.0, float(finite.max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=atol, err_msg=what)


# -- the gate patterns -------------------------------------------------------------------------
G = np.array([0.5, -2.0, 3.0])


def test_add_gate_copies_the_upstream_gradient_to_both_inputs():
    a, b = leaf(1.0, 2.0, 3.0), leaf(-4.0, 0.5, 7.0)
    (a + b).backward(G)
    assert np.array_equal(a.grad, G) and np.array_equal(b.grad, G)


def test_multiply_gate_scales_each_gradient_by_the_other_input():
    a, b = leaf(1.0, 2.0, 3.0), leaf(-4.0, 0.5, 7.0)
    (a * b).backward(G)
    assert np.array_equal(a.grad, G * b.data) and np.array_equal(b.grad, G * a.data)


def test_max_gate_routes_to_the_larger_input_and_splits_ties_half_half_like_torch():
    # a > b, a < b, a == b: the tie gives each input g / 2 (torch.maximum's rule, checked below)
    a, b = leaf(3.0, 1.0, 2.0), leaf(1.0, 4.0, 2.0)
    maximum(a, b).backward(G)
    assert np.array_equal(a.grad, [0.5, 0.0, 1.5]) and np.array_equal(b.grad, [0.0, -2.0, 1.5])
    ta, tb = (torch.tensor(v.data, requires_grad=True) for v in (a, b))
    torch.maximum(ta, tb).backward(torch.tensor(G))
    assert np.array_equal(ta.grad.numpy(), a.grad) and np.array_equal(tb.grad.numpy(), b.grad)


# -- worked circuits (hand-derived numbers) -----------------------------------------------------
def test_circuit_x_plus_y_times_z():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    f = (x + y) * z
    f.backward()
    assert f.item() == -12.0 and (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_circuit_with_a_max_gate():
    x, y, z, w = leaf(2.0), leaf(1.0), leaf(-3.0), leaf(4.0)
    f = (x + y) * z + maximum(x, w)
    f.backward()
    assert f.item() == -5.0 and (x.grad, y.grad, z.grad, w.grad) == (-3.0, -3.0, 3.0, 1.0)


# -- torch's rules at the edges, each checked against torch itself ------------------------------
def _vs_torch(fn, *arrays, gradient=None, tfn=None):
    """Run ``fn`` on scratch leaves and ``tfn or fn`` on torch leaves; compare value and gradients."""
    s = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    t = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    g = None if gradient is None else np.asarray(gradient, dtype=np.float64)
    with np.errstate(divide="raise", over="raise", invalid="raise"):  # the engine handles its own infinities
        so = fn(*s)
        so.backward(g)
    to = (tfn or fn)(*t)
    to.backward(None if g is None else torch.from_numpy(g))
    np.testing.assert_array_equal(so.data, to.detach().numpy())
    for i, (a, b) in enumerate(zip(s, t)):
        assert_close(a.grad, b.grad.numpy(), f"input {i}")
    return s


EDGE_CASES = {
    "relu at 0 has gradient 0": (lambda x: x.relu().sum(), [[-1.0, 0.0, 2.0]]),
    "pow with a tensor exponent": (lambda a, b: (a ** b).sum(), [[0.0, 0.5, 2.0], [2.0, 1.5, 0.0]]),
    "scalar ** tensor": (lambda b: (2.0 ** b + 0.0 ** b).sum(), [[0.0, 1.5, -1.0]]),
    "tensor ** 0 and ** 0.5": (lambda a: (a ** 0 + a ** 0.5).sum(), [[0.0, 4.0]]),
    "log of 0 is -inf with gradient inf": (lambda x: x.log()[1:].sum() + x.log()[0], [[0.0, 1.0, 3.0]]),
    "sigmoid saturates without overflow": (lambda x: x.sigmoid().sum(), [[-1000.0, -40.0, 0.0, 40.0, 1000.0]]),
    "tanh": (lambda x: x.tanh().sum(), [[-30.0, 0.3, 30.0]]),
    "scalars on either side": (lambda x: (2.0 - x + x / 3.0 + 3.0 / x - (-x) + 2 * x).sum(), [[1.0, -2.0]]),
    "sum over a tuple of negative dims": (lambda x: x.sum(dim=(-1, 0)).sum(), [np.arange(24.0).reshape(2, 3, 4)]),
    "sum keepdim": (lambda x: (x.sum(dim=-2, keepdim=True) * x).sum(), [np.arange(6.0).reshape(2, 3)]),
    "mean over dims": (lambda x: (x.mean(dim=(0, 2)) ** 2).sum() + x.mean(), [np.arange(24.0).reshape(2, 3, 4)]),
    "T on 2-D": (lambda a, b: (a.T @ b).sum(), [np.arange(6.0).reshape(2, 3), np.ones((2, 4))]),
    "transpose and reshape": (lambda x: x.transpose(0, -1).reshape(-1)[::2].sum(), [np.arange(6.0).reshape(2, 3)]),
    "int and slice indexing": (lambda x: x[1].sum() * x[:, 1:].sum() + x[-1, -1], [np.arange(6.0).reshape(2, 3)]),
    "boolean mask indexing": (lambda x: (x[x.data > 2] ** 2).sum(), [np.arange(6.0).reshape(2, 3)]),
    "repeated fancy indices accumulate": (lambda x: (x[[0, 0, 2, 0]] * np.arange(4.0)).sum(), [[1.0, 2.0, 3.0]]),
    "broadcasting (3,1) with (1,4) and ()": (lambda a, b, c: (a * b + c).sum(), [np.ones((3, 1)) * 2, [[1.0, 2, 3, 4]], 5.0]),
    "matmul 1-D and batched": (lambda a, b, v: ((a @ b) @ v).sum() + (v @ v), [np.ones((2, 3, 4)), np.arange(12.0).reshape(4, 3), [1.0, 2, 3]]),
    "maximum with broadcasting and ties": (lambda a, b: (maximum(a, b) * np.arange(1.0, 7).reshape(2, 3)).sum(),
                                           [[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], [2.0, 2.0, 2.0]]),
}


@pytest.mark.parametrize("name", EDGE_CASES)
def test_matches_torch_at_the_edges(name):
    fn, arrays = EDGE_CASES[name]
    tfn = None
    if "maximum" in name:
        tfn = lambda a, b: (torch.maximum(a, b) * torch.arange(1.0, 7, dtype=torch.float64).reshape(2, 3)).sum()  # noqa: E731
    if "repeated fancy" in name:
        tfn = lambda x: (x[[0, 0, 2, 0]] * torch.arange(4.0, dtype=torch.float64)).sum()  # noqa: E731
    _vs_torch(fn, *arrays, tfn=tfn)


def test_repeated_fancy_index_gradient_by_hand():
    x = leaf(1.0, 2.0, 3.0)
    x[[0, 0, 2, 0]].sum().backward()
    assert np.array_equal(x.grad, [3.0, 0.0, 1.0])


def test_shared_subexpression_gets_every_consumers_gradient():
    x = leaf(0.5)
    b = x.exp()
    (b + b * 2.0).backward()  # b feeds the output directly and through b * 2: 3 e^x
    assert x.grad == pytest.approx(3 * np.exp(0.5), rel=1e-15)


def test_gradients_accumulate_across_backward_calls_like_torch():
    x = leaf(1.0, 2.0)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    assert np.array_equal(x.grad, [5.0, 7.0])


def test_float32_stays_float32_with_python_scalars():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * 2.0 + 1.0) ** 2
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and np.array_equal(x.grad, [12.0] * 3)


# -- bad use: clear errors, nothing changed -----------------------------------------------------
def test_bad_use_raises_clear_errors():
    x = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"):
        (x * 2.0).backward(np.ones(3))
    assert x.grad is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(2)).sum().backward()
    with pytest.raises(TypeError, match="floating point"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(ValueError, match="appears multiple times"):
        x.sum(dim=(0, -1))
    with pytest.raises(IndexError, match=r"\[-1, 0\]"):
        x.sum(dim=1)
    with pytest.raises(ValueError, match="invalid for an input of size 2"):
        x.reshape(3)
    with pytest.raises(ValueError, match="cannot be multiplied"):
        x @ leaf(1.0, 2.0, 3.0)


def test_a_second_backward_needs_retain_graph_like_torch():
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert np.array_equal(x.grad, [4.0, 8.0])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


# -- an MLP three ways ------------------------------------------------------------------------------
def test_mlp_gradients_match_scratch_modules_and_torch():
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    state = {k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}
    # scratch.autograd
    p = {k: Tensor(v.copy(), requires_grad=True) for k, v in state.items()}
    xt = Tensor(x, requires_grad=True)
    y = (xt @ p["0.weight"].T + p["0.bias"]).relu() @ p["2.weight"].T + p["2.bias"]
    y.backward(g)
    # scratch.nn modules
    sm = snn.Sequential(snn.Linear(3, 4), snn.ReLU(), snn.Linear(4, 2)).double()
    sm.load_state_dict(state)
    ys = sm(x)
    gx_modules = sm.backward(g)
    # torch
    xtorch = torch.tensor(x, requires_grad=True)
    yt = tm(xtorch)
    yt.backward(torch.from_numpy(g))
    assert_close(y.data, yt.detach().numpy(), "output vs torch")
    assert_close(y.data, ys, "output vs modules")
    assert_close(xt.grad, xtorch.grad.numpy(), "input vs torch")
    assert_close(xt.grad, gx_modules, "input vs modules")
    for name, param in sm.named_parameters():
        assert_close(p[name].grad, dict(tm.named_parameters())[name].grad.numpy(), f"{name} vs torch")
        assert_close(p[name].grad, param.grad, f"{name} vs modules")
