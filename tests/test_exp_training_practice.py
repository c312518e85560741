"""The training-practice experiments: experiments/init_stats.py, sanity.py and regression.py.

Expected values are hand-derived (mean-field variance rules, ln 10, Adam's first step, the
contraction rate of GD on a quadratic), or come from torch and scikit-learn; never from the
code under test. Each experiment also runs once in quick mode (columns, figures, determinism).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

import scratch.nn as snn
from experiments import init_stats, regression, sanity
from experiments.context import Context
from experiments.report import write_result
from scratch.train import predict


# ---------------------------------------------------------------- init_stats
def _net(activation, init, width, dtype="float64", seed=0):
    net = init_stats.build_scratch(activation, width, init_stats.DEPTH, dtype)
    init_stats.init_network_scratch(net, init, np.random.default_rng(seed))
    return net


def _batch(width, batch, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, width)), rng.standard_normal((batch, width))


def test_small_gaussian_tanh_shrinks_by_the_linear_regime_factor():
    # tanh(z) ~ z near 0, so each layer multiplies the std by sqrt(width) * 0.01 (= 0.1414 here)
    width = 200
    x, g = _batch(width, 200)
    s = init_stats.stats_scratch(_net("tanh", "small gaussian", width), x, g)
    ratios = np.array(s["act_std"][1:]) / np.array(s["act_std"][:-1])
    np.testing.assert_allclose(ratios, 0.01 * math.sqrt(width), rtol=0.05)
    # backward, the same factor per layer: dL/dh_{l-1} = W^T (tanh' * dL/dh_l), tanh' ~ 1
    back = np.array(s["grad_std"][:-1]) / np.array(s["grad_std"][1:])
    np.testing.assert_allclose(back, 0.01 * math.sqrt(width), rtol=0.05)


def test_he_relu_first_layer_std_is_the_half_normal_value():
    # z = W x with Var z = width * (2/width) * 1 = 2; h = relu(z): E h^2 = 1, E h = sqrt(2/(2 pi))
    width = 400
    x, g = _batch(width, 400)
    s = init_stats.stats_scratch(_net("relu", "he", width), x, g)
    assert s["act_std"][0] == pytest.approx(math.sqrt(1 - 1 / math.pi), rel=0.02)


def test_scratch_stats_match_torch_and_a_wrong_gain_is_caught():
    width = 32
    x, g = _batch(width, 48)
    net = _net("relu", "he", width)
    twin = init_stats.build_torch("relu", width, init_stats.DEPTH, "float64", "cpu")
    init_stats.copy_to_torch(net, twin)
    s = init_stats.stats_scratch(net, x, g)
    t = init_stats.stats_torch(twin, torch.as_tensor(x), torch.as_tensor(g))
    for q in init_stats.QUANTITIES:
        assert max(init_stats.rel_diff(a, b) for a, b in zip(s[q], t[q])) <= init_stats.RTOL["float64"]
    with torch.no_grad():  # torch twin with a forgotten sqrt(2) in layer 4 (a wrong gain)
        twin[6].weight /= math.sqrt(2)
    t_bad = init_stats.stats_torch(twin, torch.as_tensor(x), torch.as_tensor(g))
    assert max(init_stats.rel_diff(a, b) for a, b in zip(s["act_std"], t_bad["act_std"])) > 0.3


def test_compare_task_rows_pass_and_stds_agree_in_float32():
    rows, own = init_stats.compare_task("float32", "tanh", "xavier", 32, 32, 0, "cpu")
    assert len(rows) == init_stats.DEPTH and all(r["passed"] for r in rows)
    assert max(r["max_rel_diff"] for r in rows) < 1e-4
    assert all(r["allowed"] >= init_stats.RTOL["float32"] for r in rows)


@pytest.mark.parametrize("init", init_stats.INITS)
def test_both_sides_init_draw_the_formula_std_and_a_wrong_std_fails(init):
    n_out = n_in = 300
    expected = init_stats.formula_std(init, n_in, n_out)
    w = snn.Parameter(np.empty((n_out, n_in)))
    init_stats.init_scratch_(w, init, np.random.default_rng(3))
    wt = torch.empty(n_out, n_in, dtype=torch.float64)
    init_stats.init_torch_(wt, init, torch.Generator().manual_seed(3))
    assert init_stats.within_sampling(float(np.std(w.data)), expected, n_out * n_in)
    assert init_stats.within_sampling(float(wt.std(correction=0)), expected, n_out * n_in)
    # the check fails on a std off by 10% (a wrong fan or gain is off by far more)
    assert not init_stats.within_sampling(1.1 * float(np.std(w.data)), expected, n_out * n_in)


# ---------------------------------------------------------------- sanity
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_initial_loss_with_tiny_weights_is_ln_10_on_both_sides(dtype):
    X, y = sanity.digits(0, dtype, n_train=200)
    run = sanity.sides(sanity.build(sanity.INITS[0], dtype, 0), 1e-3, "cpu")
    for model, loss_fn, _ in run.values():
        assert sanity.initial_loss(model, loss_fn, X, y) == pytest.approx(math.log(10), rel=sanity.LN_C_RTOL)
    # the check can fail: the default init starts visibly away from ln 10
    model, loss_fn, _ = sanity.sides(sanity.build(sanity.INITS[1], dtype, 0), 1e-3, "cpu")["scratch"]
    assert abs(sanity.initial_loss(model, loss_fn, X, y) / math.log(10) - 1) > 100 * sanity.LN_C_RTOL


def test_first_adam_step_ratio_is_lr_over_rms_weight():
    # step 1: m_hat / sqrt(v_hat) = g / |g| exactly, so |dW| = lr * |g| / (|g| + eps) <= lr per entry,
    # and ||dW|| / ||W|| = lr / rms(W) when every entry has a gradient well above eps
    X, y = sanity.digits(0, "float64", n_train=64)
    lr = 1e-3
    for side, (model, loss_fn, opt) in sanity.sides(sanity.build(sanity.INITS[0], "float64", 0), lr, "cpu").items():
        w = sanity.weights(model)
        r = sanity.ratios(model, loss_fn, opt, [(X[:32], y[:32])])
        last = sorted(w)[-1]  # the output layer: every entry sees a non-zero gradient
        bound = lr / math.sqrt(np.mean(w[last] ** 2))
        assert 0.9 * bound <= r[last][0] <= bound * (1 + 1e-9), side
        for name in w:  # no layer can exceed the bound
            assert r[name][0] <= lr / math.sqrt(np.mean(w[name] ** 2)) * (1 + 1e-9)


def test_overfitting_one_batch_takes_the_same_steps_on_both_sides():
    X, y = sanity.digits(0, "float64", n_train=40)
    run = sanity.sides(sanity.build(sanity.INITS[1], "float64", 0), 1e-2, "cpu")
    steps = {s: sanity.overfit(*run[s], [(X[:20], y[:20])])[0] for s in run}
    assert 0 < steps["scratch"] == steps["torch"]
    model = run["scratch"][0]
    assert np.array_equal(np.argmax(predict(model, X[:20]), axis=1), y[:20])


# ---------------------------------------------------------------- regression
def test_ols_with_the_bias_trick_matches_sklearn():
    from sklearn.linear_model import LinearRegression

    X_train, _, y_train, _ = regression.split(0)
    theta = regression.ols(X_train, y_train)
    lr = LinearRegression().fit(X_train, y_train)
    np.testing.assert_allclose(theta[:-1], lr.coef_, rtol=1e-10, atol=1e-10)
    assert theta[-1] == pytest.approx(lr.intercept_, rel=1e-12)


def test_scratch_metrics_match_sklearn_on_the_ols_predictions():
    from sklearn.metrics import r2_score, root_mean_squared_error

    X_train, X_test, y_train, y_test = regression.split(0)
    theta = regression.ols(X_train, y_train)
    pred = {"train": regression.with_ones(X_train) @ theta, "test": regression.with_ones(X_test) @ theta}
    got = regression.scores(y_train, y_test, pred)
    assert got["r2_train"] == pytest.approx(r2_score(y_train, pred["train"]), rel=1e-12)
    assert got["r2_test"] == pytest.approx(r2_score(y_test, pred["test"]), rel=1e-12)
    assert got["rmse_test"] == pytest.approx(root_mean_squared_error(y_test, pred["test"]), rel=1e-12)


def test_gd_on_the_linear_model_contracts_at_the_quadratic_rate():
    # e_{t+1} = (I - lr H) e_t, spectral radius rho = (kappa - 1)/(kappa + 1) at lr = 2/(lmin + lmax)
    X_train, _, _, _ = regression.split(0)
    lr, rho, kappa = regression.gd_step_size(X_train)
    H = 2.0 / len(X_train) * regression.with_ones(X_train).T @ regression.with_ones(X_train)
    eig = np.linalg.eigvalsh(H)
    assert kappa == pytest.approx(eig[-1] / eig[0], rel=1e-12)
    assert np.max(np.abs(1 - lr * eig)) == pytest.approx(rho, rel=1e-12)
    out = regression.regression_task("float64", "linear", 0, "cpu", 400)
    for side in ("scratch", "torch"):
        trace = np.array(out[side]["trace"])
        k = np.arange(len(trace)) * regression.RECORD_EVERY
        assert np.all(trace <= trace[0] * rho ** k * (1 + 1e-9) + 1e-14), side
        assert trace[-1] < 0.5 * trace[0]
    np.testing.assert_allclose(out["scratch"]["theta"], out["torch"]["theta"], rtol=1e-9)


def test_theta_of_an_identity_net_is_its_end_to_end_map():
    X_train, _, _, _ = regression.split(0)
    net = regression.build("identity net", "float64", 0)
    theta = regression.theta_of(net.state_dict(), 0.0, 1.0)
    np.testing.assert_allclose(predict(net, X_train).ravel(), regression.with_ones(X_train) @ theta, rtol=1e-12,
                               atol=1e-12)
    # with a target scaled by std and shifted by mean, so is the map
    np.testing.assert_allclose(regression.theta_of(net.state_dict(), 5.0, 3.0), theta * 3 + np.r_[np.zeros(10), 5.0],
                               rtol=1e-12)


# ---------------------------------------------------------------- quick runs
@pytest.mark.parametrize("module", [init_stats, sanity, regression], ids=lambda m: m.__name__.split(".")[-1])
def test_quick_run_writes_columns_figures_and_is_deterministic(module, tmp_path):
    name = module.__name__.split(".")[-1]
    csv = []
    for k in range(2):
        ctx = Context(quick=True, dtypes=["float64"], out=tmp_path / str(k), backend="sequential", jobs=1)
        res = module.run(ctx)
        assert res.passed, res.findings
        assert set(module.COLUMNS) <= set(res.table.columns)
        assert set(res.figures) == set(module.FIGURES)
        assert res.findings and all(isinstance(f, str) for f in res.findings)
        write_result(res, tmp_path / str(k), name)
        for suffix in module.FIGURES:
            assert (tmp_path / str(k) / f"{name}_{suffix}.png").stat().st_size > 0
        csv.append({p.name: p.read_bytes() for p in sorted((tmp_path / str(k)).glob("*.csv"))})
    assert csv[0] == csv[1]
    assert len(pd.read_csv(tmp_path / "0" / f"{name}.csv")) > 0
