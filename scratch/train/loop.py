"""``fit``: the training loop, recording one history row per epoch into a pandas DataFrame.

Protocols (scratch's own, and what ``reference.train`` presents for a torch model):
model ``forward(x) -> y`` / ``backward(grad_y)`` accumulating ``param.grad``, ``train()``,
``eval()``, ``named_parameters()``, ``state_dict()``/``load_state_dict()``; loss
``forward(input, target) -> 0-d`` / ``backward() -> grad of input``; optimizer ``step()``,
``zero_grad()``, ``param_groups``; scheduler ``step()``. Data: any re-iterable of
``(x_batch, y_batch)``, one pass per epoch (``scratch.data.DataLoader``/``ReplayLoader``).

One step: zero_grad; y = model(x); L = loss(y, t); model.backward(loss.backward());
optimizer.step(); then the scheduler when ``scheduler_interval="step"``.

Columns of the history (one row per epoch, in this order):
``epoch`` (1-based), ``lr`` (param group 0 at the start of the epoch), ``train_loss``
(sum_b |b| * L_b / sum_b |b| over the epoch's batches, each measured before its update),
``train_<metric>`` (on the epoch's concatenated training outputs), ``val_loss`` and
``val_<metric>`` (eval mode, after the epoch), then ``update_ratio/<param>``: the mean over the
epoch's steps of ||w_after - w_before|| / ||w_before|| (NaN when ||w_before|| = 0).
"""

from __future__ import annotations

import numpy as np

from scratch.metrics import accuracy_score, mean_absolute_error, r2_score, root_mean_squared_error
from scratch.train.callbacks import Callback, EarlyStopping, FitState

__all__ = ["fit", "predict", "evaluate", "METRICS", "update_ratio"]

# metric(targets, outputs) -> float; classification outputs are scores (N, C)
METRICS = {
    "accuracy": lambda t, y: accuracy_score(t, np.argmax(y, axis=1)),
    "r2": lambda t, y: r2_score(t, y.reshape(t.shape)),
    "rmse": lambda t, y: root_mean_squared_error(t, y.reshape(t.shape)),
    "mae": lambda t, y: mean_absolute_error(t, y.reshape(t.shape)),
}


def update_ratio(before: np.ndarray, after: np.ndarray) -> float:
    """Pure kernel: ||after - before|| / ||before|| (NaN for an all-zero ``before``)."""
    denom = float(np.linalg.norm(before))
    return float(np.linalg.norm(after - before)) / denom if denom > 0 else float("nan")


def _metric_fns(metrics) -> dict:
    out = {}
    for m in metrics or ():
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"metrics: expected a name from {sorted(METRICS)} or a (name, fn) pair, got {m!r}")
            out[m] = METRICS[m]
        elif isinstance(m, tuple) and len(m) == 2 and isinstance(m[0], str) and callable(m[1]):
            out[m[0]] = m[1]
        else:
            raise TypeError(f"metrics: expected a name or a (name, fn) pair, got {m!r}")
    return out


def predict(model, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """Eval-mode outputs of ``model`` on X (in chunks of ``batch_size``); restores the mode."""
    was_training = getattr(model, "training", True)
    model.eval()
    try:
        n = X.shape[0]
        step = n if not batch_size else batch_size
        outs = [np.asarray(model(X[i:i + step])) for i in range(0, max(n, 1), max(step, 1))]
    finally:
        model.train(was_training)
    return np.concatenate(outs, axis=0)


def evaluate(model, loss_fn, data, metrics=None, batch_size: int | None = None, prefix: str = "val_") -> dict:
    """``{prefix + "loss": ..., prefix + name: ...}`` on ``data = (X, y)`` in eval mode. With
    ``batch_size`` the loss is the size-weighted mean of the chunks' losses."""
    X, y = data
    out = predict(model, X, batch_size)
    step = X.shape[0] if not batch_size else batch_size
    losses = [float(loss_fn.forward(out[i:i + step], y[i:i + step])) * len(y[i:i + step])
              for i in range(0, X.shape[0], step)]
    row = {prefix + "loss": sum(losses) / X.shape[0]}
    row.update({prefix + name: float(fn(y, out)) for name, fn in _metric_fns(metrics).items()})
    return row


def _check_val_data(val_data):
    if val_data is None:
        return
    if not (isinstance(val_data, (tuple, list)) and len(val_data) == 2
            and all(isinstance(a, np.ndarray) for a in val_data)):
        raise TypeError("val_data: expected a pair (X_val, y_val) of numpy arrays")
    if val_data[0].shape[0] != val_data[1].shape[0] or val_data[0].shape[0] == 0:
        raise ValueError(f"val_data: expected X_val and y_val with the same non-zero number of samples, "
                         f"got {val_data[0].shape[0]} and {val_data[1].shape[0]}")


def fit(model, loss_fn, optimizer, train_data, *, epochs: int, val_data=None, scheduler=None,
        scheduler_interval: str = "epoch", metrics=(), callbacks=(),
        early_stopping: EarlyStopping | None = None, track_update_ratio: bool = True,
        val_batch_size: int | None = None, progress: bool = True):
    """Train ``model`` for up to ``epochs`` passes over ``train_data``; returns the history
    DataFrame (``history.attrs`` holds ``stopped_epoch`` and ``best_epoch`` when early stopping).

    ``metrics``: names from ``METRICS`` (e.g. ``["accuracy"]``) or ``(name, fn(targets, outputs))``
    pairs; none by default, so a regression run never reports a meaningless accuracy.
    ``early_stopping`` is a shortcut for adding an ``EarlyStopping`` to ``callbacks``.
    """
    metric_fns, callbacks = _checked_setup(epochs, scheduler_interval, val_data, metrics, callbacks, early_stopping)
    import pandas as pd  # lazily: scratch imports only NumPy (and scipy.special) at module level

    bar = _progress_bar(epochs, progress)
    state = FitState(model=model, optimizer=optimizer, scheduler=scheduler)
    model.train()
    for cb in callbacks:
        cb.on_train_begin(state)
    try:
        for epoch in range(1, epochs + 1):
            state.epoch = epoch
            row = {"epoch": epoch, "lr": float(optimizer.param_groups[0]["lr"])}
            seen = _train_epoch(state, loss_fn, train_data, scheduler if scheduler_interval == "step" else None,
                                callbacks, track_update_ratio, bool(metric_fns))
            row.update(_epoch_row(seen, metric_fns))
            if val_data is not None:
                row.update(evaluate(model, loss_fn, val_data, list(metric_fns.items()), val_batch_size))
            if track_update_ratio:
                row.update({f"update_ratio/{n}": float(np.mean(r)) if r else float("nan")
                            for n, r in seen["ratios"].items()})
            if scheduler is not None and scheduler_interval == "epoch":
                _epoch_step(scheduler, row)
            state.rows.append(row)
            for cb in callbacks:
                cb.on_epoch_end(state, row)
            bar.update(1)
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k in ("train_loss", "val_loss")})
            if state.stop:
                break
    finally:
        bar.close()
    for cb in callbacks:
        cb.on_train_end(state)
    history = pd.DataFrame(state.rows)
    for cb in callbacks:
        if isinstance(cb, EarlyStopping):
            history.attrs.update(stopped_epoch=cb.stopped_epoch, best_epoch=cb.best_epoch)
    return history


