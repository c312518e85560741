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
"""

from __future__ import annotations

import math
import types
import warnings
import weakref
from bisect import bisect_right
from collections import Counter
from functools import wraps

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "LambdaLR", "LinearLR",
           "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "inverse_time_decay"]

EPOCH_DEPRECATION_WARNING = ("The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
                             "where possible. Please use `scheduler.step()` to step the scheduler.")


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


def _check_int(value, name: str, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name}: expected an integer >= {lo}, got {value!r}")


def _check_real(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name}: expected a real number, got {value!r}")


def _per_group(name: str, optimizer, value) -> list:
    """One value per param group: a list/tuple must match their number (torch's _format_param)."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. {name} has "
                             f"{len(value)} values, param_groups has {len(optimizer.param_groups)}.")
        return list(value)
    return [value] * len(optimizer.param_groups)


def _track_step_calls(optimizer) -> None:
    """Wrap ``optimizer.step`` (once) so that step() can warn when the scheduler runs first."""
    step = getattr(optimizer, "step", None)
    func = getattr(step, "__func__", None)
    if func is None or hasattr(step, "_wrapped_by_lr_sched"):
        return
    try:
        opt_ref = weakref.ref(optimizer)  # no cycle optimizer -> wrapper -> optimizer
    except TypeError:
        return

    @wraps(func)
    def wrapper(*args, **kwargs):
        opt = opt_ref()
        opt._opt_called = True
        return func.__get__(opt, opt.__class__)(*args, **kwargs)

    wrapper._wrapped_by_lr_sched = True
    optimizer.step = wrapper


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``state_dict()``; subclasses write ``get_lr()``."""

    def __init__(self, optimizer, last_epoch: int = -1):
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) and "lr" in g for g in groups):
            raise TypeError(f"{type(self).__name__}: expected an optimizer with param_groups, a non-empty list "
                            f"of dicts with an 'lr', got {type(optimizer).__name__}")
        _check_int(last_epoch, "last_epoch", -1)
        if last_epoch != -1:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                                   "scheduler with last_epoch >= 0")
        self.optimizer = optimizer
        for group in groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch
        _track_step_calls(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        raise NotImplementedError

    def get_last_lr(self) -> list:
        """The lrs the last ``step()`` set, one per param group."""
        return self._last_lr

    def step(self, epoch=None) -> None:
        """Advance one epoch (call after ``optimizer.step()``); ``epoch`` is torch's deprecated form."""
        if self._step_count == 1 and hasattr(self.optimizer, "step"):  # torch's check of the call order
            if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
                warnings.warn("Seems like `optimizer.step()` has been overridden after learning rate scheduler "
                              "initialization.", UserWarning, stacklevel=2)
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`: the first value "
                              "of the schedule is skipped.", UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        self._set_lrs(values)

    def _set_lrs(self, values) -> None:
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _warn_outside_step(self) -> None:
        if not getattr(self, "_get_lr_called_within_step", False):
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=3)

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Every attribute except the optimizer (torch's keys)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


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


class OneCycleLR(LRScheduler):
    """1cycle: anneal initial_lr = max_lr / div_factor -> max_lr (until step pct_start * N - 1),
    then -> min_lr = initial_lr / final_div_factor (at step N - 1); three_phase goes back to
    initial_lr first (until 2 pct_start N - 2). The optimizer's own lr is ignored. With
    cycle_momentum, momentum (SGD, even one built with momentum=0) or beta1 (Adam) moves
    inversely, max_momentum -> base_momentum -> max_momentum. At most N steps after construction."""

    def __init__(self, optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
            raise TypeError(f"OneCycleLR: expected an optimizer with param_groups, got {type(optimizer).__name__}")
        # every check first: a rejected configuration leaves the optimizer untouched
        if total_steps is not None:
            if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
        elif epochs is not None and steps_per_epoch is not None:
            _check_int(epochs, "epochs", 1)
            _check_int(steps_per_epoch, "steps_per_epoch", 1)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or pct_start < 0 or pct_start > 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        first_end = float(pct_start * total_steps) - 1
        if first_end == 0:  # torch: ZeroDivisionError in the constructor's first step
            raise ZeroDivisionError(f"OneCycleLR: pct_start * total_steps = {pct_start} * {total_steps} = 1 makes "
                                    "the first phase zero steps long (0/0); choose another pct_start")
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        defaults = getattr(optimizer, "defaults", None) or groups[0]
        if cycle_momentum:
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            max_ms = _per_group("max_momentum", optimizer, max_momentum)
            base_ms = _per_group("base_momentum", optimizer, base_momentum)
        keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
        up = (first_end, "initial_lr", "max_lr", "max_momentum", "base_momentum")
        if three_phase:
            rest = [(float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                    (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            rest = [(total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self._schedule_phases = [dict(zip(keys, phase)) for phase in (up, *rest)]
        self.optimizer = optimizer
        self.total_steps = total_steps
        self._anneal_func_type = anneal_strategy
        if last_epoch == -1:
            for m, group in zip(max_lrs, groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = "betas" in defaults
            if last_epoch == -1:
                for m, b, group in zip(max_ms, base_ms, groups, strict=True):
                    self._set_momentum(group, m)
                    group["max_momentum"], group["base_momentum"] = m, b
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self):
        self._warn_outside_step()
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"Tried to step {step_num} times. The specified number of total steps is "
                             f"{self.total_steps}")
        anneal = annealing_cos if self._anneal_func_type == "cos" else annealing_linear
        lrs, momenta = [], []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step_num <= end_step or i == len(self._schedule_phases) - 1:
                    if end_step == start_step:  # torch: ZeroDivisionError (pct_start = 1 at step N)
                        raise ZeroDivisionError(f"OneCycleLR: phase {i + 1} is zero steps long at step {step_num}")
                    pct = (step_num - start_step) / (end_step - start_step)
                    lrs.append(anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momenta.append(anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct))
                    break
                start_step = phase["end_step"]
        for group, m in zip(self.optimizer.param_groups, momenta):  # a side effect, like torch's
            self._set_momentum(group, m)
        return lrs
