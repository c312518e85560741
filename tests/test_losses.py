"""Losses and penalties: worked examples, textbook relations, properties, bad input, and the
penalties against torch autograd (the registry-driven comparison runs every loss spec too)."""

from __future__ import annotations

import functools
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
from reference.sampling import sample_cases
from reference.specs.losses import SPECS
from reference.strategies import losses as LS
from scratch.gradcheck import numerical_gradient

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
    np.testing.assert_allclose(gx2, gx, rtol=1e-7, atol=1e-9)


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


# -- bad input: a clear error of the kind torch raises, and nothing changes ---------------------------------

def _torch_error(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - we want whatever torch raises
            return type(e)
    raise AssertionError("torch accepted the input")


X35 = np.random.default_rng(0).standard_normal((3, 5))
BAD = [
    ("class out of range", snn.CrossEntropyLoss(), X35, np.array([0, 1, 7]), TF.cross_entropy, "out of bounds"),
    ("negative class", snn.NLLLoss(), X35, np.array([0, -1, 2]), TF.nll_loss, "out of bounds"),
    ("hinge class out of range", snn.MultiMarginLoss(), X35, np.array([0, 5, 1]), TF.multi_margin_loss,
     "out of bounds"),
    ("float class indices", snn.CrossEntropyLoss(), X35, np.array([0.0, 1.0, 2.0]), TF.cross_entropy, "integer"),
    ("float class indices", snn.NLLLoss(), X35, np.array([0.0, 1.0, 2.0]), TF.nll_loss, "integer"),
    ("float class indices", snn.MultiMarginLoss(), X35, np.array([0.0, 1.0, 2.0]), TF.multi_margin_loss, "integer"),
    ("integer probabilities", snn.CrossEntropyLoss(), X35, np.zeros((3, 5), np.int64), TF.cross_entropy, "float"),
    ("batch mismatch", snn.CrossEntropyLoss(), X35, np.array([0, 1]), TF.cross_entropy, r"target shape \(3,\)"),
    ("spatial mismatch", snn.NLLLoss(), np.zeros((2, 3, 4)), np.zeros((2, 5), np.int64), TF.nll_loss,
     r"target shape \(2, 4\)"),
    ("shape mismatch", snn.MSELoss(), X35, np.zeros((3, 4)), TF.mse_loss, r"target shape \(3, 5\)"),
    ("shape mismatch", snn.BCELoss(), np.full((3, 5), 0.5), np.zeros((3, 4)), TF.binary_cross_entropy, "shape"),
    ("shape mismatch", snn.BCEWithLogitsLoss(), X35, np.zeros((3, 4)), TF.binary_cross_entropy_with_logits, "shape"),
    ("shape mismatch", snn.KLDivLoss(), X35, np.zeros((3, 4)), TF.kl_div, "shape"),
    ("probability above 1", snn.BCELoss(), np.array([0.5, 1.5]), np.array([1.0, 0.0]), TF.binary_cross_entropy,
     "between 0 and 1"),
    ("probability below 0", snn.BCELoss(), np.array([-0.5, 0.5]), np.array([1.0, 0.0]), TF.binary_cross_entropy,
     "between 0 and 1"),
    ("NaN probability", snn.BCELoss(), np.array([np.nan, 0.5]), np.array([1.0, 0.0]), TF.binary_cross_entropy,
     "between 0 and 1"),
    ("target above 1", snn.BCELoss(), np.array([0.5, 0.5]), np.array([1.5, 0.0]), TF.binary_cross_entropy,
     "target should be between 0 and 1"),
    ("integer target", snn.BCELoss(), np.array([0.5, 0.5]), np.array([1, 0]), TF.binary_cross_entropy, "float"),
]


@pytest.mark.parametrize("what,loss,x,y,torch_fn,match", BAD, ids=[f"{b[0]}-{type(b[1]).__name__}" for b in BAD])
def test_bad_input_raises_what_torch_raises_and_changes_nothing(what, loss, x, y, torch_fn, match):
    kind = _torch_error(lambda: torch_fn(T(x), T(y)))
    good_x = np.full((3, 5), 0.5) if isinstance(loss, snn.BCELoss) else X35
    good_y = {snn.CrossEntropyLoss: np.array([0, 1, 2]), snn.NLLLoss: np.array([0, 1, 2]),
              snn.MultiMarginLoss: np.array([0, 1, 2])}.get(type(loss), np.full((3, 5), 0.5))
    before = loss(good_x, good_y), loss.backward()  # the check passes on good input
    x_copy, y_copy = x.copy(), y.copy()
    with pytest.raises(kind, match=match):
        loss(x, y)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(loss.backward(), before[1])  # the cache still holds the good call


@pytest.mark.parametrize("make,torch_make", [
    (lambda: snn.MSELoss(reduction="avg"), lambda: torch.nn.MSELoss(reduction="avg")(T([1.0]), T([1.0]))),
    (lambda: snn.MultiMarginLoss(p=3), lambda: torch.nn.MultiMarginLoss(p=3)),
    (lambda: snn.CrossEntropyLoss(label_smoothing=1.5),
     lambda: torch.nn.CrossEntropyLoss(label_smoothing=1.5)(T(X35), T([0, 1, 2]))),
    (lambda: snn.SmoothL1Loss(beta=-1.0), lambda: torch.nn.SmoothL1Loss(beta=-1.0)(T([1.0]), T([1.0]))),
    (lambda: snn.HuberLoss(delta=0.0), lambda: torch.nn.HuberLoss(delta=0.0)(T([1.0]), T([1.0]))),
    (lambda: snn.CrossEntropyLoss(weight=np.ones(4))(X35, np.array([0, 1, 2])),
     lambda: torch.nn.CrossEntropyLoss(weight=torch.ones(4, dtype=torch.float64))(T(X35), T([0, 1, 2]))),
    (lambda: snn.CrossEntropyLoss(ignore_index=1)(X35, np.full((3, 5), 0.2)),
     lambda: torch.nn.CrossEntropyLoss(ignore_index=1)(T(X35), T(np.full((3, 5), 0.2)))),
], ids=["reduction", "p", "label_smoothing", "beta", "delta", "weight size", "ignore_index with probabilities"])
def test_bad_configuration_raises_what_torch_raises(make, torch_make):
    with pytest.raises(_torch_error(torch_make), match="expected|supported"):
        make()


def test_backward_before_forward_and_wrong_grad_shape():
    loss = snn.MSELoss(reduction="none")
    with pytest.raises(RuntimeError, match="call forward first"):
        loss.backward()
    loss(X35, X35 * 0)
    with pytest.raises(ValueError, match=r"grad expected the loss's shape \(3, 5\), got \(5,\)"):
        loss.backward(np.ones(5))


# -- the module protocol ------------------------------------------------------------------------------------

@pytest.mark.parametrize("size_average", [None, True, False])
@pytest.mark.parametrize("reduce", [None, True, False])
def test_legacy_size_average_and_reduce_map_like_torch(size_average, reduce):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.nn.L1Loss(size_average=size_average, reduce=reduce).reduction
    assert snn.L1Loss(size_average=size_average, reduce=reduce).reduction == expected


def test_weights_are_buffers_with_torchs_names_and_follow_dtype():
    loss = snn.BCEWithLogitsLoss(weight=np.ones(3), pos_weight=np.full(3, 2.0))
    twin = torch.nn.BCEWithLogitsLoss(weight=torch.ones(3), pos_weight=torch.full((3,), 2.0))
    assert [n for n, _ in loss.named_buffers()] == [n for n, _ in twin.named_buffers()] == ["weight", "pos_weight"]
    assert loss.float().weight.dtype == np.float32 and not list(snn.CrossEntropyLoss().named_buffers())
    assert [n for n, _ in snn.NLLLoss(weight=np.ones(2)).named_buffers()] == ["weight"]


@pytest.mark.parametrize("name", sorted(SPEC))
def test_backward_defaults_to_ones_and_keeps_dtype(name):
    (case,) = sample_cases(SPEC[name].cases(smooth=True), 1, seed=11)
    loss = SPEC[name].make({**case.config, "reduction": "none"})
    x = case.inputs[0].astype(np.float32)
    y = case.inputs[1].astype(np.float32) if np.issubdtype(case.inputs[1].dtype, np.floating) else case.inputs[1]
    out = loss(x, y)
    g_default, g_ones = loss.backward(), loss.backward(np.ones(out.shape, np.float32))
    assert out.dtype == g_default.dtype == np.float32 and g_default.shape == x.shape
    np.testing.assert_array_equal(g_default, g_ones)


# -- regularization penalties -------------------------------------------------------------------------------

PENALTIES = [
    ("l1", lambda W: F.l1_penalty(W, 0.3), lambda W: F.l1_penalty_backward(W, 0.3),
     lambda ts: 0.3 * sum(t.abs().sum() for t in ts)),
    ("l2 half", lambda W: F.l2_penalty(W, 0.3), lambda W: F.l2_penalty_backward(W, 0.3),
     lambda ts: 0.3 / 2 * sum((t * t).sum() for t in ts)),
    ("l2 full", lambda W: F.l2_penalty(W, 0.3, "full"), lambda W: F.l2_penalty_backward(W, 0.3, "full"),
     lambda ts: 0.3 * sum((t * t).sum() for t in ts)),
    ("elastic net", lambda W: F.elastic_net(W, 0.3, 0.25), lambda W: F.elastic_net_backward(W, 0.3, 0.25),
     lambda ts: sum(0.3 * 0.25 * t.abs().sum() + 0.3 * 0.75 / 2 * (t * t).sum() for t in ts)),
]


@pytest.mark.parametrize("name,value,grad,torch_expr", PENALTIES, ids=[p[0] for p in PENALTIES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_penalties_match_torch_autograd(name, value, grad, torch_expr, dtype):
    rng = np.random.default_rng(2)
    ws = [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)]
    ws[0][0, 0] = 0.0  # abs'(0) = 0 in torch
    ts = [torch.from_numpy(w.copy()).requires_grad_() for w in ws]
    expected = torch_expr(ts)
    expected.backward()
    tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=2e-6, atol=1e-6)
    got = value(ws)
    assert got.dtype == dtype and got.shape == ()
    np.testing.assert_allclose(got, expected.item(), **tol)
    for g, t in zip(grad(ws), ts):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, t.grad.numpy(), **tol)
    np.testing.assert_allclose(grad(ws[0]), ts[0].grad.numpy(), **tol)  # a single array works too


