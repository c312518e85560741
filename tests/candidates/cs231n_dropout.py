"""CS231n-style dropout functions, written from the formulas, for the tests of
reference.styles.dropout: ``dropout_forward(x, dropout_param) -> (out, cache)`` with
dropout_param = {"p", "mode": "train" | "test", "seed" (optional)}, and
``dropout_backward(dout, cache) -> dx``.

Two are correct: ``dropout_*`` (p is the drop probability, torch's meaning) and
``keep_dropout_*`` (p is the keep probability, as newer course versions read it). The
others each carry one bug, named by their prefix.
"""

import numpy as np


def _seeded_mask(x, keep, dropout_param):
    """Each unit kept with probability ``keep``, from the seed when one is given."""
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    return np.random.rand(*x.shape) < keep


def _backward(dout, cache, scale_of):
    dropout_param, mask = cache
    if dropout_param["mode"] == "test":
        return dout
    return dout * mask * scale_of(dropout_param["p"])


# ---- correct: p = drop probability; kept units scaled by 1/(1-p) ----

def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (dropout_param, None)
    mask = _seeded_mask(x, 1 - p, dropout_param)
    return x * mask / (1 - p), (dropout_param, mask)


def dropout_backward(dout, cache):
    return _backward(dout, cache, lambda p: 1 / (1 - p))


# ---- correct: p = keep probability; kept units scaled by 1/p ----

def keep_dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (dropout_param, None)
    mask = _seeded_mask(x, p, dropout_param)
    return x * mask / p, (dropout_param, mask)


def keep_dropout_backward(dout, cache):
    return _backward(dout, cache, lambda p: 1 / p)


# ---- bug: kept units are not scaled (the expected value of out shrinks by 1-p) ----

def unscaled_dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (dropout_param, None)
    mask = _seeded_mask(x, 1 - p, dropout_param)
    return x * mask, (dropout_param, mask)


def unscaled_dropout_backward(dout, cache):
    return _backward(dout, cache, lambda p: 1.0)


# ---- bug: keeps with probability (1-p)**2 but scales by 1/(1-p) ----

def squared_dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (dropout_param, None)
    mask = _seeded_mask(x, (1 - p) ** 2, dropout_param)
    return x * mask / (1 - p), (dropout_param, mask)


def squared_dropout_backward(dout, cache):
    return _backward(dout, cache, lambda p: 1 / (1 - p))


# ---- bug: backward multiplies the caller's dout in place ----

def writes_dout_dropout_forward(x, dropout_param):
    return dropout_forward(x, dropout_param)


def writes_dout_dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "test":
        return dout
    dout *= mask
    return dout / (1 - dropout_param["p"])


# ---- bug: ignores dropout_param["seed"], so the same seed gives a different mask ----

def unseeded_dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (dropout_param, None)
    mask = np.random.rand(*x.shape) < 1 - p
    return x * mask / (1 - p), (dropout_param, mask)


def unseeded_dropout_backward(dout, cache):
    return _backward(dout, cache, lambda p: 1 / (1 - p))
