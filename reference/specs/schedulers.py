"""Specs for scratch.optim.lr_scheduler: each scheduler drives a scratch optimizer the way its
torch twin drives torch's (kind="scheduler"; see ``reference.strategies.schedulers`` for the
Case format). The engine compares ``get_last_lr()`` after every step and the parameter
trajectory.

Tolerances. The lr sequence is plain Python float arithmetic on both sides, written with
torch's expressions, so it must agree exactly (the engine may compare it with rtol = atol = 0).
Parameters accumulate rounding over t steps, so their allowance after step t is the dtype's
default (rtol, atol) times (1 + sqrt(t)): independent rounding errors grow like sqrt(t).
Measured (``python -m reference.specs.schedulers``, 200 generated cases per scheduler, up to
500 steps): torch's own float32 trajectory against its float64 one reaches 0.22 of the float32
allowance at worst; two float32 implementations differ by at most about twice that, 0.44.
"""

from __future__ import annotations

import math

import numpy as np
from torch.optim import lr_scheduler as tls

from reference.compare import DEFAULT_TOLERANCES, Tolerance
from reference.spec import Case, Spec
from reference.strategies import schedulers as SS
from scratch.optim import lr_scheduler as sls


def trajectory_tolerance(dtype: str, t: int) -> Tolerance:
    """The dtype's default tolerance times (1 + sqrt(t)) after step t (1-based)."""
    base, grow = DEFAULT_TOLERANCES[dtype], 1.0 + math.sqrt(max(t, 0))
    return Tolerance(rtol=base.rtol * grow, atol=base.atol * grow)


def _default(config: dict, steps: int = 12, optimizer=("SGD", {"lr": 0.1, "momentum": 0.9})):
    def make() -> Case:
        rng = np.random.default_rng(0)
        return Case(config=dict(config), inputs=[rng.standard_normal(3)], seed=0,
                    steps=[[rng.standard_normal(3)] for _ in range(steps)],
                    extra={"optimizer": (optimizer[0], dict(optimizer[1]))})
    return make


def _spec(name, cls_name, cases, default, draws, **kw):
    return Spec(name, getattr(sls, cls_name), getattr(tls, cls_name), f"torch.optim.lr_scheduler.{cls_name}", cases,
                kind="scheduler", default=default, draws=draws, step_tolerance=trajectory_tolerance, **kw)


SPECS = [
    _spec("step_lr", "StepLR", SS.step_lr_cases, _default({"step_size": 3, "gamma": 0.5}),
          "step_size 1..steps (1 and = steps on purpose), gamma in [0.05, 1] (0.1, 0.5, 1)"),
    _spec("multi_step_lr", "MultiStepLR", SS.multi_step_lr_cases,
          _default({"milestones": [6, 2, 2], "gamma": 0.5}),
          "0..5 milestones in 0..steps+2, unsorted, repeated (gamma^count), 0 (decay in the constructor)"),
    _spec("exponential_lr", "ExponentialLR", SS.exponential_lr_cases, _default({"gamma": 0.9}),
          "gamma in [0.5, 1] (0.9, 0.99, 1)"),
    _spec("lambda_lr", "LambdaLR", SS.lambda_lr_cases, _default({"lr_lambda": sls.inverse_time_decay(0.5)}),
          "lr_lambda = inverse_time_decay(k), k in [0, 2], one or a list of two (two param groups)",
          snippet_imports=("from scratch.optim.lr_scheduler import inverse_time_decay",)),
    _spec("linear_lr", "LinearLR", SS.linear_lr_cases,
          _default({"start_factor": 0.25, "end_factor": 1.0, "total_iters": 5}),
          "start_factor (0, 1], end_factor [0, 1], total_iters 0 (stays at start), 1, 5, 0..steps+2"),
    _spec("cosine_annealing_lr", "CosineAnnealingLR", SS.cosine_annealing_lr_cases,
          _default({"T_max": 5, "eta_min": 0.01}),
          "T_max 1..steps (1 on purpose; runs past T_max: periodic, not clamped), eta_min 0, 1e-3, [0, 0.05]"),
    _spec("cosine_annealing_warm_restarts", "CosineAnnealingWarmRestarts", SS.cosine_annealing_warm_restarts_cases,
          _default({"T_0": 3, "T_mult": 2, "eta_min": 0.001}, steps=20),
          "T_0 1..steps/2, T_mult 1, 2, 3, eta_min 0, 1e-3, [0, 0.05]"),
    _spec("one_cycle_lr", "OneCycleLR", SS.one_cycle_lr_cases,
          _default({"max_lr": 1.0, "total_steps": 12}, optimizer=("Adam", {"lr": 0.1})),
          "max_lr (or a list, two groups), total_steps or epochs*steps_per_epoch >= steps (= steps on purpose), "
          "pct_start [0, 1], cos/linear, three_phase, cycle_momentum on SGD momentum 0/0.9 and Adam beta1, "
          "momenta and div factors"),
]


def _measure(n_cases: int = 200) -> float:
    """Worst margin of torch's float32 trajectory against its float64 one under ``trajectory_tolerance``."""
    from reference.engine.trajectories import trace_trajectory_twin
    from reference.sampling import sample_cases

    worst = 0.0
    for spec in SPECS:
        for case in sample_cases(spec.cases(), n_cases, seed=0):
            t32, t64 = (trace_trajectory_twin(spec, case, dt) for dt in ("float32", "float64"))
            for key, b in t64.values.items():
                if key.kind == "param":
                    tol = trajectory_tolerance("float32", key.step)
                    a = t32.values[key].astype(np.float64)
                    worst = max(worst, float(np.max(np.abs(a - b) / tol.allowed(b), initial=0.0)))
        print(f"{spec.name}: worst float32-vs-float64 margin so far {worst:.3g}")
    return worst


if __name__ == "__main__":
    _measure()
