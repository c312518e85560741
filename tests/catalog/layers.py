"""Wrong layers, one bug each (the class docstring states it): the verifier must catch every one.

Three sorts: standalone classes written from scratch (like a user's), one-method mutations of
the catalog's own correct ``StagedBatchNorm1d``/``WhereDropout``/``EinsumLinear``, and
subclasses of scratch's classes that override one piece. Each entry says which registry kind
it claims to implement; ``float32=True`` entries are also run in float32. A bug the generated
cases reach too rarely in some dtype lists it in ``misses`` (with the measured reason) and
gives a hand-made ``edge`` case on which the engine must flag it.
"""

from __future__ import annotations

import numpy as np

import scratch.nn as snn
from reference.spec import Case
from scratch.nn import functional as F
from tests.catalog import wrong
from tests.catalog._user import Param, UserModule, legacy_softmax_dim
from tests.catalog.correct_layers import (EinsumLinear, LogaddexpLogSoftmax, LogsumexpSoftmax, StagedBatchNorm1d,
                                          WhereDropout)

# --------------------------------------------------------------------------- softmax family


class NaiveSoftmax(UserModule):
    """Softmax without the max shift: exp(x) / sum(exp(x)) overflows to inf/inf = NaN at logits ~1e4."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        self._shape = x.shape
        x = x.reshape(x.shape or (1,))
        self._dim = legacy_softmax_dim(len(self._shape)) if self.dim is None else self.dim
        e = np.exp(x)
        self._y = e / e.sum(axis=self._dim, keepdims=True)
        return self._y.reshape(self._shape)

    def backward(self, g):
        g = g.reshape(self._y.shape)
        return (self._y * (g - (g * self._y).sum(axis=self._dim, keepdims=True))).reshape(self._shape)


class LogsumexpFirstSoftmax(LogsumexpSoftmax):
    """exp(x - (max + log(sum(exp(x - max))))): adding the max back before subtracting rounds the
    log-sum to ulp(|x|), ~1e-3 in float32 at logits 1e4, so y is off by 1e-4 relative. In float64
    it shows only for close logits at |x| ~ 1e6 (ulp 1.2e-10)."""

    @staticmethod
    def _f(x, dim):
        m = x.max(axis=dim, keepdims=True)
        return np.exp(x - (m + np.log(np.exp(x - m).sum(axis=dim, keepdims=True))))


class UnshiftedLogaddexpLogSoftmax(LogaddexpLogSoftmax):
    """x - np.logaddexp.reduce(x) without shifting by the max first: stable (no overflow), but the
    dominant class's log-probability is a difference of two numbers ~|x|, so it carries an
    absolute error ulp(|x|): in float32 log(1/2) comes out as -0.69336 at logits (1e4, 1e4)."""

    @staticmethod
    def _f(x, dim):
        return x - np.logaddexp.reduce(x, axis=dim, keepdims=True)


class LogOfSoftmax(snn.LogSoftmax):
    """LogSoftmax as log(softmax(x)): a probability that underflows to 0 gives -inf where torch
    gives a finite log-probability (a logit 1e4 next to 0 gives -1e4)."""

    @staticmethod
    def _f(x, dim):
        return np.log(F.softmax(x, dim))


# --------------------------------------------------------------------------- batch norm: one-hook mutations


class BiasedRunningVarBatchNorm(StagedBatchNorm1d):
    """running_var tracks the biased batch variance (no Bessel n / (n - 1)); torch stores the unbiased one."""

    def running_var_sample(self, var, n):
        return var


class UnbiasedNormalizeBatchNorm(StagedBatchNorm1d):
    """Normalizes with the unbiased variance var * n / (n - 1); torch normalizes with the biased one."""

    def normalizing_var(self, var, n):
        return var * n / (n - 1)


class EvalBatchStatsBatchNorm(StagedBatchNorm1d):
    """Uses batch statistics in eval mode too; torch uses the running ones when it tracks them."""

    def uses_batch_stats(self):
        return True


class SwappedMomentumBatchNorm(StagedBatchNorm1d):
    """Keras's convention: running = m * running + (1 - m) * batch; torch's momentum weighs the new batch."""

    def blend(self, running, batch, m):
        return batch + m * (running - batch)


class LerpBlendBatchNorm(StagedBatchNorm1d):
    """Running statistics blended as r + m (b - r): algebraically torch's (1 - m) r + m b, but at
    momentum 1 a batch variance far below the running one is lost to cancellation (b - r + r != b);
    torch's lerp switches formula at weight 0.5 for exactly this reason."""

    def blend(self, running, batch, m):
        return running + m * (batch - running)


