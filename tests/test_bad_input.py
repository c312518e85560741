"""Bad input gets a clear error naming what was expected, and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

import scratch.nn as snn


@pytest.mark.parametrize("module", [snn.Linear(3, 2), snn.ReLU(), snn.BatchNorm1d(3), snn.Softmax(dim=1),
                                    snn.Dropout(), snn.Maxout(3, 2), snn.PReLU(), snn.Flatten()],
                         ids=lambda m: type(m).__name__)
def test_a_list_is_rejected_with_the_expected_type(module):
    with pytest.raises(TypeError, match="expected a numpy.ndarray"):
        module([[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("module", [snn.Linear(3, 2), snn.Tanh(), snn.BatchNorm1d(3), snn.GELU()],
                         ids=lambda m: type(m).__name__)
def test_integer_dtype_is_rejected(module):
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        module(np.ones((2, 3), dtype=np.int64))


def test_linear_wrong_feature_size():
    with pytest.raises(ValueError, match=r"expected 3 in_features in dim -1, got shape \(2, 4\)"):
        snn.Linear(3, 2)(np.ones((2, 4), dtype=np.float32))


def test_linear_dtype_mismatch_like_torch():
    with pytest.raises(TypeError, match="expected dtype float32"):
        snn.Linear(3, 2)(np.ones((2, 3)))


def test_batchnorm_wrong_rank_and_channels():
    bn = snn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected 2-D or 3-D input \(N, C\) or \(N, C, L\), got shape \(3,\)"):
        bn(np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="expected 3 channels in dim 1"):
        bn(np.ones((4, 5), dtype=np.float32))


def test_batchnorm_single_value_per_channel_in_training_changes_nothing():
    bn = snn.BatchNorm1d(3)
    before = bn.state_dict()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(np.ones((1, 3), dtype=np.float32))
    after = bn.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    bn.eval()
    assert bn(np.ones((1, 3), dtype=np.float32)).shape == (1, 3)  # eval uses running stats: fine


def test_prelu_channels():
    with pytest.raises(ValueError, match="expected 4 channels in dim 1"):
        snn.PReLU(4)(np.ones((2, 3), dtype=np.float32))


def test_softmax_dim_out_of_range():
    with pytest.raises(IndexError, match=r"expected a dim in \[-2, 1\]"):
        snn.Softmax(dim=2)(np.ones((2, 3)))


def test_dropout_probability_range():
    with pytest.raises(ValueError, match=r"probability in \[0, 1\], got 1.5"):
        snn.Dropout(1.5)


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
