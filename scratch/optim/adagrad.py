"""Adagrad (twin: torch.optim.Adagrad).

torch's update, per parameter, at its own step t (1-based), g = grad (negated when maximize):

    g   <- g + weight_decay * p
    clr  = lr / (1 + (t - 1) * lr_decay)          # t - 1: the first step uses lr itself
    sum <- sum + g * g                            # sum starts at initial_accumulator_value
    p   <- p - clr * g / (sqrt(sum) + eps)        # eps outside the square root

Unlike the other optimizers, torch creates Adagrad's state in the constructor, for every
parameter (a grad that stays None still has ``step`` 0 and ``sum`` = initial value), and always
from the constructor's ``initial_accumulator_value`` (a group's own value is ignored); this
class does the same. State: ``step`` (0-d float32), ``sum``.
"""

from __future__ import annotations

import numpy as np

from scratch.optim.optimizer import Optimizer, next_step


def adagrad_init_state(param, initial_accumulator_value=0.0):
    return {"step": np.zeros((), dtype=np.float32), "sum": np.full_like(param, initial_accumulator_value)}


def adagrad_step(param, grad, state, *, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
    """One Adagrad step, in place like torch's: updates ``param`` and ``state["sum"]``
    (``state["step"]`` is replaced)."""
    state["step"], t = next_step(state)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    clr = lr / (1 + (t - 1) * lr_decay)
    state_sum = state["sum"]
    state_sum += g * g
    std = np.sqrt(state_sum) + eps
    param -= clr * g / std


class Adagrad(Optimizer):
    """torch.optim.Adagrad's constructor and defaults; foreach and differentiable are accepted and
    ignored, fused=True raises."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        self._validate(defaults)
        super().__init__(params, defaults)
        # eager, for the constructor's groups only: add_param_group's parameters start lazily (as in torch)
        for group in self.param_groups:
            for p in group["params"]:
                self.state.setdefault(p, adagrad_init_state(p.data, initial_accumulator_value))

    @staticmethod
    def _validate(hp):
        for key, label in (("lr", "learning rate"), ("lr_decay", "lr_decay value"),
                           ("weight_decay", "weight_decay value"),
                           ("initial_accumulator_value", "initial_accumulator_value value"),
                           ("eps", "epsilon value")):
            if not 0.0 <= hp[key]:
                raise ValueError(f"Invalid {label}: {hp[key]}")

    _kernel = staticmethod(adagrad_step)

    def _init_state(self, param, group):
        return adagrad_init_state(param, self.defaults["initial_accumulator_value"])  # the constructor's, as in torch
