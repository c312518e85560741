"""One ``*_cases`` strategy per loss in the registry; each produces ``Case(config, [input, target], seed)``.

Inputs are float64; class-index targets int64; probability and regression targets float64;
``weight``/``pos_weight`` float64 arrays in the config. The strategies reach on purpose: every
reduction and flag, weights with zeros, ignore_index present in the targets (and every target
ignored: torch's 0/0 = NaN mean), label smoothing 0, 0.1 and 1, logits of 1e4 with exact ties,
BCE probabilities exactly 0 and 1, KL targets with exact zeros and log targets, hinge margins met
exactly (z = 0) and margin 0, |x - y| exactly at smooth_l1's beta and huber's delta, beta 0, batch
1, 1-D inputs with 0-d targets, and spatial (N, C, d1[, d2]) inputs.
``smooth=True`` keeps every case differentiable with moderate values, for centered differences:
no ties, every hinge margin and |x - y| at least 0.05 from a kink, BCE inputs in [0.05, 0.95],
positive weights, some target kept.
The probability-target losses' strategies (bce, bce_with_logits, kl_div) live in
``losses_probability`` and are re-exported here; the building blocks both share in ``loss_parts``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from reference.strategies.common import OFFSETS, batch_sizes, float_arrays, seeds
from reference.strategies.loss_parts import (
    GAP, REDUCTIONS, _case, _dyadic, _logits, _probabilities, _weights, loss_shapes,
)
from reference.strategies.losses_probability import bce_cases, bce_with_logits_cases, kl_div_cases

__all__ = ["cross_entropy_cases", "nll_cases", "multi_margin_cases", "mse_cases", "l1_cases", "smooth_l1_cases",
           "huber_cases", "bce_cases", "bce_with_logits_cases", "kl_div_cases", "loss_shapes"]


def _class_shape(draw, spatial=True):
    """(input shape, lead shape of the target): (N, C), (C,) with a 0-d target, or (N, C, d1[, d2])."""
    C = draw(st.one_of(st.integers(1, 6), st.sampled_from([1, 2, 10])))
    kinds = ["2d", "2d", "1d"] + (["spatial"] if spatial else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "1d":
        return (C,), ()
    n = draw(batch_sizes(1, 6))
    rest = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))) if kind == "spatial" else ()
    return (n, C) + rest, (n,) + rest


def _index_targets(draw, lead, C, smooth, rng):
    """Class indices with ignore_index absent, present in some positions, or everywhere."""
    t = rng.integers(0, C, size=lead).astype(np.int64)
    ignore = draw(st.one_of(st.just(-100), st.integers(0, C - 1)))
    if smooth and C == 1:
        ignore = -100
    mode = draw(st.sampled_from(["absent", "some"] if smooth else ["absent", "some", "some", "all"]))
    if mode == "all":
        t[...] = ignore
    elif mode == "some" and t.size:
        t.flat[rng.integers(0, t.size, size=draw(st.integers(1, t.size)))] = ignore
    if smooth and t.size and (t == ignore).all():
        t.flat[0] = (ignore + 1) % C
    return t, ignore


@st.composite
def cross_entropy_cases(draw, n_calls=1, smooth=False):
    shape, lead = _class_shape(draw)
    C = shape[0] if len(shape) == 1 else shape[1]
    rng = np.random.default_rng(draw(seeds()))
    x = _logits(draw, shape, smooth)
    eps = draw(st.one_of(st.sampled_from([0.0, 0.1, 1.0]), st.floats(0.0, 1.0)))
    cfg = dict(reduction=draw(st.sampled_from(REDUCTIONS)), label_smoothing=eps)
    w = _weights(draw, (C,), smooth)
    if w is not None:
        cfg["weight"] = w
    if draw(st.booleans()):  # probabilities shaped like the input (one-hot sometimes)
        axis = 0 if len(shape) == 1 else 1
        target = _probabilities(rng, shape, axis, zeros=not smooth)
        if not smooth and draw(st.booleans()):
            target = np.moveaxis(np.eye(C)[rng.integers(0, C, size=lead)], -1, axis)
    else:
        target, cfg["ignore_index"] = _index_targets(draw, lead, C, smooth, rng)
    return _case(cfg, [x, target], seed=draw(seeds()))


@st.composite
def nll_cases(draw, n_calls=1, smooth=False):
    """Any floats as input (NLLLoss is linear in it); log-probabilities half the time."""
    shape, lead = _class_shape(draw)
    C = shape[0] if len(shape) == 1 else shape[1]
    rng = np.random.default_rng(draw(seeds()))
    x = _logits(draw, shape, smooth, edges=(0.0, -1e4), offsets=(0.0,))
    if draw(st.booleans()):
        axis = 0 if len(shape) == 1 else 1
        z = x - x.max(axis=axis, keepdims=True)
        x = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    cfg = dict(reduction=draw(st.sampled_from(REDUCTIONS)))
    w = _weights(draw, (C,), smooth)
    if w is not None:
        cfg["weight"] = w
    target, cfg["ignore_index"] = _index_targets(draw, lead, C, smooth, rng)
    return _case(cfg, [x, target], seed=draw(seeds()))


@st.composite
def multi_margin_cases(draw, n_calls=1, smooth=False):
    """(N, C) with (N,) targets or (C,) with a 0-d (or (1,)) target; exact kinks z = 0 and ties x_i = x_y."""
    C = draw(st.one_of(st.integers(1, 6), st.just(10)))
    one_d = draw(st.booleans()) and draw(st.booleans())
    n = 1 if one_d else draw(batch_sizes(1, 8))
    rng = np.random.default_rng(draw(seeds()))
    t = rng.integers(0, C, size=n).astype(np.int64)
    if smooth:
        margin = draw(st.one_of(st.sampled_from([1.0, 0.5]), st.floats(0.1, 2.0)))
        x = draw(float_arrays((n, C), edges=(), magnitude=1.0))
        x_y = np.take_along_axis(x, t[:, None], 1)
        z = margin - x_y + x
        z = np.where(np.abs(z) < GAP, np.where(z >= 0, GAP, -GAP), z)  # move margins off the kink
        x = np.where(np.arange(C) == t[:, None], x, z - margin + x_y)
    else:
        margin = draw(st.one_of(st.sampled_from([1.0, 0.0, 0.5, 2.0]), st.floats(0.0, 3.0)))
        x = draw(float_arrays((n, C), edges=(0.0, 1e4, -1e4)))
        if draw(st.booleans()):  # exact kinks: margin met exactly (z == 0) and ties with the target's score
            margin, x = float(_dyadic(margin)), _dyadic(x)
            x_y = np.take_along_axis(x, t[:, None], 1)[:, 0]
            for _ in range(draw(st.integers(1, 4))):
                r, i = rng.integers(0, n), rng.integers(0, C)
                if i != t[r]:
                    x[r, i] = x_y[r] - margin if draw(st.booleans()) else x_y[r]
    cfg = dict(p=draw(st.sampled_from([1, 2])), margin=margin, reduction=draw(st.sampled_from(REDUCTIONS)))
    w = _weights(draw, (C,), smooth)
    if w is not None:
        cfg["weight"] = w
    if one_d:
        x, t = x[0], (t[0] if draw(st.booleans()) or smooth else t[:1])
        t = np.asarray(t, dtype=np.int64)
    return _case(cfg, [x, t], seed=draw(seeds()))


def _pair(draw, smooth, kinks, min_dims=0):
    """(input, target) of one shape; target = input - d with |d| exactly at a kink for some elements,
    or (smooth) at least GAP away from every kink."""
    shape = draw(loss_shapes(min_dims))
    rng = np.random.default_rng(draw(seeds()))
    if smooth:
        x = rng.standard_normal(shape)
        u = rng.uniform(GAP, 3.0, shape)
        for k in kinks:  # push |d| out of the band (k - GAP, k + GAP) around each kink
            u = np.where(np.abs(u - k) < GAP, k + GAP + (u - k + GAP) / 2, u)
        d = np.where(rng.random(shape) < 0.5, -u, u)
        return x, x - d
    if draw(st.booleans()):  # exact kinks on a dyadic grid
        x = _dyadic(rng.standard_normal(shape) * draw(st.sampled_from([1.0, 10.0])))
        y = _dyadic(rng.standard_normal(shape) * 2) + x
        for _ in range(draw(st.integers(1, 6))) if x.size else ():
            i = rng.integers(0, x.size)
            y.flat[i] = x.flat[i] + draw(st.sampled_from([-1.0, 1.0])) * draw(st.sampled_from(kinks))
        return x, y
    x = draw(float_arrays(shape, edges=(0.0,), offsets=OFFSETS))
    y = x + draw(float_arrays(shape, edges=(0.0,)))  # difference 0 at some elements
    return x, y


def _elementwise_case(draw, smooth, cfg, kinks):
    x, y = _pair(draw, smooth, kinks)
    return _case(dict(reduction=draw(st.sampled_from(REDUCTIONS)), **cfg), [x, y], seed=draw(seeds()))


@st.composite
def mse_cases(draw, n_calls=1, smooth=False):
    return _elementwise_case(draw, smooth, {}, (0.0,))


@st.composite
def l1_cases(draw, n_calls=1, smooth=False):
    return _elementwise_case(draw, smooth, {}, (0.0,))


@st.composite
def smooth_l1_cases(draw, n_calls=1, smooth=False):
    if smooth:
        beta = draw(st.one_of(st.sampled_from([1.0, 0.5]), st.floats(0.2, 2.0)))
    else:
        # beta > 0 that underflows float32 is left out: torch's answer at x == y then depends on the
        # SIMD lane (-1/N in vector lanes, 0 in the scalar tail), so no implementation can match it
        beta = draw(st.one_of(st.sampled_from([1.0, 0.0, 0.5, 2.0, 0.125]), st.just(0.0), st.floats(1e-3, 5.0)))
    case = _elementwise_case(draw, smooth, dict(beta=beta), (0.0, beta))
    x, y = case.inputs
    if beta == 0.0 and not smooth and x.size:
        # beta 0 is L1, whose kink is x == y: always include one (a `<=` instead of `<` there divides 0 by 0)
        k = draw(st.integers(0, x.size - 1))
        x.flat[k] = y.flat[k]
    return case


@st.composite
def huber_cases(draw, n_calls=1, smooth=False):
    if smooth:
        delta = draw(st.one_of(st.sampled_from([1.0, 0.5]), st.floats(0.2, 2.0)))
    else:  # tiny (nearly L1 x delta) and huge (purely quadratic) deltas; dyadic ones make exact kinks
        delta = draw(st.one_of(st.sampled_from([1.0, 0.5, 2.0, 2.0**-10, 1024.0]), st.floats(1e-3, 10.0)))
    return _elementwise_case(draw, smooth, dict(delta=delta), (0.0, delta))
