"""One ``*_cases`` strategy per initializer (kind="init"); each produces a ``Case``:

    config  the initializer's kwargs (gain, a, mode, nonlinearity, mean/std, bounds, val),
            or Linear's constructor kwargs for ``linear_default``;
    extra   {"shape": the filled tensor's shape} (not for linear_default);
    seed    seeds both sides: the NumPy generator and torch's.

Shapes are big enough for the statistics (2048..16384 values): Linear weights (out, in) from
lopsided (1, n) and (n, 1) to square, Conv weights (out, in, k, k) with k 1..5, and for the
initializers without fans 1-D tensors and a few tiny ones ((), (1,), (7,): exact checks only).
Kwargs reach: every nonlinearity of calculate_gain, leaky_relu slopes 0 / 0.01 / sqrt(5)
(Linear's) / 1, mode "fan_in", "fan_out" and "FAN_OUT" (torch lowercases), gains 0.5..3,
uniform bounds with an offset and a == b, normal std 0, constants 0, NaN, +-inf and float32's max.
Strategies take ``n_calls`` and ``smooth`` like every other family and ignore them.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from reference.spec import Case
from reference.strategies.common import seeds

__all__ = ["weight_shapes", "any_shapes", "uniform_cases", "normal_cases", "constant_cases", "zeros_cases",
           "ones_cases", "xavier_uniform_cases", "xavier_normal_cases", "kaiming_uniform_cases",
           "kaiming_normal_cases", "linear_default_cases", "NONLINEARITIES"]

# the ones with distinct gains first: hypothesis favours the front of a sampled list
NONLINEARITIES = ("leaky_relu", "relu", "tanh", "selu", "sigmoid", "linear", "conv1d", "conv2d", "conv3d",
                  "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


@st.composite
def weight_shapes(draw, lo: int = 2048, hi: int = 8192):
    """(out, in) or (out, in, k, k) with n in lo..hi drawn, then n..2n elements (in is rounded up);
    out is 1, a power of two, or n (so in = 1)."""
    n = draw(st.integers(lo, hi))
    k = draw(st.sampled_from([None, 1, 2, 3, 5]))
    per_kernel = -(-n // (k * k)) if k else n  # ceil: at least lo values
    out = draw(st.sampled_from([1, per_kernel]) | st.integers(0, int(math.log2(per_kernel))).map(lambda e: 2**e))
    fan = max(1, -(-per_kernel // out))
    return (out, fan) if k is None else (out, fan, k, k)


def any_shapes():
    """Weights, 1-D vectors, and a few tiny shapes where only the exact checks apply."""
    return st.one_of(weight_shapes(), st.integers(2048, 8192).map(lambda n: (n,)), st.sampled_from([(), (1,), (7,)]))


def _case(draw, config: dict, shape) -> Case:
    return Case(config=config, inputs=[], seed=draw(seeds()), extra={"shape": tuple(shape)})


@st.composite
def uniform_cases(draw, n_calls=1, smooth=False):
    a, b = draw(st.sampled_from([(0.0, 1.0), (-0.5, 0.5), (10.0, 10.5), (-3.0, -1.0), (2.0, 2.0)])
                | st.tuples(st.floats(-10, 10), st.floats(0.01, 10)).map(lambda t: (t[0], t[0] + t[1])))
    return _case(draw, {"a": a, "b": b}, draw(any_shapes()))


@st.composite
def normal_cases(draw, n_calls=1, smooth=False):
    mean = draw(st.sampled_from([0.0, 1.0, -5.0, 100.0]) | st.floats(-10, 10))
    std = draw(st.sampled_from([1.0, 0.01, 0.0, 3.0]) | st.floats(0.01, 10))
    return _case(draw, {"mean": mean, "std": std}, draw(any_shapes()))


@st.composite
def constant_cases(draw, n_calls=1, smooth=False):
    val = draw(st.sampled_from([0.0, 1.0, -2.5, 1e-30, float("nan"), float("inf"), -float("inf"), 3.4e38])
               | st.floats(-1e6, 1e6))
    return _case(draw, {"val": val}, draw(any_shapes()))


@st.composite
def zeros_cases(draw, n_calls=1, smooth=False):
    return _case(draw, {}, draw(any_shapes()))


ones_cases = zeros_cases


def _gain():
    return st.sampled_from([1.0, math.sqrt(2.0), 5.0 / 3, 0.5]) | st.floats(0.1, 3.0)


@st.composite
def xavier_uniform_cases(draw, n_calls=1, smooth=False):
    return _case(draw, {"gain": draw(_gain())}, draw(weight_shapes()))


xavier_normal_cases = xavier_uniform_cases


@st.composite
def kaiming_uniform_cases(draw, n_calls=1, smooth=False):
    cfg = {"a": draw(st.sampled_from([0, 0.01, math.sqrt(5.0), 1.0]) | st.floats(0.0, 3.0)),
           "mode": draw(st.sampled_from(["fan_in", "fan_out", "FAN_OUT"])),
           # half the draws among the six with distinct gains, so each of them comes up often
           "nonlinearity": draw(st.sampled_from(NONLINEARITIES[:6]) | st.sampled_from(NONLINEARITIES))}
    return _case(draw, cfg, draw(weight_shapes()))


kaiming_normal_cases = kaiming_uniform_cases


@st.composite
def linear_default_cases(draw, n_calls=1, smooth=False):
    """Linear(in, out, bias): out >= 256 so that the bias (out values) has statistics too."""
    in_features = draw(st.sampled_from([1, 3, 64]) | st.integers(1, 64))
    out_features = max(256, -(-2048 // in_features)) + draw(st.integers(0, 512))
    cfg = {"in_features": in_features, "out_features": out_features, "bias": draw(st.booleans())}
    return Case(config=cfg, inputs=[], seed=draw(seeds()))
