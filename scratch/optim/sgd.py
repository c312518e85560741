"""SGD with momentum, dampening, Nesterov, L2 weight decay and maximize (twin: torch.optim.SGD).

torch's update, per parameter, with g = grad (negated when maximize):

    g <- g + weight_decay * p
    momentum != 0:  b <- g                                  on the first step (no dampening)
                    b <- momentum * b + (1 - dampening) * g  afterwards
                    d <- g + momentum * b  (nesterov, with the *updated* b)   else  d <- b
    p <- p - lr * d

The learning rate stays outside the buffer, so a schedule that changes lr rescales the whole
history at once. The course form ``v <- m*v - lr*g; w <- w + v`` keeps lr inside the buffer;
``course_momentum_step`` implements it. With dampening 0 and a constant lr the two agree exactly,
v_course = -lr * b_torch after every step; once lr changes they part (tests/test_optim_api.py).
State: ``momentum_buffer`` (only when momentum != 0; SGD keeps no step counter).
"""

from __future__ import annotations

import numpy as np

from scratch.optim.optimizer import Optimizer, _kernel_args


def sgd_step(param, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False):
    """One SGD step on one parameter, in place like torch's ``_single_tensor_sgd``: updates ``param``
    and ``momentum_buffer``; returns the buffer (a new array on the first step; None without
    momentum)."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    buf = None
    if momentum != 0:
        if momentum_buffer is None:
            buf = g.copy()
        else:
            buf = momentum_buffer
            buf *= momentum
            buf += (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    param -= lr * g
    return buf


def course_momentum_step(param, grad, velocity=None, *, lr, momentum):
    """The course's momentum: v <- momentum*v - lr*g (v starts at 0); w <- w + v.

    Pure: returns (new_param, new_velocity). Equals torch's SGD (dampening 0) while lr is
    constant, with v = -lr * momentum_buffer; differs once lr changes, because v carries the
    old learning rates inside it."""
    v = np.zeros_like(param) if velocity is None else velocity
    v = np.asarray(momentum * v - lr * grad, dtype=param.dtype)
    return np.asarray(param + v, dtype=param.dtype), v


class SGD(Optimizer):
    """torch.optim.SGD's constructor and defaults; foreach and differentiable are accepted and
    ignored (NumPy has one code path), fused=True raises."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        self._validate(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _validate(hp):
        if hp["lr"] < 0.0:
            raise ValueError(f"Invalid learning rate: {hp['lr']}")
        if hp["momentum"] < 0.0:
            raise ValueError(f"Invalid momentum value: {hp['momentum']}")
        if hp["weight_decay"] < 0.0:
            raise ValueError(f"Invalid weight_decay value: {hp['weight_decay']}")
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p, group):
        old = self.state.get(p, {}).get("momentum_buffer")
        buf = sgd_step(self._target(p), p.grad, old, **_kernel_args(sgd_step, group))
        if buf is not None:
            self.state.setdefault(p, {})["momentum_buffer"] = buf