def test_elastic_net_is_scikit_learns_penalty():
    """At scikit-learn's ElasticNet solution the gradient of its data term plus our penalty's
    gradient vanishes on the nonzero coefficients (the optimality condition)."""
    from sklearn.linear_model import ElasticNet

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6))
    y = X @ np.array([2.0, 0.0, -1.0, 0.5, 0.0, 3.0]) + 0.1 * rng.standard_normal(50)
    model = ElasticNet(alpha=0.2, l1_ratio=0.7, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y)
    w = model.coef_
    data_grad = -X.T @ (y - X @ w) / len(y)
    total = data_grad + F.elastic_net_backward(w, 0.2, 0.7)
    assert (w != 0).sum() >= 3 and np.abs(total[w != 0]).max() < 1e-8
    assert np.abs(total[w != 0]).max() < 1e-3 * np.abs(data_grad[w != 0]).max()
    wrong = data_grad + F.l2_penalty_backward(w, 0.2 * 0.3, "full") + F.l1_penalty_backward(w, 0.2 * 0.7)
    assert np.abs(wrong[w != 0]).max() > 1e-3  # the "full" L2 convention is not scikit-learn's


def test_bad_penalty_arguments():
    with pytest.raises(ValueError, match="convention expected 'half'"):
        F.l2_penalty(np.ones(2), 0.1, "double")
    with pytest.raises(ValueError, match="lambda_ expected >= 0, got -1"):
        F.l1_penalty(np.ones(2), -1)
    with pytest.raises(ValueError, match=r"l1_ratio expected a value in \[0, 1\]"):
        F.elastic_net(np.ones(2), 1.0, 1.5)
    with pytest.raises(TypeError, match=r"weights\[0\] expected a float32 or float64"):
        F.l1_penalty([np.ones(2, dtype=np.int64)], 0.1)
    assert float(F.l2_penalty(np.ones(2), 0.1)) == pytest.approx(0.1)


