"""scratch.data: batching, splits, preprocessing (vs scikit-learn), augmentation (dataset loaders:
``test_datasets.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA as SkPCA
from sklearn.model_selection import train_test_split as sk_train_test_split
from sklearn.preprocessing import StandardScaler as SkScaler

import scratch.data as sd
from reference.hypothesis_profiles import scaled
from reference.strategies.common import float_arrays, seeds


# ---------------------------------------------------------------- DataLoader
@settings(max_examples=scaled(40))
@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(), drop_last=st.booleans(),
       seed=seeds())
def test_loader_partitions_each_epoch_and_keeps_pairs(n, batch_size, shuffle, drop_last, seed):
    X = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    y = np.arange(n) * 10
    loader = sd.DataLoader((X, y), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=seed)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader) == (n // batch_size if drop_last else math.ceil(n / batch_size))
        rows = [xb[:, 0] / 2 for xb, _ in batches]
        for (xb, yb), r in zip(batches, rows):
            assert len(xb) == len(yb) <= batch_size
            assert np.array_equal(yb, r * 10)          # x and y rows stay paired
        seen = np.concatenate(rows) if rows else np.array([])
        assert len(set(seen.tolist())) == len(seen)   # no sample twice in an epoch
        assert len(seen) == (n - n % batch_size if drop_last else n)
        if not shuffle:
            assert np.array_equal(seen, np.arange(len(seen)))


def test_loader_is_deterministic_for_a_seed_and_differs_between_epochs_and_seeds():
    X = np.arange(50.0)[:, None]
    a = sd.DataLoader(X, batch_size=8, shuffle=True, generator=np.random.default_rng(3))
    b = sd.DataLoader(X, batch_size=8, shuffle=True, generator=np.random.default_rng(3))
    c = sd.DataLoader(X, batch_size=8, shuffle=True, generator=np.random.default_rng(4))
    ea, eb, ec = [np.concatenate(list(x)).ravel() for x in (a, b, c)]
    assert np.array_equal(ea, eb) and not np.array_equal(ea, ec)
    assert not np.array_equal(np.concatenate(list(a)).ravel(), ea)  # epoch 2 reshuffles


def test_unshuffled_batches_equal_torch_dataloader():
    X, y = np.random.default_rng(0).standard_normal((11, 3)), np.arange(11)
    for drop_last in (False, True):
        mine = list(sd.DataLoader(sd.TensorDataset(X, y), batch_size=4, drop_last=drop_last))
        ds = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
        ref = list(torch.utils.data.DataLoader(ds, batch_size=4, drop_last=drop_last))
        assert len(mine) == len(ref)
        for (xb, yb), (tx, ty) in zip(mine, ref):
            assert np.array_equal(xb, tx.numpy()) and np.array_equal(yb, ty.numpy())


def test_replay_loader_serves_the_exported_order_then_refuses():
    X, y = np.arange(30.0)[:, None], np.arange(30)
    loader = sd.DataLoader((X, y), batch_size=7, shuffle=True, generator=5)
    served = [[yb for _, yb in loader] for _ in range(3)]
    replay = sd.ReplayLoader((X, y), loader.export_order())
    for epoch in served:
        again = [yb for _, yb in replay]
        assert len(again) == len(epoch) and all(np.array_equal(a, b) for a, b in zip(again, epoch))
    with pytest.raises(RuntimeError, match="all 3 recorded epochs"):
        iter(replay)
    with pytest.raises(ValueError, match=r"index arrays in \[0, 30\)"):
        sd.ReplayLoader((X, y), [[np.array([0, 30])]])


def test_loader_transform_touches_inputs_only():
    X, y = np.ones((4, 1, 2, 2)), np.arange(4)
    xb, yb = next(iter(sd.DataLoader((X, y), batch_size=4, transform=lambda x: -x)))
    assert np.array_equal(xb, -X) and np.array_equal(yb, y)


def test_loader_bad_input():
    with pytest.raises(ValueError, match="batch_size: expected a positive int, got 0"):
        sd.DataLoader(np.ones(3), batch_size=0)
    with pytest.raises(ValueError, match=r"same first dimension, got sizes \[3, 4\]"):
        sd.DataLoader((np.ones(3), np.ones(4)))
    with pytest.raises(TypeError, match="numpy.random.Generator, an int seed or None, got str"):
        sd.DataLoader(np.ones(3), shuffle=True, generator="seed")


# ---------------------------------------------------------------- splits
@pytest.mark.parametrize("n, test_size", [(10, 0.25), (150, 0.2), (7, 0.5), (20, 3)])
def test_split_sizes_match_sklearn(n, test_size):
    X = np.arange(n)
    mine = sd.train_test_split(X, test_size=test_size, generator=0)
    ref = sk_train_test_split(X, test_size=test_size, random_state=0)
    assert [len(a) for a in mine] == [len(a) for a in ref]
    assert np.array_equal(np.sort(np.concatenate(mine)), X)


def test_three_way_split_is_disjoint_paired_seeded():
    X, y = np.arange(100) * 2.0, np.arange(100)
    parts = sd.train_val_test_split(X, y, val_size=0.2, test_size=0.1, generator=1)
    xtr, xva, xte, ytr, yva, yte = parts
    assert (len(ytr), len(yva), len(yte)) == (70, 20, 10)
    assert np.array_equal(np.sort(np.concatenate([ytr, yva, yte])), np.arange(100))
    assert all(np.array_equal(a, 2.0 * b) for a, b in [(xtr, ytr), (xva, yva), (xte, yte)])
    again = sd.train_val_test_split(X, y, val_size=0.2, test_size=0.1, generator=1)
    other = sd.train_val_test_split(X, y, val_size=0.2, test_size=0.1, generator=2)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert not np.array_equal(parts[0], other[0])


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2, 3], [50, 30, 15, 5])
    for seed in range(5):  # a plain random split would miss these bounds for some seed
        ytr, yva, yte = sd.train_val_test_split(y, val_size=0.2, test_size=0.2, stratify=y, generator=seed)
        assert (len(ytr), len(yva), len(yte)) == (60, 20, 20)
        for c, n_c in enumerate([50, 30, 15, 5]):
            assert abs(np.sum(yte == c) - n_c * 0.2) < 1 and abs(np.sum(yva == c) - n_c * 0.2) < 2


def test_split_bad_input():
    with pytest.raises(ValueError, match=r"test_size: expected a fraction in \(0, 1\), got 1.5"):
        sd.train_test_split(np.arange(10), test_size=1.5)
    with pytest.raises(ValueError, match="leave no training samples"):
        sd.train_val_test_split(np.arange(10), val_size=5, test_size=5)
    with pytest.raises(ValueError, match=r"stratify: expected labels of shape \(10,\)"):
        sd.train_test_split(np.arange(10), stratify=np.zeros(9))


# ---------------------------------------------------------------- preprocessing vs sklearn
def _distinct_spectrum(seed, n, f):
    """Data whose covariance has well separated eigenvalues (so components are unique up to sign)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((f, f)))
    return (rng.standard_normal((n, f)) * 3.0 ** -np.arange(f)) @ q.T + rng.standard_normal(f) * 5


