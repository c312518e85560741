"""One ``*_cases`` strategy per optimizer; each produces optimizer ``Case``s (see reference.spec.Case).

A case is a trajectory: 1 to 4 parameters (shapes () to (6, 6)), 1 to 30 steps, each step one
gradient per parameter or None (the parameter is skipped that step). What the strategies reach:

- gradient scales 1, 1e-3, 1e-8 (tiny: eps placement decides the step) and 1e3, or a different
  scale per parameter; exact zeros inside a gradient and all-zero steps (a zero grad still counts);
  constant gradient sequences (bias corrections are then visible in closed form);
- None patterns: a parameter that starts late (its step counter lags the others), one with
  None at random steps, one that never gets a grad (no state, except Adagrad's eager state);
- every flag and edge value of each constructor (momentum 0, dampening > 0, nesterov, maximize,
  amsgrad, centered, decoupled decay, weight_decay 0 and > 0, eps 1e-10..1e-1, lr 0, lr_decay,
  initial_accumulator_value, beta1 0, rho 0 and 1);
- parameter groups with their own lr and weight_decay (``extra["groups"]``).

``n_calls`` and ``smooth`` are accepted for the registry's uniform signature and unused.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from reference.spec import Case
from reference.strategies.common import float_arrays, seeds

__all__ = ["sgd_cases", "adagrad_cases", "rmsprop_cases", "adam_cases", "adamw_cases", "adamax_cases",
           "nadam_cases", "radam_cases", "adadelta_cases", "trajectories", "MAX_STEPS"]

MAX_STEPS = 30
GRAD_SCALES = (1.0, 1e-3, 1e-8, 1e3)
EPS_EDGES = (1e-10, 1e-8, 1e-6, 1e-3, 1e-1)


def _shapes():
    """() to matrices; shrinks towards a 1-D vector."""
    side = st.integers(1, 6)
    return st.one_of(st.tuples(side), st.just(()), st.tuples(side, side))


def lrs(hi=1.0):
    """Learning rates up to ``hi``; 0 (state moves, parameters do not) is one edge among five."""
    return st.one_of(st.sampled_from([1e-2, 1e-3, 0.1, hi, 0.0]), st.floats(1e-4, hi))


def eps_values():
    return st.one_of(st.sampled_from(EPS_EDGES), st.floats(-10, -1).map(lambda e: float(10.0 ** e)))


def weight_decays():
    return st.sampled_from([0.0, 1e-4, 1e-2, 0.1])


def betas():
    return st.tuples(st.sampled_from([0.9, 0.0, 0.5, 0.99]), st.sampled_from([0.999, 0.9, 0.99, 0.5]))


def _none_pattern(draw, n_steps, allow_always):
    """Which steps give a parameter no grad: never, a late start, random steps, or always
    (only when another parameter moves, else the case would compare nothing)."""
    kind = draw(st.sampled_from(["never", "late", "random", "always"] if allow_always else ["never", "late", "random"]))
    if kind == "late" and n_steps > 1:  # no grad for the first k steps, then grads
        k = draw(st.integers(1, n_steps - 1))
        return [i < k for i in range(n_steps)]
    if kind == "random":
        return [draw(st.booleans()) for _ in range(n_steps)]
    return [kind == "always"] * n_steps


@st.composite
def trajectories(draw, constant_ok=True):
    """(inputs, steps, extra): initial values, per-step gradients (or None) and optional groups."""
    shapes = draw(st.lists(_shapes(), min_size=1, max_size=4))
    # short runs are cheap and shrink well; a third of the draws still go the full 30 steps
    n_steps = draw(st.one_of(st.integers(1, 8), st.integers(1, MAX_STEPS), st.just(MAX_STEPS)))
    inputs = [draw(float_arrays(s, edges=(0.0,), magnitude=draw(st.sampled_from([1.0, 1e-3, 1e2])))) for s in shapes]
    rng = np.random.default_rng(draw(seeds()))
    if draw(st.booleans()):
        scales = [draw(st.sampled_from(GRAD_SCALES))] * len(shapes)
    else:
        scales = [draw(st.sampled_from(GRAD_SCALES)) for _ in shapes]
    constant = constant_ok and draw(st.integers(0, 4)) == 0
    zero_steps = set(draw(st.lists(st.integers(0, n_steps - 1), max_size=2)))
    none_param = draw(st.integers(-1, len(shapes) - 1))  # -1: every parameter always has a grad
    nones = _none_pattern(draw, n_steps, len(shapes) > 1) if none_param >= 0 else [False] * n_steps
    first = [rng.standard_normal(s) * c for s, c in zip(shapes, scales)]
    steps = []
    for i in range(n_steps):
        row = []
        for j, (s, c) in enumerate(zip(shapes, scales)):
            if j == none_param and nones[i]:
                row.append(None)
            elif i in zero_steps:
                row.append(np.zeros(s))
            else:
                g = first[j].copy() if constant else rng.standard_normal(s) * c
                if g.size and rng.random() < 0.3:  # exact zeros inside a gradient
                    g.flat[rng.integers(0, g.size)] = 0.0
                row.append(g)
        steps.append(row)
    extra = {}
    if len(shapes) >= 2 and draw(st.booleans()):
        order = draw(st.permutations(range(len(shapes))))
        cut = draw(st.integers(1, len(shapes) - 1))
        extra["groups"] = [{"params": sorted(order[:cut]), "lr": draw(lrs()), "weight_decay": draw(weight_decays())},
                           {"params": sorted(order[cut:])}]
    return inputs, steps, extra


def _case(draw, config, constant_ok=True):
    inputs, steps, extra = draw(trajectories(constant_ok=constant_ok))
    return Case(config=config, inputs=inputs, seed=0, steps=steps, extra=extra)


@st.composite
def sgd_cases(draw, n_calls=1, smooth=False):
    momentum = draw(st.sampled_from([0.0, 0.9, 0.5, 0.99]))
    # with momentum: plain heavy ball, Nesterov (needs dampening 0) or dampened, a third each;
    # without: dampening is drawn anyway (torch ignores it then)
    mode = draw(st.sampled_from(["plain", "nesterov", "dampened"])) if momentum > 0 else "dampened"
    nesterov = mode == "nesterov"
    dampening = draw(st.sampled_from([0.1, 0.5, 0.0] if momentum == 0 else [0.1, 0.5])) if mode == "dampened" else 0.0
    cfg = dict(lr=draw(lrs()), momentum=momentum, dampening=dampening, weight_decay=draw(weight_decays()),
               nesterov=nesterov, maximize=draw(st.booleans()))
    return _case(draw, cfg)


@st.composite
def adagrad_cases(draw, n_calls=1, smooth=False):
    cfg = dict(lr=draw(lrs()), lr_decay=draw(st.sampled_from([0.0, 0.01, 0.5])),
               weight_decay=draw(weight_decays()), initial_accumulator_value=draw(st.sampled_from([0.0, 0.1, 1.0])),
               eps=draw(eps_values()), maximize=draw(st.booleans()))
    return _case(draw, cfg)


@st.composite
def rmsprop_cases(draw, n_calls=1, smooth=False):
    centered = draw(st.booleans())
    # centered subtracts grad_avg^2 from square_avg: alpha 0 makes that 0 up to rounding (sqrt of a
    # rounding error, NaN when negative), so centered draws alphas that keep a real variance
    alphas = [0.99, 0.9, 0.5] if centered else [0.99, 0.9, 0.5, 0.0]
    cfg = dict(lr=draw(lrs(0.1)), alpha=draw(st.sampled_from(alphas)), eps=draw(eps_values()),
               weight_decay=draw(weight_decays()), momentum=draw(st.sampled_from([0.0, 0.9, 0.5])),
               centered=centered, maximize=draw(st.booleans()))
    # a constant gradient makes the centered variance alpha^t (1 - alpha^t) g^2: cancellation again
    return _case(draw, cfg, constant_ok=not centered)


def _adam_config(draw, weight_decay):
    return dict(lr=draw(lrs(0.1)), betas=draw(betas()), eps=draw(eps_values()), weight_decay=weight_decay,
                amsgrad=draw(st.booleans()), maximize=draw(st.booleans()))


@st.composite
def adam_cases(draw, n_calls=1, smooth=False):
    return _case(draw, _adam_config(draw, draw(weight_decays())))


@st.composite
def adamw_cases(draw, n_calls=1, smooth=False):
    return _case(draw, _adam_config(draw, draw(st.sampled_from([1e-2, 0.0, 0.1]))))


@st.composite
def adamax_cases(draw, n_calls=1, smooth=False):
    cfg = dict(lr=draw(lrs(0.1)), betas=draw(betas()), eps=draw(eps_values()), weight_decay=draw(weight_decays()),
               maximize=draw(st.booleans()))
    return _case(draw, cfg)


@st.composite
def nadam_cases(draw, n_calls=1, smooth=False):
    cfg = dict(lr=draw(lrs(0.1)), betas=draw(betas()), eps=draw(eps_values()), weight_decay=draw(weight_decays()),
               momentum_decay=draw(st.sampled_from([4e-3, 0.0, 0.1])),
               decoupled_weight_decay=draw(st.booleans()), maximize=draw(st.booleans()))
    return _case(draw, cfg)


@st.composite
def radam_cases(draw, n_calls=1, smooth=False):
    # beta2 0.999, 0.99 and 0.9 all rectify from step 6 on (rho_t > 5); 0.5 never (rho_inf = 3)
    cfg = dict(lr=draw(lrs(0.1)), betas=draw(betas()), eps=draw(eps_values()), weight_decay=draw(weight_decays()),
               decoupled_weight_decay=draw(st.booleans()), maximize=draw(st.booleans()))
    return _case(draw, cfg)


@st.composite
def adadelta_cases(draw, n_calls=1, smooth=False):
    cfg = dict(lr=draw(st.sampled_from([1.0, 0.1, 0.5])), rho=draw(st.sampled_from([0.9, 0.0, 0.5, 0.99, 1.0])),
               eps=draw(eps_values()), weight_decay=draw(weight_decays()), maximize=draw(st.booleans()))
    return _case(draw, cfg)
