"""The fused multiply-add behind ``add(alpha=)``, ``addcmul`` and ``lerp``: out = x*y + c.

torch's CPU kernels round x*y + c once (a hardware FMA). NumPy has no fma ufunc, so by default
scratch reproduces the single rounding:

- float64: through BLAS kernels, which use hardware FMAs (``_blas_fma``: one gemm for a scalar
  y as in ``add`` with alpha and ``lerp``, ~1 ns per element; one ddot per element for an
  array y as in ``addcmul``, ~5.5 ns each). Each route is checked once per process against exact
  rationals; where it fails, ``fma64`` emulates (error-free transformations, ``_fma.py``, ~40
  passes, ~13 ns per element).
- float32: the product of two float32 is exact in float64; the sum is rounded in float64 and
  then to float32. Five passes where torch makes one (Adam on 1M float32: ~1.7x torch's time).
  Rounding twice is exact except where the float64 sum lands exactly on a tie between two
  float32 without being that tie (it needs the exact sum to have more than 53 bits and bits
  25-53 of the rounded one to read 10...0: about 2^-28 of the inexact sums); there the result
  is one float32 ulp off torch's. The exact alternatives measured slower (round to odd: +6
  passes; the BLAS product above: +10% on Adam).

``unfused()`` trades that exactness for speed, as ``torch.backends.cuda.matmul.allow_tf32``
does for matmuls: inside it the product is rounded, then the sum (two roundings, one pass each;
measured: Adam float64 on 100k parameters 0.39 ms, as fast as torch). Each result is then within
half an ulp of the product of torch's, which relative to the result is unbounded where x*y
cancels c: the registry's float64 optimizer tolerance (atol 0) is stated for the exact default,
which is what the suite checks.
"""

from __future__ import annotations

import contextlib

import numpy as np

from scratch.optim._blas_fma import applies, route
from scratch.optim._fma import fma64

_exact = True


@contextlib.contextmanager
def unfused():
    """Within the block scratch's optimizers round x*y + c twice (fast, within half an ulp of x*y
    of torch's single rounding) instead of emulating torch's fused multiply-add bit for bit.
    Process-wide while it lasts, like torch's backend flags: other threads see it too."""
    global _exact
    saved, _exact = _exact, False
    try:
        yield
    finally:
        _exact = saved


def exact() -> bool:
    """Whether fused multiply-adds are emulated bit for bit (the default; see ``unfused``)."""
    return _exact


def _wide_fma(x, y, c):
    """x*y + c in the x87 long double, rounded to float64: the fallback of ``fma64`` for the rare
    elements outside its exact range (tiny products, huge or non-finite values)."""
    ld = np.longdouble
    return (np.multiply(x, y, dtype=ld) + c).astype(np.float64)


def _widen(x, name, work):
    """``x`` converted (exactly) into the float64 workspace array ``name``: a cast plus a
    same-dtype ufunc is faster than a ufunc converting its inputs on the fly (measured on 100k
    float32: 15 + 11 us vs 56 us for a multiply)."""
    buf = work.get(name, x, np.float64)
    np.copyto(buf, x)
    return buf


def fma(x, y, c, out, work):
    """out = x*y + c for arrays ``x``, ``c`` and an array or Python-float scalar ``y`` of c's dtype,
    rounded once (default) or twice (inside ``unfused()``). ``out`` may alias ``x`` or ``c``;
    temporaries come from the ``Workspace`` ``work`` (names starting with ``_``)."""
    if not _exact:
        prod = np.multiply(x, y, out=work.get("_prod", c))
        return np.add(prod, c, out=out)
    if applies(x, y, c, out):  # float64: BLAS kernels' hardware FMAs (see _blas_fma)
        return route(y)(x, y, c, out, work)
    return emulated_fma(x, y, c, out, work)


def emulated_fma(x, y, c, out, work):
    """``fma`` rounded once by emulation in NumPy (float32 through float64, float64 by ``fma64``)."""
    if c.dtype == np.float64:
        return fma64(x, y, c, out, work, _wide_fma)
    prod = _widen(x, "_wide", work)
    np.multiply(prod, _widen(y, "_wide2", work) if np.ndim(y) else np.float64(y), out=prod)
    np.add(prod, _widen(c, "_wide2", work), out=prod)
    np.copyto(out, prod, casting="same_kind")  # a ufunc whose output needs a cast takes ~2x longer
    return out
