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


# -- class indices: nll_loss and cross_entropy ------------------------------------------------------------

def _log_softmax(x2):
    z = np.subtract(x2, x2.max(axis=1, keepdims=True))  # one buffer, updated in place
    return np.subtract(z, np.log(np.exp(z).sum(axis=1, keepdims=True)), out=z)


def _picked(x2, t, weight, ignore_index):
    """(keep mask, safe target, w[y] with 0 on dropped rows, x[r, y_r])."""
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    # keep as 0/1 is the unit weight with 0 on dropped rows; plain (row, class) indexing: take_along_axis
    # builds broadcast index arrays first, several times the cost for one element per row
    w = keep.astype(x2.dtype) if weight is None else np.where(keep, weight[safe], 0).astype(x2.dtype)
    return keep, safe, w, x2[np.arange(len(t)), safe]


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
    G[np.arange(len(t)), safe] = vals  # one entry per row (put_along_axis's result, without its index arrays)
    return G


def _plain(t, w, ignore_index, eps=0.0):
    """The common case, which skips the masks and weights: no weight, no smoothing, no target ignored."""
    return w is None and eps == 0 and not (t == ignore_index).any()


def _row_grads(grad, x2, reduction, total):
    """c = dL/dloss_r, divided by sum(w[y]) for "mean" (torch's order: g / total): shape (1,) (broadcasts
    over the rows) or (M,) for "none"."""
    g = np.asarray(1.0 if grad is None else grad, x2.dtype).reshape(-1)
    if reduction != "mean":
        return g
    with _quiet():  # no rows: total = 0
        return g / total


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean", *, _keep=None):
    """-w[y] * input[y] per sample (input holds log-probabilities along dim 1).
    ``_keep``: a dict that receives sum(w[y]) as "total" (NLLLoss hands it to backward)."""
    x2, t, lead = class_layout(input, target, "nll_loss", ignore_index)
    check_reduction(reduction)
    w = weight_as(weight, x2, "nll_loss")
    if _plain(t, w, ignore_index):
        # every w[y] is 1: per = -x[r, y_r] and sum(w[y]) = M, the bits _nll_core gives (1 x v is exact,
        # and a float sum of M ones is exactly M below 2^24 rows) without its masks, np.where and casts;
        # with class_layout's short path, forward + backward 84 -> 41 us for float32 (512, 100)
        per, total = np.negative(x2[np.arange(len(t)), t]), x2.dtype.type(len(t))
        if reduction == "none":
            loss = per.reshape(lead)
        else:
            with _quiet():  # no rows: 0 / 0 = NaN, like torch
                loss = np.asarray(per.sum() / total if reduction == "mean" else per.sum(), x2.dtype)
    else:
        loss, total = _nll_core(x2, t, w, ignore_index, reduction)
        loss = loss.reshape(lead) if reduction == "none" else loss
    if _keep is not None:
        _keep["total"] = total
    return loss


