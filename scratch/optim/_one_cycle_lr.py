"""OneCycleLR (twin: ``torch.optim.lr_scheduler.OneCycleLR``), re-exported by
``scratch.optim.lr_scheduler``.

Phases (N = total_steps, p = pct_start), each annealed by ``annealing_cos`` or ``annealing_linear``:
    two-phase    initial_lr -> max_lr (steps 0..p N - 1), max_lr -> min_lr (.. N - 1)
    three_phase  initial_lr -> max_lr (.. p N - 1), max_lr -> initial_lr (.. 2 p N - 2),
                 initial_lr -> min_lr (.. N - 1)
with initial_lr = max_lr / div_factor and min_lr = initial_lr / final_div_factor; momentum (or
beta1) moves the other way, max_momentum -> base_momentum -> max_momentum.
"""

from __future__ import annotations

from scratch.optim._schedule_kernels import annealing_cos, annealing_linear
from scratch.optim._scheduler_base import LRScheduler, _check_int, _per_group


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
