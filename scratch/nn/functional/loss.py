"""Loss kernels, the NumPy side of torch.nn.functional's losses: each forward next to its
``*_backward(grad, ...) -> dL/dinput``.

``reduction``: "none" keeps the per-element (or per-sample) loss; "sum" adds it up; "mean"
divides by the element count, except where torch divides by something else:
- nll / cross_entropy with class indices: sum(w[y] * -logp[y]) / sum(w[y]) over kept targets
  (ignore_index dropped; all dropped gives 0/0 = NaN, like torch);
- cross_entropy with probability targets: by numel / C; multi_margin: per sample / C, then by N;
- kl_div "batchmean": by input.shape[0].
Class-index shapes: input (N, C), (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or ().
Elementwise losses: target.shape == input.shape (torch's deprecated broadcasting is refused).
Textbook variants: ``multiclass_hinge_loss`` (CS231n: sum over j != y, no /C, so C x
multi_margin_loss) and ``half_sum_of_squares`` (1/2 sum (x - y)^2 = N*D/2 x mse_loss mean).
Torch twins: nll_loss, cross_entropy, multi_margin_loss, mse_loss, l1_loss, smooth_l1_loss,
huber_loss, binary_cross_entropy(_with_logits), kl_div.
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
        x2 = np.moveaxis(x, 1, -1).reshape(-1, C)
        t = np.moveaxis(target, 1, -1).reshape(-1, C) if soft else target.reshape(-1)
    if not soft:
        t = t.astype(np.int64)
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
    if input.ndim == 1:
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


# -- class indices: nll_loss and cross_entropy ------------------------------------------------------------

def _log_softmax(x2):
    z = x2 - x2.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _picked(x2, t, weight, ignore_index):
    """(keep mask, safe target, w[y] with 0 on dropped rows, x[r, y_r])."""
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    w = np.ones(len(t), x2.dtype) if weight is None else weight[safe]
    return keep, safe, np.where(keep, w, 0).astype(x2.dtype), np.take_along_axis(x2, safe[:, None], 1)[:, 0]


def _nll_core(x2, t, weight, ignore_index, reduction):
    keep, _, w, x_y = _picked(x2, t, weight, ignore_index)
    per = np.where(keep, -(w * x_y), 0).astype(x2.dtype)
    if reduction != "mean":
        return per if reduction == "none" else np.asarray(per.sum(), x2.dtype), w.sum()
    with _quiet():
        return np.asarray(per.sum() / w.sum(), x2.dtype), w.sum()


def _nll_core_backward(g_rows, x2, t, weight, ignore_index, reduction, total):
    """dL/dx2 of _nll_core: -(g / total) * w[y] at (r, y_r) on kept rows (torch's order of operations)."""
    keep, safe, w, _ = _picked(x2, t, weight, ignore_index)
    with _quiet():
        coef = -(g_rows / total) if reduction == "mean" else -g_rows
        vals = np.where(keep, coef * w if weight is not None else coef, 0).astype(x2.dtype)
    G = np.zeros_like(x2)
    np.put_along_axis(G, safe[:, None], vals[:, None], 1)
    return G


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[y] * input[y] per sample (input holds log-probabilities along dim 1)."""
    x2, t, lead = class_layout(input, target, "nll_loss", ignore_index)
    check_reduction(reduction)
    loss, _ = _nll_core(x2, t, weight_as(weight, x2, "nll_loss"), ignore_index, reduction)
    return loss.reshape(lead) if reduction == "none" else loss


def nll_loss_backward(grad, input, target, weight=None, ignore_index=-100, reduction="mean"):
    x2, t, lead = class_layout(input, target, "nll_loss", ignore_index)
    w = weight_as(weight, x2, "nll_loss")
    _, total = _nll_core(x2, t, w, ignore_index, reduction)
    g = np.broadcast_to(np.asarray(1.0 if grad is None else grad, x2.dtype).reshape(-1), (len(t),))
    return class_unlayout(_nll_core_backward(g, x2, t, w, ignore_index, reduction, total), input)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dim (max-shifted), then nll_loss; or, for a float target shaped
    like input (probabilities), -sum_c w_c t'_c logp_c with t' = (1 - eps) t + eps / C.
    Class indices with eps > 0: (1 - eps) nll + eps / C * sum_c w_c (-logp_c), both over sum(w[y])."""
    x2, t, lead, soft = class_layout(input, target, "cross_entropy", ignore_index, True)
    check_reduction(reduction)
    _check_smoothing(label_smoothing, soft, ignore_index)
    w = weight_as(weight, x2, "cross_entropy")
    logp = _log_softmax(x2)
    C, eps = x2.shape[1], float(label_smoothing)
    if soft:
        tp = t * (1 - eps) + eps / C if eps > 0 else t
        per = -((logp * tp) * (w if w is not None else 1)).sum(axis=1).astype(x2.dtype)
        return per.reshape(lead) if reduction == "none" else _sum_or_mean(per, reduction, per.size)
    nll, total = _nll_core(logp, t, w, ignore_index, reduction)
    if eps <= 0:  # torch takes the plain path: no smoothing term at all
        return nll.reshape(lead) if reduction == "none" else nll
    keep = t != ignore_index
    smooth = np.where(keep, -(logp * w).sum(axis=1) if w is not None else -logp.sum(axis=1), 0).astype(x2.dtype)
    with _quiet():
        ret = smooth if reduction == "none" else np.asarray(smooth.sum(), x2.dtype)
        ret = ret / total if reduction == "mean" else ret
        out = ((1 - eps) * nll + ret * (eps / C)).astype(x2.dtype)
    return out.reshape(lead) if reduction == "none" else out


def cross_entropy_backward(grad, input, target, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0):
    """dL/dinput = G - softmax * sum_c G, G = dL/dlogp (log_softmax's backward)."""
    x2, t, lead, soft = class_layout(input, target, "cross_entropy", ignore_index, True)
    w = weight_as(weight, x2, "cross_entropy")
    logp = _log_softmax(x2)
    C, eps = x2.shape[1], float(label_smoothing)
    g = np.broadcast_to(np.asarray(1.0 if grad is None else grad, x2.dtype).reshape(-1), (len(x2),))
    if soft:
        tp = t * (1 - eps) + eps / C if eps > 0 else t
        gm = -(g / x2.dtype.type(len(x2))) if reduction == "mean" else -g
        G = (gm[:, None] * (w if w is not None else 1)) * tp
    else:
        _, total = _nll_core(logp, t, w, ignore_index, reduction)
        G = _nll_core_backward(g * (1 - eps) if eps > 0 else g, logp, t, w, ignore_index, reduction, total)
        if eps > 0:
            with _quiet():
                gs = g * (eps / C)
                gs = np.where(t != ignore_index, gs / total if reduction == "mean" else gs, 0)
                G = G + (-(gs[:, None] * w) if w is not None else -gs[:, None])
    with _quiet():
        gx = G - np.exp(logp) * G.sum(axis=1, keepdims=True)
    return class_unlayout(gx.astype(x2.dtype), input)


def _sum_or_mean(per, reduction, count):
    with _quiet():
        s = per.sum()
        return np.asarray(s / per.dtype.type(count) if reduction == "mean" else s, per.dtype)


def _check_smoothing(eps, soft, ignore_index):
    if not 0.0 <= eps <= 1.0:
        raise LossInputError(f"cross_entropy: label_smoothing expected a value in [0.0, 1.0], got {eps}")
    if soft and ignore_index >= 0:
        raise LossInputError(f"cross_entropy: ignore_index is not supported for probability (float) targets, "
                             f"got ignore_index={ignore_index}")


# -- multi_margin_loss (SVM hinge) and the CS231n textbook hinge -------------------------------------------

def _margins(input, target, margin, name):
    x2, t, lead = class_layout(input, target, name, hinge=True)
    x_y = np.take_along_axis(x2, t[:, None], 1)
    z = (x2.dtype.type(margin) - x_y) + x2          # torch's order: margin - x[y] + x[i]
    active = z > 0
    np.put_along_axis(active, t[:, None], False, 1)  # i == y never counts
    return x2, t, lead, z, active


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """sum_{i != y} w[y] * max(0, margin - x[y] + x[i])^p / C per sample; p in {1, 2}."""
    _check_p(p)
    check_reduction(reduction)
    x2, t, lead, z, active = _margins(input, target, margin, "multi_margin_loss")
    w = weight_as(weight, x2, "multi_margin_loss")
    h = np.where(active, z if p == 1 else z * z, 0)
    h = h * w[t][:, None] if w is not None else h
    per = (h.sum(axis=1) / x2.dtype.type(x2.shape[1])).astype(x2.dtype)
    return per.reshape(lead) if reduction == "none" else _sum_or_mean(per, reduction, per.size)


def multi_margin_loss_backward(grad, input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    x2, t, lead, z, active = _margins(input, target, margin, "multi_margin_loss")
    w = weight_as(weight, x2, "multi_margin_loss")
    N, C = x2.shape
    g0 = x2.dtype.type(1.0 / (N * C) if reduction == "mean" else 1.0 / C)  # torch forms 1/(N C) in double
    h = np.where(active, g0 if p == 1 else 2 * g0 * z, 0).astype(x2.dtype)
    h = h * w[t][:, None] if w is not None else h
    np.put_along_axis(h, t[:, None], -h.sum(axis=1, keepdims=True), 1)
    g = np.asarray(1.0 if grad is None else grad, x2.dtype).reshape(-1)
    return class_unlayout((h * g[:, None]).astype(x2.dtype), input)


def multiclass_hinge_loss(scores, y, delta=1.0, reduction="mean"):
    """CS231n's SVM loss, written from its definition: L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + delta),
    then the mean over N. No division by C: it is C x multi_margin_loss(p=1, margin=delta)."""
    _, _, lead, z, active = _margins(scores, y, delta, "multiclass_hinge_loss")
    per = np.where(active, z, 0).sum(axis=1).astype(z.dtype)
    return per.reshape(lead) if reduction == "none" else _sum_or_mean(per, check_reduction(reduction), per.size)


def multiclass_hinge_loss_backward(grad, scores, y, delta=1.0, reduction="mean"):
    """dL_i/ds_j = 1[margin_j > 0] for j != y_i, dL_i/ds_{y_i} = -(number of positive margins)."""
    x2, t, _, _, active = _margins(scores, y, delta, "multiclass_hinge_loss")
    d = active.astype(x2.dtype)
    np.put_along_axis(d, t[:, None], -d.sum(axis=1, keepdims=True), 1)
    g = _upstream(grad, (len(t),), check_reduction(reduction), x2.dtype, len(t)).reshape(-1, 1)
    return class_unlayout((d * g).astype(x2.dtype), scores)


def _check_p(p):
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got p={p!r}")


# -- elementwise regression losses ------------------------------------------------------------------------

def mse_loss(input, target, reduction="mean"):
    x, y = check_elementwise(input, target, "mse_loss", reduction)
    d = x - y
    return _reduce(d * d, reduction)


def mse_loss_backward(grad, input, target, reduction="mean"):
    x, y = check_elementwise(input, target, "mse_loss", reduction)
    norm = x.dtype.type(2.0 / max(x.size, 1) if reduction == "mean" else 2.0)  # torch: norm * (x - y) * g
    return (norm * (x - y) * np.asarray(1.0 if grad is None else grad, x.dtype)).astype(x.dtype)


def half_sum_of_squares(input, target):
    """The textbook 1/2 sum (x - y)^2: N*D/2 x mse_loss(reduction="mean") for an (N, D) input."""
    x, y = check_elementwise(input, target, "half_sum_of_squares", "sum")
    d = x - y
    return np.asarray(0.5 * (d * d).sum(), x.dtype)


def half_sum_of_squares_backward(grad, input, target):
    x, y = check_elementwise(input, target, "half_sum_of_squares", "sum")
    return ((x - y) * np.asarray(1.0 if grad is None else grad, x.dtype)).astype(x.dtype)


def l1_loss(input, target, reduction="mean"):
    x, y = check_elementwise(input, target, "l1_loss", reduction)
    return _reduce(np.abs(x - y), reduction)


def l1_loss_backward(grad, input, target, reduction="mean"):
    """sign(x - y) * g: 0 exactly where x == y (abs'(0) = 0 in torch)."""
    x, y = check_elementwise(input, target, "l1_loss", reduction)
    return (np.sign(x - y) * _upstream(grad, x.shape, reduction, x.dtype, x.size)).astype(x.dtype)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """|d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta, d = x - y; beta = 0 is l1_loss (torch's dispatch)."""
    _check_positive(beta, "smooth_l1_loss", "beta", allow_zero=True)
    if beta == 0:
        return l1_loss(input, target, reduction)
    x, y = check_elementwise(input, target, "smooth_l1_loss", reduction)
    z, b = np.abs(x - y), x.dtype.type(beta)
    with _quiet():  # a beta that rounds to 0 in float32: the quadratic branch is never taken
        return _reduce(np.where(z < b, 0.5 * z * z / b, z - 0.5 * b).astype(x.dtype), reduction)


def _norm_and_grad(grad, x, reduction):
    """torch's elementwise backward kernels: norm = 1/numel for mean (1 otherwise), times g."""
    norm = x.dtype.type(1.0 / max(x.size, 1) if reduction == "mean" else 1.0)
    return norm, np.asarray(1.0 if grad is None else grad, x.dtype)


def smooth_l1_loss_backward(grad, input, target, reduction="mean", beta=1.0):
    """-norm g for d <= -beta, norm g for d >= beta, norm d g / beta between (torch's kernel and
    order). A beta > 0 that rounds to 0 in the input's dtype: sign(d) norm g, so 0 at d == 0 (the
    math, and torch's scalar path; its float32 SIMD lanes give -norm g there, machine-dependent)."""
    _check_positive(beta, "smooth_l1_loss", "beta", allow_zero=True)
    if beta == 0:
        return l1_loss_backward(grad, input, target, reduction)
    x, y = check_elementwise(input, target, "smooth_l1_loss", reduction)
    d, b = x - y, x.dtype.type(beta)
    norm, g = _norm_and_grad(grad, x, reduction)
    if b == 0:
        return (np.sign(d) * norm * g).astype(x.dtype)
    return np.where(d <= -b, -norm * g, np.where(d >= b, norm * g, norm * d * g / b)).astype(x.dtype)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """|d| < delta ? 0.5 d^2 : delta (|d| - 0.5 delta) = delta x smooth_l1(beta=delta)."""
    _check_positive(delta, "huber_loss", "delta")
    x, y = check_elementwise(input, target, "huber_loss", reduction)
    z, dl = np.abs(x - y), x.dtype.type(delta)
    return _reduce(np.where(z < dl, 0.5 * z * z, dl * (z - 0.5 * dl)).astype(x.dtype), reduction)


def huber_loss_backward(grad, input, target, reduction="mean", delta=1.0):
    """-norm g delta for d <= -delta, norm g delta for d >= delta, norm d g between (torch's order)."""
    _check_positive(delta, "huber_loss", "delta")
    x, y = check_elementwise(input, target, "huber_loss", reduction)
    d, dl = x - y, x.dtype.type(delta)
    norm, g = _norm_and_grad(grad, x, reduction)
    return np.where(d <= -dl, -norm * g * dl, np.where(d >= dl, norm * g * dl, norm * d * g)).astype(x.dtype)


def _check_positive(v, name, what, allow_zero=False):
    if not (v >= 0 if allow_zero else v > 0):
        raise LossInputError(f"{name}: {what} expected {'>= 0' if allow_zero else '> 0'}, got {v}")


# -- binary cross-entropy ---------------------------------------------------------------------------------

_LOG_FLOOR = -100.0              # torch clamps each log at -100
_BCE_EPSILON = np.float32(1e-12)  # backward floors x(1-x) here; torch's constant is a float: 9.9999999600e-13


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w [y max(log x, -100) + (1 - y) max(log1p(-x), -100)]; x and y must lie in [0, 1]."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy", reduction)
    with _quiet():
        loss = (y - 1) * np.maximum(np.log1p(-x), _LOG_FLOOR) - y * np.maximum(np.log(x), _LOG_FLOOR)
    return _reduce((loss * w if w is not None else loss).astype(x.dtype), reduction)


def binary_cross_entropy_backward(grad, input, target, weight=None, reduction="mean"):
    """g (x - y) / max(x (1 - x), 1e-12) * w, then / numel for mean (torch's order)."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy", reduction)
    g = np.broadcast_to(np.asarray(1.0 if grad is None else grad, x.dtype), x.shape)
    gx = g * (x - y) / np.maximum((1 - x) * x, x.dtype.type(_BCE_EPSILON))
    gx = gx * w if w is not None else gx
    return (gx / x.dtype.type(x.size) if reduction == "mean" else gx).astype(x.dtype)


def _softplus(x):
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """w [(1 - y) softplus(x) + pw y softplus(-x)]: the softplus form never cancels, finite at |x| = 1e4
    (it equals torch's (1 - y) x - (1 + (pw - 1) y) log_sigmoid(x))."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy_with_logits", reduction, check_range=False)
    pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
    pos = y * pw if pw is not None else y
    loss = ((1 - y) * _softplus(x) + pos * _softplus(-x)).astype(x.dtype)
    return _reduce(loss * w if w is not None else loss, reduction)


def binary_cross_entropy_with_logits_backward(grad, input, target, weight=None, reduction="mean", pos_weight=None):
    """g w [(1 - y) sigmoid(x) - pw y sigmoid(-x)] (/ numel for mean)."""
    x, y, w = _bce_args(input, target, weight, "binary_cross_entropy_with_logits", reduction, check_range=False)
    pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
    pos = y * pw if pw is not None else y
    g = np.broadcast_to(np.asarray(1.0 if grad is None else grad, x.dtype), x.shape)
    gx = ((1 - y) * _sigmoid(x) - pos * _sigmoid(-x)) * g
    gx = gx * w if w is not None else gx
    return (gx / x.dtype.type(x.size) if reduction == "mean" else gx).astype(x.dtype)


def _broadcast_weight(weight, x, name, what="weight"):
    """A weight that broadcasts to input's shape without enlarging it (torch's rule), in input's dtype."""
    if weight is None:
        return None
    w = floats(weight, f"{name}: {what}").astype(x.dtype, copy=False)
    try:
        if np.broadcast_shapes(w.shape, x.shape) == x.shape:
            return w
    except ValueError:
        pass
    raise LossInputError(f"{name}: {what} of shape {w.shape} expected to broadcast to the input's shape {x.shape}")


def _bce_args(input, target, weight, name, reduction, check_range=True):
    x, y = check_elementwise(input, target, name, reduction, float_target=True)
    if check_range:
        for a, what in ((x, "input"), (y, "target")):
            if not ((a >= 0) & (a <= 1)).all():  # NaN fails too, like torch
                bad = a[~((a >= 0) & (a <= 1))].flat[0]
                raise LossInputError(f"{name}: all elements of {what} should be between 0 and 1, found {bad}")
    return x, y, _broadcast_weight(weight, x, name)


# -- KL divergence ----------------------------------------------------------------------------------------

def kl_div(input, target, reduction="mean", log_target=False):
    """input = log q; pointwise t (log t - input) with 0 where t == 0 (xlogy), or
    exp(t) (t - input) when log_target. "mean" divides by numel, "batchmean" by input.shape[0]."""
    x, t = check_elementwise(input, target, "kl_div", reduction, float_target=True, kl=True)
    with _quiet():
        if log_target:
            loss = np.exp(t) * (t - x)
        else:
            loss = np.where(t == 0, 0, t * np.log(np.where(t == 0, 1, t))) - t * x
        loss = loss.astype(x.dtype)
        if reduction == "batchmean":
            s = loss.sum()
            return np.asarray(s / x.dtype.type(x.shape[0]) if x.ndim else s, x.dtype)
    return _reduce(loss, reduction)


def kl_div_backward(grad, input, target, reduction="mean", log_target=False):
    """-t * g (or -exp(t) * g), g divided by numel ("mean") or input.shape[0] ("batchmean")."""
    x, t = check_elementwise(input, target, "kl_div", reduction, float_target=True, kl=True)
    count = x.size if reduction == "mean" else (x.shape[0] if x.ndim else 1)
    g = _upstream(grad, x.shape, "mean" if reduction == "batchmean" else reduction, x.dtype, count)
    with _quiet():
        return (-g * (np.exp(t) if log_target else t)).astype(x.dtype)
