"""Preprocessing fitted on the training split only, then applied to every split.

Twins: ``sklearn.preprocessing.StandardScaler`` and ``sklearn.decomposition.PCA`` (same
attribute names: ``mean_``, ``var_``, ``scale_``, ``components_``, ``explained_variance_``...).

- Mean subtraction: ``StandardScaler(with_std=False)``: z = x - mean_train.
- Standardization: ``StandardScaler()``: z = (x - mean) / std, std the biased (ddof=0) standard
  deviation of the training data; a (near-)constant feature gets scale 1, as in sklearn.
- PCA: X_c = X - mean = U S V^T (thin SVD); ``components_`` = the first k rows of V^T, shape
  (k, F); z = (x - mean) V_k. Each component's sign makes its largest-magnitude entry positive
  (sklearn's ``svd_flip(u_based_decision=False)``), so the result is deterministic.
- Whitening: z = (x - mean) V_k / sqrt(explained_variance_), explained_variance_ = S^2 / (n - 1),
  so the whitened training data has covariance (ddof=1) equal to the identity.

Inputs are 2-D (N, F). Integer data is computed in float64; float32 stays float32.
"""

from __future__ import annotations

import numpy as np

__all__ = ["StandardScaler", "PCA", "NotFittedError", "standardize_fit", "pca_fit"]


class NotFittedError(ValueError, AttributeError):
    """Transform before fit (a ValueError and an AttributeError, like sklearn's)."""


def _as_2d(X, name: str = "X") -> np.ndarray:
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (n_samples, n_features), got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise TypeError(f"{name}: expected a float or integer dtype, got {X.dtype}")
    X = X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name}: expected finite values, got NaN or inf")
    return X


def standardize_fit(X: np.ndarray, with_mean: bool = True, with_std: bool = True):
    """Pure kernel: ``(mean, var, scale)`` of the training data X (N, F); absent parts are None.
    A std below 10 machine epsilons counts as zero and gets scale 1 (no blow-up)."""
    mean = X.mean(axis=0) if with_mean or with_std else None
    if not with_std:
        return (mean if with_mean else None), None, None
    var = ((X - mean) ** 2).mean(axis=0)
    scale = np.sqrt(var)
    scale = np.where(scale < 10 * np.finfo(X.dtype).eps, 1.0, scale).astype(X.dtype)
    return (mean if with_mean else None), var, scale


def pca_fit(X: np.ndarray):
    """Pure kernel: ``(mean, components, singular_values)`` of X (N, F), all min(N, F)
    components, signs fixed so each row's largest-|entry| is positive."""
    mean = X.mean(axis=0)
    _, S, Vt = np.linalg.svd(X - mean, full_matrices=False)
    pivots = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), pivots])
    return mean, Vt * signs[:, None], S


class _Fitted:
    _fitted_attr = ""

    def _check_fitted(self, X) -> np.ndarray:
        if getattr(self, self._fitted_attr, None) is None:
            raise NotFittedError(f"{type(self).__name__}: call fit(X_train) before transform")
        X = _as_2d(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{type(self).__name__}: expected {self.n_features_in_} features "
                             f"(as in the data it was fitted on), got shape {X.shape}")
        return X

    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X).transform(X)


class StandardScaler(_Fitted):
    """z = (x - mean_) / scale_ with statistics from ``fit`` (the training split only)."""

    _fitted_attr = "n_features_in_"

    def __init__(self, *, copy: bool = True, with_mean: bool = True, with_std: bool = True):
        self.copy, self.with_mean, self.with_std = copy, with_mean, with_std
        self.n_features_in_ = None

    def fit(self, X, y=None) -> "StandardScaler":
        X = _as_2d(X)
        if X.shape[0] < 1:
            raise ValueError(f"StandardScaler: expected at least 1 sample, got shape {X.shape}")
        self.mean_, self.var_, self.scale_ = standardize_fit(X, self.with_mean, self.with_std)
        self.n_samples_seen_, self.n_features_in_ = X.shape
        return self

    def transform(self, X) -> np.ndarray:
        X = self._check_fitted(X)
        Z = X - self.mean_ if self.with_mean else X.copy()
        return Z / self.scale_ if self.with_std else Z

    def inverse_transform(self, Z) -> np.ndarray:
        Z = self._check_fitted(Z)
        X = Z * self.scale_ if self.with_std else Z.copy()
        return X + self.mean_ if self.with_mean else X


class PCA(_Fitted):
    """Principal components of the training split; ``whiten=True`` scales them to unit variance.

    ``n_components``: None keeps min(N, F); an int keeps that many; a float in (0, 1) keeps the
    fewest components whose explained-variance ratio sums to more than it (sklearn's rule).
    """

    _fitted_attr = "components_"

    def __init__(self, n_components=None, *, whiten: bool = False):
        self.n_components, self.whiten = n_components, whiten
        self.components_ = None

    def _n_keep(self, ratio: np.ndarray, n: int, f: int) -> int:
        k, most = self.n_components, min(n, f)
        if k is None:
            return most
        if isinstance(k, (float, np.floating)) and 0.0 < k < 1.0:
            return int(np.searchsorted(np.cumsum(ratio), k, side="right")) + 1
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 1 <= k <= most:
            return int(k)
        raise ValueError(f"PCA n_components: expected None, a float in (0, 1) or an int in [1, {most}] "
                         f"(min(n_samples, n_features)), got {k!r}")

    def fit(self, X, y=None) -> "PCA":
        X = _as_2d(X)
        n, f = X.shape
        if n < 2:
            raise ValueError(f"PCA: expected at least 2 samples (variance uses n - 1), got shape {X.shape}")
        mean, components, S = pca_fit(X)
        variance = S ** 2 / (n - 1)
        total = ((X - mean) ** 2).sum(axis=0).sum() / (n - 1)
        ratio = variance / total if total > 0 else np.zeros_like(variance)
        k = self._n_keep(ratio, n, f)
        # numerical rank, as numpy.linalg.matrix_rank: singular values below S_max * max(N, F) * eps are zero
        nonzero = S > (S[0] if S.size else 0) * max(n, f) * np.finfo(S.dtype).eps
        if self.whiten and not np.all(nonzero[:k]):
            zero = int(np.argmin(nonzero[:k]))
            raise ValueError(f"PCA whitening: component {zero} has zero variance (the data has rank {zero}); "
                             f"expected n_components <= {zero}")
        self.mean_, self.components_, self.singular_values_ = mean, components[:k], S[:k]
        self.explained_variance_, self.explained_variance_ratio_ = variance[:k], ratio[:k]
        self.n_components_, self.n_samples_, self.n_features_in_ = k, n, f
        return self

    def transform(self, X) -> np.ndarray:
        X = self._check_fitted(X)
        Z = (X - self.mean_) @ self.components_.T
        return Z / np.sqrt(self.explained_variance_) if self.whiten else Z

    def inverse_transform(self, Z) -> np.ndarray:
        if self.components_ is None:
            raise NotFittedError("PCA: call fit(X_train) before inverse_transform")
        Z = _as_2d(Z, "Z")
        if Z.shape[1] != self.n_components_:
            raise ValueError(f"PCA inverse_transform: expected {self.n_components_} components, got shape {Z.shape}")
        if self.whiten:
            Z = Z * np.sqrt(self.explained_variance_)
        return Z @ self.components_ + self.mean_
