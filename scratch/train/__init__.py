"""Training: ``fit`` (history as a pandas DataFrame), callbacks, early stopping, ensembles.

- ``fit(model, loss_fn, optimizer, train_data, *, epochs, val_data, scheduler, ...)``;
  ``predict``, ``evaluate``; the update-to-weight ratio per parameter in the history.
- ``Callback``, ``FitState``, ``EarlyStopping(monitor, patience, min_delta, mode, restore_best_weights)``.
- ``SnapshotEnsemble`` (weights at the end of each warm-restart cycle), ``cycle_ends``,
  ``snapshot_predict_proba``, ``ensemble_predict_proba``, ``seed_ensemble``, ``softmax``,
  ``average_probabilities``.

The same ``fit`` drives a torch model through ``reference.train``'s adapters.
"""

from scratch.train.callbacks import Callback, EarlyStopping, FitState
from scratch.train.ensemble import (
    SnapshotEnsemble, average_probabilities, cycle_ends, ensemble_predict_proba, seed_ensemble,
    snapshot_predict_proba, softmax,
)
from scratch.train.loop import METRICS, evaluate, fit, predict, update_ratio

__all__ = [
    "fit", "predict", "evaluate", "update_ratio", "METRICS",
    "Callback", "FitState", "EarlyStopping",
    "SnapshotEnsemble", "cycle_ends", "softmax", "average_probabilities",
    "snapshot_predict_proba", "ensemble_predict_proba", "seed_ensemble",
]
