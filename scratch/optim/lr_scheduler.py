"""Learning-rate schedules with torch's class names (twin: ``torch.optim.lr_scheduler``).

A scheduler drives any optimizer with torch's ``param_groups`` (a list of dicts with a
float ``"lr"``; OneCycleLR also writes ``"momentum"`` or ``"betas"``). Timing is torch's:
the constructor sets ``initial_lr`` in each group, then steps once (``last_epoch`` -1 -> 0),
so in the loop ``opt.step(); sched.step()`` optimizer step k (0-based) uses schedule(k).

With t = last_epoch and base = initial_lr:
    StepLR          base * gamma^floor(t / step_size)
    MultiStepLR     base * gamma^(number of milestones <= t)   (a repeated milestone counts twice)
    ExponentialLR   base * gamma^t
    LambdaLR        base * lr_lambda(t)         (1/t decay: ``inverse_time_decay(k)``)
    LinearLR        base * (s + (e - s) * min(t, T) / T)   (T = 0: stays at s * base)
    CosineAnnealingLR  eta_min + (base - eta_min)(1 + cos(pi t / T_max)) / 2, periodic, never clamped
    CosineAnnealingWarmRestarts  the same with T_cur / T_i; T_cur wraps at T_i, then T_i *= T_mult
    OneCycleLR      cos/linear anneal max_lr/div -> max_lr -> min_lr, momentum the other way
Most of them compute the next lr *recursively* from the group's current lr, exactly as torch's
``get_lr`` does, with torch's float expressions, so the sequences agree with torch to the bit;
the closed forms above are only used by the deprecated ``step(epoch)``.
The code is split: pure kernels in ``_schedule_kernels``, ``LRScheduler`` in ``_scheduler_base``,
``OneCycleLR`` in ``_one_cycle_lr``; every name is importable from here, as before.
"""

from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter

from scratch.optim._one_cycle_lr import OneCycleLR
from scratch.optim._schedule_kernels import (  # noqa: F401  (re-exported: the kernels' public home)
    annealing_cos, annealing_linear, cosine_annealing_next, cosine_closed_form, inverse_time_decay, linear_lr_next,
)
from scratch.optim._scheduler_base import (  # noqa: F401
    EPOCH_DEPRECATION_WARNING, LRScheduler, _check_int, _check_real, _per_group, _track_step_calls,
)

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "LambdaLR", "LinearLR",
           "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "inverse_time_decay"]


class StepLR(LRScheduler):
    """lr *= gamma every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        _check_int(step_size, "step_size", 1)  # torch: 0 dies at step 1, a negative one acts like |step_size|
        _check_real(gamma, "gamma")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr *= gamma^count at each milestone (a Counter: any order, repeats multiply; 0 decays at once)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        milestones = list(milestones)
        for m in milestones:
            _check_int(m, "milestones entry", 0)
        _check_real(gamma, "gamma")
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch] for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch) for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr *= gamma every epoch."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        _check_real(gamma, "gamma")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch): not recursive (MultiplicativeLR would be)."""

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        n = len(getattr(optimizer, "param_groups", None) or [])
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * n
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda: expected a callable epoch -> factor, got {type(fn).__name__}")
        self.optimizer = optimizer
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)]

    def state_dict(self) -> dict:
        """torch's rule: a callable object's ``__dict__`` is saved, a function or lambda is not."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class LinearLR(LRScheduler):
    """Factor goes linearly from start_factor to end_factor over total_iters epochs, then stays."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1):
        if not isinstance(start_factor, (int, float)) or start_factor > 1.0 or not start_factor > 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1, "
                             f"got {start_factor!r}.")
        if not isinstance(end_factor, (int, float)) or end_factor > 1.0 or not end_factor >= 0:
            raise ValueError(f"Ending multiplicative factor expected to be between 0 and 1, got {end_factor!r}.")
        _check_int(total_iters, "total_iters", 0)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        return [linear_lr_next(group["lr"], self.last_epoch, self.start_factor, self.end_factor, self.total_iters)
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                           * min(self.total_iters, self.last_epoch) / self.total_iters) for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine from initial_lr down to eta_min over T_max epochs, back up over the next T_max."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        _check_real(T_max, "T_max")
        if not T_max > 0:
            raise ValueError(f"T_max: expected a positive number of epochs, got {T_max!r}")
        _check_real(eta_min, "eta_min")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and self.last_epoch > 0:  # resumed: restart the recursion from the closed form
            return [cosine_closed_form(b, self.last_epoch, self.T_max, self.eta_min) for b in self.base_lrs]
        return [cosine_annealing_next(group["lr"], base_lr, self.last_epoch, self.T_max, self.eta_min)
                for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups, strict=True)]

    def _get_closed_form_lr(self):
        return [cosine_closed_form(b, self.last_epoch, self.T_max, self.eta_min) for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (the cyclic schedule of snapshot ensembles): lr = eta_min + (base - eta_min)(1 + cos(pi T_cur / T_i)) / 2.
    Each step: T_cur += 1; when T_cur reaches T_i it wraps (T_cur %= T_i) and T_i *= T_mult.
    ``step(epoch)`` (a float epoch, e.g. epoch + batch / batches) places T_cur and T_i directly."""

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1):
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_outside_step()
        return [cosine_closed_form(b, self.T_cur, self.T_i, self.eta_min) for b in self.base_lrs]

    def step(self, epoch=None) -> None:
        # torch's own step: no step counting, no order warnings, no deprecation of ``epoch``
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:  # cycle n starts at T_0 (T_mult^n - 1) / (T_mult - 1)
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** (n)
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        self._set_lrs(values)