def _quadratic_problem():
    rng = np.random.default_rng(4)
    return rng.standard_normal((8, 3)), rng.standard_normal(8), rng.standard_normal(3)


def _torch_sgd_run(wd, penalty_grad, steps=6):
    X, y, w0 = _quadratic_problem()
    w = T(w0.copy(), requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.05, momentum=0.9, weight_decay=wd)
    for _ in range(steps):
        opt.zero_grad()
        TF.mse_loss(T(X) @ w, T(y)).backward()
        if penalty_grad is not None:
            w.grad += T(penalty_grad(w.detach().numpy().copy()))
        opt.step()
    return w.detach().numpy()


def test_sgd_weight_decay_equals_the_half_l2_penalty_in_torch():
    wd = 0.1
    decayed = _torch_sgd_run(wd, None)
    np.testing.assert_allclose(_torch_sgd_run(0.0, lambda w: F.l2_penalty_backward(w, wd)), decayed, rtol=1e-14)
    np.testing.assert_allclose(_torch_sgd_run(0.0, lambda w: F.l2_penalty_backward(w, wd / 2, "full")), decayed,
                               rtol=1e-14)
    off = _torch_sgd_run(0.0, lambda w: F.l2_penalty_backward(w, wd, "full"))  # lambda ||W||^2: twice the decay
    assert np.abs(off - decayed).max() > 1e-3


def test_sgd_weight_decay_equals_the_half_l2_penalty_in_scratch():
    from scratch.optim import SGD

    X, y, w0 = _quadratic_problem()

    def run(wd, lam):
        lin = snn.Linear(3, 1, bias=False).double()
        lin.weight.data = w0.reshape(1, 3).copy()
        opt, loss = SGD(lin.parameters(), lr=0.05, momentum=0.9, weight_decay=wd), snn.MSELoss()
        for _ in range(6):
            opt.zero_grad()
            loss(lin(X), y.reshape(8, 1))
            lin.backward(loss.backward())
            lin.weight.grad = lin.weight.grad + F.l2_penalty_backward(lin.weight.data, lam)
            opt.step()
        return lin.weight.data.reshape(3)

    decayed = run(0.1, 0.0)
    np.testing.assert_allclose(run(0.0, 0.1), decayed, rtol=1e-14)
    np.testing.assert_allclose(decayed, _torch_sgd_run(0.1, None), rtol=1e-12)
    assert np.abs(run(0.0, 0.2) - decayed).max() > 1e-3


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
