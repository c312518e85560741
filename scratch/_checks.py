"""Input checks shared by the kernels and modules.

Every check raises before anything is computed or any state changes, and its
message names what was expected (type, dtype, rank, feature size) and what came.
"""

from __future__ import annotations

import numpy as np


def as_float_array(x, name: str = "input") -> np.ndarray:
    """Return ``x`` if it is a floating NumPy array, else raise TypeError."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{name}: expected a numpy.ndarray of float32 or float64, got {type(x).__name__}"
        )
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: expected dtype float32 or float64, got {x.dtype}")
    return x


def check_ndim(x: np.ndarray, allowed: tuple[int, ...], name: str = "input", what: str = "") -> None:
    """Raise ValueError unless ``x.ndim`` is one of ``allowed``."""
    if x.ndim not in allowed:
        ranks = " or ".join(f"{k}-D" for k in allowed)
        shape = f" {what}" if what else ""
        raise ValueError(f"{name}: expected {ranks} input{shape}, got shape {x.shape}")


def check_min_ndim(x: np.ndarray, k: int, name: str = "input") -> None:
    if x.ndim < k:
        raise ValueError(f"{name}: expected at least {k}-D input, got shape {x.shape}")


def check_dim_size(x: np.ndarray, dim: int, size: int, name: str = "input", what: str = "features") -> None:
    """Raise ValueError unless ``x.shape[dim] == size``."""
    if x.shape[dim] != size:
        raise ValueError(
            f"{name}: expected {size} {what} in dim {dim}, got shape {x.shape}"
        )


def check_same_dtype(x: np.ndarray, ref: np.ndarray, name: str = "input", ref_name: str = "weight") -> None:
    """Mirror torch: a float64 input to a float32 layer is an error, not a silent cast."""
    if x.dtype != ref.dtype:
        raise TypeError(
            f"{name}: expected dtype {ref.dtype} (the {ref_name}'s dtype), got {x.dtype}; "
            f"cast the input or the module"
        )


_TORCH_SCALAR_TYPES = {"float16": "Half", "float32": "Float", "float64": "Double"}


def torch_scalar_type(dtype) -> str:
    """torch's name for a NumPy dtype in its error messages: float32 -> Float, float64 -> Double."""
    name = np.dtype(dtype).name
    return _TORCH_SCALAR_TYPES.get(name, name)


def check_all_same_dtype(x: np.ndarray, arrays: dict, name: str = "input") -> None:
    """Mirror torch's kernels that take no mixed float32/float64 arguments (batch_norm):
    every array in ``arrays`` (name -> array or None, skipped) must have the input's dtype.
    The message starts with torch's words, then says which array has which dtype."""
    found = {k: a.dtype for k, a in arrays.items() if a is not None and a.dtype != x.dtype}
    if found:
        listed = ", ".join(f"{k} is {d}" for k, d in found.items())
        together = ", ".join(["input", *(k for k, a in arrays.items() if a is not None)])
        raise TypeError(
            f"{name}: expected scalar type {torch_scalar_type(x.dtype)} but found "
            f"{torch_scalar_type(next(iter(found.values())))}: the input is {x.dtype} but {listed} "
            f"({together} must share one dtype); cast the input or the module"
        )


class DimError(IndexError, ValueError):
    """A dim out of range: an IndexError like torch's, and a ValueError like any bad argument."""


def normalize_dim(dim: int, ndim: int, name: str = "dim") -> int:
    """Wrap a negative dim like torch does and range-check it."""
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise DimError(f"{name}: expected a dim in [{lo}, {hi}] for a {ndim}-D input, got {dim}")
    return dim % max(ndim, 1)


def check_probability(p: float, name: str = "p") -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {p}")
    return float(p)
