"""scratch.gradcheck beyond modules: functions of several arrays, scratch.autograd, the pandas
tables, and points near kinks reported (never silently passed). Expected values are hand-derived."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import scratch.nn as snn
from scratch import gradcheck as gc
from scratch.autograd import ops


def _f_sin(a, b):
    return np.sum(np.sin(a) * b)


A, B = np.array([0.5, -1.5, 2.0]), np.array([1.0, -2.0, 0.25])
TRUE = [np.cos(A) * B, np.sin(A)]  # d/da sum(sin(a) b) = cos(a) b, d/db = sin(a)


def test_numerical_gradients_of_a_function_of_two_arrays_leave_the_inputs_alone():
    a, b = A.copy(), B.copy()
    ga, gb = gc.numerical_gradients(_f_sin, [a, b])
    np.testing.assert_allclose(ga, TRUE[0], rtol=1e-9)
    np.testing.assert_allclose(gb, TRUE[1], rtol=1e-9)
    assert np.array_equal(a, A) and np.array_equal(b, B)


def test_check_function_passes_the_true_gradient_below_1e7_and_fails_one_part_in_1e5():
    good = gc.check_function(_f_sin, {"a": A, "b": B}, {"a": TRUE[0], "b": TRUE[1]})
    assert [r.quantity for r in good] == ["a", "b"]
    assert all(r.passed and r.max_rel_error < 1e-7 for r in good)  # the documented "fine" level
    bad = gc.check_function(_f_sin, [A, B], [TRUE[0] * (1 + 1e-5), TRUE[1]])
    assert not bad[0].passed and bad[1].passed
    assert bad[0].max_rel_error == pytest.approx(1e-5, rel=1e-3)


def test_check_function_takes_analytic_gradients_from_scratch_autograd(monkeypatch):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))

    def f(x, w):
        return ((x @ w).tanh() * (x @ w).sigmoid()).mean() + (w ** 2).sum()

    assert all(r.passed and r.max_rel_error < 1e-7 for r in gc.check_function(f, [x, w]))
    monkeypatch.setattr(ops.Tanh, "backward", staticmethod(lambda ctx, g: (g * (1 - ctx.saved_tensors[0]),)))
    assert not any(r.passed for r in gc.check_function(f, [x, w]))


def _relu_sum(x):
    return np.sum(np.maximum(x, 0))


def test_a_point_at_a_kink_fails_unless_declared_and_then_is_reported_with_its_error():
    x = np.array([0.0, 1.0, -1.0, 5e-6])  # 0 and 5e-6 lie within h = 1e-5 of the kink
    ones = [(x > 0).astype(float)]  # relu' = 1 where x > 0, 0 at and below 0 (torch's rule)
    (undeclared,) = gc.check_function(_relu_sum, [x], ones)
    assert not undeclared.passed  # the straddling probes are far off: hidden, this would be a failure
    (r,) = gc.check_function(_relu_sum, [x], ones, kinks=(0.0,))
    assert r.passed and r.checked == 2 and r.skipped_near_kink == 2
    # x = 0: the centered difference sees half of each side, 0.5, against analytic 0
    listed = {idx: (a, n, e) for idx, a, n, e in r.near_kink}
    assert set(listed) == {(0,), (3,)}
    assert listed[(0,)][:2] == (0.0, pytest.approx(0.5, abs=1e-9)) and listed[(0,)][2] == pytest.approx(1.0)
    assert r.near_kink_max_rel_error == pytest.approx(1.0) and r.near_kink_worst_index == (0,)
    assert "2 near a kink, not judged" in r.verdict


def test_a_hidden_kink_is_declared_with_a_mask():
    x, w = np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([[1.0], [1.0]])  # row 0's pre-activation is exactly 0

    def f(x, w):
        return np.sum(np.maximum(x @ w, 0))

    gx = np.where((x @ w) > 0, 1.0, 0.0) @ w.T
    gw = x.T @ np.where((x @ w) > 0, 1.0, 0.0)
    assert not all(r.passed for r in gc.check_function(f, {"x": x, "w": w}, [gx, gw]))
    mask_x = np.array([[True, True], [False, False]])
    rx, rw = gc.check_function(f, {"x": x, "w": w}, [gx, gw], kinks={"x": mask_x, "w": np.ones((2, 1), bool)})
    assert rx.passed and rx.skipped_near_kink == 2 and rx.checked == 2
    assert rw.checked == 0 and rw.skipped_near_kink == 2


def test_gradcheck_table_has_a_row_per_input_and_parameter():
    lin = snn.Linear(3, 2).double()
    df = gc.gradcheck_table(lin, np.random.default_rng(1).standard_normal((4, 3)))
    assert list(df.columns) == gc.COLUMNS
    assert list(df["quantity"]) == ["input", "weight", "bias"] and set(df["component"]) == {"Linear"}
    assert list(df["checked"]) == [12, 6, 2] and df["passed"].all() and (df["max_rel_error"] < 1e-7).all()
    assert (df["threshold"] == gc.THRESHOLD).all() and (df["near_kink"] == 0).all()


class _HalfLinear(snn.Linear):
    def backward(self, grad_output):
        gx = super().backward(grad_output)
        self.weight.grad *= 0.5
        return gx


def test_gradcheck_table_shows_a_wrong_parameter_gradient():
    df = gc.gradcheck_table(_HalfLinear(3, 2).double(), np.random.default_rng(2).standard_normal((4, 3)))
    row = df.set_index("quantity").loc["weight"]
    assert not row["passed"] and row["verdict"] == "FAIL"
    assert row["analytic"] == pytest.approx(0.5 * row["numeric"])  # the halved gradient, at the worst index
    assert df.set_index("quantity").loc[["input", "bias"], "passed"].all()


def test_tables_report_near_kink_elements_of_a_module():
    x = np.array([[0.0, 1.0], [-1.0, 5e-6]])
    df = gc.gradcheck_table(snn.ReLU(), x, kinks=(0.0,), component="ReLU at its kink")
    assert df.loc[0, "near_kink"] == 2 and df.loc[0, "checked"] == 2 and df.loc[0, "passed"]
    assert df.loc[0, "near_kink_max_rel_error"] > gc.KINK_THRESHOLD  # shown, not hidden
    res = gc.check_module(snn.ReLU(), x, kinks=(0.0,))
    kinks = gc.near_kink_table(res, "ReLU")
    assert list(kinks["index"]) == [(0, 0), (1, 1)] and (kinks["quantity"] == "input").all()


def test_function_table_names_the_function_and_its_inputs():
    df = gc.function_gradcheck_table(_f_sin, {"a": A, "b": B}, TRUE)
    assert list(df["quantity"]) == ["a", "b"] and set(df["component"]) == {"_f_sin"} and df["passed"].all()


def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="float64"):
        gc.check_function(_f_sin, [A.astype(np.float32), B], TRUE)
    with pytest.raises(ValueError, match=r"analytic gradient has shape \(2,\), expected \(3,\)"):
        gc.check_function(_f_sin, [A, B], [TRUE[0][:2], TRUE[1]])
    with pytest.raises(ValueError, match="1 analytic gradients for 2 inputs"):
        gc.check_function(_f_sin, [A, B], TRUE[:1])
    with pytest.raises(ValueError, match=r"kink mask for b has shape \(2,\), expected \(3,\)"):
        gc.check_function(_f_sin, {"a": A, "b": B}, TRUE, kinks={"b": np.zeros(2, bool)})
    with pytest.raises(ValueError, match="grad_output has shape"):
        gc.check_module(snn.Tanh(), A.copy(), grad_output=np.ones(2))


def test_pandas_is_imported_only_when_a_table_is_built():
    code = "import sys, scratch.gradcheck, scratch.autograd\nassert 'pandas' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_autograd_tensor_is_what_check_function_differentiates():
    # the autograd path must see the same function: f(x) = sum(x^3) has gradient 3x^2 by hand
    x = np.array([1.0, -2.0, 0.5])
    (r,) = gc.check_function(lambda t: (t ** 3).sum(), [x])
    assert r.passed and r.analytic == pytest.approx(3 * x[r.worst_index] ** 2, rel=1e-12)
