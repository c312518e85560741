"""NAdam: Adam with Nesterov momentum and a momentum schedule (twin: torch.optim.NAdam).

torch's update, per parameter, at its own step t, g = grad (negated when maximize):

    decoupled_weight_decay:  p <- p * (1 - lr * weight_decay)     else  g <- g + weight_decay * p
    mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay));  mu_{t+1} likewise with t + 1
    mu_product <- mu_product * mu_t                # a 0-d float32, like torch's (float64 would differ ~5e-10)
    exp_avg    <- lerp(exp_avg, g, 1 - beta1)      # beta1, not mu_t
    exp_avg_sq <- beta2 * exp_avg_sq + (1 - beta2) * g^2
    denom = sqrt(exp_avg_sq / (1 - beta2^t)) + eps
    p <- p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
    p <- p - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * exp_avg / denom

State: ``step`` (0-d float32), ``mu_product`` (0-d float32, starts at 1), ``exp_avg``, ``exp_avg_sq``.
"""

from __future__ import annotations

import numpy as np

from scratch.optim.adam import validate_adam_family
from scratch.optim.optimizer import Optimizer, decayed_grad, lerp_, next_step


def nadam_init_state(param):
    return {"step": np.zeros((), dtype=np.float32), "mu_product": np.ones((), dtype=np.float32),
            "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}


def nadam_step(param, grad, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
               momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    """One NAdam step, in place like torch's: updates ``param`` and the arrays in ``state``
    (``step`` and ``mu_product`` are replaced)."""
    state["step"], t = next_step(state)
    bias_correction2 = 1 - beta2 ** t
    g = decayed_grad(param, grad, lr=lr, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
                     maximize=maximize)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * momentum_decay)))
    mp = np.asarray(state["mu_product"])  # float32 like torch's, in its own dtype after a load_state_dict
    state["mu_product"] = mu_product = np.asarray(mp.dtype.type(mp) * mp.dtype.type(mu), dtype=mp.dtype)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    lerp_(exp_avg, g, 1 - beta1)                          # m = beta1 * m + (1 - beta1) * g
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g                     # v = beta2 * v + (1 - beta2) * g^2
    denom = np.sqrt(exp_avg_sq / bias_correction2) + eps
    mu_product_next = float(mu_product) * mu_next
    param -= lr * (1.0 - mu) / (1.0 - float(mu_product)) * g / denom
    param -= lr * mu_next / (1.0 - mu_product_next) * exp_avg / denom


class NAdam(Optimizer):
    """torch.optim.NAdam's constructor and defaults; foreach, capturable and differentiable are
    accepted and ignored."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(hp):
        validate_adam_family(hp)
        if not 0.0 <= hp["momentum_decay"]:
            raise ValueError(f"Invalid momentum_decay value: {hp['momentum_decay']}")

    _kernel = staticmethod(nadam_step)

    def _init_state(self, param, group):
        return nadam_init_state(param)
