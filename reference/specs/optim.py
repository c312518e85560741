"""Specs for scratch.optim's optimizers (kind="optimizer"): a trajectory of 1..30 steps compared
with torch's after every step: every parameter and every state tensor under torch's names.

Tolerances (``step_tolerance``), after step t (rounding of a trajectory adds up about linearly):

- float64: rtol = 1e-10 * t, atol = 0. Both sides do the same operations in the same order,
  except that torch's fused multiply-adds (add with alpha, addcmul, lerp) round x*y + c once and
  scratch's plain NumPy rounds x*y, then the sum: one more error of at most u * |x*y| per fused
  operation (u = 2^-53 = 1.1e-16), about u relative to the result where x*y does not cancel c.
  Over 30 steps and a few such operations per step that is ~1e-14 relative, 1e4 times below
  1e-10 * t (measured: at most 3.4e-12 relative in the worst-margin quantity of any optimizer).
  No atol: states as small as 1e-30 (Adadelta's acc_delta under 1e-8 gradients) are compared too.
  Where x*y does cancel c (g + wd * p near zero, exp_avg crossing zero), u * |x*y| is not
  relative to the result: the engine measures that part (``reference.engine.fused``: the twin
  rerun with each fused product's scalar moved by one float32 rounding, scaled to float64 like
  the rest of the measured noise).
  One part in 1e6 in any step still fails at t = 30 (3e-9; tests/test_optim_api.py shows it).
- float32: rtol = 1.3e-6 + 2.4e-7 * t, atol = 1e-7 * t. Apart from the double rounding above
  (u = 2^-24, measured by the engine the same way), torch's float32 sqrt (MKL) is within 1 ulp
  but not correctly rounded, NumPy's is: each step may move the update by 2 ulps = 2.4e-7
  relative more; the normalised optimizers' updates are O(lr) <= 1, hence atol 1e-7 * t; rtol
  starts from torch.testing's 1.3e-6.

The engine adds the measured rounding of each trajectory (float32 vs float64 on the same data,
and the moved-scalar runs). Measured on the CPU over 81 generated cases per optimizer and dtype
(40 each from seeds 0 and 1, and the default case): the worst margin (error / allowance) is
0.36 in float32 (sgd's parameter) and 1.9e-3 in float64 (adam's exp_avg); with torch's fused
multiply-adds emulated exactly (before) they were 0.33 and 6.1e-5. Without the moved-scalar runs, float32 NAdam with
g = grad + 0.01 p cancelling 2000-fold failed at 1.32 and float32 RMSprop at 1.12.
"""

from __future__ import annotations

import numpy as np
import torch

import scratch.optim as sopt
from reference.compare import Tolerance
from reference import variants as RV
from reference.spec import Case, Spec
from reference.strategies import optim as OS
from reference.styles.cs231n_optim import update_rule


def trajectory_tolerance(dtype: str, t: int) -> Tolerance:
    """The allowance after step t (1-based); see the module docstring for why."""
    t = max(int(t), 1)
    if dtype == "float64":
        return Tolerance(rtol=1e-10 * t, atol=0.0)
    return Tolerance(rtol=1.3e-6 + 2.4e-7 * t, atol=1e-7 * t)


def _fused(direct=(), complement=(), l2=True, nesterov=False):
    """``Spec.fused_scalars`` for one optimizer: the scalars of torch's fused products (see
    ``reference.engine.fused``). ``direct``: factors as given (lr in ``param.add_(d, alpha=-lr)``);
    ``complement``: factors 1 - x (``lerp(g, 1 - beta1)``, ``addcmul(g, g, value=1 - beta2)``,
    alpha, rho, dampening); ``l2``: weight_decay in ``grad.add(param, alpha=weight_decay)`` (a
    decoupled decay is a plain product); ``nesterov``: SGD's ``grad.add(buf, alpha=momentum)``."""
    def names(config: dict) -> dict:
        out = {k: False for k in direct} | {k: True for k in complement}
        if l2 and not config.get("decoupled_weight_decay"):
            out["weight_decay"] = False
        if nesterov and config.get("nesterov"):
            out["momentum"] = False
        return out
    return names


_ADAM = ("beta1", "beta2")
_FUSED = {"sgd": _fused(("lr",), ("dampening",), nesterov=True), "adagrad": _fused(),
          "rmsprop": _fused(("lr",), ("alpha",)), "adam": _fused((), _ADAM), "adamw": _fused((), _ADAM, l2=False),
          "adamax": _fused((), ("beta1",)), "nadam": _fused((), _ADAM), "radam": _fused((), _ADAM),
          "adadelta": _fused(("lr",), ("rho",))}

