"""One ``*_cases`` strategy per module in the registry; each produces ``Case``s.

Every strategy takes ``n_calls`` (one input per forward/backward call of the spec)
and ``smooth``: True keeps inputs away from kinks and huge magnitudes, for the
numerical gradient check. Otherwise the strategies reach: batch 1, feature sizes
1..64, 3-D BatchNorm input, exact kinks (0), ties (Maxout), magnitudes 1e-3..1e4,
and every boolean flag of each constructor.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from reference.spec import Case
from reference.strategies.common import OFFSETS, batch_sizes, feature_sizes, float_arrays, seeds

KINK = (0.0,)
LOGIT_EDGES = (0.0, 1e4, -1e4)

__all__ = [
    "linear_cases", "maxout_cases", "flatten_cases", "identity_cases", "dropout_cases",
    "batch_norm1d_cases", "elementwise_cases", "inplace_cases", "leaky_relu_cases", "elu_cases", "prelu_cases",
    "gelu_cases", "softmax_cases", "sequential_cases", "small_shapes",
]


def _inputs(draw, shape, n_calls, smooth, edges=KINK, offsets=(0.0,)):
    if smooth:
        return [draw(float_arrays(shape, edges=(), magnitude=1.0)) for _ in range(n_calls)]
    return [draw(float_arrays(shape, edges=edges, offsets=offsets)) for _ in range(n_calls)]


def small_shapes(min_dims=0, max_dims=3, max_side=6):
    return st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def _leading_shapes():
    """Batch dims of an affine layer's input: (N,), none (a 1-D input), or (N, M)."""
    return st.one_of(st.tuples(batch_sizes()), st.just(()), st.tuples(batch_sizes(1, 4), st.integers(1, 3)))


@st.composite
def linear_cases(draw, n_calls=3, smooth=False):
    cfg = dict(in_features=draw(feature_sizes()), out_features=draw(feature_sizes()), bias=draw(st.booleans()))
    shape = draw(_leading_shapes()) + (cfg["in_features"],)
    return Case(cfg, _inputs(draw, shape, n_calls, smooth, offsets=OFFSETS), seed=draw(seeds()))


def _dyadic(a):
    """Round to multiples of 1/8: sums of products of such small values are exact in float32
    and float64 in any order, so a tie stays a tie through any GEMM."""
    return np.round(np.asarray(a) * 8) / 8


@st.composite
def maxout_cases(draw, n_calls=3, smooth=False):
    cfg = dict(in_features=draw(feature_sizes(1, 16)), out_features=draw(st.integers(1, 8)),
               pieces=draw(st.integers(1, 4)), bias=draw(st.booleans()))
    shape = (draw(batch_sizes()), cfg["in_features"])
    seed = draw(seeds())
    if smooth or cfg["pieces"] == 1 or not draw(st.booleans()):
        return Case(cfg, _inputs(draw, shape, n_calls, smooth), seed=seed)
    # exact ties: unit j's second piece copies its first (weights and bias); dyadic values so
    # that both sides compute bitwise-equal pieces and the first one must win
    rng = np.random.default_rng(seed + 1)
    rows = cfg["out_features"] * cfg["pieces"]
    w, b = _dyadic(rng.standard_normal((rows, cfg["in_features"]))), _dyadic(rng.standard_normal(rows))
    for j in range(cfg["out_features"]):
        w[j * cfg["pieces"] + 1] = w[j * cfg["pieces"]]
        b[j * cfg["pieces"] + 1] = b[j * cfg["pieces"]]
    params = {"weight": w, **({"bias": b} if cfg["bias"] else {})}
    inputs = [_dyadic(draw(float_arrays(shape, edges=KINK, magnitude=1.0))) for _ in range(n_calls)]
    return Case(cfg, inputs, seed=seed, params=params)


@st.composite
def flatten_cases(draw, n_calls=3, smooth=False):
    shape = draw(small_shapes(2, 4, 4))
    nd = len(shape)
    start = draw(st.integers(-nd, nd - 1))
    end = draw(st.integers(-nd, nd - 1).filter(lambda e: e % nd >= start % nd))
    return Case(dict(start_dim=start, end_dim=end), _inputs(draw, shape, n_calls, smooth), seed=draw(seeds()))


@st.composite
def identity_cases(draw, n_calls=3, smooth=False):
    return Case({}, _inputs(draw, draw(small_shapes()), n_calls, smooth), seed=draw(seeds()))


@st.composite
def dropout_cases(draw, n_calls=3, smooth=False):
    p = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0)))
    shape = draw(st.one_of(st.tuples(batch_sizes(), feature_sizes()), small_shapes(3, 3)))
    return Case(dict(p=p, inplace=draw(st.booleans())), _inputs(draw, shape, n_calls, smooth), seed=draw(seeds()))


