"""GELU and the normal CDF behind it (twin: torch.nn.GELU / F.gelu).

Exact: y = x * Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2; dy/dx = Phi(x) + x * phi(x).
tanh approximation: y = x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
float64 goes through a vectorized erf within 2 ulp of math.erf; float32 through its own
float32 Phi (below), as torch computes float32 GELU in float32.
"""

from __future__ import annotations

import math

import numpy as np

from scratch.nn.functional._select import _new


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_LOG2E = 1 / math.log(2)

# erf in float64, vectorized (NumPy has none; math.erf one element at a time cost 23 ms per 512x256).
# Three polynomials, fitted offline (Chebyshev, 40 digits) with errors below 1e-16 of erf, Horner in float64:
#   |z| < 1:      erf(z) = z P(z^2)                          P: erf(sqrt(t)) / sqrt(t) on t in [0, 1]
#   1 <= |z| < 2: erf(z) = Q(|z| - 1.5)                      Q: erf on [1, 2]
#   2 <= |z| < 6: erf(z) = 1 - exp(-z^2) R(1/|z| - 1/3)      R: erfcx(z) = exp(z^2) erfc(z) on [2, 6]
#   |z| >= 6:     erf(z) = 1 (erfc(6) = 2e-17 is below half an ulp of 1)
# with erf's sign put back by copysign. Against math.erf on 450k points (tails, interval ends, tiny): within 2 ulp.
_ERF_P = (5.957176147748911e-11, -1.1372848856791674e-09, 1.4659775274047436e-08, -1.6350312701054695e-07, 1.6461000484121368e-06, -1.4925595266831182e-05, 0.0001205533111164271, -0.000854832698083379, 0.0052239776248180145, -0.026866170645076792, 0.11283791670954879, -0.3761263890318375, 1.1283791670955126)
_ERF_Q = (-2.8346118565278276e-07, 1.4171216409416466e-06, 5.712902189436902e-07, -1.4038638152371658e-05, 1.7961323135211212e-05, 7.767647032419676e-05, -0.00025444927807681647, -9.291229551299306e-05, 0.0017098196278538453, -0.002362677793021706, -0.004743053204878897, 0.019326172007209028, -0.014866286152863747, -0.04459885845906473, 0.1387520040942334, -0.17839543383544215, 0.11893028922362937, 0.9661051464753108)
_ERF_R = (3.586406604048527, -1.3271449305035954, -0.6686072573809234, 0.9989363349361461, -0.6508548181638285, 0.16324701037124956, 0.17991584144147027, -0.27846985499680166, 0.18107643257615744, -0.004657735518726179, -0.134841286913459, 0.1614728561865362, -0.05014611072271878, -0.18141695624433918, 0.4893503400645558, 0.17900115118139)


def _horner(coefs, x):
    """sum_k coefs[k] x^(n-1-k) (highest power first), in one buffer."""
    out = np.multiply(x, coefs[0])
    for c in coefs[1:-1]:
        np.add(out, c, out=out)
        np.multiply(out, x, out=out)
    return np.add(out, coefs[-1], out=out)


def _erf(z):
    """erf of a float64 array (any shape, 0-d included); NaN stays NaN, erf(+-inf) = +-1."""
    z = np.asarray(z, dtype=np.float64, order="C")
    a = np.abs(z).reshape(-1)
    out = _horner(_ERF_P, a * a)
    np.multiply(out, a, out=out)
    big = np.flatnonzero(a >= 1)        # the rest, usually a minority: evaluated on their own
    if big.size:
        ab = a[big]
        vals = np.ones_like(ab)
        mid = ab < 2
        vals[mid] = _horner(_ERF_Q, ab[mid] - 1.5)
        tail = (ab >= 2) & (ab < 6)
        at = ab[tail]
        vals[tail] = 1 - np.exp(-(at * at)) * _horner(_ERF_R, 1 / at - 1 / 3)
        out[big] = vals
    return np.copysign(out, z.reshape(-1), out=out).reshape(z.shape)


