"""The BLAS route to a fused multiply-add (scratch.optim._blas_fma), its once-per-process probe,
the exact rational oracle the probe trusts, and edge cases of the NumPy emulation, all against
torch's CPU kernels (hardware FMAs) bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scratch.optim import _blas_fma
from scratch.optim._blas_fma import correctly_rounded, fuses, same_bits
from scratch.optim._fused import emulated_fma, fma
from scratch.optim._workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

_SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e-300, 5e-324, 2.0 ** 996, 1.5, -2.0, 3.4e38, 1e-45]


def _torch_fma(x, y, c):
    """torch's c.add(x, alpha=y): one hardware FMA per element on this CPU build."""
    return torch.from_numpy(c).add(torch.from_numpy(x), alpha=float(y)).numpy()


def _grid(dtype):
    s = np.array(_SPECIAL, dtype=dtype)
    return np.repeat(s, s.size), np.tile(s, s.size)


def _cancelling(dtype, n, y, seed=0):
    """x*y within ~1e-9 relative of -c: one rounding and two differ in about half the elements."""
    r = np.random.default_rng(seed)
    x = r.standard_normal(n).astype(dtype)
    c = (-(x.astype(np.float64) * np.asarray(y, np.float64)) * (1 + 1e-9 * r.standard_normal(n))).astype(dtype)
    return x, c


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("y", [0.1, -3.0, 1e30, -1e-30])
def test_the_oracle_is_torch_on_special_values(dtype, y):
    """correctly_rounded (exact rationals) gives torch's bits: signed zeros, inf, nan, overflow of the
    rounded product only, subnormals, and x = 1.5, y = 1e30, c = -2 in float32, where rounding the
    float64 sum to float32 breaks a tie the wrong way."""
    x, c = _grid(dtype)
    y = dtype(y)
    assert same_bits(correctly_rounded(x, y, c), _torch_fma(x, y, c))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_oracle_is_torch_on_cancellation(dtype):
    x, c = _cancelling(dtype, 300, 0.1)
    y = dtype(0.1)
    want = _torch_fma(x, y, c)
    assert same_bits(correctly_rounded(x, y, c), want)
    with np.errstate(all="ignore"):
        assert not same_bits(x * y + c, want)  # the cases do tell one rounding from two


@pytest.mark.parametrize("vector", [False, True])
@pytest.mark.parametrize("n", [2, 3, 5, 8, 17, 66, 4099, 65539])
def test_the_blas_routes_match_torch_or_are_not_taken(n, vector):
    """Where the probe accepts this machine's BLAS, its route (gemm for a scalar factor, vecdot for
    an array) gives torch's bits at every length (kernel tails included); where it does not,
    ``fma`` never takes that route."""
    y = np.random.default_rng(n).choice([-3.0, 0.1, 7.5], n) if vector else -3.0
    x, c = _cancelling(np.float64, n, y, seed=n)
    want = torch.from_numpy(c).addcmul(torch.from_numpy(x), torch.from_numpy(np.broadcast_to(y, c.shape).copy()))
    out = np.empty_like(c)
    if fuses(np.float64, vector=vector):
        assert same_bits(_blas_fma.route(y)(x, y, c, out, Workspace()), want.numpy())
    else:
        assert not _blas_fma.applies(x, y, c, out)
    assert same_bits(fma(x, y, c, out, Workspace()), want.numpy())


def _two_roundings(x, y, c, out, work):
    return np.add(x * y, c, out=out)


def _gemv(x, y, c, out, work):
    """The (1, 2) @ (2, n) product NumPy sends to gemv: fused except the last n % 4 elements."""
    np.copyto(out, np.array([y, 1.0]) @ np.stack([x, c]))
    return out


def _gemm_without_zero_fix(x, y, c, out, work):
    np.copyto(out, (np.array([[1.0, y], [0.0, 0.0]]) @ np.stack([c, x]))[0])
    return out


def _vecdot_without_zero_fix(x, y, c, out, work):
    np.vecdot(np.stack([c, x], 1), np.stack([np.ones_like(y), y], 1), out=out)
    return out


@pytest.mark.parametrize("wrong, vector", [(_two_roundings, False), (_gemv, False), (_gemm_without_zero_fix, False),
                                           (_two_roundings, True), (_vecdot_without_zero_fix, True)])
def test_the_probe_rejects_a_route_that_is_not_exact(monkeypatch, wrong, vector):
    monkeypatch.setattr(_blas_fma, "route", lambda y: wrong)
    assert not _blas_fma.fuses.__wrapped__(np.float64, vector=vector)


@pytest.mark.parametrize("vector", [False, True])
def test_the_probe_accepts_an_exact_route(monkeypatch, vector):
    """With the emulation itself as the route, the probe passes: it rejects only wrong bits."""
    monkeypatch.setattr(_blas_fma, "route", lambda y: emulated_fma)
    assert _blas_fma.fuses.__wrapped__(np.float64, vector=vector)


@pytest.mark.parametrize("value", [1.0, -0.5])
def test_emulated_float64_edges_match_torch(value):
    """The error-free emulation on arrays (addcmul): (+-0)(+-y) + (-0) keeps torch's signed zero, and a
    nan elsewhere in the array does not hide tiny products (5e-324 * 7.5 + 5e-324 is a tie)."""
    x, c = _grid(np.float64)
    y = np.tile(np.array([7.5, -0.1, 5e-324, 1e-300, 3.0]), x.size)[:x.size]
    want = torch.from_numpy(c).addcmul(torch.from_numpy(x), torch.from_numpy(y), value=value).numpy()
    got = emulated_fma(x * value, y, c, np.empty_like(c), Workspace())
    assert same_bits(got, want)
