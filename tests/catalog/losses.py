"""Wrong losses, one bug each (the class docstring states it): the verifier must catch every one.

The cross-entropies and hinges are one-method mutations of the catalog's correct
``LogaddexpCrossEntropy`` and ``MaskedMultiMargin``; the binary and regression losses are
standalone classes written from scratch or subclasses of scratch's that override one piece.
"""

from __future__ import annotations

import numpy as np

import scratch.nn as snn
from reference.spec import Case
from tests.catalog import wrong
from tests.catalog.correct_losses import LogaddexpCrossEntropy, MaskedMultiMargin, _UserLoss

# --------------------------------------------------------------------------- cross-entropy


class Log10CrossEntropy(LogaddexpCrossEntropy):
    """Base-10 logarithm: -log10 p[y] is the natural loss divided by ln 10."""

    @staticmethod
    def log_softmax(x):
        return LogaddexpCrossEntropy.log_softmax(x) / x.dtype.type(np.log(10))


class UnshiftedCrossEntropy(LogaddexpCrossEntropy):
    """log-softmax as x - log(sum(exp(x))) without the max shift: exp(1e4) = inf, so the loss is NaN/inf."""

    @staticmethod
    def log_softmax(x):
        with np.errstate(over="ignore", invalid="ignore"):
            return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


class CountIgnoredCrossEntropy(LogaddexpCrossEntropy):
    """"mean" divides by the number of positions, ignored targets and class weights notwithstanding
    (torch: by the sum of w[y] over the targets it keeps)."""

    def denominator(self, t, soft, w):
        return t.size if not soft else t.size // w.size


class OtherClassesSmoothingCrossEntropy(LogaddexpCrossEntropy):
    """Label smoothing puts eps / (C - 1) on the other classes and 1 - eps on the target; torch
    spreads eps / C over all classes, the target included."""

    def coefficients(self, t, soft, w):
        C, eps = w.size, self.eps
        if soft or C == 1:
            return super().coefficients(t, soft, w)
        valid = (t != self.ignore_index)[..., None]
        onehot = np.arange(C) == np.where(valid[..., 0], t, 0)[..., None]
        return np.where(valid, w * np.where(onehot, 1 - eps, eps / (C - 1)), 0)


class ProbabilityWeightMeanCrossEntropy(LogaddexpCrossEntropy):
    """Probability targets with "mean" divided by sum of w_c t_c over positions (the class-index
    rule); torch divides probability targets by the number of positions."""

    def denominator(self, t, soft, w):
        return (w * t).sum() if soft else super().denominator(t, soft, w)


# --------------------------------------------------------------------------- multi-class hinge


class TrueClassHingeMultiMargin(MaskedMultiMargin):
    """Sums the hinge over every class, the true one included: each sample gains w[y] margin^p / C."""

    def others(self, t, C):
        return np.ones((len(t), C), bool)


class NoClassMeanMultiMargin(MaskedMultiMargin):
    """Forgets the / C (the CS231n multiclass SVM): C times torch's loss."""

    def normalizer(self, C):
        return 1


class KinkSlopeMultiMargin(MaskedMultiMargin):
    """Subgradient 1 where the margin is met exactly (z >= 0); torch's hinge has slope 0 at z == 0."""

    def active(self, z):
        return z >= 0


# --------------------------------------------------------------------------- binary and regression losses


class UnclampedBCE(_UserLoss):
    """BCELoss without torch's clamp of each log at -100: a probability of exactly 0 or 1 gives inf."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, x, y):
        self._cache = (x, y)
        w = 1 if self.weight is None else self.weight.astype(x.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = -w * (y * np.log(x) + (1 - y) * np.log(1 - x))
        return self._reduce(np.asarray(per, x.dtype))

    def backward(self, grad=None):
        x, y = self._cache
        w = 1 if self.weight is None else self.weight.astype(x.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            gx = w * (x - y) / np.maximum(x * (1 - x), 1e-12)
        return np.asarray(gx * self._scale(grad, x.shape, x.dtype), x.dtype)


class LogSigmoidBCEWithLogits(_UserLoss):
    """BCEWithLogitsLoss as BCE of sigmoid(x): log(sigmoid(-1e4)) = log(0) = -inf where torch is finite."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, x, y):
        pw = 1 if self.pos_weight is None else self.pos_weight.astype(x.dtype)
        w = 1 if self.weight is None else self.weight.astype(x.dtype)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            s = 1 / (1 + np.exp(-x))
            per = -w * (pw * y * np.log(s) + (1 - y) * np.log(1 - s))
        self._cache = (x, y, pw, w, s)
        return self._reduce(np.asarray(per, x.dtype))

    def backward(self, grad=None):
        x, y, pw, w, s = self._cache
        gx = w * ((1 - y) * s - pw * y * (1 - s))
        return np.asarray(gx * self._scale(grad, x.shape, x.dtype), x.dtype)


