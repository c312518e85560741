"""Snapshot ensembles (Huang et al. 2017) and seed ensembles: average predicted probabilities.

Snapshots: train with ``CosineAnnealingWarmRestarts(T_0, T_mult)``; cycle i lasts
T_0 * T_mult^i scheduler steps, so cycles end after ``T_0``, ``T_0 + T_0*T_mult``, ... steps
(``cycle_ends``). Right after such a step the scheduler restarts (lr back to its base), so the
weights at that moment sit at the bottom of an annealed cycle: ``SnapshotEnsemble`` copies
``model.state_dict()`` there. Which "step" is meant follows ``interval``:

- ``interval="epoch"`` (default): T_0 counts epochs; use ``fit(..., scheduler_interval="epoch")``.
- ``interval="step"``: T_0 counts optimizer steps; use ``fit(..., scheduler_interval="step")``.

Prediction: p(x) = (1/M) sum_m softmax(f_m(x)), the mean of the members' class probabilities
(softmax over dim 1 of the outputs, max-shifted). A seed ensemble averages M independently
seeded models the same way.
"""

from __future__ import annotations

import numpy as np

from scratch.train.callbacks import Callback, FitState
from scratch.train.loop import predict

__all__ = ["cycle_ends", "SnapshotEnsemble", "softmax", "average_probabilities",
           "snapshot_predict_proba", "ensemble_predict_proba", "seed_ensemble"]


def cycle_ends(T_0: int, T_mult: int = 1, total: int = 0) -> list[int]:
    """Scheduler-step counts (1-based) at which a warm-restart cycle ends, up to ``total``."""
    if isinstance(T_0, bool) or not isinstance(T_0, (int, np.integer)) or T_0 < 1:
        raise ValueError(f"T_0: expected a positive int, got {T_0!r}")
    if isinstance(T_mult, bool) or not isinstance(T_mult, (int, np.integer)) or T_mult < 1:
        raise ValueError(f"T_mult: expected an int >= 1, got {T_mult!r}")
    ends, length, end = [], int(T_0), int(T_0)
    while end <= total:
        ends.append(end)
        length *= int(T_mult)
        end += length
    return ends


class SnapshotEnsemble(Callback):
    """Copies the model's weights at the end of every warm-restart cycle into ``snapshots``,
    a list of ``(position, state_dict)`` with position = the epoch or step count."""

    def __init__(self, T_0: int, T_mult: int = 1, interval: str = "epoch"):
        if interval not in ("epoch", "step"):
            raise ValueError(f"SnapshotEnsemble interval: expected 'epoch' or 'step', got {interval!r}")
        cycle_ends(T_0, T_mult)  # validates
        self.T_0, self.T_mult, self.interval = int(T_0), int(T_mult), interval
        self.snapshots: list[tuple[int, dict]] = []

    @classmethod
    def from_scheduler(cls, scheduler, interval: str = "epoch") -> "SnapshotEnsemble":
        """Read T_0 and T_mult off a (scratch or torch) ``CosineAnnealingWarmRestarts``."""
        return cls(int(scheduler.T_0), int(scheduler.T_mult), interval)

    def _is_end(self, position: int) -> bool:
        return position in cycle_ends(self.T_0, self.T_mult, position)

    def on_train_begin(self, state: FitState) -> None:
        self.snapshots = []

    def on_step_end(self, state: FitState) -> None:
        if self.interval == "step" and self._is_end(state.step):
            self.snapshots.append((state.step, state.model.state_dict()))

    def on_epoch_end(self, state: FitState, row: dict) -> None:
        if self.interval == "epoch" and self._is_end(state.epoch):
            self.snapshots.append((state.epoch, state.model.state_dict()))


def softmax(outputs: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) outputs, shifted by the row max (no overflow)."""
    outputs = np.asarray(outputs)
    if outputs.ndim != 2:
        raise ValueError(f"softmax: expected outputs of shape (N, C), got {outputs.shape}")
    e = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def average_probabilities(probabilities) -> np.ndarray:
    """Mean of M arrays of class probabilities, each (N, C)."""
    probabilities = [np.asarray(p) for p in probabilities]
    if not probabilities:
        raise ValueError("average_probabilities: expected at least one member, got none")
    shapes = {p.shape for p in probabilities}
    if len(shapes) != 1:
        raise ValueError(f"average_probabilities: expected members of one shape, got {sorted(shapes)}")
    return np.mean(np.stack(probabilities), axis=0)


def snapshot_predict_proba(model, snapshots, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """Load each snapshot's weights into ``model``, average softmax(model(X)); the model's own
    weights are put back afterwards. ``snapshots``: state dicts or ``(position, state_dict)``."""
    states = [s[1] if isinstance(s, tuple) else s for s in snapshots]
    if not states:
        raise ValueError("snapshot_predict_proba: expected at least one snapshot, got none")
    current = model.state_dict()
    try:
        probs = []
        for state in states:
            model.load_state_dict(state)
            probs.append(softmax(predict(model, X, batch_size)))
    finally:
        model.load_state_dict(current)
    return average_probabilities(probs)


def ensemble_predict_proba(models, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """Average of softmax(model(X)) over ``models`` (eval mode)."""
    return average_probabilities([softmax(predict(m, X, batch_size)) for m in models])


def seed_ensemble(train_one, seeds) -> list:
    """``[train_one(seed) for seed in seeds]``: independent runs that differ only in the seed
    (initialization and batch order); ``train_one`` returns the trained model."""
    seeds = list(seeds)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seed_ensemble: expected distinct seeds, got {seeds}")
    return [train_one(seed) for seed in seeds]
