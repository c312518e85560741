"""Losses: bad input and bad configuration raise the error torch raises and change nothing, and the
module protocol (backward before forward, grad shape, legacy size_average/reduce, buffers, dtypes)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import scratch.nn as snn
from reference.sampling import sample_cases
from reference.specs.losses import SPECS

SPEC = {s.name: s for s in SPECS}
T = torch.tensor



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