class EpsOutsideSqrtBatchNorm(StagedBatchNorm1d):
    """Divides by sqrt(var) + eps instead of sqrt(var + eps)."""

    def inv_std(self, var):
        return 1 / (np.sqrt(var) + self.eps)


class OnePassVarianceBatchNorm(StagedBatchNorm1d):
    """Variance as E[x^2] - E[x]^2: catastrophic cancellation when the mean dwarfs the spread
    (offset 100: float32 loses ~4 of its 7 digits). float64 keeps enough to pass at 1e-10."""

    def batch_var(self, x, axes):
        return (x * x).mean(axis=axes) - x.mean(axis=axes) ** 2


class NoProjectionTermBatchNorm(StagedBatchNorm1d):
    """Backward forgets that the variance depends on x: dx = istd / n (n dxhat - sum dxhat), without
    the -xhat * sum(dxhat * xhat) term."""

    def batch_grad(self, dxhat, axes, n):
        return self._istd * (dxhat - dxhat.mean(axis=axes, keepdims=True))


# --------------------------------------------------------------------------- linear


class OverwritingGradLinear(snn.Linear):
    """weight.grad = dW on every backward (overwritten); torch accumulates until zero_grad."""

    def backward(self, grad_output):
        gx, gw, gb = F.linear_backward(grad_output, self._x, self.weight.data, self.bias is not None)
        self.weight.grad = gw
        if self.bias is not None:
            self.bias.accumulate_grad(gb)
        return gx


class FirstAxisBiasGradLinear(EinsumLinear):
    """Bias gradient summed over axis 0 only: right for (N, in) input, wrong shape for (N, M, in)
    and for a single sample (in,)."""

    def backward(self, g):
        gx = np.einsum("...o,oi->...i", g, self.weight.data)
        lead = "abcd"[:g.ndim - 1]
        self.weight.accumulate(np.einsum(f"{lead}o,{lead}i->oi", g, self._x))
        if self.bias is not None:
            self.bias.grad = g.sum(axis=0) if self.bias.grad is None else self.bias.grad + g.sum(axis=0)
        return gx


class InOutLinear(UserModule):
    """Stores the weight as (in_features, out_features) and computes x @ W: torch's layout is (out, in)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.weight = Param(np.zeros((in_features, out_features), dtype=np.float32))
        self.bias = Param(np.zeros(out_features, dtype=np.float32)) if bias else None

    def forward(self, x):
        self._x = x
        return x @ self.weight.data + (self.bias.data if self.bias is not None else 0)

    def backward(self, g):
        x2, g2 = self._x.reshape(-1, self._x.shape[-1]), g.reshape(-1, g.shape[-1])
        self.weight.accumulate(x2.T @ g2)
        if self.bias is not None:
            self.bias.accumulate(g2.sum(axis=0))
        return g @ self.weight.data.T


# --------------------------------------------------------------------------- activations


class GradOneAtZeroReLU(snn.ReLU):
    """relu'(0) = 1 (x >= 0 passes the gradient); torch's autograd gives 0 at exactly 0."""

    def _df(self, g, x, y):
        return np.where(x >= 0, g, 0)


class MaxLeakyReLU(snn.LeakyReLU):
    """LeakyReLU as max(x, slope * x): equal to torch's only for 0 <= slope <= 1 (a slope of -0.5
    or 1.5 picks the wrong branch)."""

    def _f(self, x):
        return np.maximum(x, self.negative_slope * x)

    def _df(self, g, x, y):
        return np.where(x >= self.negative_slope * x, g, g * self.negative_slope)


class GradOneAtZeroELU(snn.ELU):
    """elu'(0) = 1 (the linear branch at x == 0); torch gives alpha there (differs when alpha != 1)."""

    def _df(self, g, x, y):
        return np.where(x < 0, g * self.alpha * np.exp(np.minimum(x, 0)), g)