# Phi in float32, GELU's hot path: the float64 erf above, with its conversions, float64 passes and gathers,
# costs ~1.2 ms per 512x256 float32 array; torch's whole float32 GELU forward+backward ~0.3 ms. Here, in float32:
#   Phi(x) = (1 + tanh(g(x))) / 2,   g(x) = atanh(erf(x / sqrt 2)) = logit(Phi(x)) / 2 = x P(x^2)
# g is odd and smooth; P (degree 6, highest power first) is a weighted minimax fit on [0, 6] of the error it
# makes in Phi: Phi(x) (1 - Phi(x)) 2 |g(x) - x P(x^2)| <= 2.9e-8. 16 passes and a tanh: ~0.2 ms.
# Against float64 Phi on 20M float32 points (a grid on [-10, 10], normals, tiny and subnormal x), float32
# rounding included: |error| <= 1.0e-7, i.e. <= 1.65 ulp where Phi >= 0.5 (mean 0.26 ulp); torch's float32
# GELU is off by up to 3.2e-7 in Phi. Like torch's 0.5 (1 + erf), it is accurate in absolute, not relative,
# terms in the left tail: Phi = 0 exactly for x < -5.71 (true Phi < 5.6e-9 there), 1 for x >= 5.38. P has no
# positive root, so g keeps growing beyond the fit; P(x^2) overflows to inf for |x| > 8.7e3, where
# tanh(+-inf) = +-1 is still the right limit. NaN stays NaN.
_PHI32_P = (1.7561674e-09, -1.3226322e-07, 3.964743e-06, -5.5306184e-05, -3.2594999e-05, 0.036333084, 0.79788494)


def _normal_cdf32(x, keep=None):
    """Phi(x) for a float32 array, by the tanh form above (float32 throughout); ``keep`` receives x^2 as "x2"."""
    with np.errstate(over="ignore"):  # x^2 and P(x^2) reach inf for large |x|: expected, see above
        u = np.multiply(x, x)
        if keep is not None:
            keep["x2"] = u
        g = _horner(_PHI32_P, u)
        np.multiply(g, x, out=g)
    np.tanh(g, out=g)
    np.multiply(g, 0.5, out=g)
    return np.add(g, 0.5, out=g)


def normal_cdf(x, keep=None):
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2. float64 (and anything else): through the float64 erf, rounded once
    to x's dtype; float32 arrays: ``_normal_cdf32`` (|error| <= 1.0e-7), which puts x^2 in ``keep`` (a dict)
    for gelu_backward."""
    if isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim:  # (0-d: _horner's out= needs arrays)
        return _normal_cdf32(x, keep)
    cdf = _erf(np.asarray(x, dtype=np.float64) / math.sqrt(2))
    np.add(1, cdf, out=cdf)
    return np.multiply(0.5, cdf, out=cdf).astype(x.dtype, copy=False)


# GELU: exact y = x * Phi(x), dy/dx = Phi(x) + x * phi(x);
#       tanh y = x/2 * (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
def gelu(x, approximate="none"):
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + np.tanh(u))
    return x * normal_cdf(x)


def gelu_backward(grad_output, x, approximate="none", cdf=None, x2=None):
    """``cdf`` = normal_cdf(x) when the caller kept it from forward (saves the erf); ``x2``: x * x (float32)."""
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = np.tanh(u)
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return grad_output * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
    if x.dtype == np.float32:              # pdf = 2^(-x^2 log2(e) / 2) / sqrt(2 pi): NumPy's float32 exp2 is
        if x2 is None:                     # < 1 ulp and twice as fast as its exp (28 vs 60 us)
            out = _new(np.multiply(-0.5 * _LOG2E, x))
            np.multiply(out, x, out=out)
        else:
            out = _new(np.multiply(-0.5 * _LOG2E, x2))
        np.exp2(out, out=out)
    else:                                  # pdf = exp(-x^2 / 2) / sqrt(2 pi), then Phi + x pdf
        out = _new(np.multiply(-0.5, x))
        np.multiply(out, x, out=out)
        np.exp(out, out=out)
    np.multiply(_INV_SQRT_2PI, out, out=out)
    np.multiply(x, out, out=out)
    np.add(normal_cdf(x) if cdf is None else cdf, out, out=out)
    return np.multiply(grad_output, out, out=out)
