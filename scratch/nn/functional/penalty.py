"""Regularization penalties and their gradients, over one array or a list of arrays (all summed).

    l1_penalty(W, lambda_)                    = lambda * sum |W|         grad lambda * sign(W)  (0 at 0, as torch's abs)
    l2_penalty(W, lambda_, convention="half") = lambda / 2 * ||W||^2     grad lambda * W
    l2_penalty(W, lambda_, convention="full") = lambda * ||W||^2         grad 2 * lambda * W
    elastic_net(W, alpha, l1_ratio)           = alpha * l1_ratio * sum |W| + alpha * (1 - l1_ratio) / 2 * ||W||^2

"half" is the convention behind torch's SGD ``weight_decay``: SGD adds wd * W to the gradient, the
gradient of wd / 2 * ||W||^2, so SGD(weight_decay=wd) on a loss equals plain SGD on
loss + l2_penalty(W, wd, "half"). "full" is CS231n's ``reg * np.sum(W * W)`` (gradient 2 reg W): the
same lambda regularizes twice as hard. ``elastic_net`` is scikit-learn's ElasticNet penalty
(l1_ratio = 1 is l1_penalty(alpha), l1_ratio = 0 is l2_penalty(alpha, "half")).
There is no torch twin (torch has no penalty functions); tests compare with the same expression
under torch autograd. Results are 0-d arrays; gradients mirror the input (one array or a list).
"""

from __future__ import annotations

import numpy as np

from scratch.nn.parameter import Parameter

L2_CONVENTIONS = {"half": 0.5, "full": 1.0}  # the factor c in c * lambda * ||W||^2


def _arrays(weights, name):
    """(list of float arrays, True if a single array was given); Parameters give their data."""
    single = isinstance(weights, (np.ndarray, Parameter))
    items = [weights] if single else list(weights)
    out = []
    for i, w in enumerate(items):
        w = w.data if isinstance(w, Parameter) else w
        if not isinstance(w, np.ndarray) or w.dtype not in (np.float32, np.float64):
            what = getattr(w, "dtype", type(w).__name__)
            raise TypeError(f"{name}: weights[{i}] expected a float32 or float64 numpy.ndarray, got {what}")
        out.append(w)
    return out, single


def _nonnegative(value, what, name):
    if not value >= 0:
        raise ValueError(f"{name}: {what} expected >= 0, got {value}")
    return float(value)


def _total(terms, arrays):
    dtype = np.result_type(*arrays) if arrays else np.float64
    return np.asarray(sum(terms) if terms else 0.0, dtype=dtype)


def _shaped(grads, single):
    return grads[0] if single else grads


def l1_penalty(weights, lambda_):
    ws, _ = _arrays(weights, "l1_penalty")
    lam = _nonnegative(lambda_, "lambda_", "l1_penalty")
    return _total([lam * np.abs(w).sum() for w in ws], ws)


def l1_penalty_backward(weights, lambda_):
    ws, single = _arrays(weights, "l1_penalty")
    lam = _nonnegative(lambda_, "lambda_", "l1_penalty")
    return _shaped([(lam * np.sign(w)).astype(w.dtype) for w in ws], single)


def _l2_factor(convention):
    if convention not in L2_CONVENTIONS:
        raise ValueError(f"l2_penalty: convention expected 'half' (lambda/2 ||W||^2) or 'full' "
                         f"(lambda ||W||^2), got {convention!r}")
    return L2_CONVENTIONS[convention]


def l2_penalty(weights, lambda_, convention="half"):
    c = _l2_factor(convention)
    ws, _ = _arrays(weights, "l2_penalty")
    lam = _nonnegative(lambda_, "lambda_", "l2_penalty")
    return _total([c * lam * (w * w).sum() for w in ws], ws)


def l2_penalty_backward(weights, lambda_, convention="half"):
    c = _l2_factor(convention)
    ws, single = _arrays(weights, "l2_penalty")
    lam = _nonnegative(lambda_, "lambda_", "l2_penalty")
    return _shaped([((2 * c * lam) * w).astype(w.dtype) for w in ws], single)


def _elastic_args(alpha, l1_ratio):
    alpha = _nonnegative(alpha, "alpha", "elastic_net")
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"elastic_net: l1_ratio expected a value in [0, 1], got {l1_ratio}")
    return alpha * l1_ratio, alpha * (1.0 - l1_ratio)


def elastic_net(weights, alpha=1.0, l1_ratio=0.5):
    """alpha * l1_ratio * sum |W| + alpha * (1 - l1_ratio) / 2 * ||W||^2 (scikit-learn's ElasticNet penalty)."""
    lam1, lam2 = _elastic_args(alpha, l1_ratio)
    return np.asarray(l1_penalty(weights, lam1) + l2_penalty(weights, lam2, "half"))


def elastic_net_backward(weights, alpha=1.0, l1_ratio=0.5):
    lam1, lam2 = _elastic_args(alpha, l1_ratio)
    g1, g2 = l1_penalty_backward(weights, lam1), l2_penalty_backward(weights, lam2, "half")
    if isinstance(g1, list):
        return [a + b for a, b in zip(g1, g2)]
    return g1 + g2
