"""Bad input gets a clear error naming what was expected, and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

import scratch.nn as snn
from reference.registry import specs


MODULES = specs("module")


def _state(module) -> dict:
    return {k: np.array(v, copy=True) for k, v in module.state_dict().items()}


@pytest.mark.parametrize("spec", MODULES, ids=lambda s: s.name)
def test_a_list_is_rejected_with_the_expected_type(spec):
    module = spec.make(spec.default_case().config)
    with pytest.raises(TypeError, match="expected a numpy.ndarray"):
        module(spec.default_case().inputs[0].tolist())


@pytest.mark.parametrize("spec", MODULES, ids=lambda s: s.name)
def test_integer_dtype_is_rejected(spec):
    module = spec.make(spec.default_case().config)
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        module(np.ones(spec.default_case().inputs[0].shape, dtype=np.int64))


ERRORS = [pytest.param(s, e, id=f"{s.name}-{i}") for s in MODULES for i, e in enumerate(s.error_inputs)]


@pytest.mark.parametrize("spec, bad", ERRORS)
def test_spec_error_inputs_raise_and_change_nothing(spec, bad):
    """Each spec's own error inputs (the registry's ``error_inputs``): the error names what was
    expected, and the module's parameters and buffers are as they were."""
    if bad.input is None:
        with pytest.raises(bad.error, match=bad.match):
            spec.make(bad.config)
        return
    module = spec.make(bad.config).train(bad.mode == "train")
    before = _state(module)
    with pytest.raises(bad.error, match=bad.match):
        module(bad.input)
    after = _state(module)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)


def test_error_inputs_reach_the_checks_that_have_them():
    assert {s.name for s in MODULES if s.error_inputs} >= {"linear", "batch_norm1d", "prelu", "softmax", "dropout"}


def test_batchnorm_in_eval_uses_running_stats_for_a_single_value_per_channel():
    bn = snn.BatchNorm1d(3).eval()
    assert bn(np.ones((1, 3), dtype=np.float32)).shape == (1, 3)


def test_sequential_needs_modules():
    with pytest.raises(TypeError, match="argument 1 expected a Module, got function"):
        snn.Sequential(snn.ReLU(), lambda x: x)


def test_load_state_dict_validates_before_changing_anything():
    lin = snn.Linear(3, 2)
    before = lin.state_dict()
    bad = {"weight": np.zeros((2, 3)), "bias": np.zeros(5)}
    with pytest.raises(ValueError, match=r"bias expected shape \(2,\), got \(5,\)"):
        lin.load_state_dict(bad)
    assert np.array_equal(lin.weight.data, before["weight"])
    with pytest.raises(KeyError, match="expected keys"):
        lin.load_state_dict({"weight": np.zeros((2, 3))})
