"""The vectorized float64 erf behind exact GELU, against math.erf: within 2 ulp everywhere
(tails, interval edges of its three polynomials, subnormals, +-0, +-inf, NaN)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from scratch.nn.functional.activation import _erf, normal_cdf


def _points():
    rng = np.random.default_rng(0)
    edges = np.array([0.0, -0.0, 1.0, 2.0, 6.0, 1.5, 1e-300, 5e-324, 27.0])
    near = np.concatenate([np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    x = np.concatenate([rng.uniform(-7, 7, 100_000), rng.standard_normal(20_000) * 1e-3, edges, near,
                        10.0 ** rng.uniform(-300, 1, 2000)])
    return np.concatenate([x, -x])


def test_erf_within_two_ulp_of_math_erf():
    x = _points()
    got = _erf(x)
    want = np.array([math.erf(v) for v in x])
    ulp = np.spacing(np.abs(want))
    ulps = np.abs(got - want) / np.where(want == 0, np.spacing(0.0), ulp)
    assert ulps.max() <= 2.0, (x[np.argmax(ulps)], ulps.max())
    assert np.mean(ulps > 1) < 1e-4


def test_erf_special_values_and_normal_cdf():
    out = _erf(np.array([np.inf, -np.inf, np.nan, 0.0, -0.0]))
    assert out[0] == 1 and out[1] == -1 and np.isnan(out[2]) and out[3] == 0 and np.signbit(out[4])
    x = np.linspace(-5, 5, 101)
    # absolute: 1 + erf cancels in the left tail for both, so 2 ulp of erf (~4e-16) is the scale
    np.testing.assert_allclose(normal_cdf(x), [0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x], rtol=0,
                               atol=1e-15)


def test_a_wrong_erf_fails_the_check():
    x = _points()[:5000]
    want = np.array([math.erf(v) for v in x])
    wrong = np.tanh(1.2 * x)  # a common crude approximation
    assert np.max(np.abs(wrong - want) / np.spacing(np.abs(want) + 1e-300)) > 2.0


def test_normal_cdf_float32_is_within_1e7_of_the_float64_route():
    """GELU's float32 Phi is its own polynomial (Phi = (1 + tanh(x P(x^2))) / 2 in float32, as
    torch computes float32 GELU in float32): within 1.2e-7 absolute of the float64 route
    everywhere, and within 2 float32 ulps where Phi >= 0.5."""
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-10, 10, 2_000_001), rng.standard_normal(200_000),
                        rng.standard_normal(20_000) * 1e-3, 10.0 ** rng.uniform(-45, 1, 2000)]).astype(np.float32)
    x = np.concatenate([x, -x])
    got = normal_cdf(x)
    assert got.dtype == np.float32
    want = normal_cdf(x.astype(np.float64))
    err = np.abs(got.astype(np.float64) - want)
    assert err.max() <= 1.2e-7, (x[np.argmax(err)], err.max())
    hi = want >= 0.5
    ulps = err[hi] / np.spacing(want[hi].astype(np.float32)).astype(np.float64)
    assert ulps.max() <= 2.0


def test_normal_cdf_float32_limits_without_warnings():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 6.0, -6.0, 8e3, -8e3, 1e30, -1e30, 3e38], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = normal_cdf(x)
    assert c[0] == 1 and c[1] == 0 and np.isnan(c[2]) and c[3] == 0.5 and c[4] == 0.5
    assert np.all(c[[5, 7, 9, 11]] == 1) and np.all(c[[6, 8, 10]] == 0)
