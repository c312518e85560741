"""Losses: worked examples (hand-derived numbers), textbook relations (CS231n hinge = C x torch's
multi_margin, half sum of squares = N*D/2 x mse), and torch's semantics spelled out by hand
(weighted means, ignore_index, label smoothing, clamped logs); the registry's default cases
through the engine. Properties: test_losses_properties.py; bad input: test_losses_errors.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import scratch.nn as snn
import scratch.nn.functional as F
from reference.engine import run_case
from reference.hypothesis_profiles import scaled
from reference.specs.losses import SPECS
from reference.strategies import losses as LS

SPEC = {s.name: s for s in SPECS}
T = torch.tensor
SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])  # CS231n: cat, car, frog
LABELS = np.array([0, 1, 2])                                              # image 1 cat, 2 car, 3 frog


# -- worked examples (hand-derived numbers, scratch and torch) --------------------------------------------

def test_cs231n_hinge_worked_example():
    per = F.multiclass_hinge_loss(SCORES, LABELS, reduction="none")
    torch_per = 3 * TF.multi_margin_loss(T(SCORES), T(LABELS), reduction="none").numpy()
    for got in (per, torch_per, 3 * snn.MultiMarginLoss(reduction="none")(SCORES, LABELS)):
        assert np.round(got, 2).tolist() == [2.9, 0.0, 12.9]
    mean = F.multiclass_hinge_loss(SCORES, LABELS)
    assert round(float(mean), 2) == 5.27 and abs(float(mean) - 15.8 / 3) < 1e-12
    assert round(3 * TF.multi_margin_loss(T(SCORES), T(LABELS)).item(), 2) == 5.27
    assert round(3 * float(snn.MultiMarginLoss()(SCORES, LABELS)), 2) == 5.27


def test_softmax_cross_entropy_worked_example_uses_the_natural_log():
    x, y = SCORES[:1], LABELS[:1]
    p_cat = np.exp(3.2) / np.exp(SCORES[0]).sum()
    assert round(p_cat, 2) == 0.13
    ours, theirs = float(snn.CrossEntropyLoss()(x, y)), TF.cross_entropy(T(x), T(y)).item()
    assert round(ours, 2) == round(theirs, 2) == 2.04 == round(-math.log(0.13), 2)
    assert round(-math.log10(p_cat), 2) == 0.89 != round(ours, 2)  # what a base-10 log (a bug) gives


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(c=st.integers(1, 50), n=st.integers(1, 4), value=st.floats(-1e4, 1e4))
@settings(max_examples=scaled(20))
def test_cross_entropy_at_equal_logits_is_log_c(dtype, c, n, value):
    x = np.full((n, c), value, dtype=dtype)
    y = np.arange(n) % c
    ours = snn.CrossEntropyLoss()(x, y)
    theirs = TF.cross_entropy(torch.from_numpy(x), T(y)).item()
    assert ours.dtype == dtype and ours.shape == ()
    np.testing.assert_allclose([float(ours), theirs], math.log(c), rtol=1e-6, atol=1e-6)


# -- textbook relations -------------------------------------------------------------------------------------

@given(data=st.data())
@settings(max_examples=scaled(25))
def test_cs231n_hinge_is_c_times_torch_multi_margin(data):
    case = data.draw(LS.multi_margin_cases())
    x, y, margin = case.inputs[0], case.inputs[1], case.config["margin"]
    if x.ndim == 1 and y.ndim == 1:
        y = y.reshape(())
    c = x.shape[-1]
    for reduction in ("none", "mean", "sum"):
        textbook = F.multiclass_hinge_loss(x, y, delta=margin, reduction=reduction)
        torch_mm = TF.multi_margin_loss(T(x), T(y), margin=margin, reduction=reduction).numpy()
        np.testing.assert_allclose(textbook, c * torch_mm, rtol=1e-12, atol=1e-12 * max(1, np.abs(x).max()))
    g = np.random.default_rng(case.seed).standard_normal()
    xt = T(x, requires_grad=True)
    (TF.multi_margin_loss(xt, T(y), margin=margin) * (c * g)).backward()
    np.testing.assert_allclose(F.multiclass_hinge_loss_backward(np.array(g), x, y, delta=margin), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-15)


@given(n=st.integers(1, 6), d=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=scaled(20))
def test_half_sum_of_squares_is_n_d_over_2_times_mse_mean(n, d, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    xt = T(x, requires_grad=True)
    mse = TF.mse_loss(xt, T(y))
    (mse * (n * d / 2)).backward()
    assert float(F.half_sum_of_squares(x, y)) == pytest.approx(n * d / 2 * mse.item(), rel=1e-12)
    assert float(F.half_sum_of_squares(x, y)) == pytest.approx(0.5 * ((x - y) ** 2).sum(), rel=1e-12)
    np.testing.assert_allclose(F.half_sum_of_squares_backward(None, x, y), xt.grad.numpy(), rtol=1e-12)


# -- torch semantics, spelled out (the registry comparison covers them too, on generated cases) -------------

def _both(scratch_fn, torch_fn, x, *args, **kw):
    return np.asarray(scratch_fn(x, *args, **kw)), torch_fn(T(x), *(T(a) if isinstance(a, np.ndarray) else a
                                                                      for a in args), **kw).numpy()


def test_weighted_mean_divides_by_the_summed_weight_of_kept_targets():
    x, y, w = SCORES, np.array([0, -100, 2]), np.array([2.0, 5.0, 0.5])
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    by_hand = (2.0 * -logp[0, 0] + 0.5 * -logp[2, 2]) / 2.5
    ours, theirs = _both(F.cross_entropy, TF.cross_entropy, x, y, T(w))
    assert float(ours) == pytest.approx(by_hand, rel=1e-14) and float(theirs) == pytest.approx(by_hand, rel=1e-14)


def test_every_target_ignored_gives_nan_with_zero_gradient_like_torch():
    x, y = SCORES, np.full(3, -100)
    for eps in (0.0, 0.2):
        loss = snn.CrossEntropyLoss(label_smoothing=eps)
        assert np.isnan(loss(x, y)) and not loss.backward().any()
        xt = T(x, requires_grad=True)
        out = TF.cross_entropy(xt, T(y), label_smoothing=eps)
        out.backward()
        assert out.isnan() and not xt.grad.any()


def test_label_smoothing_with_weight_and_ignore_index_follows_torchs_formula():
    rng = np.random.default_rng(0)
    x, y, w, eps = rng.standard_normal((5, 4, 2)), rng.integers(0, 4, (5, 2)), rng.uniform(0, 2, 4), 0.3
    y[0, 0] = 1
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    kept = y != 1
    wy = w[y] * kept
    picked = np.take_along_axis(logp, y[:, None], 1)[:, 0]
    by_hand = ((1 - eps) * (wy * -picked).sum() + eps / 4 * (kept * -(logp * w[:, None]).sum(1)).sum()) / wy.sum()
    ours, theirs = _both(F.cross_entropy, TF.cross_entropy, x, y, T(w), ignore_index=1, label_smoothing=eps)
    assert float(ours) == pytest.approx(by_hand, rel=1e-13) and float(theirs) == pytest.approx(by_hand, rel=1e-13)


def test_probability_targets_mean_divides_by_positions_not_weight():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 4, 2)), rng.uniform(0.5, 2, 4)
    t = rng.dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1)
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    by_hand = -(logp * t * w[:, None]).sum() / 6
    ours, theirs = _both(F.cross_entropy, TF.cross_entropy, x, t, T(w))
    assert float(ours) == pytest.approx(by_hand, rel=1e-13) and float(theirs) == pytest.approx(by_hand, rel=1e-13)


def test_bce_clamps_log_at_minus_100_and_kl_div_treats_zero_targets_as_zero():
    x, y = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    ours, theirs = _both(F.binary_cross_entropy, TF.binary_cross_entropy, x, y, reduction="none")
    assert ours.tolist() == theirs.tolist() == [100.0, 100.0, 0.0, 0.0]
    logq, p = np.log(np.array([[0.5, 0.25, 0.25]])), np.array([[0.0, 0.5, 0.5]])
    by_hand = 0.5 * math.log(0.5 / 0.25) * 2
    ours, theirs = _both(F.kl_div, TF.kl_div, logq, p, reduction="batchmean")
    assert float(ours) == pytest.approx(by_hand) and float(theirs) == pytest.approx(by_hand)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that "mean" is not the KL divergence
        ours, theirs = _both(F.kl_div, TF.kl_div, logq, p, reduction="mean")
    assert float(ours) == pytest.approx(by_hand / 3) and float(theirs) == pytest.approx(by_hand / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_stay_finite(dtype):
    x = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]], dtype=dtype)
    loss = snn.CrossEntropyLoss(reduction="none")
    out = loss(x, np.array([1, 0]))
    assert np.isfinite(out).all() and np.isfinite(loss.backward()).all()
    np.testing.assert_allclose(out, [2e4, math.log(2)], rtol=1e-6)
    z, t = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype), np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    bl = snn.BCEWithLogitsLoss(reduction="none", pos_weight=np.array([2.0], dtype=dtype))
    assert bl(z, t).tolist() == [1e4, 2e4, 0.0, 0.0] and np.isfinite(bl.backward()).all()
    assert TF.binary_cross_entropy_with_logits(torch.from_numpy(z), torch.from_numpy(t), reduction="none",
                                               pos_weight=T([2.0], dtype=torch.from_numpy(z).dtype)).tolist() \
        == [1e4, 2e4, 0.0, 0.0]


@pytest.mark.parametrize("name", sorted(SPEC))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_default_case_matches_torch_through_the_engine(name, dtype):
    records = run_case(SPEC[name], SPEC[name].default_case(), dtype)
    assert records and all(r.passed for r in records), [r for r in records if not r.passed]
