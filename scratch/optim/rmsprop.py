"""RMSprop, plain or centered, with momentum (twin: torch.optim.RMSprop).

torch's update, per parameter, g = grad (negated when maximize):

    g <- g + weight_decay * p
    square_avg <- alpha * square_avg + (1 - alpha) * g^2
    centered:   grad_avg <- lerp(grad_avg, g, 1 - alpha);  a = sqrt(square_avg - grad_avg^2)
    otherwise:  a = sqrt(square_avg)
    a <- a + eps                                   # eps outside the square root (TF puts it inside)
    momentum > 0:  buf <- momentum * buf + g / a;  p <- p - lr * buf   (lr outside the buffer)
    otherwise:     p <- p - lr * g / a

Every buffer starts at zero. State: ``step`` (0-d float32), ``square_avg``, ``momentum_buffer``
(when momentum > 0 at the first step), ``grad_avg`` (when centered).
"""

from __future__ import annotations

import numpy as np

from scratch.optim.optimizer import Optimizer, lerp_, next_step


def rmsprop_init_state(param, momentum=0.0, centered=False):
    state = {"step": np.zeros((), dtype=np.float32), "square_avg": np.zeros_like(param)}
    if momentum > 0:
        state["momentum_buffer"] = np.zeros_like(param)
    if centered:
        state["grad_avg"] = np.zeros_like(param)
    return state


def rmsprop_step(param, grad, state, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
    """One RMSprop step, in place like torch's: updates ``param`` and the arrays in ``state``
    (``state["step"]`` is replaced)."""
    state["step"], _ = next_step(state)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    square_avg = state["square_avg"]
    square_avg *= alpha
    square_avg += (1 - alpha) * g * g
    if centered:
        grad_avg = lerp_(state["grad_avg"], g, 1 - alpha)
        variance = square_avg - grad_avg * grad_avg         # torch: square_avg.addcmul(grad_avg, grad_avg, value=-1)
        with np.errstate(invalid="ignore"):                 # rounded below 0: NaN, as torch's sqrt gives
            avg = np.sqrt(variance)
    else:
        avg = np.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf *= momentum
        buf += g / avg
        param -= lr * buf
    else:
        param -= lr * g / avg


class RMSprop(Optimizer):
    """torch.optim.RMSprop's constructor and defaults; capturable, foreach and differentiable are
    accepted and ignored."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(hp):
        for key, label in (("lr", "learning rate"), ("eps", "epsilon value"), ("momentum", "momentum value"),
                           ("weight_decay", "weight_decay value"), ("alpha", "alpha value")):
            if not 0.0 <= hp[key]:
                raise ValueError(f"Invalid {label}: {hp[key]}")

    _kernel = staticmethod(rmsprop_step)

    def _init_state(self, param, group):
        return rmsprop_init_state(param, group["momentum"], group["centered"])
