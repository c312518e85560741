"""Correct losses written differently from scratch's: the verifier must pass every one.

- ``LogaddexpCrossEntropy``: every target kind through one coefficient array A, loss_i =
  -sum_c A[i, c] logp[i, c] with logp = z - logaddexp.reduce(z), z = x - max; dL/dx = G - p sum G,
  G = -A * scale (scratch: an NLL core plus a separate smoothing term). The wrong
  cross-entropies in ``losses`` are one-method mutations of it.
- ``SoftplusBCEWithLogits``: (1 - y) softplus(x) + pw y softplus(-x) with softplus(z) =
  logaddexp(0, z) (scratch and torch: (1 - y) x + (1 + (pw - 1) y) (log1p(exp(-|x|)) + max(-x, 0))).
- ``MaskedMultiMargin``: the hinge over all classes with the true class masked out by a boolean
  array (scratch: a scatter of the true scores).
- ``HuberFromSmoothL1``: Huber(delta) = delta * SmoothL1(beta=delta) (scratch: Huber's own branches).
All standalone; the class-dim layout is handled by moving dim 1 last.
"""

from __future__ import annotations

import numpy as np

from tests.catalog import correct


class _UserLoss:
    """forward(input, target) caches; backward(grad=None) = dL/dinput with ones by default."""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def __call__(self, x, t):
        return self.forward(x, t)

    def _reduce(self, per, denom=None):
        if self.reduction == "none":
            return per
        s = per.sum()
        with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 = NaN is torch's answer
            return np.asarray(s / (per.size if denom is None else denom) if self.reduction == "mean" else s,
                              dtype=per.dtype)

    def _scale(self, grad, shape, dtype, denom=None):
        """dL/d(per-element loss) for the reduction: g, or g / count for "mean"."""
        g = np.ones(shape if self.reduction == "none" else (), dtype) if grad is None else np.asarray(grad, dtype)
        if self.reduction == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):
                g = g / (int(np.prod(shape)) if denom is None else denom)
        return np.broadcast_to(g, shape)


class LogaddexpCrossEntropy(_UserLoss):
    """CrossEntropyLoss through one coefficient array (module doc); hooks: ``log_softmax``,
    ``coefficients``, ``denominator``."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(reduction)
        self.weight, self.ignore_index, self.eps = weight, ignore_index, label_smoothing

    @staticmethod
    def log_softmax(x):
        z = x - x.max(axis=-1, keepdims=True)
        return z - np.logaddexp.reduce(z, axis=-1, keepdims=True)

    def coefficients(self, t, soft, w):
        """A[..., c]: the loss of one position is -sum_c A[c] logp[c]."""
        C, eps = w.size, self.eps
        if soft:
            return w * ((1 - eps) * t + eps / C)
        valid = (t != self.ignore_index)[..., None]
        onehot = np.arange(C) == np.where(valid[..., 0], t, 0)[..., None]
        return np.where(valid, (1 - eps) * w * onehot + (eps / C) * w, 0)

    def denominator(self, t, soft, w):
        """What "mean" divides by: the positions for probabilities, sum of w[y] over kept targets otherwise."""
        if soft:
            return t.size // w.size
        kept = t != self.ignore_index
        return w[np.where(kept, t, 0)][kept].sum()

    def forward(self, x, t):
        one = x.ndim == 1
        soft = t.shape == x.shape and np.issubdtype(t.dtype, np.floating)
        xl = np.moveaxis(x[None] if one else x, 1, -1)
        tl = np.moveaxis(t[None] if one else t, 1, -1) if soft else (t[None] if one else t)
        w = np.ones(xl.shape[-1], x.dtype) if self.weight is None else self.weight.astype(x.dtype)
        logp = self.log_softmax(xl)
        A = self.coefficients(tl, soft, w).astype(x.dtype)
        self._cache = (x.shape, one, logp, A, self.denominator(tl, soft, w),
                       np.ones(tl.shape[:-1] if soft else tl.shape, bool) if soft else tl != self.ignore_index)
        per = -(A * logp).sum(axis=-1)
        out = self._reduce(per, self._cache[4])
        return out.reshape(()) if one and self.reduction == "none" else out

    def backward(self, grad=None):
        shape, one, logp, A, denom, valid = self._cache
        g = None if grad is None else np.asarray(grad).reshape(logp.shape[:-1] if self.reduction == "none" else ())
        scale = self._scale(g, logp.shape[:-1], logp.dtype, denom)
        with np.errstate(invalid="ignore"):  # 0 * inf where every weight is 0: torch's NaN
            G = np.where(valid[..., None], -A * scale[..., None], 0)
            gx = G - np.exp(logp) * G.sum(axis=-1, keepdims=True)
        gx = np.moveaxis(gx, -1, 1)
        return (gx[0] if one else gx).astype(logp.dtype)


class SoftplusBCEWithLogits(_UserLoss):
    """BCEWithLogitsLoss as w [(1 - y) softplus(x) + pw y softplus(-x)]; dL/dx = w [(1 - y) s - pw y (1 - s)]."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, x, y):
        pw = 1 if self.pos_weight is None else self.pos_weight.astype(x.dtype)
        w = 1 if self.weight is None else self.weight.astype(x.dtype)
        self._cache = (x, y, pw, w)
        per = w * ((1 - y) * np.logaddexp(0, x) + pw * y * np.logaddexp(0, -x))
        return self._reduce(np.asarray(per, x.dtype))

    def backward(self, grad=None):
        x, y, pw, w = self._cache
        s = np.exp(-np.logaddexp(0, -x))      # sigmoid(x) without overflow
        one_minus_s = np.exp(-np.logaddexp(0, x))
        gx = w * ((1 - y) * s - pw * y * one_minus_s)
        return np.asarray(gx * self._scale(grad, x.shape, x.dtype), x.dtype)


