"""Wrong optimizers, one bug each (the class docstring states it): the verifier must catch every one.

All standalone, written the way a user would (``tests.catalog._user.UserOptimizer``: groups,
``state[p]`` under torch's names). ``PlainAdam`` and ``PlainSGD`` are correct, written in
torch's form without scratch's fused-multiply-add emulation (catalog entries that must pass);
the wrong Adams and SGDs override exactly one of their methods. ``CenteredIgnoredRMSprop``
and ``NoLrDecayAdagrad`` are written out in full.
"""

from __future__ import annotations

import math

import numpy as np

from tests.catalog import correct, wrong
from tests.catalog._user import UserOptimizer

# --------------------------------------------------------------------------- Adam family


class PlainAdam(UserOptimizer):
    """torch's Adam, plainly: m, v, bias corrections, eps added to sqrt(v-hat). Correct."""

    DEFAULTS = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
                    decoupled_weight_decay=False)

    def count(self, state):
        state["step"] = state.get("step", 0) + 1
        return state["step"]

    def decay(self, p, g, group):
        """(p, g) after weight decay: L2 adds wd p to g; decoupled shrinks p by lr wd."""
        wd = group["weight_decay"]
        if wd and group["decoupled_weight_decay"]:
            return p * (1 - group["lr"] * wd), g
        return p, (g + wd * p if wd else g)

    def second_moment(self, v, m, g, b2):
        return b2 * v + (1 - b2) * g * g

    def amsgrad_max(self, vmax, v, bc2):
        return np.maximum(vmax, v)

    def corrections(self, t, b1, b2):
        return 1 - b1 ** t, 1 - b2 ** t

    def denominator(self, v, bc2, eps):
        return np.sqrt(v) / math.sqrt(bc2) + eps

    def update(self, p, grad, state, group):
        (b1, b2), lr = group["betas"], group["lr"]
        if "exp_avg" not in state:
            state.update(exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        t = self.count(state)
        p, g = self.decay(p, -grad if group["maximize"] else grad, group)
        state["exp_avg"] = m = np.asarray(b1 * state["exp_avg"] + (1 - b1) * g, p.dtype)
        state["exp_avg_sq"] = v = np.asarray(self.second_moment(state["exp_avg_sq"], m, g, b2), p.dtype)
        bc1, bc2 = self.corrections(t, b1, b2)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = v = np.asarray(self.amsgrad_max(state["max_exp_avg_sq"], v, bc2), p.dtype)
        return p - (lr / bc1) * m / self.denominator(v, bc2, group["eps"])


class PlainAdamW(PlainAdam):
    """torch's AdamW: PlainAdam with decoupled decay and wd = 1e-2 by default. Correct."""

    DEFAULTS = dict(PlainAdam.DEFAULTS, weight_decay=1e-2, decoupled_weight_decay=True)


class SecondMomentFromMAdam(PlainAdam):
    """The second moment is updated from the first moment: v <- b2 v + (1 - b2) m^2 (not g^2)."""

    def second_moment(self, v, m, g, b2):
        return b2 * v + (1 - b2) * m * m


class NoBiasCorrectionAdam(PlainAdam):
    """No bias correction: bc1 = bc2 = 1 (early steps are far too small when beta1 > 0)."""

    def corrections(self, t, b1, b2):
        return 1.0, 1.0


class EpsInsideSqrtAdam(PlainAdam):
    """eps inside the square root: sqrt(v-hat + eps) (torch adds eps to sqrt(v-hat))."""

    def denominator(self, v, bc2, eps):
        return np.sqrt(v / bc2 + eps)


class EpsHatAdam(PlainAdam):
    """The "efficient" eps-hat form of the paper: (sqrt(v) + eps) / sqrt(bc2), i.e. eps scaled by 1 / sqrt(bc2)."""

    def denominator(self, v, bc2, eps):
        return (np.sqrt(v) + eps) / math.sqrt(bc2)


class CorrectedMaxAMSGrad(PlainAdam):
    """AMSGrad keeps the max of the bias-corrected v-hat; torch keeps the max of the raw v."""

    def amsgrad_max(self, vmax, v, bc2):
        return np.maximum(vmax, v / bc2) * bc2


class GlobalStepAdam(PlainAdam):
    """One step counter for the whole optimizer, advanced on every step() even for parameters without
    a grad: a parameter that starts late gets the wrong bias corrections (torch counts per parameter)."""

    def step(self, closure=None):
        self._t = getattr(self, "_t", 0) + 1
        super().step(closure)

    def count(self, state):
        state["step"] = self._t
        return self._t


class ZeroBasedStepAdam(PlainAdam):
    """Counts steps from 0: the bias corrections of the first update use t = 0, 1 - beta^0 = 0,
    so step 1 divides by zero (the counter is advanced only after the update)."""

    def count(self, state):
        t = state.get("step", 0)
        state["step"] = t + 1
        return t


class CoupledAdamW(PlainAdamW):
    """AdamW whose weight decay is L2 (added to the gradient, so Adam rescales it), not decoupled."""

    def decay(self, p, g, group):
        wd = group["weight_decay"]
        return p, (g + wd * p if wd else g)


class NoLrDecayAdamW(PlainAdamW):
    """AdamW decays p by wd * p instead of lr * wd * p (the paper's lambda without torch's lr factor)."""

    def decay(self, p, g, group):
        return p * (1 - group["weight_decay"]), g


# --------------------------------------------------------------------------- SGD


class PlainSGD(UserOptimizer):
    """torch's SGD, plainly: b <- g on the first step, then m b + (1 - dampening) g. Correct."""

    DEFAULTS = dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)

    def direction(self, g, state, group):
        m, tau = group["momentum"], group["dampening"]
        if m == 0:
            return g
        b = g if "momentum_buffer" not in state else m * state["momentum_buffer"] + (1 - tau) * g
        state["momentum_buffer"] = b = np.asarray(b, g.dtype)
        return g + m * b if group["nesterov"] else b

    def gradient(self, grad, p, group):
        g = -grad if group["maximize"] else grad
        return g + group["weight_decay"] * p if group["weight_decay"] else g

    def update(self, p, grad, state, group):
        return p - group["lr"] * self.direction(self.gradient(grad, p, group), state, group)


