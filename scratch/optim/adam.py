"""Adam with L2 or decoupled weight decay and AMSGrad (twin: torch.optim.Adam).

torch's update, per parameter, at its own step t (1-based), g = grad (negated when maximize),
bc1 = 1 - beta1^t, bc2 = 1 - beta2^t:

    decoupled_weight_decay:  p <- p * (1 - lr * weight_decay)      else  g <- g + weight_decay * p
    exp_avg    <- lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq <- beta2 * exp_avg_sq + (1 - beta2) * g^2
    amsgrad:   max_exp_avg_sq <- max(max_exp_avg_sq, exp_avg_sq)   (the raw average, from 0)
    denom = sqrt(v) / sqrt(bc2) + eps          # v = max_exp_avg_sq or exp_avg_sq; eps on sqrt(v-hat)
    p <- p - (lr / bc1) * exp_avg / denom

State: ``step`` (0-d float32), ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq`` (amsgrad).
"""

from __future__ import annotations

import numpy as np

from scratch.optim.optimizer import Optimizer, decayed_grad, lerp_, next_step


def adam_init_state(param, amsgrad=False):
    state = {"step": np.zeros((), dtype=np.float32), "exp_avg": np.zeros_like(param),
             "exp_avg_sq": np.zeros_like(param)}
    if amsgrad:
        state["max_exp_avg_sq"] = np.zeros_like(param)
    return state


def update_moments(param, grad, state, *, lr, beta1, beta2, weight_decay, decoupled_weight_decay, maximize) -> float:
    """The part Adam, AdamW and RAdam share, in torch's order; updates ``param`` (decoupled decay)
    and ``state`` in place, returns the step count t."""
    state["step"], t = next_step(state)
    g = decayed_grad(param, grad, lr=lr, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
                     maximize=maximize)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    lerp_(exp_avg, g, 1 - beta1)                  # m = beta1 * m + (1 - beta1) * g
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g             # v = beta2 * v + (1 - beta2) * g^2
    return t


def adam_step(param, grad, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
              maximize=False, decoupled_weight_decay=False):
    """One Adam (AdamW when decoupled_weight_decay) step, in place like torch's
    ``_single_tensor_adam``: updates ``param`` and the arrays in ``state`` (``state["step"]`` is
    replaced by the incremented counter)."""
    t = update_moments(param, grad, state, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                       decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
    exp_avg, v = state["exp_avg"], state["exp_avg_sq"]
    bias_correction1 = 1 - beta1 ** t
    bias_correction2 = 1 - beta2 ** t
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5
    if amsgrad:
        v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
    denom = np.sqrt(v) / bias_correction2_sqrt + eps
    param -= step_size * exp_avg / denom


def validate_adam_family(hp: dict) -> None:
    """torch's checks shared by Adam, AdamW, Adamax, NAdam and RAdam, in torch's order and wording."""
    if not 0.0 <= hp["lr"]:
        raise ValueError(f"Invalid learning rate: {hp['lr']}")
    if not 0.0 <= hp["eps"]:
        raise ValueError(f"Invalid epsilon value: {hp['eps']}")
    check_betas(hp["betas"])
    if not 0.0 <= hp["weight_decay"]:
        raise ValueError(f"Invalid weight_decay value: {hp['weight_decay']}")


def check_betas(betas):
    b1, b2 = betas
    if not 0.0 <= b1 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {b1}")
    if not 0.0 <= b2 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {b2}")


class Adam(Optimizer):
    """torch.optim.Adam's constructor and defaults (weight_decay is L2 unless
    decoupled_weight_decay); foreach, capturable and differentiable are accepted and ignored,
    fused=True raises."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        self._validate(defaults)
        if not all(isinstance(b, float) for b in betas):  # torch's rule: an int beta such as 0 is refused
            raise ValueError("betas must be either both floats or both Tensors")
        defaults["betas"] = tuple(betas)
        super().__init__(params, defaults)

    _validate = staticmethod(validate_adam_family)

    _kernel = staticmethod(adam_step)

    def _init_state(self, param, group):
        return adam_init_state(param, group["amsgrad"])