@settings(max_examples=scaled(30))
@given(data=st.data(), n=st.integers(2, 30), f=st.integers(1, 6), with_std=st.booleans())
def test_standard_scaler_matches_sklearn(data, n, f, with_std):
    X = data.draw(float_arrays((n, f), edges=(0.0,), offsets=(0.0, 10.0, 100.0)))
    if data.draw(st.booleans()):
        X[:, 0] = 7.0  # a constant feature: scale 1, not a division by zero
    X_other = data.draw(float_arrays((5, f)))
    mine, ref = sd.StandardScaler(with_std=with_std).fit(X), SkScaler(with_std=with_std).fit(X)
    np.testing.assert_allclose(mine.mean_, ref.mean_, rtol=1e-12, atol=1e-12 * np.abs(X).max())
    for A in (X, X_other):
        tol = 1e-9 * (1 + np.abs(ref.transform(A)).max())
        np.testing.assert_allclose(mine.transform(A), ref.transform(A), rtol=1e-9, atol=tol)
        round_trip_tol = 1e-12 * (np.abs(A).max() + np.abs(X).max())  # x - mean + mean rounds at |mean|
        np.testing.assert_allclose(mine.inverse_transform(mine.transform(A)), A, rtol=1e-9, atol=round_trip_tol)
    if with_std:
        np.testing.assert_allclose(mine.var_, ref.var_, rtol=1e-9, atol=1e-12 * (1 + np.abs(X).max()) ** 2)
        np.testing.assert_allclose(mine.scale_, ref.scale_, rtol=1e-9)