class NesterovIgnoredSGD(PlainSGD):
    """Accepts nesterov=True and does classical momentum anyway."""

    def direction(self, g, state, group):
        return super().direction(g, state, {**group, "nesterov": False})


class DampenedFirstStepSGD(PlainSGD):
    """Starts the buffer at zero, so the first step is already dampened: b1 = (1 - dampening) g
    (torch: b1 = g)."""

    def direction(self, g, state, group):
        state.setdefault("momentum_buffer", np.zeros_like(g))
        return super().direction(g, state, group)


class MaximizeAfterDecaySGD(PlainSGD):
    """maximize negates the decayed gradient, -(g + wd p): the decay then grows p (torch negates g
    first, so decay still shrinks p)."""

    def gradient(self, grad, p, group):
        g = grad + group["weight_decay"] * p if group["weight_decay"] else grad
        return -g if group["maximize"] else g


# --------------------------------------------------------------------------- RMSprop, Adagrad


class CenteredIgnoredRMSprop(UserOptimizer):
    """RMSprop that accepts centered=True but never subtracts the squared mean gradient (and keeps no grad_avg)."""

    DEFAULTS = dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False)

    def update(self, p, grad, state, group):
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        state["step"] = state.get("step", 0) + 1
        a = group["alpha"]
        state["square_avg"] = sq = np.asarray(a * state.get("square_avg", 0) + (1 - a) * g * g, p.dtype)
        avg = np.sqrt(sq) + group["eps"]
        if group["momentum"] > 0:
            buf = group["momentum"] * state.get("momentum_buffer", 0) + g / avg
            state["momentum_buffer"] = buf = np.asarray(buf, p.dtype)
            return p - group["lr"] * buf
        return p - group["lr"] * g / avg


class NoLrDecayAdagrad(UserOptimizer):
    """Adagrad that accepts lr_decay and ignores it (torch: clr = lr / (1 + (t - 1) lr_decay))."""

    DEFAULTS = dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False)

    def __init__(self, params, **hyper):
        super().__init__(params, **hyper)
        for group in self.param_groups:  # torch creates Adagrad's state eagerly, grad or not
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": np.full_like(p.data, group["initial_accumulator_value"])}

    def update(self, p, grad, state, group):
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        state["step"] += 1
        state["sum"] = s = np.asarray(state["sum"] + g * g, p.dtype)
        return p - group["lr"] * g / (np.sqrt(s) + group["eps"])


ENTRIES = [
    correct("adam", PlainAdam),
    correct("adamw", PlainAdamW),
    correct("sgd", PlainSGD),
    wrong("adam", SecondMomentFromMAdam, float32=True),
    wrong("adam", NoBiasCorrectionAdam, float32=True),
    wrong("adam", EpsInsideSqrtAdam),
    wrong("adam", EpsHatAdam),
    wrong("adam", CorrectedMaxAMSGrad),
    wrong("adam", GlobalStepAdam),
    wrong("adam", ZeroBasedStepAdam),
    wrong("adamw", CoupledAdamW),
    wrong("adamw", NoLrDecayAdamW),
    wrong("sgd", NesterovIgnoredSGD, float32=True, examples=100),
    wrong("sgd", DampenedFirstStepSGD, examples=60),
    wrong("sgd", MaximizeAfterDecaySGD),
    wrong("rmsprop", CenteredIgnoredRMSprop),
    wrong("adagrad", NoLrDecayAdagrad),
]
