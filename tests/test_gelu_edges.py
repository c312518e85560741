"""GELU (exact, through scipy.special.erf, and tanh) against torch at edge points, forward and
backward, float64 and float32: +-0, subnormals, tiny values, the tails where Phi rounds to 0 or 1,
and |x| up to 1e4, without warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from scratch.nn.functional import gelu, gelu_backward


def _points(dtype):
    info = np.finfo(dtype)
    edges = np.array([0.0, 1e-3, 0.5, 1.0, 2.0, 3.0, 5.0, 5.4, 5.7, 6.0, 8.0, 10.0, 27.0, 100.0, 1e4,
                      float(info.tiny), float(info.smallest_subnormal), 1e-20], dtype=dtype)
    near = np.concatenate([np.nextafter(edges, dtype(np.inf)), np.nextafter(edges, dtype(-np.inf))])
    rng = np.random.default_rng(0)
    x = np.concatenate([edges, near, rng.uniform(-8, 8, 2000).astype(dtype)])
    return np.concatenate([x, -x])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gelu_matches_torch_at_edge_points(dtype, approximate):
    x = _points(dtype)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = torch.nn.functional.gelu(xt, approximate=approximate)
    yt.backward(torch.from_numpy(g))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, gx = gelu(x, approximate), gelu_backward(g, x, approximate)
    assert y.dtype == dtype and gx.dtype == dtype
    eps = np.finfo(dtype).eps
    # a few ulps; in the left tail 1 + erf cancels on both sides, so the error is absolute: ulp(1) |x|
    _assert_close(y, yt.detach().numpy(), 8 * eps * (np.abs(x) + np.abs(yt.detach().numpy())), x, "forward")
    _assert_close(gx, xt.grad.numpy(), 8 * eps * np.abs(g) * (1 + np.abs(x)), x, "backward")


def _assert_close(got, want, allowed, x, what):
    err = np.abs(got - want)
    bad = ~(err <= allowed)
    assert not bad.any(), (what, x[bad][:5], got[bad][:5], want[bad][:5])


def test_a_wrong_gelu_fails_the_check():
    x = _points(np.float64)
    xt = torch.from_numpy(x)
    wrong = x * 0.5 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))  # the tanh form as "exact"
    want = torch.nn.functional.gelu(xt).numpy()
    assert not (np.abs(wrong - want) <= 8 * np.finfo(np.float64).eps * (np.abs(want) + np.abs(x))).all()
