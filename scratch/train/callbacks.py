"""Hooks into ``fit``: the ``Callback`` protocol and ``EarlyStopping``.

``fit`` calls, on every callback, ``on_train_begin(state)`` before the first step,
``on_step_end(state)`` after each optimizer (and per-step scheduler) step,
``on_epoch_end(state, row)`` with the epoch's finished history row, and ``on_train_end(state)``
(also after an early stop). Setting ``state.stop = True`` ends training after that epoch.

EarlyStopping (Keras' ``EarlyStopping`` semantics; torch has none): an epoch improves when
``value < best - min_delta`` (mode "min") or ``value > best + min_delta`` (mode "max"). After
``patience`` epochs in a row without improvement, training stops. With
``restore_best_weights`` the model's ``state_dict`` from the best epoch is loaded back when
training ends, whether it stopped early or ran all its epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Callback", "FitState", "EarlyStopping"]


@dataclass
class FitState:
    """What callbacks see: the objects being trained and where training is."""

    model: object
    optimizer: object
    scheduler: object = None
    epoch: int = 0            # 1-based once the first epoch has started
    step: int = 0             # optimizer steps taken so far (all epochs)
    rows: list = field(default_factory=list)   # finished history rows
    stop: bool = False


class Callback:
    """Base class with no-op hooks; subclasses override what they need."""

    def on_train_begin(self, state: FitState) -> None:
        pass

    def on_step_end(self, state: FitState) -> None:
        pass

    def on_epoch_end(self, state: FitState, row: dict) -> None:
        pass

    def on_train_end(self, state: FitState) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "min", restore_best_weights: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
            raise ValueError(f"EarlyStopping patience: expected an int >= 1, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping min_delta: expected a number >= 0, got {min_delta!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping mode: expected 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.mode, self.restore_best_weights = mode, restore_best_weights
        self._reset()

    def _reset(self) -> None:
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch, self.best_weights, self.wait, self.stopped_epoch = 0, None, 0, 0

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, state: FitState) -> None:
        self._reset()

    def on_epoch_end(self, state: FitState, row: dict) -> None:
        if self.monitor not in row:
            raise KeyError(f"EarlyStopping: monitor {self.monitor!r} is not in the history; "
                           f"expected one of {sorted(row)}")
        value = float(row[self.monitor])
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_weights = state.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch, state.stop = state.epoch, True

    def on_train_end(self, state: FitState) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)
