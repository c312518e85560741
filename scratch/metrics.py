"""Classification and regression metrics, with scikit-learn's names and conventions.

Twins: ``sklearn.metrics.accuracy_score``, ``top_k_accuracy_score``, ``confusion_matrix``,
``r2_score``, ``root_mean_squared_error``, ``mean_absolute_error`` (torch has none).

- accuracy = mean(y_true == y_pred), labels of shape (N,).
- top-k accuracy: y_score (N, C), column c scoring class ``labels[c]`` (default: the sorted
  unique values of y_true, which must then number C). A hit when the true class is among the
  k highest scores; ties rank the larger column first (sklearn's stable-argsort-reversed order).
- confusion matrix: C[i, j] = #{n : y_true[n] = labels[i] and y_pred[n] = labels[j]}; samples
  whose true or predicted label is not in ``labels`` are left out, as in sklearn.
- R^2 = 1 - sum (y - yhat)^2 / sum (y - mean y)^2 per output. With a constant target the ratio
  is undefined; sklearn's ``force_finite`` rule applies: 1.0 for a perfect prediction, else 0.0.
  Fewer than two samples give NaN (sklearn warns; here the NaN is the message).
- RMSE = sqrt(mean (y - yhat)^2) and MAE = mean |y - yhat| per output; outputs (N, K) are
  averaged uniformly (``multioutput``), so 2-D RMSE is the mean of per-column RMSEs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy_score", "top_k_accuracy_score", "confusion_matrix", "r2_score",
           "root_mean_squared_error", "mean_absolute_error", "mean_squared_error"]

_MULTIOUTPUT = ("raw_values", "uniform_average", "variance_weighted")


def _labels_1d(y, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels (N,), got shape {y.shape}")
    return y


def _same_length(a: np.ndarray, b: np.ndarray, na: str, nb: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{na} and {nb}: expected the same number of samples, got {a.shape[0]} and {b.shape[0]}")


def accuracy_score(y_true, y_pred) -> float:
    """Fraction of samples whose predicted label equals the true label."""
    y_true, y_pred = _labels_1d(y_true, "y_true"), _labels_1d(y_pred, "y_pred")
    _same_length(y_true, y_pred, "y_true", "y_pred")
    if y_true.size == 0:
        raise ValueError("accuracy_score: expected at least one sample, got 0")
    return float(np.mean(y_true == y_pred))


def top_k_accuracy_score(y_true, y_score, *, k: int = 2, labels=None) -> float:
    """Fraction of samples whose true class is among the ``k`` best-scored of y_score (N, C)."""
    y_true, y_score = _labels_1d(y_true, "y_true"), np.asarray(y_score)
    if y_score.ndim != 2:
        raise ValueError(f"y_score: expected a 2-D array of scores (N, n_classes), got shape {y_score.shape}")
    _same_length(y_true, y_score, "y_true", "y_score")
    n_classes = y_score.shape[1]
    if labels is None:
        classes = np.unique(y_true)
        if len(classes) != n_classes:
            raise ValueError(f"top_k_accuracy_score: y_true holds {len(classes)} classes but y_score has "
                             f"{n_classes} columns; pass labels= to name every column's class")
    else:
        classes = np.asarray(labels)
        if classes.ndim != 1 or len(classes) != n_classes:
            raise ValueError(f"labels: expected {n_classes} labels (one per y_score column), got shape {classes.shape}")
        if len(np.unique(classes)) != len(classes) or np.any(classes[1:] < classes[:-1]):
            raise ValueError(f"labels: expected unique labels in increasing order, got {classes.tolist()}")
        missing = np.setdiff1d(y_true, classes)
        if missing.size:
            raise ValueError(f"y_true: expected labels from {classes.tolist()}, got {missing.tolist()}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_classes:
        raise ValueError(f"k: expected an int in [1, {n_classes}] (the number of classes), got {k!r}")
    if y_true.size == 0:
        raise ValueError("top_k_accuracy_score: expected at least one sample, got 0")
    true_col = np.searchsorted(classes, y_true)
    # stable ascending sort, reversed: among equal scores the larger column ranks first (sklearn)
    best = np.argsort(y_score, axis=1, kind="stable")[:, ::-1][:, :k]
    return float(np.mean((best == true_col[:, None]).any(axis=1)))


def confusion_matrix(y_true, y_pred, *, labels=None) -> np.ndarray:
    """(L, L) int64 counts, rows = true label, columns = predicted label, in ``labels`` order
    (default: the sorted union of both label sets)."""
    y_true, y_pred = _labels_1d(y_true, "y_true"), _labels_1d(y_pred, "y_pred")
    _same_length(y_true, y_pred, "y_true", "y_pred")
    if labels is None:
        labels = np.union1d(y_true, y_pred)
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0:
            raise ValueError(f"labels: expected a non-empty 1-D array, got shape {labels.shape}")
        if len(np.unique(labels)) != len(labels):
            raise ValueError(f"labels: expected unique labels, got {labels.tolist()}")
        if y_true.size and not np.isin(labels, y_true).any():
            raise ValueError("labels: expected at least one label that occurs in y_true")
    index = {v: i for i, v in enumerate(labels.tolist())}
    rows = np.array([index.get(v, -1) for v in y_true.tolist()], dtype=np.int64)
    cols = np.array([index.get(v, -1) for v in y_pred.tolist()], dtype=np.int64)
    keep = (rows >= 0) & (cols >= 0)
    out = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(out, (rows[keep], cols[keep]), 1)
    return out


def _regression_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred: expected the same shape, got {y_true.shape} and {y_pred.shape}")
    if y_true.ndim not in (1, 2):
        raise ValueError(f"y_true: expected shape (N,) or (N, n_outputs), got {y_true.shape}")
    if y_true.shape[0] == 0:
        raise ValueError("expected at least one sample, got 0")
    return (y_true[:, None], y_pred[:, None]) if y_true.ndim == 1 else (y_true, y_pred)


def _average(per_output: np.ndarray, multioutput, weights=None):
    if isinstance(multioutput, str):
        if multioutput not in _MULTIOUTPUT:
            raise ValueError(f"multioutput: expected one of {_MULTIOUTPUT} or an array of weights, got {multioutput!r}")
        if multioutput == "raw_values":
            return per_output
        w = weights if multioutput == "variance_weighted" and weights is not None and weights.any() else None
    else:
        w = np.asarray(multioutput, dtype=np.float64)
        if w.shape != per_output.shape:
            raise ValueError(f"multioutput: expected {per_output.shape[0]} weights, got shape {w.shape}")
    return float(np.average(per_output, weights=w))


def r2_score(y_true, y_pred, *, multioutput="uniform_average"):
    """Coefficient of determination (sklearn's ``force_finite=True`` behaviour)."""
    y_true, y_pred = _regression_pair(y_true, y_pred)
    if y_true.shape[0] < 2:
        return float("nan")
    num = ((y_true - y_pred) ** 2).sum(axis=0)
    den = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.ones(y_true.shape[1])
    ok = (den != 0) & (num != 0)
    scores[ok] = 1 - num[ok] / den[ok]
    scores[(num != 0) & (den == 0)] = 0.0  # constant target, imperfect prediction
    return _average(scores, multioutput, weights=den)


def mean_squared_error(y_true, y_pred, *, multioutput="uniform_average"):
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return _average(((y_true - y_pred) ** 2).mean(axis=0), multioutput)


def root_mean_squared_error(y_true, y_pred, *, multioutput="uniform_average"):
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return _average(np.sqrt(((y_true - y_pred) ** 2).mean(axis=0)), multioutput)


def mean_absolute_error(y_true, y_pred, *, multioutput="uniform_average"):
    y_true, y_pred = _regression_pair(y_true, y_pred)
    return _average(np.abs(y_true - y_pred).mean(axis=0), multioutput)
