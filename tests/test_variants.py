"""The known-variant twins (reference/variants.py) against the bugs they name.

For each variant, on a few generated cases (seed 0) and the spec's default case, with the config
adjusted where needed so that the variant's convention applies (momentum > 0 for SGD's
dampening, class-index targets without weights for cross-entropy, ...):
1. scratch's correct component fails against the variant twin on every such case: the variant
   differs from torch there;
2. the buggy implementation with that convention passes against it on every such case, in
   float64: the variant is that bug. It is the catalog's class where the catalog has one
   (tests/catalog), else a minimal subclass of scratch's component defined here.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch

import reference.variants as RV
import scratch.nn as snn
import scratch.optim as sopt
from reference.engine import run_case
from reference.registry import get_spec
from reference.sampling import sample_cases
from reference.spec import Case
from scratch.optim.optimizer import lerp_, next_step
from tests.catalog import layers as catalog_layers
from tests.catalog import losses as catalog_losses
from tests.catalog import optimizers as catalog_optim

# --------------------------------------------------------------------------- buggy candidates the catalog lacks


class SumGradientCrossEntropy(snn.CrossEntropyLoss):
    """reduction="mean" averages the loss but returns the gradient of the sum (class-index targets)."""

    def _df(self, g, x, t):
        gx = super()._df(g, x, t)
        return gx if self.reduction != "mean" else (gx * np.sum(t != self.ignore_index)).astype(x.dtype)


class StepFromOneAdam(sopt.Adam):
    """The step counter starts at 1 and is incremented before use: step t's bias corrections use t + 1."""

    def _init_state(self, param, group):
        return {**super()._init_state(param, group), "step": np.ones((), dtype=np.float32)}


def _eps_inside_sqrt_rmsprop_step(param, grad, state, *, lr, alpha, eps, weight_decay, momentum, centered,
                                  maximize):
    """scratch's RMSprop kernel with eps inside the square root: sqrt(square_avg + eps)."""
    state["step"], _ = next_step(state)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    variance = state["square_avg"]
    variance *= alpha
    variance += (1 - alpha) * g * g
    if centered:
        grad_avg = lerp_(state["grad_avg"], g, 1 - alpha)
        variance = variance - grad_avg * grad_avg
    avg = np.sqrt(variance + eps)
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf *= momentum
        buf += g / avg
        param -= lr * buf
    else:
        param -= lr * g / avg


class EpsInsideSqrtRMSprop(sopt.RMSprop):
    """eps inside the square root, as TensorFlow puts it."""

    _kernel = staticmethod(_eps_inside_sqrt_rmsprop_step)


# --------------------------------------------------------------------------- which cases, per variant


def _class_indices(case: Case) -> bool:
    return not np.issubdtype(np.asarray(case.inputs[1]).dtype, np.floating)


def _kept(case: Case) -> int:
    return int(np.sum(case.inputs[1] != case.config.get("ignore_index", -100)))


def _classes(case: Case) -> int:
    x = case.inputs[0]
    return x.shape[0] if x.ndim == 1 else x.shape[1]


def _some_grad(case: Case) -> bool:
    """An optimizer case where some step has a nonzero gradient (a single zero step moves nothing)."""
    return any(g is not None and np.any(g != 0) for grads in case.steps for g in grads)


_PLAIN_CE = dict(weight=None, label_smoothing=0.0)  # the variants' domain: class indices, no weight or smoothing
# (N, C, d) logits with ignored targets: "mean" divides by the 4 targets kept
_IGNORED = Case({"ignore_index": 2},
                [np.random.default_rng(0).standard_normal((3, 4, 2)), np.array([[2, 0], [1, 2], [3, 3]])])
_ONE_SAMPLE_OVERFLOW = Case({"reduction": "none"}, [np.array([900.0, 0.5, -3.0]), np.array(1)])  # (C,), 0-d target