class BatchMeanMSE(_UserLoss):
    """"mean" sums over the features and averages over the first dim only: numel / N times torch's mean."""

    def forward(self, x, y):
        self._cache = (x, y)
        return self._reduce(np.asarray((x - y) ** 2, x.dtype), x.shape[0] if x.ndim else 1)

    def backward(self, grad=None):
        x, y = self._cache
        return np.asarray(2 * (x - y) * self._scale(grad, x.shape, x.dtype, x.shape[0] if x.ndim else 1), x.dtype)


class CopysignL1(_UserLoss):
    """Gradient copysign(1, x - y): +1 at x == y, where torch's sign gives 0."""

    def forward(self, x, y):
        self._cache = (x, y)
        return self._reduce(np.abs(x - y))

    def backward(self, grad=None):
        x, y = self._cache
        return np.asarray(np.copysign(1, x - y) * self._scale(grad, x.shape, x.dtype), x.dtype)


class HuberAsSmoothL1(snn.SmoothL1Loss):
    """SmoothL1Loss computed as HuberLoss(delta=beta): 0.5 d^2 and beta (|d| - beta / 2), beta times
    too small inside and too large outside (torch: 0.5 d^2 / beta and |d| - beta / 2)."""

    def _f(self, x, t):  # HuberLoss refuses delta = 0: a denormal stands in for beta = 0
        return snn.HuberLoss(self.reduction, self.beta or 1e-300)._f(x, t)

    def _df(self, g, x, t):
        return snn.HuberLoss(self.reduction, self.beta or 1e-300)._df(g, x, t)


class LessEqualSmoothL1(_UserLoss):
    """Quadratic branch for |d| <= beta: at beta == 0 and d == 0 it computes 0.5 * 0 / 0 = NaN
    (torch: |d| < beta, so beta = 0 is exactly L1)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, x, y):
        d, b = x - y, self.beta
        self._cache = (x, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(np.abs(d) <= b, 0.5 * d * d / b, np.abs(d) - 0.5 * b)
        return self._reduce(np.asarray(per, x.dtype))

    def backward(self, grad=None):
        x, d = self._cache
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(np.abs(d) <= self.beta, d / self.beta, np.sign(d))
        return np.asarray(slope * self._scale(grad, x.shape, x.dtype), x.dtype)


class MeanForBatchmeanKLDiv(snn.KLDivLoss):
    """"batchmean" divides by the number of elements (as "mean" does), not by the batch size."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, "mean" if reduction == "batchmean" else reduction, log_target)


ENTRIES = [
    wrong("cross_entropy", Log10CrossEntropy, float32=True),
    wrong("cross_entropy", UnshiftedCrossEntropy),
    wrong("cross_entropy", CountIgnoredCrossEntropy, examples=200),
    wrong("cross_entropy", OtherClassesSmoothingCrossEntropy, examples=30),
    wrong("cross_entropy", ProbabilityWeightMeanCrossEntropy, examples=100),
    wrong("multi_margin", TrueClassHingeMultiMargin, float32=True),
    wrong("multi_margin", NoClassMeanMultiMargin),
    wrong("multi_margin", KinkSlopeMultiMargin, examples=100),
    wrong("bce", UnclampedBCE),
    wrong("bce_with_logits", LogSigmoidBCEWithLogits),
    wrong("mse", BatchMeanMSE),
    wrong("l1", CopysignL1),
    wrong("smooth_l1", HuberAsSmoothL1),
    # caught since smooth_l1_cases always puts an x == y element in a beta == 0 case (10 of 10 seeds at 10 cases)
    wrong("smooth_l1", LessEqualSmoothL1),
    wrong("kl_div", MeanForBatchmeanKLDiv),
]