def nll_loss_backward(grad, input, target, weight=None, ignore_index=-100, reduction="mean", *, _total=None):
    """``_total``: sum(w[y]) kept from forward (nll_loss's ``_keep``), not recomputed."""
    x2, t, lead = class_layout(input, target, "nll_loss", ignore_index)
    w = weight_as(weight, x2, "nll_loss")
    total = _nll_core(x2, t, w, ignore_index, reduction)[1] if _total is None else _total
    if _plain(t, w, ignore_index):  # one -c_r per row at its target, nothing masked
        G = np.zeros_like(x2)
        G[np.arange(len(t)), t] = np.negative(_row_grads(grad, x2, reduction, total))
        return class_unlayout(G, input)
    g = np.broadcast_to(np.asarray(1.0 if grad is None else grad, x2.dtype).reshape(-1), (len(t),))
    return class_unlayout(_nll_core_backward(g, x2, t, w, ignore_index, reduction, total), input)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, *,
                  _keep=None):
    """log_softmax over the class dim (max-shifted), then nll_loss; or, for a float target shaped
    like input (probabilities), -sum_c w_c t'_c logp_c with t' = (1 - eps) t + eps / C.
    Class indices with eps > 0: (1 - eps) nll + eps / C * sum_c w_c (-logp_c), both over sum(w[y]).
    ``_keep``: a dict that receives what backward needs (CrossEntropyLoss hands it over): log_softmax(input)
    as "logp" and sum(w[y]) as "total"; in the plain case (see ``_plain_cross_entropy``) exp(x - max) as
    "exp", its row sums as "sum", the rows, targets and "total"."""
    x2, t, lead, soft = class_layout(input, target, "cross_entropy", ignore_index, True)
    check_reduction(reduction)
    _check_smoothing(label_smoothing, soft, ignore_index)
    w = weight_as(weight, x2, "cross_entropy")
    if not soft and _plain(t, w, ignore_index, label_smoothing):
        return _plain_cross_entropy(x2, t, lead, reduction, _keep)
    logp = _log_softmax(x2)
    if _keep is not None:
        _keep["logp"] = logp
    C, eps = x2.shape[1], float(label_smoothing)
    if soft:
        tp = t * (1 - eps) + eps / C if eps > 0 else t
        per = -((logp * tp) * (w if w is not None else 1)).sum(axis=1).astype(x2.dtype)
        return per.reshape(lead) if reduction == "none" else _sum_or_mean(per, reduction, per.size)
    nll, total = _nll_core(logp, t, w, ignore_index, reduction)
    if _keep is not None:
        _keep["total"] = total
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
                           label_smoothing=0.0, *, _kept=None):
    """dL/dinput = G - softmax * sum_c G, G = dL/dlogp (log_softmax's backward), softmax = exp(logp).
    ``_kept``: cross_entropy's ``_keep`` dict (log_softmax(input) and sum(w[y]), or the plain case's
    exp(shifted input) and row sums), so nothing is recomputed."""
    if not _kept:  # called on its own (or after a forward that raised): recompute what forward keeps
        _kept = {}
        cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing, _keep=_kept)
    if "exp" in _kept:
        return _plain_cross_entropy_backward(grad, input, reduction, _kept)
    x2, t, lead, soft = class_layout(input, target, "cross_entropy", ignore_index, True)
    w = weight_as(weight, x2, "cross_entropy")
    logp = _kept["logp"]
    C, eps = x2.shape[1], float(label_smoothing)
    g = np.broadcast_to(np.asarray(1.0 if grad is None else grad, x2.dtype).reshape(-1), (len(x2),))
    if soft:
        tp = t * (1 - eps) + eps / C if eps > 0 else t
        gm = -(g / x2.dtype.type(len(x2))) if reduction == "mean" else -g
        G = (gm[:, None] * (w if w is not None else 1)) * tp
    else:
        total = _kept["total"]
        G = _nll_core_backward(g * (1 - eps) if eps > 0 else g, logp, t, w, ignore_index, reduction, total)
        if eps > 0:
            with _quiet():
                gs = g * (eps / C)
                gs = np.where(t != ignore_index, gs / total if reduction == "mean" else gs, 0)
                G = G + (-(gs[:, None] * w) if w is not None else -gs[:, None])
    with _quiet():
        gx = np.exp(logp)  # the softmax, one buffer for the rest
        np.multiply(gx, G.sum(axis=1, keepdims=True), out=gx)
        np.subtract(G, gx, out=gx)
    return class_unlayout(gx.astype(x2.dtype, copy=False), input)


# The plain case (class indices, no weight, no smoothing, no target ignored): forward keeps e = exp(x - max)
# and its row sums s, and backward is one fused pass, dL/dx = (e / s - onehot(y)) c with c = g / M for
# "mean": e (c / s) over the matrix, then c subtracted at each row's target. The general path builds
# G = onehot(y) c, takes exp(logp) again (a second exp: 24 us float32, 98 us float64) and row sums of G,
# and forms logp over the whole matrix where the loss needs it at the targets only. Forward + backward
# 276 -> 142 us for float32 (512, 100), 422 -> 195 us for float64. The loss keeps the general path's
# bits; the gradient differs from it by rounding only (e / s instead of exp(logp): a few ulps of c).

def _plain_cross_entropy(x2, t, lead, reduction, keep):
    """nll(log_softmax(x2)) for the plain case: logp is only needed at the targets, logp[r, y_r] =
    z[r, y_r] - log s_r with z = x - max, the same operation _log_softmax does on the whole row."""
    z = np.subtract(x2, x2.max(axis=1, keepdims=True))
    rows = np.arange(len(t))
    z_y = z[rows, t]
    e = np.exp(z, out=z)
    s = e.sum(axis=1)
    per = np.negative(np.subtract(z_y, np.log(s), out=z_y))
    total = x2.dtype.type(len(t))  # sum(w[y]) with every w[y] = 1 (exact: a float sum of ones below 2^24)
    if keep is not None:
        keep.update(exp=e, sum=s, rows=rows, t=t, total=total)
    if reduction == "none":
        return per.reshape(lead)
    with _quiet():  # no rows: 0 / 0 = NaN, like torch
        return np.asarray(per.sum() / total if reduction == "mean" else per.sum(), x2.dtype)


def _plain_cross_entropy_backward(grad, input, reduction, kept):
    """(softmax - onehot(y)) c from what _plain_cross_entropy kept."""
    e = kept["exp"]
    c = _row_grads(grad, e, reduction, kept["total"])
    gx = np.multiply(e, (c / kept["sum"])[:, None])  # sum >= 1 (the max's own term) or NaN: no warning
    gx[kept["rows"], kept["t"]] -= c
    return class_unlayout(gx, input)


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