@dataclass(frozen=True)
class Check:
    component: str
    group: tuple                                           # the component's variants (reference.variants)
    name: str                                              # the variant's name
    candidate: type                                        # the buggy implementation the variant must match
    adjust: Callable[[dict], dict] = lambda cfg: {}        # config overrides so the variant applies
    keep: Callable[[Case], bool] = lambda case: True       # the (adjusted) cases that reach it
    n: int = 5                                             # generated cases (the default case is added)
    extra: tuple = ()                                      # hand-made cases at edges the few drawn miss

    @property
    def variant(self) -> RV.Variant:
        (v,) = [v for v in self.group if v.name == self.name]
        return v

    def cases(self) -> list[Case]:
        spec = get_spec(self.component)
        drawn = [spec.default_case(), *self.extra, *sample_cases(spec.cases(n_calls=len(spec.calls)), self.n, seed=0)]
        adjusted = [dataclasses.replace(c, config={**c.config, **self.adjust(c.config)}) for c in drawn]
        return [c for c in adjusted if self.keep(c)]


def _tracked(momentum=lambda m: 0.1 if m == 0 else m):
    """Batch norm with running statistics, and ``momentum(drawn momentum)`` (default: 0 moves none)."""
    return lambda cfg: dict(track_running_stats=True, momentum=momentum(cfg.get("momentum", 0.1)))


CHECKS = [
    Check("batch_norm1d", RV.BATCH_NORM1D, "biased_running_var", catalog_layers.BiasedRunningVarBatchNorm,
          _tracked()),
    # momentum None (a cumulative average) is torch's in the variant; the catalog class swaps 1/t too
    Check("batch_norm1d", RV.BATCH_NORM1D, "momentum_as_decay", catalog_layers.SwappedMomentumBatchNorm,
          _tracked(lambda m: 0.1 if m is None or abs(m - 0.5) < 0.1 else m)),
    Check("batch_norm1d", RV.BATCH_NORM1D, "eval_uses_batch_stats", catalog_layers.EvalBatchStatsBatchNorm,
          _tracked(lambda m: m)),
    Check("relu", RV.RELU, "grad_one_at_zero", catalog_layers.GradOneAtZeroReLU,
          keep=lambda case: any((np.asarray(x) == 0).any() for x in case.inputs), n=8),
    Check("cross_entropy", RV.CROSS_ENTROPY, "log_softmax_without_max_shift", catalog_losses.UnshiftedCrossEntropy,
          lambda cfg: _PLAIN_CE, lambda case: _class_indices(case) and np.max(case.inputs[0]) > 710, n=12,
          extra=(_ONE_SAMPLE_OVERFLOW,)),
    Check("cross_entropy", RV.CROSS_ENTROPY, "gradient_not_averaged", SumGradientCrossEntropy,
          lambda cfg: dict(_PLAIN_CE, reduction="mean"),
          lambda case: _class_indices(case) and _kept(case) > 1 and _classes(case) > 1, n=30, extra=(_IGNORED,)),
    Check("multi_margin", RV.MULTI_MARGIN, "hinge_counts_true_class", catalog_losses.TrueClassHingeMultiMargin,
          lambda cfg: dict(margin=cfg.get("margin", 1.0) or 1.0)),
    Check("adam", RV.ADAM, "eps_inside_sqrt", catalog_optim.EpsInsideSqrtAdam,
          lambda cfg: dict(eps=max(cfg.get("eps", 1e-8), 1e-3)), _some_grad, n=4),
    Check("adam", RV.ADAM, "no_bias_correction", catalog_optim.NoBiasCorrectionAdam, keep=_some_grad, n=4),
    Check("adam", RV.ADAM, "t_starts_at_1", StepFromOneAdam, keep=_some_grad, n=4),
    Check("rmsprop", RV.RMSPROP, "eps_inside_sqrt", EpsInsideSqrtRMSprop,
          lambda cfg: dict(eps=max(cfg.get("eps", 1e-8), 1e-3), lr=cfg.get("lr", 0.01) or 0.01), _some_grad, n=4),
    Check("sgd", RV.SGD, "dampening_on_first_step", catalog_optim.DampenedFirstStepSGD,
          lambda cfg: dict(momentum=cfg.get("momentum") or 0.9, dampening=cfg.get("dampening") or 0.5,
                           nesterov=False, lr=cfg.get("lr", 0.1) or 0.1), _some_grad, n=4),
    Check("sgd", RV.SGD, "nesterov_ignored", catalog_optim.NesterovIgnoredSGD,
          lambda cfg: dict(momentum=cfg.get("momentum") or 0.9, dampening=0.0, nesterov=True,
                           lr=cfg.get("lr", 0.1) or 0.1), _some_grad, n=4),
]
IDS = [f"{c.component}-{c.variant.name}" for c in CHECKS]


