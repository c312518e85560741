"""The fused multiply-adds behind scratch's optimizers (add with alpha, addcmul, lerp) against
torch's CPU kernels, bit for bit, on the cases that separate one rounding from two:
cancellation (x*y close to -c), halfway ties, huge and tiny values, inf and NaN."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from scratch.optim._blas_fma import same_bits
from scratch.optim._fused import exact, unfused
from scratch.optim.optimizer import add, addcmul, lerp

# the hard cases include inf and NaN on purpose; NumPy warns where torch silently gives NaN
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _hard_cases(dtype, n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    t1 = rng.standard_normal(n)
    t2 = rng.standard_normal(n)
    a = rng.standard_normal(n)
    k = n // 4
    a[:k] = -(t1[:k] * t2[:k]) * (1 + rng.standard_normal(k) * 1e-9)   # cancellation
    t1[k:2 * k] = 1 + 2.0 ** -27 * rng.integers(1, 4, k)               # products near halfway points
    t2[k:2 * k] = 1 - 2.0 ** -27 * rng.integers(1, 4, k)
    a[k:2 * k] = -1.0
    t1[2 * k:2 * k + 8] = [1e300, 1e-300, np.inf, np.nan, 0.0, -0.0, 2.0 ** 996, 5e-324]
    return a.astype(dtype), t1.astype(dtype), t2.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [1.0, 0.001, -0.9])
def test_addcmul_matches_torch_bitwise(dtype, value):
    a, t1, t2 = _hard_cases(dtype)
    want = torch.from_numpy(a).addcmul(torch.from_numpy(t1), torch.from_numpy(t2), value=value).numpy()
    assert same_bits(addcmul(a, t1, t2, value), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.1, -3.0, 1e-8])
def test_add_with_alpha_matches_torch_bitwise(dtype, alpha):
    a, b, _ = _hard_cases(dtype, seed=1)
    want = torch.from_numpy(a).add(torch.from_numpy(b), alpha=alpha).numpy()
    assert same_bits(add(a, b, alpha), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight", [0.1, 0.5, 0.999])
def test_lerp_matches_torch_bitwise(dtype, weight):
    a, b, _ = _hard_cases(dtype, seed=2)
    want = torch.from_numpy(a).lerp(torch.from_numpy(b), weight).numpy()
    assert same_bits(lerp(a, b, weight), want)


def test_two_roundings_are_told_apart():
    """The check has teeth: a + v*t1*t2 with the product rounded first differs from torch."""
    a, t1, t2 = _hard_cases(np.float64)
    want = torch.from_numpy(a).addcmul(torch.from_numpy(t1), torch.from_numpy(t2), value=1.0).numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        assert not same_bits(a + t1 * t2, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unfused_mode_rounds_the_product_then_the_sum(dtype):
    """Inside ``unfused()``: exactly RN(RN(x*y) + c) (checked against NumPy's own two roundings),
    hence not torch's bits on the hard cases; outside it, the default is exact again."""
    a, t1, t2 = _hard_cases(dtype)
    want = torch.from_numpy(a).addcmul(torch.from_numpy(t1), torch.from_numpy(t2), value=1.0).numpy()
    w = np.asarray(0.1, dtype).item()
    with unfused():
        assert not exact()
        got_addcmul, got_add, got_lerp = addcmul(a, t1, t2), add(a, t1, 0.1), lerp(a, t1, 0.1)
    assert exact()
    assert same_bits(got_addcmul, a + t1 * t2)
    assert same_bits(got_add, a + t1 * dtype(w))
    assert same_bits(got_lerp, a + dtype(w) * (t1 - a))
    assert not same_bits(got_addcmul, want)
    assert same_bits(addcmul(a, t1, t2), want)


def test_unfused_mode_is_restored_after_an_error():
    with pytest.raises(ZeroDivisionError):
        with unfused():
            1 / 0
    assert exact()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unfused_adam_stays_close_to_torch(dtype):
    """30 Adam steps on 1000 parameters in each mode: both within a few ulps per step of torch.
    (Neither is torch's bits here: on arrays this long torch's vectorized float64 division by a
    scalar and its float32 sqrt are not correctly rounded; the registry's small cases are.)"""
    import scratch.optim as sopt
    from scratch.nn import Parameter

    r = np.random.default_rng(0)
    w0 = r.standard_normal(1000).astype(dtype)
    grads = [r.standard_normal(1000).astype(dtype) for _ in range(30)]
    tp = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.01)
    for g in grads:
        tp.grad = torch.from_numpy(g)
        topt.step()
    results = {}
    for mode in ("exact", "unfused"):
        p = Parameter(w0.copy())
        opt = sopt.Adam([p], lr=0.01)
        with (unfused() if mode == "unfused" else contextlib.nullcontext()):
            for g in grads:
                p.grad = g
                opt.step()
        results[mode] = p.data
    want = tp.detach().numpy()
    ulp = np.spacing(np.abs(want).astype(dtype))
    err = {m: np.max(np.abs(v.astype(np.float64) - want) / ulp) for m, v in results.items()}
    assert err["unfused"] <= 30 * 4 and err["exact"] <= 30 * 4, err
    assert not np.array_equal(results["exact"], results["unfused"]), "the modes should differ somewhere"