class MaskedMultiMargin(_UserLoss):
    """MultiMarginLoss: per sample sum over classes i (mask i != y) of w[y] max(0, margin - x_y + x_i)^p / C.
    Hooks for the wrong variants: ``others`` (which classes count), ``active`` (where the hinge has a slope)."""

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(reduction)
        self.p, self.margin, self.weight = p, margin, weight

    def others(self, t, C):
        return np.arange(C) != t[:, None]

    def active(self, z):
        return z > 0

    def normalizer(self, C):
        return C

    def forward(self, x, t):
        one = x.ndim == 1
        x2, t1 = (x[None], np.reshape(t, (1,))) if one else (x, t)
        C = x2.shape[1]
        wy = 1 if self.weight is None else self.weight.astype(x.dtype)[t1][:, None]
        z = self.margin - np.take_along_axis(x2, t1[:, None], 1) + x2
        mask = self.others(t1, C) & self.active(z)
        per = (wy * np.where(mask, z, 0) ** self.p).sum(axis=1) / self.normalizer(C)
        self._cache = (one, x2, t1, z, mask, wy, C)
        out = self._reduce(per.astype(x.dtype))
        return out.reshape(np.shape(t)) if one and self.reduction == "none" else out  # () or (1,), like the target

    def backward(self, grad=None):
        one, x2, t1, z, mask, wy, C = self._cache
        g = None if grad is None else np.reshape(grad, (-1,) if self.reduction == "none" else ())
        scale = self._scale(g, (len(x2),), x2.dtype)[:, None]
        dz = np.where(mask, wy * (self.p * z ** (self.p - 1)) / self.normalizer(C), 0) * scale
        gx = dz.copy()
        np.put_along_axis(gx, t1[:, None], np.take_along_axis(gx, t1[:, None], 1) - dz.sum(axis=1, keepdims=True), 1)
        return (gx[0] if one else gx).astype(x2.dtype)


class HuberFromSmoothL1(_UserLoss):
    """HuberLoss(delta) = delta * SmoothL1Loss(beta=delta): delta (0.5 d^2 / delta) inside,
    delta (|d| - delta / 2) outside."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, x, y):
        d, b = x - y, self.delta
        self._cache = (x, d)
        inside = np.abs(d) < b
        per = b * np.where(inside, 0.5 * d * d / b, np.abs(d) - 0.5 * b)
        return self._reduce(np.asarray(per, x.dtype))

    def backward(self, grad=None):
        x, d = self._cache
        b = self.delta
        slope = b * np.where(np.abs(d) < b, d / b, np.sign(d))
        return np.asarray(slope * self._scale(grad, x.shape, x.dtype), x.dtype)


ENTRIES = [
    correct("cross_entropy", LogaddexpCrossEntropy, float32=True),
    correct("bce_with_logits", SoftplusBCEWithLogits, float32=True),
    correct("multi_margin", MaskedMultiMargin),
    correct("huber", HuberFromSmoothL1),
]
