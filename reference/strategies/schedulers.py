"""One ``*_cases`` strategy per learning-rate scheduler; each produces a ``Case``:

    config  the scheduler's kwargs (no optimizer); LambdaLR gets ``inverse_time_decay(k)``
            objects, so a case prints as code;
    inputs  1 or 2 initial parameters (float64, small shapes);
    steps   per step, one float64 gradient per parameter (Gaussian from the case's seed);
    extra   "optimizer": (class name in scratch.optim and torch.optim, kwargs), SGD with and
            without momentum or Adam; "groups" (sometimes): two param groups, the second
            with its own lr, so per-group lists (OneCycleLR's max_lr) are exercised.

Lengths: most cases are short (1..20 steps), a few long (up to 300, and 500 itself).
Schedule lengths are drawn relative to the number of steps so that every phase is reached:
StepLR's step_size 1, gamma 1; unsorted and repeated MultiStepLR milestones, milestone 0;
CosineAnnealingLR past T_max (it is periodic, not clamped) with T_max 1 and eta_min > 0;
warm restarts with T_mult 1, 2 and 3; LinearLR with total_iters 0 and 1; OneCycleLR with
both anneal strategies, three_phase, cycle_momentum on SGD momentum 0 (torch turns it on),
on Adam's beta1, and exactly total_steps steps.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from reference.spec import Case
from reference.strategies.common import seeds
from scratch.optim.lr_scheduler import inverse_time_decay

__all__ = ["step_lr_cases", "multi_step_lr_cases", "exponential_lr_cases", "lambda_lr_cases", "linear_lr_cases",
           "cosine_annealing_lr_cases", "cosine_annealing_warm_restarts_cases", "one_cycle_lr_cases",
           "n_steps", "scheduler_case"]

SHAPES = ((3,), (2, 2), (1,), (4, 3))


def n_steps(lo: int = 1):
    """Mostly short runs: 16 in 20 take lo..20 steps, 2 in 20 up to 60, 1 in 20 up to 300, and
    1 in 20 exactly 500 (or lo), about 30 steps on average: every generated case is traced 7
    times by the engine, so the long tail sets the suite's time."""
    buckets = ["short"] * 16 + ["medium"] * 2 + ["long", "longest"]
    length = {"short": st.integers(lo, 20), "medium": st.integers(lo, 60), "long": st.integers(lo, 300),
              "longest": st.sampled_from([500, lo])}
    return st.sampled_from(buckets).flatmap(length.__getitem__)


def _optimizer(draw, adam: bool = True):
    lr = draw(st.sampled_from([0.1, 0.01, 1.0]) | st.floats(1e-3, 1.0))
    if adam and draw(st.integers(0, 3)) == 0:
        return ("Adam", {"lr": lr})
    return ("SGD", {"lr": lr, "momentum": draw(st.sampled_from([0.0, 0.9]))})


def scheduler_case(draw, config: dict, steps: int, optimizer=None, two_groups=None) -> Case:
    """Parameters, gradients and optimizer around a drawn scheduler ``config``."""
    seed = draw(seeds())
    rng = np.random.default_rng(seed)
    n_params = 2 if two_groups else draw(st.integers(1, 2))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_params)]
    inputs = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    name, kwargs = optimizer or _optimizer(draw)
    extra = {"optimizer": (name, kwargs)}
    if two_groups or (two_groups is None and n_params == 2 and draw(st.booleans())):
        extra["groups"] = [{"params": [0]}, {"params": [1], "lr": kwargs["lr"] / 2}]
    return Case(config=config, inputs=inputs, seed=seed, steps=grads, extra=extra)


def _gamma(draw, lo=0.05):
    return draw(st.sampled_from([0.1, 1.0, 0.5]) | st.floats(lo, 1.0))


@st.composite
def step_lr_cases(draw, n_calls=1, smooth=False):
    n = draw(n_steps())
    step_size = draw(st.sampled_from([1, max(1, n)]) | st.integers(1, max(1, n)))
    return scheduler_case(draw, {"step_size": step_size, "gamma": _gamma(draw)}, n)


@st.composite
def multi_step_lr_cases(draw, n_calls=1, smooth=False):
    n = draw(n_steps())
    # a Counter in torch: any order, repeats multiply by gamma^count, 0 decays in the constructor
    milestones = draw(st.lists(st.integers(0, n + 2), max_size=5))
    return scheduler_case(draw, {"milestones": milestones, "gamma": _gamma(draw)}, n)


