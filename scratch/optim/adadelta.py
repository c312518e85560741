"""Adadelta (twin: torch.optim.Adadelta).

torch's update, per parameter, g = grad (negated when maximize):

    g <- g + weight_decay * p
    square_avg <- rho * square_avg + (1 - rho) * g^2
    delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g     # the *old* acc_delta; eps in both roots
    acc_delta  <- rho * acc_delta + (1 - rho) * delta^2
    p <- p - lr * delta                                            # lr: an extra factor Zeiler's paper lacks

State: ``step`` (0-d float32), ``square_avg``, ``acc_delta``.
"""

from __future__ import annotations

import numpy as np

from scratch.optim.optimizer import Optimizer, next_step


def adadelta_init_state(param):
    return {"step": np.zeros((), dtype=np.float32), "square_avg": np.zeros_like(param),
            "acc_delta": np.zeros_like(param)}


def adadelta_step(param, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    """One Adadelta step, in place like torch's: updates ``param`` and the arrays in ``state``
    (``state["step"]`` is replaced)."""
    state["step"], _ = next_step(state)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
    square_avg *= rho
    square_avg += (1 - rho) * g * g                       # E[g^2] = rho * E[g^2] + (1 - rho) * g^2
    std = np.sqrt(square_avg + eps)
    delta = np.sqrt(acc_delta + eps) / std * g            # the old E[dx^2]
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta                # E[dx^2] = rho * E[dx^2] + (1 - rho) * dx^2
    param -= lr * delta


class Adadelta(Optimizer):
    """torch.optim.Adadelta's constructor and defaults; foreach, capturable and differentiable are
    accepted and ignored."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(hp):
        if not 0.0 <= hp["lr"]:
            raise ValueError(f"Invalid learning rate: {hp['lr']}")
        if not 0.0 <= hp["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {hp['rho']}")
        if not 0.0 <= hp["eps"]:
            raise ValueError(f"Invalid epsilon value: {hp['eps']}")
        if not 0.0 <= hp["weight_decay"]:
            raise ValueError(f"Invalid weight_decay value: {hp['weight_decay']}")

    _kernel = staticmethod(adadelta_step)

    def _init_state(self, param, group):
        return adadelta_init_state(param)
