"""x*y + c rounded once, for float64 arrays x, c and a scalar y, through one BLAS matrix product.

NumPy has no fma ufunc, but BLAS gemm kernels build each output as a chain of hardware fused
multiply-adds over k, in order. With the (2, 2) matrix A = [[1, y], [0, 0]] and the (2, n)
matrix B = [c; x],

    (A @ B)[0] = fma(y, x, fma(1, c, 0)) = RN(c + y*x)

because the first product, 1*c, is exact. The zero row is there on purpose: NumPy sends a
(1, 2) @ (2, n) product to gemv, whose OpenBLAS kernel rounds the products of the last n % 4
elements before adding them (measured: two roundings there, one everywhere else).

The kernels add to a +0, which loses the sign of an exact -0 result; zero results are
recomputed (``_redo_zeros``). Everything else relies on how the
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
    _redo_zeros(res[0], pair[1], y, pair[0], work)
    np.copyto(out, res[0].reshape(out.shape))
    return out


def vecdot_fma(x, y, c, out, work):
    """out = RN(x*y + c) for same-shape arrays x, y, c of one dtype: row i of the (n, 2) pairs
    [c, x] and [1, y] has the dot product fma(x, y, 1*c) (NumPy's ``vecdot`` calls BLAS ddot per
    row, whose kernel accumulates with FMAs in order). ~5.5 ns per element, half the emulation's."""
    n, dt = c.size, c.dtype
    left, right = work.array("_vd_left", (n, 2), dt), work.array("_vd_right", (n, 2), dt)
    left[:, 0], left[:, 1] = c.reshape(-1), x.reshape(-1)
    right[:, 0], right[:, 1] = 1, y.reshape(-1)
    res = work.array("_vd_out", (n,), dt)
    np.vecdot(left, right, out=res)
    _redo_zeros(res, left[:, 1], right[:, 1], left[:, 0], work)
    np.copyto(out, res.reshape(out.shape))
    return out


def _redo_zeros(res, x, y, c, work):
    """Zero results again, with their IEEE sign: the kernels add to a +0, which turns an exact
    -0 (from (-0) + (-0), or an underflow of a negative x*y + c) into +0. Zero results are rare
    (zeros, exact cancellation, underflow) and each has a short exact form."""
    zero = res == 0
    if not zero.any():
        return
    xz, cz = x[zero], c[zero]
    yz = y[zero] if np.ndim(y) else y
    with np.errstate(all="ignore"):
        prod = xz * yz
    exact_product = (xz == 0) | (yz == 0)  # then prod + c follows IEEE's sum-of-zeros rule
    fixed = np.where(exact_product, prod + cz, prod)  # else, with c = 0: RN(x*y), its sign kept
    hard = ~exact_product & (cz != 0)  # x*y + c cancels or underflows: the exact emulation
    if hard.any():
        from scratch.optim._fused import emulated_fma
        yh = yz[hard] if np.ndim(y) else y
        fixed[hard] = emulated_fma(xz[hard], yh, cz[hard], np.empty(int(hard.sum()), c.dtype), work)
    res[zero] = fixed


def applies(x, y, c, out) -> bool:
    """Whether ``gemm_fma`` (scalar y) or ``vecdot_fma`` (array y) may compute this call (else the
    caller emulates)."""
    if not (c.size >= 2 and x.shape == c.shape == out.shape and x.dtype == c.dtype == out.dtype == np.float64):
        return False
    if np.ndim(y):
        return y.shape == c.shape and y.dtype == c.dtype and fuses(c.dtype, vector=True)
    return y != 0 and np.isfinite(y) and fuses(c.dtype)


def route(y):
    """The BLAS route for a scalar or an array factor."""
    return vecdot_fma if np.ndim(y) else gemm_fma


@functools.lru_cache(maxsize=None)
def fuses(dtype, vector: bool = False) -> bool:
    """Whether the route (``gemm_fma``, or ``vecdot_fma`` when ``vector``) gives the correctly
    rounded result on every probe case (checked once per dtype and process, ~50 ms): short arrays
    and special values against exact rational arithmetic, long ones against the emulation, exact
    there (fma64's proof; a float32 product is exact in float64 and the probe's sums cancel)."""
    from scratch.optim._fused import emulated_fma
    from scratch.optim._workspace import Workspace

    dtype = np.dtype(dtype)
    work, ref_work = Workspace(), Workspace()
    with np.errstate(all="ignore"):
        for x, y, c, oracle in _probe_cases(dtype, vector):
            got = route(y)(x, y, c, np.empty_like(c), work)
            want = correctly_rounded(x, y, c) if oracle else emulated_fma(x, y, c, np.empty_like(c), ref_work)
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
    dtype, ys = c.dtype, np.broadcast_to(y, c.shape).ravel()
    return np.array([_round(xi, yi, ci, dtype) for xi, yi, ci in zip(x.ravel(), ys, c.ravel())],
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


def _probe_cases(dtype, vector=False):
    """(x, y, c, oracle) with x*y close to -c (one rounding and two differ in about half of them),
    at every length in _LENGTHS (plus ordinary sums in the short ones), then zeros of both signs,
    inf, nan, huge, tiny and subnormal values against each other. y: a scalar, or an array when
    ``vector``. oracle: whether to check against exact rationals (slow) or the emulation."""
    rng = np.random.default_rng(2026)
    scalars = (0.1, -3.0, 1e-8, 0.999 - 1, 7.5, 1e30, -1e-30)
    for i, n in enumerate(_LENGTHS):
        y = rng.choice(np.array(scalars, dtype=dtype), n) if vector else dtype.type(scalars[i % 5])
        x = rng.standard_normal(n).astype(dtype)
        c = (-(x.astype(np.float64) * y) * (1 + 1e-9 * rng.standard_normal(n))).astype(dtype)
        if n <= 200:
            c[::3] = rng.standard_normal(c[::3].size)
        yield x, y, c, n <= 200
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e-300, 5e-324, 2.0 ** 996, 1.5, -2.0,
                        3.4e38, 1e-45], dtype=dtype)
    if vector:  # every special x, y and c against each other
        x, y, c = (a.ravel() for a in np.meshgrid(special, np.concatenate([special, scalars]).astype(dtype),
                                                   special, indexing="ij"))
        yield x, y, c, True
    else:
        x, c = np.repeat(special, special.size), np.tile(special, special.size)
        for y in scalars:
            yield x, dtype.type(y), c, True