@settings(max_examples=scaled(25))
@given(seed=seeds(), n=st.integers(8, 40), f=st.integers(1, 6), whiten=st.booleans(), data=st.data())
def test_pca_matches_sklearn_with_signs_aligned(seed, n, f, whiten, data):
    X, X_test = _distinct_spectrum(seed, n + 5, f)[:n], _distinct_spectrum(seed, n + 5, f)[n:]
    k = data.draw(st.one_of(st.none(), st.integers(1, f), st.sampled_from([0.5, 0.9, 0.999])))
    mine = sd.PCA(n_components=k, whiten=whiten).fit(X)
    ref = SkPCA(n_components=k, whiten=whiten, svd_solver="full").fit(X)
    assert mine.n_components_ == ref.n_components_
    signs = np.sign(np.sum(mine.components_ * ref.components_, axis=1))
    assert np.all(signs != 0)
    np.testing.assert_allclose(mine.components_ * signs[:, None], ref.components_, atol=1e-8)
    np.testing.assert_allclose(mine.explained_variance_, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(mine.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(mine.mean_, ref.mean_, rtol=1e-12, atol=1e-12)
    for A in (X, X_test):
        np.testing.assert_allclose(mine.transform(A) * signs, ref.transform(A), atol=1e-7)
    if whiten:
        Z = mine.transform(X)
        np.testing.assert_allclose(np.cov(Z, rowvar=False, ddof=1).reshape(Z.shape[1], -1),
                                   np.eye(Z.shape[1]), atol=1e-9)
    if mine.n_components_ == f:  # all components kept: the transform inverts exactly
        np.testing.assert_allclose(mine.inverse_transform(mine.transform(X_test)), X_test, atol=1e-8)


def test_preprocessing_is_fitted_on_training_data_only():
    X_train, X_test = np.array([[0.0], [2.0]]), np.array([[4.0]])
    sc = sd.StandardScaler().fit(X_train)           # mean 1, std 1 (ddof 0): by hand
    assert sc.transform(X_test)[0, 0] == 3.0
    assert sd.StandardScaler(with_std=False).fit(X_train).transform(X_test)[0, 0] == 3.0


def test_preprocessing_bad_input_changes_nothing():
    with pytest.raises(sd.NotFittedError, match="call fit"):
        sd.StandardScaler().transform(np.ones((2, 2)))
    sc = sd.StandardScaler().fit(np.array([[0.0, 1.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"expected 2 features .* got shape \(1, 3\)"):
        sc.transform(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"expected a 2-D array \(n_samples, n_features\), got shape \(3,\)"):
        sc.fit(np.ones(3))
    assert np.array_equal(sc.mean_, [1.0, 2.0])
    with pytest.raises(ValueError, match="component 1 has zero variance"):
        sd.PCA(n_components=2, whiten=True).fit(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(ValueError, match=r"n_components: expected .* int in \[1, 2\]"):
        sd.PCA(n_components=3).fit(np.ones((4, 2)))


# ---------------------------------------------------------------- augmentation
def test_flip_extremes_and_seeded_mix():
    x = np.random.default_rng(0).standard_normal((64, 2, 3, 4))
    np.testing.assert_array_equal(sd.RandomHorizontalFlip(p=1.0, generator=0)(x), torch.flip(torch.from_numpy(x), [3]).numpy())
    np.testing.assert_array_equal(sd.RandomHorizontalFlip(p=0.0, generator=0)(x), x)
    out = sd.RandomHorizontalFlip(p=0.5, generator=7)(x)
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped ^ kept) and 16 < flipped.sum() < 48     # each image at its own index
    np.testing.assert_array_equal(sd.RandomHorizontalFlip(p=0.5, generator=7)(x), out)


def test_random_crop_takes_windows_of_the_padded_image():
    x = np.random.default_rng(1).standard_normal((200, 2, 4, 5))
    out = sd.RandomCrop((4, 5), padding=2, generator=3)(x)
    assert out.shape == x.shape
    positions = set()
    for o, xi in zip(out, x):
        padded = np.zeros((2, 8, 9))
        padded[:, 2:6, 2:7] = xi                     # zero padding, by hand
        hits = [(i, j) for i in range(5) for j in range(5) if np.array_equal(padded[:, i:i + 4, j:j + 5], o)]
        assert hits, "output is not a window of the padded image"
        positions.update(hits)
    assert len(positions) == 25                      # every offset is reachable
    np.testing.assert_array_equal(sd.RandomCrop(4, generator=0)(x[:, :, :, :4]), x[:, :, :, :4])
    np.testing.assert_array_equal(sd.RandomCrop((4, 5), padding=2, generator=3)(x), out)


def test_augmentation_bad_input():
    with pytest.raises(ValueError, match=r"expected a 4-D batch \(N, C, H, W\), got shape \(3, 4, 5\)"):
        sd.RandomHorizontalFlip(generator=0)(np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match=r"crop size \(9, 9\) to fit the padded image \(6, 6\)"):
        sd.RandomCrop(9, padding=1, generator=0)(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"probability in \[0, 1\], got 1.5"):
        sd.RandomHorizontalFlip(p=1.5)
