"""Correctly rounded fused multiply-add ``fma(x, y, c) = RN(x*y + c)`` on float64 arrays, in float64.

torch's CPU kernels for ``add(alpha=)``, ``addcmul`` and ``lerp`` round x*y + c once (a hardware
FMA). NumPy has no fma ufunc, and the x87 long double (64-bit mantissa) is both ~20x slower than
float64 and not exact (the 106-bit product is rounded to 64 bits first). Error-free
transformations give the exact answer with float64 operations only:

    x*y  = ph + pl      exactly  (TwoProd: Veltkamp split into 26-bit halves, Dekker's product)
    c+ph = th + tl      exactly  (TwoSum, Knuth)
    v    = RO(tl + pl)           (rounded to odd: the sticky bit that prevents a double-rounding tie)
    fma  = RN(th + v)

(Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
rounding to odd", IEEE TC 2008, Algorithm 5.4.) The proof needs no overflow in the split and no
underflow in the product's error term, so elements with |x|, |y| >= 2^995, |c| >= 2^1000, a
nonzero product below 2^-969, a zero product with a zero c (the sign of -0 + -0) or a non-finite
value are computed by the wide-type fallback instead.
Every temporary lives in the caller's ``Workspace`` (names start with ``_f``).
"""

from __future__ import annotations

import numpy as np

_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's constant for 53-bit doubles
_CHUNK = 32768  # elements per block: the ~8 float64 temporaries of a block stay in L2 (2 MiB)
_BIG, _HUGE, _TINY = 2.0 ** 995, 2.0 ** 1000, 2.0 ** -969


def _split(x, hi, lo):
    """x = hi + lo exactly, hi holding the top 26 bits (Veltkamp)."""
    np.multiply(x, _SPLIT, out=hi)
    np.subtract(hi, x, out=lo)
    np.subtract(hi, lo, out=hi)
    np.subtract(x, hi, out=lo)


def _two_sum(a, b, s, e, tmp):
    """s + e = a + b exactly, s = RN(a + b) (Knuth; no ordering of |a|, |b| needed)."""
    np.add(a, b, out=s)
    np.subtract(s, a, out=tmp)          # bb
    np.subtract(b, tmp, out=e)          # b - bb
    np.subtract(s, tmp, out=tmp)        # s - bb
    np.subtract(a, tmp, out=tmp)        # a - (s - bb)
    np.add(tmp, e, out=e)


def _max_abs(x, tmp) -> float:
    return float(np.abs(x, out=tmp).max()) if x.size else 0.0


def _safe(x, y, c, prod, tmp) -> np.ndarray | bool:
    """True where the error-free path is exact (see the module docstring); one bool for all when
    the array-wide bounds already decide it."""
    if not (_max_abs(x, tmp) < _BIG and _max_abs(c, tmp) < _HUGE
            and (np.ndim(y) == 0 and abs(y) < _BIG or np.ndim(y) and _max_abs(y, tmp) < _BIG)):
        ok = (np.abs(x) < _BIG) & (np.abs(c) < _HUGE) & (np.abs(y) < _BIG)
    else:
        ok = True
    np.abs(prod, out=tmp)
    if tmp.size and not tmp.min() >= _TINY:  # (not >=: a nan product must not hide a tiny one)
        # tiny products: exact only when an operand is zero, and then only for c != 0: the path's
        # last addition th + (+0) would turn the exact -0 of (-0) + (-0) into +0
        ok = ok & ((tmp >= _TINY) | ((x == 0) | (y == 0)) & (c != 0))
    if not (tmp.size == 0 or tmp.max() < np.inf):  # nan or inf product
        ok = ok & np.isfinite(prod)
    return ok


def fma64(x, y, c, out, work, fallback):
    """out = RN(x*y + c) for float64 arrays ``x``, ``c`` (same shape) and ``y`` (array or scalar).
    ``out`` may alias ``c`` or ``x``. ``fallback(x, y, c)`` returns the wide-type result for the
    few elements outside the error-free path's range."""
    arrays = (x, c, out) + ((y,) if np.ndim(y) else ())
    if c.size > _CHUNK and all(a.flags.c_contiguous for a in arrays):
        # ~40 passes over the data: in blocks, they run from cache instead of memory
        xf, cf, of = x.reshape(-1), c.reshape(-1), out.reshape(-1)
        yf = y.reshape(-1) if np.ndim(y) else y
        for i in range(0, c.size, _CHUNK):
            sl = slice(i, i + _CHUNK)
            fma64(xf[sl], yf[sl] if np.ndim(y) else y, cf[sl], of[sl], work, fallback)
        return out
    g = lambda name: work.get(name, c, np.float64)  # noqa: E731
    ph, pl, t1 = g("_fph"), g("_fpl"), g("_ft1")
    with np.errstate(all="ignore"):  # out-of-range elements are redone by the fallback, which warns as before
        np.multiply(x, y, out=ph)
        ok = _safe(x, y, c, ph, t1)
        if ok is not True:
            bad = ~ok
            xs, cs, ys = x[bad], c[bad], (y[bad] if np.ndim(y) else y)
        _exact_fma(x, y, c, out, work, ph, pl, t1)
    if ok is not True:
        out[bad] = fallback(xs, ys, cs)
    return out


def _exact_fma(x, y, c, out, work, ph, pl, t1):
    """The error-free path of ``fma64``, given ph = RN(x*y); pl and t1 are scratch arrays."""
    g = lambda name: work.get(name, c, np.float64)  # noqa: E731
    xh, xl = g("_fxh"), g("_fxl")
    # Dekker's exact product error: pl = x*y - ph
    _split(x, xh, xl)
    if np.ndim(y) == 0:
        yh = float(np.float64(y) * _SPLIT)
        yh = yh - (yh - float(y))
        yl = float(y) - yh
    else:
        yh, yl = g("_fyh"), g("_fyl")
        _split(y, yh, yl)
    np.multiply(xh, yh, out=pl)
    np.subtract(pl, ph, out=pl)
    np.multiply(xh, yl, out=t1)
    np.add(pl, t1, out=pl)
    np.multiply(xl, yh, out=t1)
    np.add(pl, t1, out=pl)
    np.multiply(xl, yl, out=t1)
    np.add(pl, t1, out=pl)
    # th + tl = c + ph (th into xh, tl into xl: the split halves are no longer needed)
    th, tl = xh, xl
    _two_sum(c, ph, th, tl, t1)
    # v = RO(tl + pl): round to nearest, then where inexact and even, step one ulp towards the
    # exact value (adjacent doubles alternate in parity, so that neighbour is the odd one)
    v, err = ph, pl
    _two_sum(tl, pl, v, err, t1)
    vb, eb, ib = v.view(np.int64), err.view(np.int64), t1.view(np.int64)
    nudge = (err != 0) & ((vb & 1) == 0)
    if nudge.any():
        np.bitwise_xor(vb, eb, out=ib)
        np.right_shift(ib, 63, out=ib)          # 0 where err has v's sign (away from zero), else -1
        np.multiply(ib, 2, out=ib)
        np.add(ib, 1, out=ib)                   # +1 or -1 on the magnitude bits
        np.multiply(ib, nudge, out=ib)
        np.add(vb, ib, out=vb)
    np.add(th, v, out=out)
