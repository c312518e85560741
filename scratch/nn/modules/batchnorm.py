"""``BatchNorm1d`` (twin torch.nn.BatchNorm1d); kernels in scratch.nn.functional.normalization.

Input (N, C) or (N, C, L). Parameters ``weight`` (gamma, init 1) and ``bias``
(beta, init 0) when ``affine``; buffers ``running_mean`` (0), ``running_var`` (1),
``num_batches_tracked`` (int64) when ``track_running_stats``.
Train: batch statistics; running stats updated as (1 - m) * running + m * batch,
with m = momentum, or 1 / num_batches_tracked (cumulative average) when momentum is None.
Eval: running statistics if tracked, else batch statistics.
"""

from __future__ import annotations

import numpy as np

from scratch import _checks
from scratch.nn import functional as F
from scratch.nn.functional.normalization import center
from scratch.nn.modules.module import Module
from scratch.nn.parameter import Parameter


class BatchNorm1d(Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None,
                 *, bias: bool = True):
        super().__init__()
        dtype = np.dtype(dtype or np.float32)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def _check(self, x):
        _checks.as_float_array(x, "BatchNorm1d input")
        _checks.check_ndim(x, (2, 3), "BatchNorm1d input", "(N, C) or (N, C, L)")
        _checks.check_dim_size(x, 1, self.num_features, "BatchNorm1d input", "channels")
        ref = self.weight if self.weight is not None else None
        if ref is not None:
            _checks.check_same_dtype(x, ref.data, "BatchNorm1d input")
        elif self.running_mean is not None:
            _checks.check_same_dtype(x, self.running_mean, "BatchNorm1d input", "running_mean")
        # batch statistics need two values per channel: in training, and in eval without running stats
        if (self.training or not self.track_running_stats) and x.size // x.shape[1] == 1:
            raise ValueError(f"BatchNorm1d: expected more than 1 value per channel when training, got input size {x.shape}")

    # Per-channel sums in float64, elementwise passes in the input's dtype (why and how
    # precise: scratch.nn.functional.normalization). The backward keeps d = x - mean.
    def forward(self, x):
        self._check(x)
        f64 = np.float64
        w = None if self.weight is None else self.weight.data.astype(f64)
        b = None if self.bias is None else self.bias.data
        self._batch_statistics = self.training or not self.track_running_stats
        if self._batch_statistics:
            mean, var, n, d = F.batch_stats(x)
            if self.training and self.track_running_stats:
                self.num_batches_tracked = self.num_batches_tracked + 1
                m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean, self.running_var = F.update_running_stats(
                    self.running_mean, self.running_var, mean, var, n, m)
        else:
            var = self.running_var.astype(f64)
            d = center(x, self.running_mean.astype(f64))
        self._d, self._inv_std = d, 1 / np.sqrt(var + self.eps)
        return F.batch_norm_forward(d, self._inv_std, w, b)

    def backward(self, grad_output):
        w = None if self.weight is None else self.weight.data.astype(np.float64)
        gx, gw, gb = F.batch_norm_backward(grad_output, self._d, self._inv_std, w, self._batch_statistics)
        if self.weight is not None:
            self.weight.accumulate_grad(gw)
        if self.bias is not None:
            self.bias.accumulate_grad(gb)
        return gx

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