class AlwaysTanhGELU(snn.GELU):
    """Uses the tanh approximation whatever ``approximate`` says (torch's default is the exact erf)."""

    def __init__(self, approximate="none"):
        super().__init__("tanh")


# --------------------------------------------------------------------------- dropout


class UnscaledDropout(WhereDropout):
    """Training output x * mask without the 1 / (1 - p) scaling (eval is the identity)."""

    def _apply(self, a):
        return a if self._mask is None else np.where(self._mask, a, 0).astype(a.dtype)


class EvalScaledDropout(WhereDropout):
    """Inverted dropout in training and *also* the (1 - p) test-time scaling of classic dropout in eval."""

    def forward(self, x):
        y = super().forward(x)
        return y if self.training else (y * (1 - self.p)).astype(x.dtype)

    def backward(self, g):
        gx = super().backward(g)
        return gx if self.training else (gx * (1 - self.p)).astype(g.dtype)


# edges the strategies reach too rarely (see ``misses``): close logits at 1e6; momentum 1 with a
# tiny batch after a large one
_CLOSE_LOGITS = np.array([[1e6, 1e6 - 11.0], [1e6 + 0.3, 1e6 - 7.0], [1e4, 1e4 - 3.0]])
_CLOSE_LOGITS_CASE = Case(config={"dim": -1}, inputs=[_CLOSE_LOGITS, _CLOSE_LOGITS])
_MOMENTUM_ONE_CASE = Case(config={"num_features": 1, "momentum": 1.0, "affine": False},
                          inputs=[np.array([[12.57], [-13.21]]), np.array([[1.257e-4], [-1.321e-4]]),
                                  np.array([[0.1257], [-0.1321]]), np.array([[0.1257], [-0.1321]])])
_RARELY = "8 of 10 seeds at 100 cases since softmax_cases draws rows of close logits at 1e4..1e6 (was 1 of 10)"

ENTRIES = [
    wrong("softmax", NaiveSoftmax, float32=True),
    wrong("softmax", LogsumexpFirstSoftmax, dtypes=("float32",), examples=100, misses=("float64",),
          why_missed=f"float64 needs close logits at |x| ~ 1e6 (offset 100 x magnitude 1e4): {_RARELY}",
          edge=_CLOSE_LOGITS_CASE),
    wrong("log_softmax", UnshiftedLogaddexpLogSoftmax, dtypes=("float32",), examples=100, misses=("float64",),
          why_missed="float64: the error, ulp(|x|) absolute, passes atol 1e-12 unless |x| ~ 1e6 and the log-"
                     f"probability is small: {_RARELY}", edge=_CLOSE_LOGITS_CASE),
    wrong("log_softmax", LogOfSoftmax),
    wrong("batch_norm1d", BiasedRunningVarBatchNorm, float32=True),
    wrong("batch_norm1d", UnbiasedNormalizeBatchNorm),
    wrong("batch_norm1d", EvalBatchStatsBatchNorm),
    wrong("batch_norm1d", SwappedMomentumBatchNorm),
    wrong("batch_norm1d", LerpBlendBatchNorm, dtypes=(), misses=("float32", "float64"), edge=_MOMENTUM_ONE_CASE,
          why_missed="needs momentum exactly 1 and a batch variance far below the running one; "
                     "batch_norm1d_cases now starts half its cases with a 1e3-scaled batch: float32 5 of 10 "
                     "seeds at 10 cases, float64 3 of 10 (was 0 of 10)"),
    wrong("batch_norm1d", EpsOutsideSqrtBatchNorm),
    wrong("batch_norm1d", OnePassVarianceBatchNorm, float32=True, examples=100),
    wrong("batch_norm1d", NoProjectionTermBatchNorm),
    wrong("linear", OverwritingGradLinear, float32=True),
    wrong("linear", FirstAxisBiasGradLinear),
    wrong("linear", InOutLinear),
    wrong("relu", GradOneAtZeroReLU),
    wrong("leaky_relu", MaxLeakyReLU),
    wrong("elu", GradOneAtZeroELU, examples=60),
    wrong("gelu", AlwaysTanhGELU),
    wrong("dropout", UnscaledDropout),
    wrong("dropout", EvalScaledDropout),
]
