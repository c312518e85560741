"""gradcheck: every registry layer and loss checked against centered differences in
float64 (scratch.gradcheck, which trusts neither torch nor the analytic formula), on
the spec's default case and smooth generated cases (away from kinks), plus a
two-layer MLP written with scratch.autograd. One row per checked quantity: the
largest relative error, where, analytic vs numeric there, and elements within h
of a kink (reported, never judged). Thresholds: float64 below 1e-7 is fine; the
pass bound is 1e-6 (a batch norm over a batch of two reaches 4e-7); kinked
functions may reach 1e-4 near their kinks."""

from __future__ import annotations

import numpy as np
import pandas as pd

import scratch.nn as snn
from experiments.report import Result
from reference.registry import specs
from reference.sampling import sample_cases
from scratch.gradcheck import function_gradcheck_table, gradcheck_table

DESCRIPTION = "numerical gradient check (centered differences, float64) of every layer and loss"
COLUMNS = ("component", "case", "quantity", "max_rel_error", "threshold", "passed")
FIGURES = ()


class LossWithTarget(snn.Module):
    """A loss with its target fixed, seen as a module of its input (for check_module)."""

    def __init__(self, loss, target):
        super().__init__()
        self.loss, self.target = loss, target

    def forward(self, x):
        return self.loss.forward(x, self.target)

    def backward(self, grad_output):
        return self.loss.backward(grad_output)


def prepared(spec, case):
    """(float64 module, input, prepare) for a module or loss spec on ``case``."""
    rng = np.random.default_rng(case.seed)
    if spec.kind == "loss":
        cfg = {k: np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray) else v for k, v in case.config.items()}
        x, target = case.inputs
        return LossWithTarget(spec.make(cfg), target), np.asarray(x, dtype=np.float64), None
    module = spec.make(case.config).double()
    for _, p in module.named_parameters():
        p.data = rng.standard_normal(p.data.shape)
    prepare = None
    if "stochastic" in spec.tags:
        mask = rng.random(np.shape(case.inputs[0])) >= case.config["p"]
        prepare = lambda m: m.inject_mask(mask)  # noqa: E731
    return module, np.asarray(case.inputs[0], dtype=np.float64), prepare


def run(ctx) -> Result:
    n = 1 if ctx.quick else 5
    frames = []
    for spec in ctx.progress(specs("module") + specs("loss"), "gradcheck"):
        cases = [("default", spec.default_case())]
        cases += [(f"generated {i + 1}", c) for i, c in
                  enumerate(sample_cases(spec.cases(n_calls=1, smooth=True), n, ctx.seed))]
        for label, case in cases:
            module, x, prepare = prepared(spec, case)
            df = gradcheck_table(module, x, kinks=spec.kinks, prepare=prepare, seed=case.seed, component=spec.name)
            df.insert(1, "case", label)
            frames.append(df)
    frames.append(_autograd_mlp(ctx.seed))
    df = pd.concat(frames, ignore_index=True)
    df = df[list(COLUMNS) + [c for c in df.columns if c not in COLUMNS]]
    worst = df.sort_values("max_rel_error").iloc[-1]
    findings = [f"{len(df)} checked quantities over {df['component'].nunique()} components; "
                f"{int((~df['passed']).sum())} above the threshold.",
                f"Largest relative error: {worst['max_rel_error']:.2g} ({worst['component']}, {worst['quantity']}); "
                f"median {df['max_rel_error'].median():.2g}."]
    return Result("Gradient check: analytic vs centered differences (float64)", df, findings=findings,
                  passed=bool(df["passed"].all()))


def _autograd_mlp(seed: int) -> pd.DataFrame:
    """sum(G * (relu(x W1^T + b1) W2^T)) through scratch.autograd: its gradients vs centered differences."""
    from scratch.autograd import Tensor

    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((4, 5)), "w1": rng.standard_normal((6, 5)), "b1": rng.standard_normal(6),
              "w2": rng.standard_normal((3, 6))}
    g = rng.standard_normal((4, 3))

    def f(x, w1, b1, w2):
        h = (x @ w1.T + b1).relu()
        return (h @ w2.T * Tensor(g)).sum()

    df = function_gradcheck_table(f, arrays, component="autograd_mlp")
    df.insert(1, "case", "seed")
    return df
