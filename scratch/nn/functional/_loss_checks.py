"""Validation and reduction plumbing shared by the loss kernels (loss_classification.py,
loss_elementwise.py, loss_probability.py); ``scratch.nn.functional.loss`` re-exports the public names.

Errors: ``LossInputError`` (ValueError and RuntimeError, like torch's shape/range checks),
``ClassIndexError`` (a class outside [0, C)), ``TargetDtypeError`` (float vs class-index target).
Layouts: ``class_layout`` moves the class dim last, input (N, C, d1, ...) -> (M, C), target -> (M,);
``check_elementwise`` requires target.shape == input.shape (torch's deprecated broadcasting refused).
Reductions: "none" keeps the per-element loss, "sum" adds it up, "mean" divides by the count.
"""

from __future__ import annotations

import numpy as np

from scratch import _checks

REDUCTIONS = ("none", "mean", "sum")


def _quiet():
    """NaN and inf are torch's answers here (0/0 means, log 0): compute them without warnings."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


class LossInputError(ValueError, RuntimeError):
    """Bad loss input: a ValueError, and a RuntimeError like torch's checks (bce range, shapes)."""


class ClassIndexError(IndexError, LossInputError):
    """A target class outside [0, C) (torch: IndexError for nll/cross_entropy, RuntimeError for multi_margin)."""


class TargetDtypeError(TypeError, RuntimeError):
    """A float target where class indices are required, or the reverse (torch: RuntimeError)."""


def check_reduction(reduction, allowed=REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"reduction: expected one of {', '.join(map(repr, allowed))}, got {reduction!r}")
    return reduction


def floats(a, name):
    """An array-like of floats (weights); integer or other dtypes are refused."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name}: expected a float array, got dtype {a.dtype}")
    return a


def weight_as(weight, x2, name):
    """A per-class weight of shape (C,), in the input's dtype (torch requires them equal; scratch casts)."""
    if weight is None:
        return None
    w = floats(weight, f"{name}: weight")
    if w.shape != (x2.shape[1],):
        raise LossInputError(f"{name}: weight expected shape ({x2.shape[1]},), one per class, got {w.shape}")
    return w.astype(x2.dtype, copy=False)


def class_layout(input, target, name, ignore_index=None, allow_probabilities=False, hinge=False):
    """Validate, then move the class dim last: input (M, C), target (M,) int64 (or (M, C) probabilities),
    and the shape of a "none" loss. Returns (x2, t, lead) or (x2, t, lead, soft) with allow_probabilities."""
    x = _checks.as_float_array(input, f"{name} input")
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{name} target: expected a numpy.ndarray, got {type(target).__name__}")
    if x.ndim == 0 or (hinge and x.ndim > 2):
        want = "(C,) or (N, C)" if hinge else "(C,), (N, C) or (N, C, d1, ...)"
        raise LossInputError(f"{name}: expected input of shape {want}, got shape {x.shape}")
    C = x.shape[0] if x.ndim == 1 else x.shape[1]
    soft = allow_probabilities and target.shape == x.shape
    if soft and not np.issubdtype(target.dtype, np.floating):
        raise TargetDtypeError(f"{name}: a target shaped like the input holds class probabilities and "
                               f"must be float, got dtype {target.dtype}")
    if not soft and (target.dtype == bool or not np.issubdtype(target.dtype, np.integer)):
        raise TargetDtypeError(f"{name}: expected an integer (int64) class-index target, got dtype {target.dtype}"
                               + (" (probability targets must have the input's shape)" if allow_probabilities else ""))
    if x.ndim == 1:
        if target.shape not in ((), (1,), x.shape if soft else ()):
            raise LossInputError(f"{name}: a 1-D input (C,) expects a 0-d target, got shape {target.shape}")
        lead = target.shape if hinge else ()
        x2, t = x.reshape(1, C), (target.reshape(1, C) if soft else target.reshape(1))
    else:
        want = x.shape[:1] + x.shape[2:]
        if not soft and target.shape != want:
            raise LossInputError(f"{name}: expected target shape {want} (input {x.shape} without the class dim 1), "
                                 f"got {target.shape}")
        lead = want
        if x.ndim == 2:  # already (M, C)
            x2, t = x, target
        else:
            x2 = np.moveaxis(x, 1, -1).reshape(-1, C)
            t = np.moveaxis(target, 1, -1).reshape(-1, C) if soft else target.reshape(-1)
    if not soft:
        t = t.astype(np.int64, copy=False)  # read only from here on: no copy needed
        # min and max first (two reductions): the four masks below only when some target is out of range
        if t.size and not (t.min() >= 0 and t.max() < C):
            bad = (t < 0) | (t >= C)
            if ignore_index is not None:
                bad &= t != ignore_index
            if bad.any():
                raise ClassIndexError(f"{name}: target {t[bad][0]} is out of bounds: expected a class in [0, {C})"
                                      + (f" or ignore_index={ignore_index}" if ignore_index is not None else ""))
    else:
        t = t.astype(x.dtype, copy=False)
    return (x2, t, lead, soft) if allow_probabilities else (x2, t, lead)


def class_unlayout(g2, input):
    """Inverse of class_layout for a gradient (M, C) -> input's shape."""
    if input.ndim <= 2:
        return g2.reshape(input.shape)
    moved = (input.shape[0],) + input.shape[2:] + (input.shape[1],)
    return np.moveaxis(g2.reshape(moved), -1, 1)


def check_elementwise(input, target, name, reduction, float_target=False, kl=False):
    """Input float, target numeric (float where torch insists) of the same shape; target cast to input's dtype."""
    x = _checks.as_float_array(input, f"{name} input")
    check_reduction(reduction, REDUCTIONS + ("batchmean",) if kl else REDUCTIONS)
    if not isinstance(target, np.ndarray):
        raise TypeError(f"{name} target: expected a numpy.ndarray, got {type(target).__name__}")
    kinds = (np.floating,) if float_target else (np.floating, np.integer)
    if not any(np.issubdtype(target.dtype, k) for k in kinds):
        raise TargetDtypeError(f"{name}: expected a {'float' if float_target else 'numeric'} target, "
                               f"got dtype {target.dtype}")
    if target.shape != x.shape:
        raise LossInputError(f"{name}: expected target shape {x.shape} (the input's), got {target.shape}")
    return x, target.astype(x.dtype, copy=False)


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    with _quiet():
        return np.asarray(loss.sum() if reduction == "sum" else loss.mean(), dtype=loss.dtype)


def _upstream(grad, shape, reduction, dtype, count):
    """dL/d(unreduced loss): grad itself, grad broadcast (sum), or grad / count broadcast (mean)."""
    g = np.asarray(1.0 if grad is None else grad, dtype=dtype)
    if reduction == "none":
        return np.broadcast_to(g, shape)
    with _quiet():
        return np.broadcast_to(g / dtype.type(count) if reduction == "mean" else g, shape)
