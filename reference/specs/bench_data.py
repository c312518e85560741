"""Mid-size cases for ``bench`` (experiments/bench.py), one per spec that names one: 512 rows of
256 features (or 100 classes), the size of a small network's layer, seeded so every run times
the same data. A spec without one is timed on its default case."""

from __future__ import annotations

import numpy as np

from reference.spec import Case

N, D, C = 512, 256, 100


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([0, salt])


def activations(**config):
    """A module on (512, 256) Gaussian activations."""
    return lambda: Case(dict(config), [_rng(1).standard_normal((N, D))])


def images(**config):
    return lambda: Case(dict(config), [_rng(2).standard_normal((N, 16, 16))])


def _logits():
    return _rng(3).standard_normal((N, C))


def _classes():
    return _rng(4).integers(0, C, N)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logits_and_classes(**config):
    """A classification loss on (512, 100) logits and class indices."""
    return lambda: Case(dict(config), [_logits(), _classes()])


def log_probabilities_and_classes(**config):
    return lambda: Case(dict(config), [np.log(_softmax(_logits())), _classes()])


def regression(**config):
    """A regression loss on (512, 256) predictions and targets."""
    return lambda: Case(dict(config), [_rng(5).standard_normal((N, D)), _rng(6).standard_normal((N, D))])


def binary(probabilities: bool, **config):
    """BCE on probabilities (or logits) and 0/1 targets."""
    def make():
        z = _rng(5).standard_normal((N, D))
        return Case(dict(config), [1 / (1 + np.exp(-z)) if probabilities else z,
                                   (_rng(6).standard_normal((N, D)) > 0).astype(float)])
    return make


def distributions(**config):
    """KL divergence between two softmax distributions over 100 classes (input as log-probabilities)."""
    def make():
        p = _softmax(_logits())
        return Case(dict(config), [np.log(p), p[::-1].copy()])
    return make
