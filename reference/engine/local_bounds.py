"""The sum-of-products bound for the Linear layers inside a composition (``Spec.local_sums``).

A composition (Linear, BatchNorm1d, activation, Linear) is not a sum of products as a whole, so
the run on absolute values that bounds a single Linear (``measure.sum_bounds``) does not apply.
Each Linear inside still computes sums of products, and a BLAS may sum them in any order: the
weight gradient g^T x over the rows, the bias gradient over the rows, the output x W^T + b over
the inputs, the input gradient g W over the outputs. Those sums are bounded locally, with the
values that actually reach the layer (the float64 twin on the dtype-rounded data, read off by
hooks): 2 gamma_n * (the same sum over magnitudes). Errors that arrive from earlier layers
(a batch norm's backward, an activation's) are sums torch's own kernels compute, and stay with
the measured rounding; the allowance is the larger of the two.
"""

from __future__ import annotations

import numpy as np
import torch

from reference.compare import Key
from reference.convert import to_numpy
from reference.engine.measure import gamma


class _LinearSums:
    """Hooks on every nn.Linear of a Sequential twin; ``record`` turns one call's inputs and
    upstream gradients into the magnitudes of each sum, accumulated over calls like the grads."""

    def __init__(self):
        self.seen, self.totals, self.rows = {}, {}, 0

    def attach(self, twin) -> None:
        self.twin = twin
        self.layers = {name: m for name, m in twin.named_modules() if isinstance(m, torch.nn.Linear)}
        for name, m in self.layers.items():
            m.register_forward_hook(lambda mod, inp, out, name=name: self.seen.__setitem__((name, "x"), inp[0]))
            m.register_full_backward_hook(lambda mod, gin, gout, name=name: self.seen.__setitem__((name, "g"), gout[0]))

    def record(self, call: int, values: dict) -> dict:
        """Key -> (sum of magnitudes, n terms) for this call."""
        out, children = {}, list(self.twin.children()) if isinstance(self.twin, torch.nn.Sequential) else []
        for name, m in self.layers.items():
            w = np.abs(to_numpy(m.weight).astype(np.float64))
            b = np.abs(to_numpy(m.bias).astype(np.float64)) if m.bias is not None else 0.0
            x = np.abs(to_numpy(self.seen[name, "x"]).astype(np.float64))
            g = np.abs(to_numpy(self.seen[name, "g"]).astype(np.float64))
            x2, g2 = x.reshape(-1, m.in_features), g.reshape(-1, m.out_features)
            self.rows += len(x2) + 1 if name == next(iter(self.layers)) else 0
            grads = {"weight": g2.T @ x2, "bias": g2.sum(axis=0)}
            for p, v in grads.items():
                self.totals[name, p] = self.totals.get((name, p), 0.0) + v
                out[Key(call, "grad", f"{name}.{p}")] = (self.totals[name, p], self.rows)
            if children and m is children[-1]:
                out[Key(call, "output")] = ((x2 @ w.T + b).reshape(np.shape(values[Key(call, "output")])),
                                            m.in_features + 1)
            if children and m is children[0]:
                out[Key(call, "grad_input")] = ((g2 @ w).reshape(x.shape), m.out_features)
        return out


def local_sum_bounds(trace, spec, case, dtype: str, device: str) -> dict:
    """Key -> 2 gamma_n * sum|terms| for the sums each Linear of the twin computes (module docstring)."""
    sums = _LinearSums()
    bounds = {}

    def on_call(call, values):
        for key, (magnitude, n) in sums.record(call, values).items():
            bounds[key] = 2 * gamma(n, dtype) * magnitude
    trace(spec, case, "float64", device, round_to=dtype, instrument=(sums.attach, on_call))
    return bounds