@st.composite
def exponential_lr_cases(draw, n_calls=1, smooth=False):
    gamma = draw(st.sampled_from([1.0, 0.9, 0.99]) | st.floats(0.5, 1.0))
    return scheduler_case(draw, {"gamma": gamma}, draw(n_steps()))


def _decay():
    return st.sampled_from([0.0, 0.1, 1.0]) | st.floats(0.0, 2.0)


@st.composite
def lambda_lr_cases(draw, n_calls=1, smooth=False):
    two = draw(st.booleans())
    fn = [inverse_time_decay(draw(_decay())), inverse_time_decay(draw(_decay()))] if two \
        else inverse_time_decay(draw(_decay()))
    return scheduler_case(draw, {"lr_lambda": fn}, draw(n_steps()), two_groups=two or None)


@st.composite
def linear_lr_cases(draw, n_calls=1, smooth=False):
    n = draw(n_steps())
    cfg = {"start_factor": draw(st.sampled_from([1 / 3, 1.0, 0.1]) | st.floats(1e-3, 1.0)),
           "end_factor": draw(st.sampled_from([1.0, 0.0, 0.5]) | st.floats(0.0, 1.0)),
           "total_iters": draw(st.sampled_from([0, 1, 5]) | st.integers(0, n + 2))}  # 0: stays at start_factor
    return scheduler_case(draw, cfg, n)


def _eta_min(draw):
    return draw(st.sampled_from([0.0, 1e-3]) | st.floats(0.0, 0.05))


@st.composite
def cosine_annealing_lr_cases(draw, n_calls=1, smooth=False):
    n = draw(n_steps())
    t_max = draw(st.sampled_from([1, max(1, n // 3)]) | st.integers(1, max(1, n)))
    return scheduler_case(draw, {"T_max": t_max, "eta_min": _eta_min(draw)}, n)


@st.composite
def cosine_annealing_warm_restarts_cases(draw, n_calls=1, smooth=False):
    n = draw(n_steps())
    cfg = {"T_0": draw(st.sampled_from([1, 2]) | st.integers(1, max(1, n // 2))),
           "T_mult": draw(st.sampled_from([1, 2, 3])), "eta_min": _eta_min(draw)}
    return scheduler_case(draw, cfg, n)


def one_cycle_steps_ok(total: int, pct: float, three_phase: bool, n: int) -> bool:
    """False where torch divides 0 by 0: a first phase of zero length (pct * total == 1) or,
    at step n == total, a last phase of zero length (pct == 1 with two phases)."""
    first = float(pct * total) - 1
    if first == 0:
        return False
    last_start = float(2 * pct * total) - 2 if three_phase else first
    return not (n == total and last_start == total - 1)


@st.composite
def one_cycle_lr_cases(draw, n_calls=1, smooth=False):
    n = draw(n_steps())
    two = draw(st.booleans())
    cfg = {"max_lr": [1.0, 0.5] if two and draw(st.booleans()) else draw(st.sampled_from([1.0, 0.1]))}
    total = draw(st.sampled_from([n, n + 1]) | st.integers(n, n + 20))  # at most total_steps steps
    if draw(st.booleans()):
        cfg["total_steps"] = total
    else:  # total_steps from epochs * steps_per_epoch
        spe = draw(st.integers(1, 5))
        cfg["epochs"], cfg["steps_per_epoch"] = -(-total // spe), spe
        total = cfg["epochs"] * spe
    three = draw(st.booleans())
    pct = draw(st.sampled_from([0.3, 0.0, 0.5, 1.0]) | st.floats(0.0, 1.0).filter(
        lambda p: one_cycle_steps_ok(total, p, three, n)))
    if not one_cycle_steps_ok(total, pct, three, n):
        pct = 0.3  # float(0.3 * total) is never 1 and never reaches the last phase's start
    cfg.update(pct_start=pct, anneal_strategy=draw(st.sampled_from(["cos", "linear"])), three_phase=three,
               cycle_momentum=draw(st.booleans()))
    if draw(st.booleans()):
        cfg.update(base_momentum=draw(st.floats(0.5, 0.9)), max_momentum=draw(st.sampled_from([0.95, 0.99])),
                   div_factor=draw(st.sampled_from([25.0, 10.0, 1.0])),
                   final_div_factor=draw(st.sampled_from([1e4, 10.0])))
    opt = _optimizer(draw)
    return scheduler_case(draw, cfg, n, optimizer=opt, two_groups=two or None)
