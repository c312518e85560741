"""Correct optimizers written differently from scratch's: the verifier must pass every one.

- ``CourseMomentumSGD``: the course's velocity form v <- m v - lr (1 - dampening) g, p <- p + v
  (Nesterov: p <- p + m v - lr g). It equals torch's SGD only while lr is constant, which holds
  within one optimizer trajectory; the state the verifier compares is torch's
  ``momentum_buffer`` b, so it is derived as b = -v / lr. At lr = 0 the velocity is identically
  0 and carries no history (the strategy draws lr = 0): there b is kept directly.
- ``FoldedAdam``: bias corrections folded into the step size, step_size = lr sqrt(bc2) / bc1 and
  eps scaled to eps sqrt(bc2): lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps) rewritten exactly
  (plain eps there would be the eps-hat bug, ``optimizers.EpsHatAdam``). ``FoldedAdamW`` is the
  same with decoupled decay.
All standalone (``tests.catalog._user.UserOptimizer``), none subclasses scratch.optim.
"""

from __future__ import annotations

import math

import numpy as np

from tests.catalog import correct
from tests.catalog._user import UserOptimizer


class CourseMomentumSGD(UserOptimizer):
    """SGD in the velocity form (module doc); ``state[p]["momentum_buffer"]`` = -v / lr (torch's b)."""

    DEFAULTS = dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)

    def update(self, p, grad, state, group):
        lr, m, tau = group["lr"], group["momentum"], group["dampening"]
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        if m == 0:
            return p - lr * g
        first = "momentum_buffer" not in state
        if lr == 0:  # no velocity to carry the history: keep torch's b itself
            b = g if first else m * state["momentum_buffer"] + (1 - tau) * g
            state["momentum_buffer"] = np.asarray(b, p.dtype)
            return p
        v = -lr * g if first else m * state["velocity"] - lr * (1 - tau) * g
        state["velocity"] = v = np.asarray(v, p.dtype)
        state["momentum_buffer"] = np.asarray(-v / lr, p.dtype)
        return p + m * v - lr * g if group["nesterov"] else p + v


class FoldedAdam(UserOptimizer):
    """Adam with the bias corrections folded into the step size and eps (module doc)."""

    DEFAULTS = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
                    decoupled_weight_decay=False)

    def update(self, p, grad, state, group):
        (b1, b2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        g = -grad if group["maximize"] else grad
        if wd and group["decoupled_weight_decay"]:
            p = p * (1 - lr * wd)
        elif wd:
            g = g + wd * p
        state["step"] = t = state["step"] + 1
        state["exp_avg"] = m = np.asarray(b1 * state["exp_avg"] + (1 - b1) * g, p.dtype)
        state["exp_avg_sq"] = v = np.asarray(b2 * state["exp_avg_sq"] + (1 - b2) * g * g, p.dtype)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = v = np.maximum(state["max_exp_avg_sq"], v)
        root_bc2 = math.sqrt(1 - b2 ** t)
        step_size = lr * root_bc2 / (1 - b1 ** t)
        return p - step_size * m / (np.sqrt(v) + group["eps"] * root_bc2)


class FoldedAdamW(FoldedAdam):
    """``FoldedAdam`` with AdamW's defaults: decoupled decay p <- p (1 - lr wd), wd = 1e-2."""

    DEFAULTS = dict(FoldedAdam.DEFAULTS, weight_decay=1e-2, decoupled_weight_decay=True)


ENTRIES = [
    correct("sgd", CourseMomentumSGD, float32=True),
    correct("adam", FoldedAdam, float32=True),
    correct("adamw", FoldedAdamW),
]