@st.composite
def batch_norm1d_cases(draw, n_calls=3, smooth=False):
    c = draw(feature_sizes(1, 16))
    if draw(st.booleans()):  # 3-D (N, C, L); batch 1 is legal here when L > 1
        n, length = draw(batch_sizes(1, 6)), draw(st.integers(1, 6))
        if n * length < 2:
            length = 2
        shape = (n, c, length)
    else:
        shape = (draw(batch_sizes(2, 8)), c)
    cfg = dict(num_features=c,
               eps=draw(st.sampled_from([1e-5, 1e-3, 0.1])),
               momentum=draw(st.one_of(st.sampled_from([0.1, None, 0.0, 1.0]), st.floats(0.0, 1.0))),
               affine=draw(st.booleans()), track_running_stats=draw(st.booleans()), bias=draw(st.booleans()))
    inputs = _inputs(draw, shape, n_calls, smooth, offsets=OFFSETS)
    if len(shape) == 2 and draw(st.booleans()):
        # zero-mean channels (activations after a normalized layer): the float32 route of
        # scratch's batch_stats that skips centering is taken only where |mean| <= std / 4
        inputs = [x - x.mean(axis=0) for x in inputs]
    if not smooth and draw(st.booleans()):
        # large running statistics, then small batches: a running update written as r + m * (b - r)
        # cancels (wrongly) where torch's (1 - m) * r + m * b does not, most visibly at momentum 1
        inputs[0] = inputs[0] * 1e3 + 1e3
    return Case(cfg, inputs, seed=draw(seeds()))


@st.composite
def elementwise_cases(draw, n_calls=3, smooth=False, config=st.just({}), edges=KINK):
    """For activations: a config from ``config``, inputs of any small shape reaching ``edges``."""
    return Case(draw(config), _inputs(draw, draw(small_shapes()), n_calls, smooth, edges), seed=draw(seeds()))


def inplace_cases(n_calls=3, smooth=False):
    """Activations whose only flag is ``inplace`` (ReLU, SiLU)."""
    return elementwise_cases(n_calls, smooth, st.fixed_dictionaries(dict(inplace=st.booleans())))


def leaky_relu_cases(n_calls=3, smooth=False):
    # torch refuses backward through an in-place LeakyReLU with a negative slope
    cfg = st.fixed_dictionaries(dict(
        negative_slope=st.one_of(st.sampled_from([0.01, 0.0, 0.2, 1.0, -0.5]), st.floats(-2, 2)),
        inplace=st.booleans())).filter(lambda c: not (c["inplace"] and c["negative_slope"] < 0))
    return elementwise_cases(n_calls, smooth, cfg)


def elu_cases(n_calls=3, smooth=False):
    cfg = st.fixed_dictionaries(dict(alpha=st.one_of(st.just(1.0), st.floats(0.1, 3.0)), inplace=st.booleans()))
    return elementwise_cases(n_calls, smooth, cfg)


def gelu_cases(n_calls=3, smooth=False):
    return elementwise_cases(n_calls, smooth, st.fixed_dictionaries(dict(approximate=st.sampled_from(["none", "tanh"]))))


@st.composite
def prelu_cases(draw, n_calls=3, smooth=False):
    per_channel = draw(st.booleans())
    shape = draw(small_shapes(2, 3) if per_channel else small_shapes())
    cfg = dict(num_parameters=shape[1] if per_channel else 1,
               init=draw(st.one_of(st.just(0.25), st.floats(-1, 1))))
    return Case(cfg, _inputs(draw, shape, n_calls, smooth), seed=draw(seeds()))


@st.composite
def softmax_cases(draw, n_calls=3, smooth=False):
    """Softmax/LogSoftmax: dim None (torch's legacy choice) or any valid dim; huge logits."""
    shape = draw(small_shapes())
    nd = max(len(shape), 1)  # a 0-d tensor accepts dim 0 and -1, like a 1-d one
    dim = draw(st.one_of(st.none(), st.integers(-nd, nd - 1)))
    inputs = _inputs(draw, shape, n_calls, smooth, LOGIT_EDGES, OFFSETS)
    if not smooth and draw(st.integers(0, 3)) == 0:
        # nearly equal logits far from 0 (1e4..1e6 +- a few units): log-sum-exp must subtract the
        # max before anything else, or the few units that matter are lost to rounding
        center = draw(st.sampled_from([1e4, -1e4, 1e6]))
        inputs = [center + draw(float_arrays(shape, edges=(), magnitude=1.0)) for _ in range(n_calls)]
    return Case(dict(dim=dim), inputs, seed=draw(seeds()))


@st.composite
def sequential_cases(draw, n_calls=3, smooth=False):
    """A Linear-[BatchNorm1d]-activation-Linear chain: checks composition (prefixed names,
    the chained backward, buffers inside a container) at unit magnitude. Magnitudes
    1e-3..1e4 are the single-component specs' job: in a float32 chain a one-ulp
    difference in a saturated activation's derivative (tanh' = 1 - y^2 near |h| = 8)
    is multiplied by the input's magnitude downstream, on both sides alike."""
    cfg = dict(in_features=draw(feature_sizes(1, 16)), hidden=draw(feature_sizes(1, 16)),
               out_features=draw(feature_sizes(1, 8)),
               activation=draw(st.sampled_from(["ReLU", "Tanh", "Sigmoid", "ELU"])),
               batch_norm=draw(st.booleans()))
    shape = (draw(batch_sizes(2, 8)), cfg["in_features"])
    inputs = [draw(float_arrays(shape, edges=() if smooth else KINK, magnitude=1.0)) for _ in range(n_calls)]
    return Case(cfg, inputs, seed=draw(seeds()))
