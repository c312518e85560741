"""Losses: properties (shift invariance, nonnegativity, hinge zero past the margin, mean = sum / N,
all-ones weights = no weights), the strategies reaching their edges, and backward against
centered differences on smooth cases."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import scratch.nn as snn
from reference.hypothesis_profiles import scaled
from reference.sampling import sample_cases
from reference.specs.losses import SPECS
from reference.strategies import losses as LS
from scratch.gradcheck import numerical_gradient

SPEC = {s.name: s for s in SPECS}
T = torch.tensor


# -- properties ---------------------------------------------------------------------------------------------

@given(data=st.data(), shift=st.floats(-100, 100))
@settings(max_examples=scaled(30))
def test_softmax_shift_invariance(data, shift):
    case = data.draw(LS.cross_entropy_cases(smooth=True))
    loss = snn.CrossEntropyLoss(**case.config)
    x, y = case.inputs
    out, gx = loss(x, y), loss.backward()
    out2, gx2 = loss(x + shift, y), loss.backward()
    np.testing.assert_allclose(out2, out, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gx2, gx, rtol=1e-9, atol=1e-9)


@given(data=st.data())
@settings(max_examples=scaled(40))
def test_cross_entropy_is_nonnegative(data):
    case = data.draw(LS.cross_entropy_cases())
    out = snn.CrossEntropyLoss(**case.config)(*case.inputs)
    assert not (out < 0).any(), out  # NaN (every target ignored) is torch's answer too


@given(n=st.integers(1, 5), c=st.integers(2, 6), seed=st.integers(0, 2**32 - 1),
       margin=st.sampled_from([0.0, 0.5, 1.0, 2.0]), p=st.sampled_from([1, 2]))
@settings(max_examples=scaled(25))
def test_hinge_is_zero_once_every_margin_is_met(n, c, seed, margin, p):
    """Dyadic scores make "met exactly" exact: x[y] = max_{i != y} x[i] + margin."""
    rng = np.random.default_rng(seed)
    x, y = np.round(rng.standard_normal((n, c)) * 8) / 8, rng.integers(0, c, n)
    rows = np.arange(n)
    others = np.where(np.arange(c) == y[:, None], -np.inf, x)
    x[rows, y] = others.max(axis=1) + margin
    loss = snn.MultiMarginLoss(p=p, margin=margin, reduction="sum")
    assert float(loss(x, y)) == 0.0 and not loss.backward().any()  # the subgradient at the margin is 0
    assert TF.multi_margin_loss(T(x), T(y), p=p, margin=margin).item() == 0.0
    x[0, y[0]] -= 0.5  # one margin missed by 0.5: positive again
    assert float(loss(x, y)) > 0 and TF.multi_margin_loss(T(x), T(y), p=p, margin=margin).item() > 0


def _count(name, case):
    """What "mean" divides by when nothing is weighted or ignored."""
    x = case.inputs[0]
    if name in ("cross_entropy", "nll", "multi_margin"):
        return 1 if x.ndim == 1 else x.size // x.shape[1]
    return x.size


@pytest.mark.parametrize("name", sorted(SPEC))
def test_gradient_of_mean_is_gradient_of_sum_over_n(name):
    checked = 0
    for case in sample_cases(SPEC[name].cases(smooth=True), 8, seed=3):
        cfg = {k: v for k, v in case.config.items() if k not in ("weight", "ignore_index")}
        if cfg.get("reduction") == "batchmean":
            continue
        x, y = case.inputs
        if name in ("cross_entropy", "nll") and not np.issubdtype(y.dtype, np.floating):
            y = np.where(y < 0, 0, y)  # no ignored targets: then the mean divides by the count
        cls = SPEC[name].component
        mean, total = cls(**{**cfg, "reduction": "mean"}), cls(**{**cfg, "reduction": "sum"})
        mean(x, y), total(x, y)
        np.testing.assert_allclose(mean.backward(), total.backward() / _count(name, case), rtol=1e-12, atol=1e-15)
        checked += 1
    assert checked, f"no {name} case without batchmean was drawn"


@pytest.mark.parametrize("name", ["cross_entropy", "nll", "multi_margin", "bce", "bce_with_logits"])
def test_weight_of_all_ones_is_no_weight(name):
    for case in sample_cases(SPEC[name].cases(), 10, seed=5):
        cfg = {k: v for k, v in case.config.items() if k not in ("weight", "pos_weight")}
        x, y = case.inputs
        cls = SPEC[name].component
        plain = cls(**cfg)
        shape = (x.shape[0] if x.ndim == 1 else x.shape[1],) if name in ("cross_entropy", "nll", "multi_margin") \
            else x.shape
        ones = cls(**cfg, weight=np.ones(shape), **({"pos_weight": np.ones(x.shape[-1:])}
                                                     if name == "bce_with_logits" and x.ndim else {}))
        np.testing.assert_array_equal(ones(x, y), plain(x, y))
        g = np.random.default_rng(0).standard_normal(np.shape(plain(x, y)))
        np.testing.assert_allclose(ones.backward(g), plain.backward(g), rtol=1e-15, atol=0)


# -- the strategies reach their edges; smooth cases are smooth ----------------------------------------------

@functools.lru_cache(maxsize=None)
def _sample(name, n=120, smooth=False):
    return tuple(sample_cases(SPEC[name].cases(smooth=smooth), n, seed=1))


def test_strategies_reach_every_reduction_and_flag():
    for name in SPEC:
        want = {"none", "mean", "sum"} | ({"batchmean"} if name == "kl_div" else set())
        assert {c.config["reduction"] for c in _sample(name)} == want, name
    ce = _sample("cross_entropy")
    assert {0.0, 0.1, 1.0} <= {c.config["label_smoothing"] for c in ce}
    assert any(c.inputs[1].dtype.kind == "f" for c in ce) and any(c.inputs[1].dtype == np.int64 for c in ce)
    assert any(c.inputs[0].ndim == 1 for c in ce) and any(c.inputs[0].ndim == 4 for c in ce)
    assert any(c.inputs[0].ndim >= 2 and c.inputs[0].shape[0] == 1 for c in ce)
    assert any("weight" in c.config and (c.config["weight"] == 0).any() for c in ce)
    ignored = [(c.inputs[1] == c.config["ignore_index"]) for c in ce if "ignore_index" in c.config]
    assert any(i.any() and not i.all() for i in ignored) and any(i.size and i.all() for i in ignored)
    assert any(c.config.get("ignore_index", -100) >= 0 for c in ce)
    huge = [c.inputs[0] for c in ce if np.abs(c.inputs[0]).max() >= 1e4]
    assert any((np.sort(x.reshape(-1))[-2:] == 1e4).all() for x in huge)  # a tie at the max logit
    mm = _sample("multi_margin")
    assert {1, 2} == {c.config["p"] for c in mm} and 0.0 in {c.config["margin"] for c in mm}
    assert any(c.inputs[0].ndim == 1 and c.inputs[1].ndim == 0 for c in mm)
    assert any(_hinge_at_kink(c) for c in mm)


def _hinge_at_kink(c):
    x, y = np.atleast_2d(c.inputs[0]), np.atleast_1d(c.inputs[1])
    z = c.config["margin"] - np.take_along_axis(x, y[:, None], 1) + x
    z[np.arange(len(y)), y] = 1.0
    return (z == 0).any()


def test_strategies_reach_elementwise_edges():
    def at(name, k):
        return any((np.abs(c.inputs[0] - c.inputs[1]) == k(c)).any() for c in _sample(name))
    assert at("l1", lambda c: 0.0) and at("smooth_l1", lambda c: c.config["beta"]) and \
        at("huber", lambda c: c.config["delta"])
    assert 0.0 in {c.config["beta"] for c in _sample("smooth_l1")}
    assert {2.0**-10, 1024.0} <= {c.config["delta"] for c in _sample("huber")}
    bce = _sample("bce")
    for v in (0.0, 1.0):
        assert any((c.inputs[0] == v).any() for c in bce) and any((c.inputs[1] == v).any() for c in bce)
    assert any(np.abs(c.inputs[0]).max() >= 1e4 for c in _sample("bce_with_logits"))
    assert any("pos_weight" in c.config for c in _sample("bce_with_logits"))
    kl = _sample("kl_div")
    assert any(not c.config["log_target"] and (c.inputs[1] == 0).any() for c in kl)
    assert any(c.config["log_target"] for c in kl) and any(c.inputs[0].ndim == 0 for c in kl)


def test_smooth_cases_stay_away_from_kinks():
    for c in _sample("multi_margin", 60, smooth=True):
        x, y = np.atleast_2d(c.inputs[0]), np.atleast_1d(c.inputs[1])
        z = c.config["margin"] - np.take_along_axis(x, y[:, None], 1) + x
        z[np.arange(len(y)), y] = 1.0
        assert np.abs(z).min() >= LS.GAP - 1e-12
    for name, key in (("l1", None), ("smooth_l1", "beta"), ("huber", "delta")):
        for c in _sample(name, 60, smooth=True):
            d = np.abs(c.inputs[0] - c.inputs[1])
            assert d.size == 0 or (d.min() > LS.GAP - 1e-9 and
                                   (key is None or np.abs(d - c.config[key]).min() > LS.GAP - 1e-9))
    for c in _sample("bce", 60, smooth=True):
        assert c.inputs[0].size == 0 or (LS.GAP <= c.inputs[0].min() and c.inputs[0].max() <= 1 - LS.GAP)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_backward_matches_centered_differences_on_smooth_cases(name):
    for case in sample_cases(SPEC[name].cases(smooth=True), 4, seed=2):
        loss = SPEC[name].make(case.config)
        x, y = case.inputs[0].copy(), case.inputs[1]
        out = loss(x, y)
        g = np.random.default_rng(case.seed).standard_normal(np.shape(out))
        analytic = loss.backward(g)
        numeric = numerical_gradient(lambda: float((loss(x, y) * g).sum()), x)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