_VARIANTS = {"sgd": RV.SGD, "rmsprop": RV.RMSPROP, "adam": RV.ADAM}
# states whose fused product cancels (reference.engine.fused): RMSprop's centered variance
# square_avg - grad_avg^2, computed in torch by one addcmul
_CANCELLING = {"rmsprop": lambda config: {"square_avg": "alpha"} if config.get("centered") else {}}


def _default(config: dict, steps: int = 8):
    """Two parameters (a matrix and a vector) and a few steps; the vector has no grad at step 2."""
    def make() -> Case:
        rng = np.random.default_rng(0)
        inputs = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
        grads = [[rng.standard_normal((3, 2)), None if t == 1 else rng.standard_normal(2)] for t in range(steps)]
        return Case(config=dict(config), inputs=inputs, seed=0, steps=grads)
    return make


_COMMON = "1-4 params () to (6, 6), 1-30 steps, grads 1e-8..1e3 with zeros and None steps, groups (lr, weight_decay)"


def _spec(name, cls_name, cases, config, draws, rich=None):
    """``rich``: the config in which every state entry exists (momentum_buffer, grad_avg,
    max_exp_avg_sq), where the defaults leave some out."""
    return Spec(name, getattr(sopt, cls_name), getattr(torch.optim, cls_name), f"torch.optim.{cls_name}", cases,
                kind="optimizer", default=_default(config), step_tolerance=trajectory_tolerance,
                draws=f"{draws}; {_COMMON}", fused_scalars=_FUSED[name], rich_config=rich or {},
                fused_states=_CANCELLING.get(name),
                styles={"cs231n": update_rule(name)} if name in ("sgd", "rmsprop", "adam") else {},
                variants=_VARIANTS.get(name, ()))


SPECS = [
    _spec("sgd", "SGD", OS.sgd_cases, dict(lr=0.1, momentum=0.9),
          "lr (0 too), momentum 0/0.5/0.9/0.99, dampening 0/0.1/0.5, nesterov, weight_decay, maximize",
          rich=dict(lr=0.1, momentum=0.9)),
    _spec("adagrad", "Adagrad", OS.adagrad_cases, dict(lr=0.1, lr_decay=0.01),
          "lr, lr_decay 0/0.01/0.5, initial_accumulator_value 0/0.1/1, eps 1e-10..1e-1, weight_decay, maximize"),
    _spec("rmsprop", "RMSprop", OS.rmsprop_cases, dict(lr=0.01, momentum=0.9, centered=True),
          "lr, alpha 0..0.99 (0 only uncentered), eps 1e-10..1e-1, momentum 0/0.5/0.9, centered, weight_decay, "
          "maximize", rich=dict(momentum=0.9, centered=True)),
    _spec("adam", "Adam", OS.adam_cases, dict(lr=0.01, amsgrad=True),
          "lr, betas (beta1 0..0.99, beta2 0.5..0.999), eps 1e-10..1e-1, L2 weight_decay, amsgrad, maximize",
          rich=dict(amsgrad=True)),
    _spec("adamw", "AdamW", OS.adamw_cases, dict(lr=0.01, weight_decay=0.1),
          "lr, betas, eps 1e-10..1e-1, decoupled weight_decay 0/1e-2/0.1, amsgrad, maximize", rich=dict(amsgrad=True)),
    _spec("adamax", "Adamax", OS.adamax_cases, dict(lr=0.01),
          "lr, betas, eps 1e-10..1e-1, weight_decay, maximize"),
    _spec("nadam", "NAdam", OS.nadam_cases, dict(lr=0.01, momentum_decay=0.004),
          "lr, betas, eps 1e-10..1e-1, momentum_decay 0/4e-3/0.1, weight_decay L2 or decoupled, maximize"),
    _spec("radam", "RAdam", OS.radam_cases, dict(lr=0.01),
          "lr, betas (beta2 0.5: never rectified), eps 1e-10..1e-1, weight_decay L2 or decoupled, maximize"),
    _spec("adadelta", "Adadelta", OS.adadelta_cases, dict(lr=1.0, rho=0.9),
          "lr 0.1..1, rho 0/0.5/0.9/0.99/1, eps 1e-10..1e-1, weight_decay, maximize"),
]
