"""BatchNorm1d with mixed float32/float64 input, weight/bias and running statistics: scratch
raises exactly where torch raises (torch's behaviour computed live, not written down), with
torch's words in the message, and changes no state when it raises."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import scratch.nn as snn

F32, F64 = "float32", "float64"


def _cases():
    """(shape, train, x, weight, bias, running_mean, running_var); None: absent (affine=False
    or track_running_stats=False)."""
    for shape, train, affine, track in itertools.product([(4, 3), (4, 3, 5)], [True, False], [True, False],
                                                         [True, False]):
        params = itertools.product([F32, F64], repeat=2) if affine else [(None, None)]
        for (w, b), (rm, rv) in itertools.product(params, itertools.product([F32, F64], repeat=2) if track
                                                  else [(None, None)]):
            for x in (F32, F64):
                yield shape, train, x, w, b, rm, rv


def _id(case):
    shape, train, *dtypes = case
    names = ("x", "w", "b", "rm", "rv")
    return f"{len(shape)}d-{'train' if train else 'eval'}-" + "-".join(
        f"{n}{d[-2:]}" for n, d in zip(names, dtypes) if d is not None)


CASES = list(_cases())


def _build(case):
    """The same module in torch and scratch, with the case's dtypes and equal values."""
    shape, train, x, w, b, rm, rv = case
    affine, track = w is not None, rm is not None
    rng = np.random.default_rng(0)
    t = torch.nn.BatchNorm1d(3, affine=affine, track_running_stats=track)
    s = snn.BatchNorm1d(3, affine=affine, track_running_stats=track)
    if affine:
        for name, dtype in (("weight", w), ("bias", b)):
            value = rng.standard_normal(3).astype(dtype)
            getattr(t, name).data = torch.tensor(value)
            getattr(s, name).data = value.copy()
    if track:
        for name, dtype, value in (("running_mean", rm, rng.standard_normal(3)),
                                   ("running_var", rv, rng.uniform(0.5, 2.0, 3))):
            setattr(t, name, torch.tensor(value.astype(dtype)))
            setattr(s, name, value.astype(dtype))
    t.train(train)
    s.train(train)
    return t, s, rng.standard_normal(shape).astype(x)


def _torch_forward(t, x):
    """(output, None) or (None, torch's message): one call, as its running stats move."""
    try:
        return t(torch.tensor(x)).detach().numpy(), None
    except RuntimeError as e:
        return None, str(e)


def _state(module):
    return {k: (v.dtype, v.copy()) for k, v in module.state_dict().items()}


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_scratch_raises_iff_torch_raises(case):
    t, s, x = _build(case)
    expected, error = _torch_forward(t, x)
    before = _state(s)
    if error is None:
        y = s(x)
        assert y.dtype == expected.dtype
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
        for k, (dtype, value) in _state(s).items():
            assert dtype == t.state_dict()[k].numpy().dtype, k
            np.testing.assert_allclose(value, t.state_dict()[k].numpy(), rtol=1e-5, err_msg=k)
        return
    with pytest.raises(TypeError, match="^BatchNorm1d: expected scalar type") as info:
        s(x)
    after = _state(s)
    assert list(after) == list(before)
    for k, (dtype, value) in before.items():  # running stats and num_batches_tracked included
        assert after[k][0] == dtype and np.array_equal(after[k][1], value), k
    # torch's words where torch says them ("mixed dtype (CPU): ..." is its other phrasing)
    words = re.match(r"expected scalar type \w+ but found \w+", error)
    if words:
        assert str(info.value).startswith(f"BatchNorm1d: {words.group(0)}:")
    # the message names every array whose dtype differs from the input's
    names = ("weight", "bias", "running_mean", "running_var")
    for name, dtype in zip(names, case[3:]):
        if dtype is not None and dtype != case[2]:
            assert f"{name} is {dtype}" in str(info.value)


def test_the_issue_float64_weights_float32_running_stats():
    bn = snn.BatchNorm1d(3)
    bn.weight.data = bn.weight.data.astype(np.float64)
    bn.bias.data = bn.bias.data.astype(np.float64)
    with pytest.raises(TypeError, match="expected scalar type Double but found Float: the input is float64 but "
                                        "running_mean is float32, running_var is float32"):
        bn(np.ones((4, 3)))
    assert int(bn.num_batches_tracked) == 0
    assert bn.running_mean.dtype == np.float32 and not bn.running_mean.any()
    assert np.array_equal(bn.running_var, np.ones(3, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_module_cast_as_a_whole_accepts_its_dtype(dtype):
    bn = snn.BatchNorm1d(3).to(dtype)
    y = bn(np.random.default_rng(1).standard_normal((4, 3)).astype(dtype))
    assert y.dtype == dtype and bn.running_mean.dtype == dtype and int(bn.num_batches_tracked) == 1
