"""The optimizer experiments: experiments/surfaces.py, optimizers_2d.py and lr_sweep.py.

Expected values come from torch (autograd, torch.optim), scipy, closed forms (matrix powers,
2 / lambda_max) or the fact sheet's scipy-checked numbers, never from the code under test.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import scratch.optim
from experiments import lr_sweep, optimizers_2d
from experiments.context import Context
from experiments.report import write_result
from experiments.surfaces import SURFACES, bisect_threshold, classify, gd_diverges, hessians
from reference.hypothesis_profiles import scaled
from reference.strategies.common import seeds

SURFACE_NAMES = [s.name for s in SURFACES]


def _surface(name):
    return next(s for s in SURFACES if s.name == name)


# ---------------------------------------------------------------- surfaces
@settings(max_examples=scaled(25))
@given(name=st.sampled_from(SURFACE_NAMES), u=st.floats(0, 1), v=st.floats(0, 1))
def test_analytic_gradient_matches_torch_autograd(name, u, v):
    s = _surface(name)
    p = np.array([s.xlim[0] + u * (s.xlim[1] - s.xlim[0]), s.ylim[0] + v * (s.ylim[1] - s.ylim[0])])
    t = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    f = s.f_torch(t)
    f.backward()
    expected = t.grad.numpy()
    np.testing.assert_allclose(s.grad(p), expected, rtol=1e-12, atol=1e-12 * (1 + np.abs(expected).max()))
    np.testing.assert_allclose(s.f(p), f.item(), rtol=1e-13, atol=1e-13)


def test_vectorized_calls_and_dtype_are_kept():
    for s in SURFACES:
        pts = np.random.default_rng(0).uniform(-1, 1, (2, 5, 3))
        np.testing.assert_allclose(s.f(pts)[1, 2], s.f(pts[:, 1, 2]), rtol=1e-15)
        np.testing.assert_allclose(s.grad(pts)[:, 4, 0], s.grad(pts[:, 4, 0]), rtol=1e-15)
        assert s.grad(np.array(s.start, dtype=np.float32)).dtype == np.float32
        assert s.f(np.array(s.start, dtype=np.float32)).dtype == np.float32


def test_stationary_points_are_where_scipy_finds_them():
    for s in SURFACES:
        for label, q in s.points:
            assert np.abs(s.grad(np.array(q))).max() < 1e-9, (s.name, label)
            if label.startswith(("global", "local", "min")):  # scipy, started nearby, ends there
                res = minimize(lambda z: float(s.f(z)), np.array(q) + 0.05, jac=lambda z: s.grad(z),
                               method="BFGS", options=dict(gtol=1e-10))
                np.testing.assert_allclose(res.x, q, atol=1e-5)
        res = minimize(lambda z: float(s.f(z)), np.array(s.points[0][1]) - 0.1, method="Nelder-Mead",
                       options=dict(xatol=1e-10, fatol=1e-14, maxiter=5000))
        assert abs(res.fun - s.f_star) < 1e-8, s.name


def test_two_well_numbers_match_the_fact_sheet():
    # torch-semantics.md, 2-D surfaces (checked with scipy there): global (-1.0356, 0) = -0.3054,
    # local (0.9602, 0) = 0.2941, barrier at x = 0.0754
    s = _surface("two_well")
    pts = dict(s.points)
    assert pts["global"][0] == pytest.approx(-1.0356, abs=1e-4)
    assert pts["local"][0] == pytest.approx(0.9602, abs=1e-4)
    assert pts["barrier"][0] == pytest.approx(0.0754, abs=1e-4)
    assert s.f_star == pytest.approx(-0.3054, abs=1e-4)
    assert float(s.f(np.array(pts["local"]))) == pytest.approx(0.2941, abs=1e-4)


def test_quadratic_has_the_stated_eigenvalues():
    s = _surface("quadratic")
    H = np.column_stack([s.grad(np.array([1.0, 0.0])), s.grad(np.array([0.0, 1.0]))])
    np.testing.assert_allclose(np.linalg.eigvalsh(H), [1.0, 20.0], rtol=1e-12)
    np.testing.assert_allclose(hessians(0)["optimizers_2d quadratic"], H, rtol=1e-15)


def test_bad_points_are_rejected_with_the_expected_shape():
    s = SURFACES[0]
    for bad in (np.zeros(3), np.zeros((3, 2)), np.zeros(2, dtype=np.int64)):
        with pytest.raises(ValueError, match=r"shape \(2,\)"):
            s.grad(bad)


def test_classify():
    s = _surface("saddle")
    assert classify(s, (0.01, 0.99)) == "min (0,+1)"
    assert classify(s, (0.0, -1.04)) == "min (0,-1)"
    assert classify(s, (0.0, 0.0)) == "saddle (0,0)"
    assert classify(s, (0.5, 0.5)) == "none"
    assert classify(s, (np.nan, 0.0)) == "diverged"


# ---------------------------------------------------------------- optimizers_2d
def test_steps_to_tol_counts_the_first_step_of_the_final_stretch():
    assert optimizers_2d.steps_to_tol(np.array([5.0, 1.0, 0.0, 0.0]), 0.0, 0.5) == 2
    assert optimizers_2d.steps_to_tol(np.array([0.0, 5.0, 0.1]), 0.0, 0.5) == 2   # left and came back
    assert optimizers_2d.steps_to_tol(np.array([0.0, 0.0]), 0.0, 0.5) == 0
    assert optimizers_2d.steps_to_tol(np.array([1.0, 0.0, 1.0]), 0.0, 0.5) is None
    assert optimizers_2d.steps_to_tol(np.array([1.0, 0.0, np.nan]), 0.0, 0.5) is None
    assert optimizers_2d.steps_to_tol(np.array([-0.2, -0.25]), -0.25, 0.1) == 0


def test_sgd_trajectory_on_the_quadratic_is_the_matrix_power():
    s = _surface("quadratic")
    A = np.column_stack([s.grad(np.array([1.0, 0.0])), s.grad(np.array([0.0, 1.0]))])
    lr, steps = 0.03, 40
    traj = optimizers_2d.scratch_trajectory(s, "sgd", lr, steps, "float64")
    M = np.eye(2) - lr * A
    expected = np.stack([np.linalg.matrix_power(M, k) @ np.array(s.start) for k in range(steps + 1)])
    np.testing.assert_allclose(traj, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("surface,opt,steps", [("quadratic", "momentum 0.9", 60), ("two_well", "adam", 60),
                                               ("rosenbrock", "rmsprop", 600)])
def test_the_trajectory_check_passes_correct_optimizers(surface, opt, steps):
    row = optimizers_2d.run_pair(surface, opt, "float64", steps, "cpu")["row"]
    assert row["passed"], row
    assert row["max_dev_same_grad"] <= row["allowed"]


class _LrOffSGD(scratch.optim.SGD):
    def __init__(self, params, lr, **kw):
        super().__init__(params, lr=lr * 1.001, **kw)  # a 0.1% error in the step size


class _WrongEpsAdam(scratch.optim.Adam):
    def __init__(self, params, lr, **kw):
        super().__init__(params, lr=lr, eps=1e-3, **kw)  # eps 1e5 x torch's default


@pytest.mark.parametrize("surface,opt,optim", [
    ("quadratic", "momentum 0.9", types.SimpleNamespace(SGD=_LrOffSGD)),
    ("saddle", "adam", types.SimpleNamespace(Adam=_WrongEpsAdam)),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_trajectory_check_fails_wrong_optimizers(surface, opt, optim, dtype):
    row = optimizers_2d.run_pair(surface, opt, dtype, 60, "cpu", optim=optim)["row"]
    assert not row["passed"]
    assert row["max_dev_same_grad"] > 10 * row["allowed"]


# ---------------------------------------------------------------- lr_sweep: the threshold
def test_gd_verdict_flips_at_two_over_lambda_max():
    H, x0 = np.diag([1.0, 10.0]), np.array([1.0, 1.0])
    assert not gd_diverges(H, x0, 0.2 * (1 - 1e-4), 3000)
    assert gd_diverges(H, x0, 0.2 * (1 + 1e-4), 3000)
    assert not gd_diverges(np.eye(2), x0, 1.0, 10)  # x is exactly 0 after one step


@settings(max_examples=scaled(15))
@given(log_eigs=st.lists(st.floats(-1, 1), min_size=1, max_size=6), log_scale=st.floats(-2, 2), seed=seeds())
def test_bisection_finds_two_over_lambda_max(log_eigs, log_scale, seed):
    eigs = 10.0 ** (np.array(log_eigs) + log_scale)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))
    H = q @ np.diag(eigs) @ q.T
    est, bracket, _ = bisect_threshold(H, rng.standard_normal(len(eigs)), 2000)
    theory = 2.0 / eigs.max()
    assert abs(est - theory) / theory < 1e-3
    assert bracket < 1e-5


def test_bisection_accepts_symmetric_up_to_rounding():
    """A drawn case: Q diag Q^T had an entry of -3e-5 that differed from its mirror by 2e-16."""
    eigs = 10.0 ** np.array([-0.6553996313604107, 0.0, 0.0, 0.0, 0.0, 0.5885091186528449])
    rng = np.random.default_rng(3_199_982_813)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    H = q @ np.diag(eigs) @ q.T
    est, _, _ = bisect_threshold(H, rng.standard_normal(6), 2000)
    assert abs(est - 2.0 / eigs.max()) / (2.0 / eigs.max()) < 1e-3
    H[0, 1] += 1e-9 * np.abs(H).max()  # asymmetric beyond rounding
    with pytest.raises(ValueError, match="symmetric square"):
        bisect_threshold(H, np.ones(6), 100)


def test_bisection_rejects_bad_input():
    with pytest.raises(ValueError, match="symmetric square"):
        bisect_threshold(np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2), 100)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        bisect_threshold(np.eye(2), np.ones(3), 100)
    with pytest.raises(ValueError, match="nonzero"):
        bisect_threshold(np.eye(2), np.zeros(2), 100)
    for H in (np.diag([1.0, -1.0]), np.zeros((2, 2))):
        with pytest.raises(ValueError, match="positive semi-definite with a positive eigenvalue"):
            bisect_threshold(H, np.ones(2), 50)


def test_bisection_on_the_experiments_hessians():
    for name, H in hessians(0).items():
        x0 = np.random.default_rng(1).standard_normal(len(H))
        est, _, _ = bisect_threshold(H, x0, 3000)
        theory = 2.0 / np.linalg.eigvalsh(H)[-1]
        assert abs(est - theory) / theory < 1e-3, name


class _HalfLrSGD(scratch.optim.SGD):
    def __init__(self, params, lr, **kw):
        super().__init__(params, lr=lr / 2, **kw)


def test_threshold_row_check_passes_scratch_sgd_and_fails_a_wrong_one():
    good = lr_sweep.threshold_row("diag(1, 10)", 1000, 150, 0, "cpu")
    assert good["passed"] and good["scratch_ratio_below"] < 1 < good["scratch_ratio_above"]
    np.testing.assert_allclose(good["scratch_ratio_above"], good["torch_ratio_above"], rtol=1e-10)
    bad = lr_sweep.threshold_row("diag(1, 10)", 1000, 150, 0, "cpu", optim=types.SimpleNamespace(SGD=_HalfLrSGD))
    assert not bad["passed"] and bad["scratch_ratio_above"] < 1  # half the lr converges at 1.02x


# ---------------------------------------------------------------- lr_sweep: the MLP sweep
def test_grid_and_random_lrs():
    full = lr_sweep.grid_lrs(9)
    np.testing.assert_allclose(full[[0, 2, 4, 6, 8]], [1e-1, 1e-2, 1e-3, 1e-4, 1e-5], rtol=1e-12)
    for b in (3, 5):
        assert np.isclose(lr_sweep.grid_lrs(b)[:, None], full[None, :], rtol=1e-9).any(axis=1).all()
    r = lr_sweep.random_lrs(200, 0, "adam")
    assert r.min() >= 1e-5 and r.max() <= 1e-1
    np.testing.assert_array_equal(r, lr_sweep.random_lrs(200, 0, "adam"))
    assert not np.array_equal(r, lr_sweep.random_lrs(200, 0, "sgd"))
    assert 0.3 < np.mean(np.log10(r) < -3) < 0.7  # log-uniform: half the draws below 1e-3


def test_budget_table_picks_the_best_within_each_budget():
    grid_loss = [0.9, 0.5, 0.3, 0.4, 0.8, 1.0, 1.5, 2.0, 2.2]  # at 1e-1, 10^-1.5, ..., 1e-5
    rnd_lr = [0.05, 0.003, 2e-4, 0.02, 1e-5, 1e-5, 1e-5, 1e-5, 1e-5]
    rnd_loss = [np.nan, 0.6, 0.35, 0.2, 1.0, 3.0, 3.0, 3.0, 3.0]  # the first one diverged
    runs = pd.DataFrame([dict(optimizer="sgd", seed=0, search="grid", lr=lr, val_loss=v)
                         for lr, v in zip(lr_sweep.grid_lrs(9), grid_loss)] +
                        [dict(optimizer="sgd", seed=0, search="random", lr=lr, val_loss=v)
                         for lr, v in zip(rnd_lr, rnd_loss)])
    t = lr_sweep.budget_table(runs, (3, 5, 9)).set_index(["budget", "method"])
    expected = {(3, "grid"): (0.8, 1e-3), (5, "grid"): (0.3, 1e-2), (9, "grid"): (0.3, 1e-2),
                (3, "random"): (0.35, 2e-4), (5, "random"): (0.2, 0.02), (9, "random"): (0.2, 0.02)}
    for key, (loss, lr) in expected.items():
        assert t.loc[key, "mean_best_val_loss"] == pytest.approx(loss)
        assert t.loc[key, "median_best_lr"] == pytest.approx(lr)
        assert t.loc[key, "wins"] == (1 if key[1] == "random" else 0)


def test_mlp_run_matches_torch_and_learns():
    row = lr_sweep.train_mlp("adam", 1e-2, 0, "float64", 15, "cpu", "grid")
    assert row["max_abs_diff"] < 1e-10
    assert row["train_loss"] < 0.8 * np.log(10) and row["val_accuracy"] > 0.5  # chance: ln 10, 10%
    sgd = lr_sweep.train_mlp("sgd", 1e-5, 0, "float64", 15, "cpu", "grid")
    assert sgd["train_loss"] > row["train_loss"] and not sgd["diverged"]


# ---------------------------------------------------------------- both experiments, quick mode
@pytest.fixture(scope="module", params=["optimizers_2d", "lr_sweep"])
def quick_run(request, tmp_path_factory):
    module = {"optimizers_2d": optimizers_2d, "lr_sweep": lr_sweep}[request.param]
    out = tmp_path_factory.mktemp(request.param)
    res = module.run(Context(quick=True, out=out, backend="sequential", jobs=1))
    return request.param, module, res, write_result(res, out, request.param)


def test_quick_run_writes_columns_figures_and_passes(quick_run):
    name, module, res, paths = quick_run
    assert set(module.COLUMNS) <= set(res.table.columns) and len(res.table)
    assert tuple(res.figures) == module.FIGURES
    names = {p.name for p in paths}
    assert {f"{name}.csv", f"{name}.md"} | {f"{name}_{f}.png" for f in module.FIGURES} <= names
    assert res.passed and len(res.findings) >= 3


def test_quick_run_is_deterministic(quick_run, tmp_path):
    name, module, res, _ = quick_run
    again = module.run(Context(quick=True, out=tmp_path, backend="sequential", jobs=1))
    assert again.table.to_csv(index=False) == res.table.to_csv(index=False)
    for suffix, (_, df) in res.tables.items():
        assert again.tables[suffix][1].to_csv(index=False) == df.to_csv(index=False)
