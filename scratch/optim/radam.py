"""RAdam: Adam with the variance rectification term (twin: torch.optim.RAdam).

torch's update, per parameter, at its own step t, g = grad (negated when maximize),
bc1 = 1 - beta1^t, bc2 = 1 - beta2^t:

    decoupled_weight_decay:  p <- p * (1 - lr * weight_decay)     else  g <- g + weight_decay * p
    exp_avg <- lerp(exp_avg, g, 1 - beta1);  exp_avg_sq <- beta2 * exp_avg_sq + (1 - beta2) * g^2
    m_hat = exp_avg / bc1
    rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2^t / bc2
    rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                p <- p - m_hat * lr * (sqrt(bc2) / (sqrt(exp_avg_sq) + eps)) * r   # eps on the raw sqrt
    otherwise:  p <- p - m_hat * lr                                              # SGD with momentum

With beta2 = 0.999 the first five steps are unrectified; the threshold is 5, not 4.
State: ``step`` (0-d float32), ``exp_avg``, ``exp_avg_sq``.
"""

from __future__ import annotations

import numpy as np

from scratch.optim.adam import update_moments, validate_adam_family
from scratch.optim.optimizer import Optimizer


def radam_init_state(param):
    return {"step": np.zeros((), dtype=np.float32), "exp_avg": np.zeros_like(param),
            "exp_avg_sq": np.zeros_like(param)}


def radam_step(param, grad, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
               decoupled_weight_decay=False, maximize=False):
    """One RAdam step, in place like torch's: updates ``param`` and the arrays in ``state``
    (``state["step"]`` is replaced)."""
    t = update_moments(param, grad, state, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                       decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    bias_correction1 = 1 - beta1 ** t
    bias_correction2 = 1 - beta2 ** t
    bias_corrected_exp_avg = exp_avg / bias_correction1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * (beta2 ** t) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        # torch writes scalar / tensor, which it evaluates as reciprocal(tensor) * scalar
        adaptive_lr = 1 / (np.sqrt(exp_avg_sq) + eps) * bias_correction2 ** 0.5
        param -= bias_corrected_exp_avg * lr * adaptive_lr * rect
    else:
        param -= bias_corrected_exp_avg * lr


class RAdam(Optimizer):
    """torch.optim.RAdam's constructor and defaults; foreach, capturable and differentiable are
    accepted and ignored."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        self._validate(defaults)
        super().__init__(params, defaults)

    _validate = staticmethod(validate_adam_family)

    _kernel = staticmethod(radam_step)

    def _init_state(self, param, group):
        return radam_init_state(param)