def _checked_setup(epochs, scheduler_interval, val_data, metrics, callbacks, early_stopping):
    """fit's arguments checked before anything runs: (metric functions, callbacks)."""
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs: expected an int >= 1, got {epochs!r}")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"scheduler_interval: expected 'epoch' or 'step', got {scheduler_interval!r}")
    _check_val_data(val_data)
    metric_fns = _metric_fns(metrics)
    callbacks = list(callbacks) + ([early_stopping] if early_stopping is not None else [])
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks: expected Callback instances, got {type(cb).__name__}")
        if getattr(cb, "monitor", "").startswith("val_") and val_data is None:
            raise ValueError(f"{type(cb).__name__} monitors {cb.monitor!r} but fit got no val_data")
    return metric_fns, callbacks


def _train_epoch(state, loss_fn, train_data, step_scheduler, callbacks, track_update_ratio, keep_outputs) -> dict:
    """One pass over ``train_data``: forward, backward, optimizer step (and the scheduler when it
    steps per batch). Returns what the epoch's row is made of: loss sum, count, outputs, ratios."""
    model, optimizer = state.model, state.optimizer
    seen = {"loss_sum": 0.0, "n": 0, "outs": [], "targets": [], "ratios": {n: [] for n, _ in model.named_parameters()}}
    for batch in train_data:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"train_data: expected batches (x, y), got {type(batch).__name__}"
                            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
        xb, yb = batch
        optimizer.zero_grad()
        out = model(xb)
        loss = loss_fn.forward(out, yb)
        model.backward(loss_fn.backward())
        before = {n: np.array(p.data, copy=True) for n, p in model.named_parameters()} if track_update_ratio else None
        optimizer.step()
        if before is not None:
            for n, p in model.named_parameters():
                seen["ratios"][n].append(update_ratio(before[n], np.asarray(p.data)))
        if step_scheduler is not None:
            step_scheduler.step()
        state.step += 1
        seen["loss_sum"] += float(loss) * len(yb)
        seen["n"] += len(yb)
        if keep_outputs:
            seen["outs"].append(np.array(out, copy=True))
            seen["targets"].append(yb)
        for cb in callbacks:
            cb.on_step_end(state)
    if seen["n"] == 0:
        raise ValueError(f"train_data: epoch {state.epoch} yielded no batches")
    return seen


def _epoch_row(seen: dict, metric_fns: dict) -> dict:
    """The training columns of an epoch's history row: mean loss and metrics."""
    row = {"train_loss": seen["loss_sum"] / seen["n"]}
    if metric_fns:
        y_all, out_all = np.concatenate(seen["targets"]), np.concatenate(seen["outs"])
        row.update({"train_" + k: float(fn(y_all, out_all)) for k, fn in metric_fns.items()})
    return row


def _epoch_step(scheduler, row: dict) -> None:
    # ReduceLROnPlateau (torch's name) steps on the monitored value; every other scheduler on nothing
    if type(scheduler).__name__ == "ReduceLROnPlateau":
        scheduler.step(row.get("val_loss", row["train_loss"]))
    else:
        scheduler.step()


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, *a, **k):
        pass

    def close(self):
        pass


def _progress_bar(epochs: int, progress: bool):
    if not progress:
        return _NoBar()
    try:
        from tqdm.auto import tqdm  # lazily, like pandas
    except ImportError:  # a missing tqdm costs the bar, never the run
        return _NoBar()
    return tqdm(total=epochs, desc="fit", unit="epoch", leave=False)
