"""Class-index losses: nll_loss, cross_entropy, multi_margin_loss and the CS231n hinge, each
forward next to its ``*_backward(grad, ...) -> dL/dinput``.

Shapes: input (N, C), (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or () of int64 class
indices (cross_entropy also takes float probabilities shaped like the input).
"mean" is not always numel:
- nll / cross_entropy with class indices: sum(w[y] * -logp[y]) / sum(w[y]) over kept targets
  (ignore_index dropped; all dropped gives 0/0 = NaN, like torch);
- cross_entropy with probability targets: by numel / C; multi_margin: per sample / C, then by N.
Textbook variant: ``multiclass_hinge_loss`` (CS231n: sum over j != y, no /C, so C x
multi_margin_loss).
Torch twins: nll_loss, cross_entropy, multi_margin_loss.
"""

from __future__ import annotations

import numpy as np

from scratch.nn.functional._loss_checks import (
    LossInputError, _quiet, _upstream, check_reduction, class_layout, class_unlayout, weight_as,
)
from scratch.nn.functional.softmax import log_softmax


# -- class indices: nll_loss and cross_entropy ------------------------------------------------------------

def _picked(x2, t, weight, ignore_index):
    """(keep mask, safe target, w[y] with 0 on dropped rows, x[r, y_r])."""
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    w = keep.astype(x2.dtype) if weight is None else np.where(keep, weight[safe], 0).astype(x2.dtype)
    return keep, safe, w, x2[np.arange(len(t)), safe]


def _nll_core(x2, t, weight, ignore_index, reduction):
    """(loss, total): per row -w[y] x[r, y_r] (0 on dropped rows), reduced; total = sum(w[y])."""
    keep, _, w, x_y = _picked(x2, t, weight, ignore_index)
    per = np.where(keep, -(w * x_y), 0).astype(x2.dtype)
    if reduction != "mean":
        return per if reduction == "none" else np.asarray(per.sum(), x2.dtype), w.sum()
    with _quiet():  # no kept rows: 0 / 0 = NaN, like torch
        return np.asarray(per.sum() / w.sum(), x2.dtype), w.sum()


def _nll_core_backward(g_rows, x2, t, weight, ignore_index, reduction):
    """dL/dx2 of _nll_core: -(g / total) * w[y] at (r, y_r) on kept rows (torch's order of operations)."""
    keep, safe, w, _ = _picked(x2, t, weight, ignore_index)
    with _quiet():
        coef = -(g_rows / w.sum()) if reduction == "mean" else -g_rows
        vals = np.where(keep, coef * w if weight is not None else coef, 0).astype(x2.dtype)
    G = np.zeros_like(x2)
    G[np.arange(len(t)), safe] = vals  # one entry per row
    return G


def _row_grads(grad, x2):
    """dL/dloss_r for every row: g broadcast to (M,)."""
    return np.broadcast_to(np.asarray(1.0 if grad is None else grad, x2.dtype).reshape(-1), (len(x2),))


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[y] * input[y] per sample (input holds log-probabilities along dim 1)."""
    x2, t, lead = class_layout(input, target, "nll_loss", ignore_index)
    check_reduction(reduction)
    w = weight_as(weight, x2, "nll_loss")
    loss, _ = _nll_core(x2, t, w, ignore_index, reduction)
    return loss.reshape(lead) if reduction == "none" else loss


def nll_loss_backward(grad, input, target, weight=None, ignore_index=-100, reduction="mean"):
    x2, t, lead = class_layout(input, target, "nll_loss", ignore_index)
    w = weight_as(weight, x2, "nll_loss")
    return class_unlayout(_nll_core_backward(_row_grads(grad, x2), x2, t, w, ignore_index, reduction), input)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dim (max-shifted), then nll_loss; or, for a float target shaped
    like input (probabilities), -sum_c w_c t'_c logp_c with t' = (1 - eps) t + eps / C.
    Class indices with eps > 0: (1 - eps) nll + eps / C * sum_c w_c (-logp_c), both over sum(w[y])."""
    x2, t, lead, soft = class_layout(input, target, "cross_entropy", ignore_index, True)
    check_reduction(reduction)
    _check_smoothing(label_smoothing, soft, ignore_index)
    w = weight_as(weight, x2, "cross_entropy")
    logp = log_softmax(x2, 1)
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
    """dL/dinput = G - softmax * sum_c G, G = dL/dlogp (log_softmax's backward), softmax = exp(logp)."""
    x2, t, lead, soft = class_layout(input, target, "cross_entropy", ignore_index, True)
    w = weight_as(weight, x2, "cross_entropy")
    logp = log_softmax(x2, 1)
    C, eps = x2.shape[1], float(label_smoothing)
    g = _row_grads(grad, x2)
    if soft:
        tp = t * (1 - eps) + eps / C if eps > 0 else t
        gm = -(g / x2.dtype.type(len(x2))) if reduction == "mean" else -g
        G = (gm[:, None] * (w if w is not None else 1)) * tp
    else:
        G = _nll_core_backward(g * (1 - eps) if eps > 0 else g, logp, t, w, ignore_index, reduction)
        if eps > 0:
            total = _picked(x2, t, w, ignore_index)[2].sum()
            with _quiet():
                gs = g * (eps / C)
                gs = np.where(t != ignore_index, gs / total if reduction == "mean" else gs, 0)
                G = G + (-(gs[:, None] * w) if w is not None else -gs[:, None])
    with _quiet():
        gx = G - np.exp(logp) * G.sum(axis=1, keepdims=True)
    return class_unlayout(gx.astype(x2.dtype, copy=False), input)


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
