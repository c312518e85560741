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
from scratch.autograd.function import Context
from scratch.nn import functional as F
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
        # like torch's CPU kernel: no mixing float32 and float64 anywhere (it would round the
        # running statistics or the output silently); raised before num_batches_tracked moves
        params, buffers = self._parameters, self._buffers
        arrays = {k: None if params.get(k) is None else params[k].data for k in ("weight", "bias")}
        if self.track_running_stats:
            arrays.update((k, buffers.get(k)) for k in ("running_mean", "running_var"))
        _checks.check_all_same_dtype(x, arrays, "BatchNorm1d")
        # batch statistics need two values per channel: in training, and in eval without running stats
        if (self.training or not self.track_running_stats) and x.size // x.shape[1] == 1:
            raise ValueError(f"BatchNorm1d: expected more than 1 value per channel when training, got input size {x.shape}")

    # Statistics and both passes in float64, rounded once to x's dtype (scratch.nn.functional.normalization).
    # forward saves xhat and 1 / sqrt(var + eps) in one Context, and whether the statistics came from the batch.
    def forward(self, x):
        self._check(x)
        batch_statistics = self.training or not self.track_running_stats
        if batch_statistics:
            mean, var, n = F.batch_stats(x)
            if self.training and self.track_running_stats:
                self.num_batches_tracked = self.num_batches_tracked + 1
                m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean, self.running_var = F.update_running_stats(
                    self.running_mean, self.running_var, mean, var, n, m)
        else:
            mean, var = self.running_mean.astype(np.float64), self.running_var.astype(np.float64)
        inv_std = 1 / np.sqrt(var + self.eps)
        w = None if self.weight is None else self.weight.data.astype(np.float64)
        y, xhat = F.batch_norm_forward(x, mean, inv_std, w, None if self.bias is None else self.bias.data)
        self._ctx = Context()
        self._ctx.save_for_backward(xhat, inv_std)
        self._ctx.batch_statistics = batch_statistics
        return y

    def backward(self, grad_output):
        xhat, inv_std = self._ctx.saved_tensors
        w = None if self.weight is None else self.weight.data.astype(np.float64)
        gx, gw, gb = F.batch_norm_backward(grad_output, xhat, inv_std, w, self._ctx.batch_statistics)
        if self.weight is not None:
            self.weight.accumulate_grad(gw, owned=True)  # fresh per-channel arrays: no copy needed
        if self.bias is not None:
            self.bias.accumulate_grad(gb, owned=True)
        return gx

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
