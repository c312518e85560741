"""Branch-free selection and fresh-buffer helpers shared by the activation and loss kernels."""

from __future__ import annotations

import numpy as np

# -- branch-free selection --------------------------------------------------------------------------------
# np.where(c, a, b) branches per element: on random signs it mispredicts and costs ~450 us for a
# 512x256 array, 8x a multiply. Choosing by bit masks computes the same bits without branches.
# Kernels also write into one fresh buffer (out=) instead of chaining temporaries: a second live
# megabyte-sized temporary makes glibc return and re-fault heap pages on every call (measured 20x).

_SIGN_BIT = {4: np.uint32(1 << 31), 8: np.uint64(1 << 63)}  # by itemsize: float32, float64


def _bits(a):
    """The unsigned-integer view of a float array (same memory, same bits)."""
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def _new(a):
    """A fresh ufunc result as an array: NumPy returns a scalar for 0-d input, and out= needs an array."""
    return a if isinstance(a, np.ndarray) else np.asarray(a)


def _gate(cond, like):
    """Unsigned integers of like's width and layout: 0 where cond, all ones elsewhere (a mask for ``_gated``)."""
    m = np.empty_like(like, dtype=np.dtype(f"u{like.dtype.itemsize}"))  # like's layout: sums stay bitwise
    np.copyto(m, cond)         # 1 where cond, 0 elsewhere
    return np.subtract(m, 1, out=m)                            # 0 where cond, all ones elsewhere


def _gated(values, gate, out=None):
    """values & gate: values where the gate is all ones, +0.0 where it is 0; into ``out`` (a gate-typed buffer)
    or a new array."""
    out = np.bitwise_and(gate, _bits(values), out=np.empty_like(gate) if out is None else out)
    return out.view(values.dtype)


def _zero_where(cond, values):
    """np.where(cond, 0, values) bit for bit (+0.0 where cond), as a new array."""
    m = _gate(cond, values)
    return _gated(values, m, out=m)


def _where_into(cond, a, b):
    """np.where(cond, a, b) bit for bit, written into ``b`` (a buffer the caller owns) and returned.
    ``a`` is an array or a scalar of b's dtype: (a & m) | (b & ~m), m all ones where cond."""
    bb = _bits(b)
    m = np.asarray(cond).astype(bb.dtype)
    np.subtract(m, 1, out=m)  # all ones where not cond
    np.bitwise_and(bb, m, out=bb)
    np.invert(m, out=m)       # all ones where cond
    np.bitwise_and(m, _bits(np.asarray(a, b.dtype)), out=m)
    np.bitwise_or(bb, m, out=bb)
    return b


def _scale_where(v, cond, scale, dtype, scale_first=False):
    """np.where(cond, v, v * scale) (or scale * v) bit for bit: v times a factor that is 1 where
    cond (v * 1 == v exactly, NaN included) and ``scale`` elsewhere; one buffer, no branches."""
    f = _factor(cond, scale, dtype)
    return np.multiply(f, v, out=f) if scale_first else np.multiply(v, f, out=f)


def _factor(cond, scale, dtype):
    """A new ``dtype`` array: 1 where cond, ``scale`` elsewhere (np.where(cond, 1, scale), branch-free)."""
    u = np.dtype(f"u{np.dtype(dtype).itemsize}")
    one, k = _bits(np.ones((), dtype)), _bits(np.asarray(scale, dtype))
    f = np.empty(np.broadcast_shapes(np.shape(cond), np.shape(scale)), u)
    np.copyto(f, cond)                         # 1 where cond, 0 elsewhere
    np.multiply(f, np.bitwise_xor(one, k), out=f)  # one ^ k where cond, 0 elsewhere
    np.bitwise_xor(f, k, out=f)                # the bits of 1 where cond, of scale elsewhere
    return f.view(dtype)