def _failed(check: Check, case: Case, candidate=None, dtype="float64") -> list:
    spec = dataclasses.replace(get_spec(check.component), twin=check.variant.twin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the unshifted candidates overflow on purpose
        return [r for r in run_case(spec, case, dtype, candidate=candidate) if not r.passed]


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_scratch_fails_against_the_variant(check):
    cases = check.cases()
    assert len(cases) >= 2, f"only {len(cases)} cases reach {check.variant.name}"
    passed = [c.as_code() for c in cases if not _failed(check, c)]
    assert passed == [], f"scratch's {check.component} matches {check.variant.name} on these cases"


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_the_bug_matches_the_variant(check):
    cases = check.cases()
    assert len(cases) >= 2, f"only {len(cases)} cases reach {check.variant.name}"
    for case in cases:
        bad = _failed(check, case, check.candidate)
        assert bad == [], (f"{check.candidate.__name__} differs from {check.variant.name} on {case.as_code()}: "
                           + "; ".join(f"{r.kind} {r.name} step {r.step}: got {r.got}, expected {r.expected} "
                                       f"{r.note[:200]}" for r in bad[:3]))


def test_softmax_without_max_shift_overflows_in_the_runs_dtype():
    """A logit gap of ~800 makes exp overflow in float64 (torch's shifted loss stays finite); a gap
    of 100 overflows in float32 only."""
    check = CHECKS[IDS.index("cross_entropy-log_softmax_without_max_shift")]
    variant = check.variant.twin()
    target = torch.tensor([1])
    for gap, dtype, finite in ((800.0, torch.float64, False), (100.0, torch.float32, False),
                               (100.0, torch.float64, True)):
        x = torch.tensor([[gap, 0.0, -1.0]], dtype=dtype)
        assert bool(torch.isfinite(variant(x, target))) is finite, (gap, dtype)
        assert torch.isfinite(torch.nn.CrossEntropyLoss()(x, target))
    case = Case({}, [np.array([[800.0, 0.0, -1.0], [0.5, 1.0, -2.0]]), np.array([1, 0])])
    assert _failed(check, case) and not _failed(check, case, check.candidate)


@pytest.mark.parametrize("group,component", [(RV.BATCH_NORM1D, "batch_norm1d"), (RV.RELU, "relu"),
                                             (RV.CROSS_ENTROPY, "cross_entropy"), (RV.MULTI_MARGIN, "multi_margin"),
                                             (RV.ADAM, "adam"), (RV.RMSPROP, "rmsprop"), (RV.SGD, "sgd")])
def test_variants_are_drop_in_twins(group, component):
    """Same constructor as the spec's twin, a subclass of it, snake_case names, one-line explanations."""
    twin = get_spec(component).twin
    assert len({v.name for v in group}) == len(group)
    for v in group:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", v.name) and "\n" not in v.explanation and v.explanation
        assert issubclass(v.twin, twin) and inspect.signature(v.twin) == inspect.signature(twin), v.name


@pytest.mark.parametrize("group,component,extra", [(RV.ADAM, "adam", {}), (RV.RMSPROP, "rmsprop", {}),
                                                   (RV.SGD, "sgd", {"nesterov": True})])
def test_optimizer_variants_keep_torchs_state_and_groups(group, component, extra):
    """After a step: torch's state names (with shapes and dtypes) and param_groups, unchanged."""
    spec = get_spec(component)
    config = {**spec.default_case().config, **spec.rich_config, **extra}

    def after_step(cls):
        p = torch.ones(3, dtype=torch.float64, requires_grad=True)
        p.grad = torch.full((3,), 0.5, dtype=torch.float64)
        opt = cls([p], **config)
        opt.step()
        return ({k: (tuple(x.shape), x.dtype) for k, x in opt.state[p].items()},
                [{k: x for k, x in g.items() if k != "params"} for g in opt.param_groups])
    for v in group:
        assert after_step(v.twin) == after_step(spec.twin), v.name
