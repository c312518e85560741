"""x*y + c rounded once, for float64 arrays x, c and a scalar y, through one BLAS matrix product.

NumPy has no fma ufunc, but BLAS gemm kernels build each output as a chain of hardware fused
multiply-adds over k, in order. With the (2, 2) matrix A = [[1, y], [0, 0]] and the (2, n)
matrix B = [c; x],

    (A @ B)[0] = fma(y, x, fma(1, c, 0)) = RN(c + y*x)

because the first product, 1*c, is exact. The zero row is there on purpose: NumPy sends a
(1, 2) @ (2, n) product to gemv, whose OpenBLAS kernel rounds the products of the last n % 4
elements before adding them (measured: two roundings there, one everywhere else).

Where x = 0 and c = -0 the kernel's accumulator (+0) loses the sign of -0 + -0; zero results
with x = 0 are recomputed as x*y + c (exact: a zero product). Everything else relies on how the
installed BLAS computes, so ``fuses(dtype)`` checks it once per dtype and process on the cases
that tell one rounding from two, and the caller keeps the emulation where it fails (another
BLAS, a CPU without FMA).

Measured on 64K float64 elements, 1 thread: 64 us, against 578 us for the error-free emulation
(torch's kernel: 26 us); an SGD step on 100k float64 parameters went from 12x torch's time to
2.3x. Only float64 uses it: for float32 the emulation through float64 (5 passes) measured
faster inside a real step (Adam on 1M float32: 1.66x torch with it, 1.84x with the product,
whose two (2, n) work arrays crowd the cache).
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

_LENGTHS = tuple(range(2, 71)) + (1000, 4099, 65539, 131075)  # every kernel tail; block-sized and larger


def gemm_fma(x, y, c, out, work):
    """out = RN(x*y + c) for same-shape arrays x, c (n >= 2 elements) and a finite nonzero scalar y,
    all of one dtype. ``out`` may alias x or c (both are copied first)."""
    n, dt = c.size, c.dtype
    pair = work.array("_gemm_in", (2, n), dt)
    np.copyto(pair[0].reshape(c.shape), c)
    np.copyto(pair[1].reshape(x.shape), x)
    res = work.array("_gemm_out", (2, n), dt)
    np.matmul(np.array([[1, y], [0, 0]], dt), pair, out=res)
    zero = res[0] == 0
    if zero.any():  # (-0)*y + (-0) = -0, but the kernel's accumulator starts at +0: redo x = 0
        zero &= pair[1] == 0
        res[0][zero] = pair[1][zero] * y + pair[0][zero]  # exact: a zero product plus c
    np.copyto(out, res[0].reshape(out.shape))
    return out


def applies(x, y, c, out) -> bool:
    """Whether ``gemm_fma`` may compute this call (else the caller emulates)."""
    return (np.ndim(y) == 0 and c.size >= 2 and x.shape == c.shape == out.shape
            and x.dtype == c.dtype == out.dtype == np.float64 and fuses(c.dtype)
            and y != 0 and np.isfinite(y))


@functools.lru_cache(maxsize=None)
def fuses(dtype) -> bool:
    """Whether ``gemm_fma`` gives the correctly rounded result on every probe case (checked once
    per dtype and process, ~30 ms): short arrays and special values against exact rational
    arithmetic, long ones against the emulation, exact there (fma64's proof; a float32 product
    is exact in float64 and the probe's sums cancel exactly)."""
    from scratch.optim._fused import emulated_fma
    from scratch.optim._workspace import Workspace

    dtype = np.dtype(dtype)
    work, ref_work = Workspace(), Workspace()
    with np.errstate(all="ignore"):
        for x, y, c in _probe_cases(dtype):
            got = gemm_fma(x, y, c, np.empty_like(c), work)
            want = (correctly_rounded(x, y, c) if c.size <= 200 else
                    emulated_fma(x, y, c, np.empty_like(c), ref_work))
            if not same_bits(got, want):
                return False
    return True


def same_bits(a, b) -> bool:
    """Equal bit for bit (so -0 differs from +0), any nan matching any nan."""
    a, b = np.asarray(a), np.asarray(b)
    ints = np.int32 if a.dtype == np.float32 else np.int64
    return a.dtype == b.dtype and bool(np.all((a.view(ints) == b.view(ints)) | np.isnan(a) & np.isnan(b)))


def correctly_rounded(x, y, c) -> np.ndarray:
    """RN(x*y + c) elementwise in exact rational arithmetic (slow: for probes and tests)."""
    dtype = c.dtype
    return np.array([_round(xi, y, ci, dtype) for xi, ci in zip(x.ravel(), c.ravel())],
                    dtype=dtype).reshape(c.shape)


def _round(x, y, c, dtype):
    if not (np.isfinite(x) and np.isfinite(y)):
        return (np.float64(x) * np.float64(y)) + np.float64(c)  # inf/nan: no rounding involved
    if not np.isfinite(c):
        return c  # the exact product is finite, even where the rounded one would overflow
    exact = Fraction(float(x)) * Fraction(float(y)) + Fraction(float(c))
    if exact == 0:  # IEEE: -0 only for (-0) + (-0), exact cancellation gives +0
        negative_zero = np.signbit(x) != np.signbit(y) and np.signbit(c)
        return -0.0 if negative_zero else 0.0
    top = _overflow_threshold(dtype)
    if abs(exact) >= top:
        return np.inf if exact > 0 else -np.inf
    near = float(exact)  # correctly rounded to float64 (CPython's int / int)
    if dtype == np.float64:
        return near
    r = np.float32(near)  # rounded twice: wrong only where `near` is a float32 tie that `exact` is not
    if float(r) != near:
        other = np.nextafter(r, np.inf if near > float(r) else -np.inf, dtype=np.float32)
        if 2 * near == float(r) + float(other) and Fraction(near) != exact:
            up = (exact > Fraction(near)) == (float(other) > float(r))
            r = other if up else r
    return r


@functools.lru_cache(maxsize=None)
def _overflow_threshold(dtype) -> Fraction:
    """max + half an ulp: exact values from here in magnitude round to inf."""
    big = np.finfo(dtype).max
    return Fraction(float(big)) + (Fraction(float(big)) - Fraction(float(np.nextafter(big, 0, dtype=dtype)))) / 2


def _probe_cases(dtype):
    """(x, y, c) with x*y close to -c (one rounding and two differ in about half of them), at every
    length in _LENGTHS (plus ordinary sums in the short ones), then zeros of both signs, inf, nan,
    huge, tiny and subnormal values against each other."""
    rng = np.random.default_rng(2026)
    scalars = (0.1, -3.0, 1e-8, 0.999 - 1, 7.5)
    for i, n in enumerate(_LENGTHS):
        y = dtype.type(scalars[i % len(scalars)])
        x = rng.standard_normal(n).astype(dtype)
        c = (-(x.astype(np.float64) * float(y)) * (1 + 1e-9 * rng.standard_normal(n))).astype(dtype)
        if n <= 200:
            c[::3] = rng.standard_normal(c[::3].size)
        yield x, y, c
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e-300, 5e-324, 2.0 ** 996, 1.5, -2.0,
                        3.4e38, 1e-45], dtype=dtype)
    x, c = np.repeat(special, special.size), np.tile(special, special.size)
    for y in scalars + (1e30, -1e-30):
        yield x, dtype.type(y), c
