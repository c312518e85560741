"""scratch.metrics against sklearn.metrics on hypothesis-generated inputs, plus bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

import scratch.metrics as sm
from reference.hypothesis_profiles import scaled
from reference.strategies.common import float_arrays, seeds


@st.composite
def label_pairs(draw, min_size=1):
    """(y_true, y_pred): int labels from a small, possibly shifted alphabet (so exact matches occur)."""
    n = draw(st.integers(min_size, 30))
    k = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(seeds()))
    offset = draw(st.sampled_from([0, -3, 100]))
    y_true = rng.integers(0, k, n) + offset
    y_pred = np.where(rng.random(n) < draw(st.sampled_from([0.0, 0.5, 1.0])), y_true, rng.integers(0, k + 1, n) + offset)
    return y_true, y_pred


@st.composite
def scored_labels(draw):
    """(y_true, y_score, labels, k): scores (N, C) with ties (small integer scores) or not."""
    c = draw(st.integers(3, 7))
    n = draw(st.integers(1, 25))
    rng = np.random.default_rng(draw(seeds()))
    labels = np.sort(rng.choice(np.arange(-5, 20), size=c, replace=False))
    y_true = labels[rng.integers(0, c, n)]
    tied = draw(st.booleans())
    y_score = rng.integers(0, 3, (n, c)).astype(float) if tied else rng.standard_normal((n, c))
    return y_true, y_score, labels, draw(st.integers(1, c))


@st.composite
def regression_pairs(draw):
    """(y_true, y_pred) of shape (N,) or (N, K), with a constant column sometimes."""
    n = draw(st.integers(2, 20))
    shape = (n,) if draw(st.booleans()) else (n, draw(st.integers(1, 4)))
    y_true = draw(float_arrays(shape, offsets=(0.0, 10.0)))
    y_pred = y_true + draw(float_arrays(shape, edges=(0.0,)))
    if draw(st.booleans()):
        col = (slice(None),) if len(shape) == 1 else (slice(None), 0)
        y_true[col] = 3.0                              # a constant target (exact mean)
        if draw(st.booleans()):
            y_pred[col] = 3.0                          # ... predicted perfectly
    return y_true, y_pred


@settings(max_examples=scaled(40))
@given(label_pairs())
def test_accuracy_matches_sklearn(pair):
    assert sm.accuracy_score(*pair) == skm.accuracy_score(*pair)


@settings(max_examples=scaled(40))
@given(scored_labels())
def test_top_k_accuracy_matches_sklearn_with_labels(case):
    y_true, y_score, labels, k = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns when k >= n_classes (a perfect score)
        expected = skm.top_k_accuracy_score(y_true, y_score, k=k, labels=labels)
    assert sm.top_k_accuracy_score(y_true, y_score, k=k, labels=labels) == expected


def test_top_k_without_labels_and_hand_computed_ties():
    y_score = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.2, 0.2, 0.2]])
    # row 1: top-2 are columns 2 and 1 (tie 0.3/0.3 goes to the larger column); row 2: columns 2, 1
    y_true = np.array([2, 0, 0])
    assert sm.top_k_accuracy_score(y_true, y_score, k=1, labels=[0, 1, 2]) == 0.0
    assert sm.top_k_accuracy_score(y_true, y_score, k=2, labels=[0, 1, 2]) == pytest.approx(1 / 3)
    assert sm.top_k_accuracy_score(np.array([0, 1, 2]), y_score, k=3) == 1.0


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")  # sklearn's advice, not an error
@settings(max_examples=scaled(40))
@given(pair=label_pairs(), data=st.data())
def test_confusion_matrix_matches_sklearn(pair, data):
    y_true, y_pred = pair
    np.testing.assert_array_equal(sm.confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))
    present = np.union1d(y_true, y_pred)
    labels = data.draw(st.permutations(list(present) + [int(present.max()) + 7]))
    labels = labels[: data.draw(st.integers(1, len(labels)))]
    if np.isin(labels, y_true).any():
        got = sm.confusion_matrix(y_true, y_pred, labels=labels)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, skm.confusion_matrix(y_true, y_pred, labels=labels))
    else:
        with pytest.raises(ValueError, match="at least one label that occurs in y_true"):
            sm.confusion_matrix(y_true, y_pred, labels=labels)


@settings(max_examples=scaled(40))
@given(regression_pairs(), st.sampled_from(["uniform_average", "raw_values", "variance_weighted"]))
def test_regression_metrics_match_sklearn(pair, multioutput):
    y_true, y_pred = pair
    for name in ("r2_score", "root_mean_squared_error", "mean_absolute_error", "mean_squared_error"):
        if name != "r2_score" and multioutput == "variance_weighted":
            continue
        got = getattr(sm, name)(y_true, y_pred, multioutput=multioutput)
        expected = getattr(skm, name)(y_true, y_pred, multioutput=multioutput)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300, err_msg=name)


def test_r2_constant_target_edge_cases_by_hand():
    y = np.array([3.0, 3.0, 3.0])
    assert sm.r2_score(y, y) == 1.0 == skm.r2_score(y, y)
    assert sm.r2_score(y, y + [0, 0, 1]) == 0.0 == skm.r2_score(y, y + [0, 0, 1])
    assert sm.r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0])) == pytest.approx(0.5)  # 1 - 1/2
    assert np.isnan(sm.r2_score(np.array([1.0]), np.array([2.0])))


def test_metrics_bad_input():
    with pytest.raises(ValueError, match="same number of samples, got 3 and 2"):
        sm.accuracy_score(np.array([1, 2, 3]), np.array([1, 2]))
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(3, 1\)"):
        sm.r2_score(np.ones(3), np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"expected a 1-D array of labels \(N,\), got shape \(2, 2\)"):
        sm.confusion_matrix(np.ones((2, 2)), np.ones((2, 2)))
    score = np.zeros((2, 3))
    for k in (0, 4):
        with pytest.raises(ValueError, match=rf"k: expected an int in \[1, 3\] .* got {k}"):
            sm.top_k_accuracy_score(np.array([0, 1]), score, k=k, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="y_true holds 2 classes but y_score has 3 columns"):
        sm.top_k_accuracy_score(np.array([0, 1]), score, k=1)
    with pytest.raises(ValueError, match=r"y_true: expected labels from \[0, 1, 2\], got \[5\]"):
        sm.top_k_accuracy_score(np.array([0, 5]), score, k=1, labels=[0, 1, 2])
