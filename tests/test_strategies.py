"""The strategies reach the edges they promise: sampled cases are inspected, not trusted."""

from __future__ import annotations

import numpy as np
import pytest

import scratch.nn as snn
from reference.registry import get_spec
from reference.sampling import sample_cases

N = 300


def _cases(name):
    spec = get_spec(name)
    return sample_cases(spec.cases(n_calls=len(spec.calls)), N, seed=1)


def test_linear_reaches_batch_one_feature_extremes_and_large_magnitudes():
    cases = _cases("linear")
    assert any(c.inputs[0].ndim >= 2 and c.inputs[0].shape[0] == 1 for c in cases)
    assert {1, 64} <= {c.config["in_features"] for c in cases}
    assert any(np.abs(c.inputs[0]).max() > 1e3 for c in cases)
    assert any(np.abs(c.inputs[0]).max() < 1e-2 for c in cases)
    assert {True, False} == {c.config["bias"] for c in cases}


def test_relu_family_reaches_the_exact_kink():
    for name in ["relu", "leaky_relu", "elu", "prelu"]:
        assert any((c.inputs[0] == 0).any() for c in _cases(name)), name


def test_maxout_reaches_exact_ties():
    tied = 0
    for c in _cases("maxout"):
        m = snn.Maxout(**c.config).double()
        for name, p in m.named_parameters():
            if name in c.params:
                p.data = c.params[name]
        if c.params:
            z = c.inputs[0] @ m.weight.data.T + (m.bias.data if m.bias is not None else 0)
            z = z.reshape(len(z), -1, c.config["pieces"])
            tied += int((z[..., 0] == z[..., 1]).any())
    assert tied > 0


def test_batch_norm_reaches_3d_input_batch_one_and_every_flag():
    cases = _cases("batch_norm1d")
    assert any(c.inputs[0].ndim == 3 and c.inputs[0].shape[0] == 1 for c in cases)
    for flag in ["affine", "track_running_stats", "bias"]:
        assert {True, False} == {c.config[flag] for c in cases}, flag
    assert {None, 0.0, 1.0} <= {c.config["momentum"] for c in cases}


@pytest.mark.parametrize("name,flag", [("dropout", "inplace"), ("relu", "inplace"), ("leaky_relu", "inplace"),
                                       ("elu", "inplace"), ("silu", "inplace"), ("sequential", "batch_norm")])
def test_boolean_flags_take_both_values(name, flag):
    assert {True, False} == {c.config[flag] for c in _cases(name)}


def test_dropout_reaches_p_zero_and_one_and_softmax_huge_logits_and_dim_none():
    assert {0.0, 1.0} <= {c.config["p"] for c in _cases("dropout")}
    cases = _cases("softmax")
    assert any(c.config["dim"] is None for c in cases) and any(np.abs(c.inputs[0]).max() >= 1e4 for c in cases)
    assert {"none", "tanh"} == {c.config["approximate"] for c in _cases("gelu")}
