"""Correct layers written differently from scratch's: the verifier must pass every one.

- ``EinsumLinear``: y = einsum(x, W) + b; gradients by einsum too (scratch: matmul on a 2-D view).
- ``LogsumexpSoftmax``: y = exp((x - max) - log sum exp(x - max)) (scratch: exp(x - max) / sum).
- ``LogaddexpLogSoftmax``: y = z - np.logaddexp.reduce(z), z = x - max (scratch: z - log sum exp z).
- ``StagedBatchNorm1d``: the staged (CS231n) backward through var and mean, ``np.var``, all in
  the input's dtype (scratch: the closed-form backward, computed in float64 whatever the dtype;
  torch's float32 batch norm is that accurate, so this one is claimed for float64 only).
  The wrong batch norms in ``layers`` are one-hook mutations of it.
- ``WhereDropout``: np.where on the mask (scratch: multiply by the mask).
All standalone (``tests.catalog._user``), none subclasses scratch.
"""

from __future__ import annotations

import numpy as np

from tests.catalog import correct
from tests.catalog._user import Param, UserModule, legacy_softmax_dim


class EinsumLinear(UserModule):
    """Linear through einsum: y[..., o] = sum_i x[..., i] W[o, i] + b[o]; every gradient an einsum."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        bound = 1 / np.sqrt(in_features) if in_features else 0.0
        rng = np.random.default_rng()
        self.weight = Param(rng.uniform(-bound, bound, (out_features, in_features)).astype(np.float32))
        self.bias = Param(rng.uniform(-bound, bound, out_features).astype(np.float32)) if bias else None

    def forward(self, x):
        self._x = x
        y = np.einsum("...i,oi->...o", x, self.weight.data)
        return y + self.bias.data if self.bias is not None else y

    def backward(self, g):
        lead = "abcd"[:g.ndim - 1]  # the batch dims, summed out by naming them (no reshape)
        self.weight.accumulate(np.einsum(f"{lead}o,{lead}i->oi", g, self._x))
        if self.bias is not None:
            self.bias.accumulate(np.einsum(f"{lead}o->o", g))
        return np.einsum("...o,oi->...i", g, self.weight.data)


class _UserSoftmaxBase(UserModule):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        self._shape = x.shape
        x = x.reshape(x.shape or (1,))
        self._dim = legacy_softmax_dim(len(self._shape)) if self.dim is None else self.dim
        self._y = self._f(x, self._dim)
        return self._y.reshape(self._shape)

    def backward(self, g):
        return self._df(g.reshape(self._y.shape), self._y, self._dim).reshape(self._shape)


class LogsumexpSoftmax(_UserSoftmaxBase):
    """Softmax as exp(z - log(sum(exp(z)))), z = x - max: the shift is subtracted before the
    log-sum (see ``layers.LogsumexpFirstSoftmax`` for the order that loses float32 digits);
    dL/dx = y g - y sum(g y)."""

    @staticmethod
    def _f(x, dim):
        z = x - x.max(axis=dim, keepdims=True)  # shift first: z - log(sum) keeps every digit of z
        return np.exp(z - np.log(np.exp(z).sum(axis=dim, keepdims=True)))

    @staticmethod
    def _df(g, y, dim):
        return y * g - y * (g * y).sum(axis=dim, keepdims=True)


class LogaddexpLogSoftmax(_UserSoftmaxBase):
    """LogSoftmax as z - np.logaddexp.reduce(z), z = x - max (shifted first, see
    ``layers.UnshiftedLogaddexpLogSoftmax``); dL/dx = g - softmax * sum(g)."""

    @staticmethod
    def _f(x, dim):
        z = x - x.max(axis=dim, keepdims=True)
        return z - np.logaddexp.reduce(z, axis=dim, keepdims=True)

    @staticmethod
    def _df(g, y, dim):
        return g - np.exp(y) * g.sum(axis=dim, keepdims=True)


class StagedBatchNorm1d(UserModule):
    """BatchNorm1d with the staged backward: dxhat -> dvar -> dmean -> dx (see the module doc).
    Each statistic goes through a small method, so a wrong variant overrides exactly one."""

    BUFFERS = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.eps, self.momentum, self.track = eps, momentum, track_running_stats
        self.weight = Param(np.ones(num_features, dtype=np.float32)) if affine else None
        self.bias = Param(np.zeros(num_features, dtype=np.float32)) if affine and bias else None
        if track_running_stats:
            self.running_mean = np.zeros(num_features, dtype=np.float32)
            self.running_var = np.ones(num_features, dtype=np.float32)
            self.num_batches_tracked = np.array(0, dtype=np.int64)

    # the pieces a wrong variant changes, one each
    def batch_var(self, x, axes):
        return np.var(x, axis=axes)

    def normalizing_var(self, var, n):
        return var

    def running_var_sample(self, var, n):
        return var * n / (n - 1)  # Bessel: running_var tracks the unbiased estimate

    def blend(self, running, batch, m):
        return (1 - m) * running + m * batch  # not running + m (batch - running): see layers.LerpBlendBatchNorm

    def inv_std(self, var):
        return 1 / np.sqrt(var + self.eps)

    def uses_batch_stats(self):
        return self.training or not self.track

    def forward(self, x):
        axes = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        n = x.size // x.shape[1]
        self._batch = self.uses_batch_stats()
        if self._batch:
            mean, var = x.mean(axis=axes), self.batch_var(x, axes)
            if self.training and self.track:
                self.num_batches_tracked = self.num_batches_tracked + 1
                m = 1 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean = self.blend(self.running_mean, mean, m).astype(x.dtype)
                self.running_var = self.blend(self.running_var, self.running_var_sample(var, n), m).astype(x.dtype)
            var = self.normalizing_var(var, n)
        else:
            mean, var = self.running_mean, self.running_var
        self._xc = x - mean.reshape(shape)
        self._istd = self.inv_std(var).reshape(shape)
        self._axes, self._n = axes, n
        y = self._xc * self._istd
        self._xhat = y
        if self.weight is not None:
            y = y * self.weight.data.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.data.reshape(shape)
        return y.astype(x.dtype)

    def backward(self, g):
        axes, n, shape = self._axes, self._n, self._istd.shape
        if self.weight is not None:
            self.weight.accumulate((g * self._xhat).sum(axis=axes))
        if self.bias is not None:
            self.bias.accumulate(g.sum(axis=axes))
        dxhat = g * self.weight.data.reshape(shape) if self.weight is not None else g
        if not self._batch:
            return (dxhat * self._istd).astype(g.dtype)
        return self.batch_grad(dxhat, axes, n).astype(g.dtype)

    def batch_grad(self, dxhat, axes, n):
        """dx through xhat = xc * istd, istd = (var + eps)^-1/2, var = mean(xc^2), xc = x - mean."""
        dvar = (dxhat * self._xc).sum(axis=axes, keepdims=True) * -0.5 * self._istd ** 3
        dmean = -(dxhat * self._istd).sum(axis=axes, keepdims=True) - 2 * dvar * self._xc.mean(axis=axes, keepdims=True)
        return dxhat * self._istd + dvar * 2 * self._xc / n + dmean / n


class WhereDropout(UserModule):
    """Inverted dropout through np.where(mask, x / (1 - p), 0); p = 1 gives zeros; identity in eval."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p, self._mask, self._next = p, None, None

    def inject_mask(self, mask):
        self._next = np.asarray(mask, dtype=bool)

    def _apply(self, a):
        if self._mask is None:
            return a
        if self.p == 1:
            return np.zeros_like(a)
        return np.where(self._mask, a / (1 - self.p), 0).astype(a.dtype)

    def forward(self, x):
        if self.training and self._next is None:
            self._next = np.random.default_rng().random(x.shape) >= self.p
        self._mask, self._next = (self._next if self.training else None), None
        return self._apply(x)

    def backward(self, g):
        return self._apply(g)


ENTRIES = [
    # float64 only: np.einsum accumulates a float32 dot product less accurately than torch's GEMM
    # (seed 0 at 100 cases: in_features 64, rel. error 1e-5 beyond the measured rounding)
    correct("linear", EinsumLinear),
    correct("softmax", LogsumexpSoftmax, float32=True),
    correct("log_softmax", LogaddexpLogSoftmax, float32=True),
    correct("batch_norm1d", StagedBatchNorm1d),
    correct("dropout", WhereDropout),
]
