"""Adamax: Adam with the infinity norm (twin: torch.optim.Adamax).

torch's update, per parameter, at its own step t, g = grad (negated when maximize):

    g <- g + weight_decay * p
    exp_avg <- lerp(exp_avg, g, 1 - beta1)
    exp_inf <- max(beta2 * exp_inf, |g| + eps)     # eps inside the max (the paper has none)
    p <- p - (lr / (1 - beta1^t)) * exp_avg / exp_inf

State: ``step`` (0-d float32), ``exp_avg``, ``exp_inf``.
"""

from __future__ import annotations

import numpy as np

from scratch.optim.adam import validate_adam_family
from scratch.optim.optimizer import Optimizer, lerp_, next_step


def adamax_init_state(param):
    return {"step": np.zeros((), dtype=np.float32), "exp_avg": np.zeros_like(param), "exp_inf": np.zeros_like(param)}


def adamax_step(param, grad, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, maximize=False):
    """One Adamax step, in place like torch's: updates ``param`` and the arrays in ``state``
    (``state["step"]`` is replaced)."""
    state["step"], t = next_step(state)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
    lerp_(exp_avg, g, 1 - beta1)                          # m = beta1 * m + (1 - beta1) * g
    exp_inf *= beta2
    np.maximum(exp_inf, np.abs(g) + eps, out=exp_inf)      # u = max(beta2 * u, |g| + eps)
    clr = lr / (1 - beta1 ** t)
    param -= clr * exp_avg / exp_inf


class Adamax(Optimizer):
    """torch.optim.Adamax's constructor and defaults; foreach, capturable and differentiable are
    accepted and ignored."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        self._validate(defaults)
        super().__init__(params, defaults)

    _validate = staticmethod(validate_adam_family)

    _kernel = staticmethod(adamax_step)

    def _init_state(self, param, group):
        return adamax_init_state(param)
