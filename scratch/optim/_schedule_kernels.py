"""Pure schedule kernels under ``scratch.optim.lr_scheduler`` (which re-exports them): one lr
from the current one, with torch's float expressions so the recursions agree with torch to the bit.

    annealing_cos(s, e, pct)       e + (s - e)(1 + cos(pi pct)) / 2          (OneCycleLR, "cos")
    annealing_linear(s, e, pct)    (e - s) pct + s                           (OneCycleLR, "linear")
    cosine_closed_form(b, t, T, m) m + (b - m)(1 + cos(pi t / T)) / 2        (CosineAnnealing*)
    cosine_annealing_next(lr, ...) lr_t from lr_{t-1}, torch's CosineAnnealingLR.get_lr
    linear_lr_next(lr, t, ...)     lr_t = lr_{t-1} factor_t / factor_{t-1}, torch's LinearLR.get_lr
    inverse_time_decay(k)          the lr_lambda epoch -> 1 / (1 + k epoch)  (1/t decay for LambdaLR)
Scalars in, a float out; no state.
"""

from __future__ import annotations

import math


class inverse_time_decay:  # noqa: N801  (a function-like factory: lr_lambda=inverse_time_decay(0.1))
    """1/t decay as an ``lr_lambda``: f(epoch) = 1 / (1 + k * epoch), so lr_t = lr_0 / (1 + k t).
    A plain picklable object (torch's LambdaLR saves its ``__dict__`` in ``state_dict``) that
    works for both scratch's and torch's LambdaLR, with a repr that is code."""

    def __init__(self, k: float):
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not k >= 0:
            raise ValueError(f"inverse_time_decay: expected a real k >= 0, got {k!r}")
        self.k = k

    def __call__(self, epoch: int) -> float:
        return 1.0 / (1.0 + self.k * epoch)

    def __repr__(self) -> str:
        return f"inverse_time_decay({self.k!r})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.k == self.k

    __hash__ = None


# ---- kernels: one lr from the current one (torch's recursions), pure functions ----

def annealing_cos(start: float, end: float, pct: float) -> float:
    """Cosine from ``start`` (pct 0) to ``end`` (pct 1); torch's OneCycleLR expression."""
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


def annealing_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


def cosine_annealing_next(lr: float, base_lr: float, t: int, T_max: float, eta_min: float) -> float:
    """lr_t from lr_{t-1}: the ratio of consecutive closed-form values, except at the
    trough (t - 1 - T_max divisible by 2 T_max) where that ratio is 0/0 and torch adds
    the closed-form increment instead."""
    if (t - 1 - T_max) % (2 * T_max) == 0:
        return lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
    return (1 + math.cos(math.pi * t / T_max)) / (1 + math.cos(math.pi * (t - 1) / T_max)) * (lr - eta_min) + eta_min


def cosine_closed_form(base_lr: float, t: float, T: float, eta_min: float) -> float:
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


def linear_lr_next(lr: float, t: int, start_factor: float, end_factor: float, total_iters: int) -> float:
    """lr_t = lr_{t-1} * factor_t / factor_{t-1}, written as torch writes it (t >= 1)."""
    return lr * (1.0 + (end_factor - start_factor)
                 / (total_iters * start_factor + (t - 1) * (end_factor - start_factor)))
