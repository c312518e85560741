"""Every check of ``run_init_case`` fails on a wrong initializer: the wrong fan, gain or bound,
a lost mean, the right moments with the wrong shape, generator misuse, a one-ulp constant, a copy
instead of in place, and wrong default ``Linear`` initializations."""

from __future__ import annotations

import math

import numpy as np

from reference.engine.initializers import run_init_case
from reference.spec import Case
from reference.specs.init import SPECS
from scratch.nn import Linear, init
from tests.conftest import DTYPES

BY_NAME = {s.name: s for s in SPECS}


def _failed(name, case, candidate, dtype="float64"):
    return {(r.name, r.kind) for r in run_init_case(BY_NAME[name], case, dtype, candidate=candidate)
            if not r.passed}


def _q(failed):
    return {q for _, q in failed}


def _fan_case(config, shape=(64, 64)):
    return Case(config=config, inputs=[], seed=11, extra={"shape": shape})


def test_xavier_with_fan_in_instead_of_the_sum_fails():
    def wrong(arr, gain=1.0, generator=None):
        fan_in, _ = init._calculate_fan_in_and_fan_out(arr)
        bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / fan_in)  # variance doubled on a square weight
        return init.uniform_(arr, -bound, bound, generator)

    case = _fan_case({"gain": 1.0})
    assert not _failed("xavier_uniform", case, init.xavier_uniform_)
    failed = _q(_failed("xavier_uniform", case, wrong))
    assert {"bound", "variance", "ks law", "ks torch"} <= failed and "mean" not in failed


def test_kaiming_with_the_wrong_gain_fails():
    def wrong(arr, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
        return init.normal_(arr, 0.0, 1.0 / math.sqrt(init._calculate_correct_fan(arr, mode)), generator)  # gain 1

    case = _fan_case({"a": 0, "mode": "fan_in", "nonlinearity": "relu"}, shape=(64, 32, 3, 3))
    failed = _q(_failed("kaiming_normal", case, wrong))
    assert {"variance", "ks law", "ks torch"} <= failed and "mean" not in failed


def test_uniform_bound_off_by_sqrt3_fails():
    def wrong(arr, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
        std = init.calculate_gain(nonlinearity, a) / math.sqrt(init._calculate_correct_fan(arr, mode))
        return init.uniform_(arr, -std, std, generator)  # the bound is std, not sqrt(3) std

    failed = _q(_failed("kaiming_uniform", _fan_case({"a": 0.0, "mode": "fan_out", "nonlinearity": "tanh"}), wrong))
    assert {"bound reached", "variance", "ks law", "ks torch"} <= failed and "bound" not in failed


def test_bounds_one_percent_too_wide_and_a_lost_mean_fail():
    def wide(arr, a=0.0, b=1.0, generator=None):
        return init.uniform_(arr, a - 0.01 * (b - a), b + 0.01 * (b - a), generator)

    def centred(arr, mean=0.0, std=1.0, generator=None):
        return init.normal_(arr, 0.0, std, generator)

    assert _q(_failed("uniform", _fan_case({"a": -1.0, "b": 2.0}), wide)) >= {"bound"}
    failed = _q(_failed("normal", _fan_case({"mean": 0.5, "std": 1.0}), centred))
    assert "mean" in failed and "variance" not in failed


def test_ks_catches_the_wrong_shape_with_the_right_moments():
    def flat(arr, mean=0.0, std=1.0, generator=None):  # uniform with the normal's mean and variance
        return init.uniform_(arr, mean - math.sqrt(3.0) * std, mean + math.sqrt(3.0) * std, generator)

    failed = _q(_failed("normal", _fan_case({"mean": 0.0, "std": 2.0}, shape=(8192,)), flat))
    assert {"ks law", "ks torch"} <= failed and not failed & {"mean", "variance"}


def test_generator_misuse_fails_reproducibility_checks():
    def unseeded(arr, gain=1.0, generator=None):
        return init.xavier_normal_(arr, gain)

    def fixed(arr, gain=1.0, generator=None):
        return init.xavier_normal_(arr, gain, generator=0)

    case = _fan_case({"gain": 2.0})
    assert _q(_failed("xavier_normal", case, unseeded)) == {"reproducible"}
    assert _q(_failed("xavier_normal", case, fixed)) == {"seed matters"}


def test_constant_off_by_one_ulp_and_a_copy_instead_of_in_place_fail():
    def ulp(arr, val):
        return init.constant_(arr, np.nextafter(np.asarray(val, arr.dtype), np.inf))

    def copy(arr, val):
        return init.constant_(arr.copy(), val)

    for dtype in DTYPES:
        assert _q(_failed("constant", _fan_case({"val": -2.5}), ulp, dtype)) == {"values", "torch values"}
    assert {"in place", "values"} <= _q(_failed("ones", _fan_case({}), lambda arr: init.ones_(arr.copy())))
    assert "in place" in _q(_failed("constant", _fan_case({"val": 3.0}), copy))


class _Float64Linear(Linear):
    def __init__(self, in_features, out_features, bias=True, dtype=None, generator=None):
        super().__init__(in_features, out_features, bias, generator=generator, dtype=np.float64)


class _GlorotLinear(Linear):
    """The from-scratch bug: W ~ U(+-sqrt(6 / in)) instead of U(+-1/sqrt(in))."""

    def reset_parameters(self, generator=None):
        rng = init._rng(generator)
        bound = math.sqrt(6.0 / self.in_features)
        init.uniform_(self.weight, -bound, bound, generator=rng)
        init.uniform_(self.bias, -1 / math.sqrt(self.in_features), 1 / math.sqrt(self.in_features), generator=rng)


def test_linear_default_init_checks_fail_on_wrong_linears():
    case = BY_NAME["linear_default"].default_case()
    assert _failed("linear_default", case, _Float64Linear, "float32") == {("weight", "dtype"), ("bias", "dtype")}
    failed = _failed("linear_default", case, _GlorotLinear)
    assert {("weight", "bound"), ("weight", "variance"), ("weight", "ks torch")} <= failed
    assert not {q for q in failed if q[0] == "bias"}
