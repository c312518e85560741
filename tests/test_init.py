"""Initializers: calculate_gain and fans equal torch's, reproducibility, torch's errors (and
nothing changed by them), every registry case through ``run_init_case`` in both dtypes, the
reference laws confirmed on torch's own initializers, and every check of ``run_init_case``
failing on a wrong initializer."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from reference.convert import torch_dtype
from reference.hypothesis_profiles import scaled
from reference.init_check import run_init_case
from reference.spec import Case
from reference.specs.init import SPECS
from reference.strategies.init import NONLINEARITIES
from scratch.nn import Linear, Parameter, init
from tests.conftest import DTYPES

BY_NAME = {s.name: s for s in SPECS}
PARAMS = [None, 0, 1, 3, 0.0, 0.01, 0.2, -0.5, math.sqrt(5), np.float64(0.2)]


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_equals_torch(nonlinearity):
    for param in PARAMS:
        got, want = init.calculate_gain(nonlinearity, param), torch.nn.init.calculate_gain(nonlinearity, param)
        assert got == want and type(got) is type(want), (nonlinearity, param, got, want)
    for bad in (True, "0.2", np.float32(0.2)):  # torch rejects these slopes, and only for leaky_relu
        if nonlinearity == "leaky_relu":
            with pytest.raises(ValueError, match="not a valid number"):
                torch.nn.init.calculate_gain(nonlinearity, bad)
            with pytest.raises(ValueError, match="not a valid number"):
                init.calculate_gain(nonlinearity, bad)
        else:
            assert init.calculate_gain(nonlinearity, bad) == torch.nn.init.calculate_gain(nonlinearity, bad)


def test_calculate_gain_rejects_unknown_nonlinearity_like_torch():
    for name in ("softmax", "ReLU", ""):
        with pytest.raises(ValueError, match="Unsupported nonlinearity"):
            torch.nn.init.calculate_gain(name)
        with pytest.raises(ValueError, match="Unsupported nonlinearity"):
            init.calculate_gain(name)


@pytest.mark.parametrize("shape", [(4, 3), (1, 7), (7, 1), (5, 2, 3), (8, 4, 3, 3), (2, 3, 2, 1, 2), (0, 3), (3, 0, 2)])
def test_fans_equal_torch(shape):
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(np.empty(shape)) == want
    assert init._calculate_fan_in_and_fan_out(Parameter(np.empty(shape))) == want
    if 0 not in shape:  # Linear weight (out, in) and Conv weight (out, in, k...): torch's modules agree
        assert want[0] == shape[1] * math.prod(shape[2:])


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fan_of_fewer_than_two_dims_is_an_error_like_torch(shape):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for fn in (init._calculate_fan_in_and_fan_out, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_):
        a = np.full(shape, 7.0)
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            fn(a)
        assert np.all(a == 7.0)


def test_reproducible_with_a_generator_and_an_int_seed():
    a, b, c = (np.empty((30, 20)) for _ in range(3))
    init.kaiming_normal_(a, generator=7)
    init.kaiming_normal_(b, generator=np.random.default_rng(7))
    assert np.array_equal(a, b)
    rng = np.random.default_rng(7)
    init.kaiming_normal_(c, generator=rng)
    init.kaiming_normal_(c, generator=rng)  # the generator advances: a second call draws new values
    assert not np.array_equal(a, c)
    f32 = np.empty((30, 20), np.float32)
    init.kaiming_normal_(f32, generator=7)  # float32 gets the float32 rounding of the float64 draw
    assert f32.dtype == np.float32 and np.array_equal(f32, a.astype(np.float32))
    p = Parameter(np.zeros((30, 20)))
    assert init.kaiming_normal_(p, generator=7) is p and np.array_equal(p.data, a)
    lin_a, lin_b = Linear(5, 4, generator=3), Linear(5, 4, generator=np.random.default_rng(3))
    assert np.array_equal(lin_a.weight.data, lin_b.weight.data) and np.array_equal(lin_a.bias.data, lin_b.bias.data)


def _unchanged(call, error, match, torch_call=None, shape=(4, 3)):
    a = np.full(shape, 7.0)
    with pytest.raises(error, match=match):
        call(a)
    assert np.all(a == 7.0), "a rejected call changed the array"
    if torch_call is not None:
        with pytest.raises((RuntimeError, ValueError, ZeroDivisionError)):
            torch_call(torch.full(shape, 7.0))


@pytest.mark.parametrize("call,error,match,torch_call", [
    (lambda a: init.uniform_(a, 1.0, 0.0), ValueError, "a <= b", lambda t: torch.nn.init.uniform_(t, 1.0, 0.0)),
    (lambda a: init.uniform_(a, -math.inf, 0.0), ValueError, "finite", lambda t: torch.nn.init.uniform_(t, -math.inf)),
    (lambda a: init.normal_(a, 0.0, -1.0), ValueError, "std >= 0", lambda t: torch.nn.init.normal_(t, 0.0, -1.0)),
    (lambda a: init.normal_(a, 0.0, math.nan), ValueError, "std >= 0",
     lambda t: torch.nn.init.normal_(t, 0.0, math.nan)),
    (lambda a: init.kaiming_uniform_(a, mode="fan_avg"), ValueError, "Mode fan_avg not supported",
     lambda t: torch.nn.init.kaiming_uniform_(t, mode="fan_avg")),
    (lambda a: init.kaiming_normal_(a, nonlinearity="softplus"), ValueError, "Unsupported nonlinearity",
     lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="softplus")),
    (lambda a: init.kaiming_uniform_(a, a=True), ValueError, "not a valid number",
     lambda t: torch.nn.init.kaiming_uniform_(t, a=True)),
    (lambda a: init.xavier_uniform_(a[:0, :0]), ValueError, "fan_in \\+ fan_out is 0",
     lambda t: torch.nn.init.xavier_uniform_(t[:0, :0])),
    (lambda a: init.uniform_(a, generator="seed"), TypeError, "generator", None),
    (lambda a: init.zeros_(a.tolist()), TypeError, "float numpy.ndarray", None),
    (lambda a: init.ones_(a.astype(np.int64)), TypeError, "dtype int64", None),
])
def test_errors_like_torch_change_nothing(call, error, match, torch_call):
    _unchanged(call, error, match, torch_call)


def test_constant_overflow_is_an_error_like_torch():
    a = np.full(3, 7.0, np.float32)
    with pytest.raises(ValueError, match="without overflow"):
        init.constant_(a, 1e39)
    assert np.all(a == 7.0)
    with pytest.raises(RuntimeError, match="overflow"):
        torch.nn.init.constant_(torch.empty(3), 1e39)
    init.constant_(a, math.inf)  # inf is a value, not an overflow (torch agrees)
    assert np.all(a == math.inf) and torch.nn.init.constant_(torch.empty(1), math.inf).item() == math.inf


def test_kaiming_on_a_zero_element_tensor_warns_and_does_nothing_like_torch():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        a = np.empty((0, 3))
        with pytest.warns(UserWarning, match="zero-element"):
            assert fn(a) is a
    with pytest.warns(UserWarning, match="zero-element"):
        torch.nn.init.kaiming_uniform_(torch.empty(0, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_registry_cases_pass(spec, dtype):
    compared = set()

    @settings(max_examples=scaled(8))
    @given(spec.cases())
    def prop(case):
        records = run_init_case(spec, case, dtype)
        bad = [f"{r.step} {r.quantity}: got {r.got}, expected {r.expected}; {r.note}" for r in records if not r.passed]
        assert not bad, f"{case.as_code()}\n" + "\n".join(bad)
        compared.update(r.quantity for r in records)

    prop()
    assert {"dtype", "reproducible"} <= compared and compared & {"values", "ks torch"}


# ---- the reference side: torch's own initializers satisfy the laws ----

def _torch_seed(generator) -> int:
    return generator if isinstance(generator, int) else int(generator.integers(2**62))


def _torch_backed(fn_name):
    """A candidate that fills the NumPy array through torch.nn.init (shared memory)."""
    def candidate(arr, generator=None, **kwargs):
        fn = getattr(torch.nn.init, fn_name)
        if fn_name not in ("constant_", "zeros_", "ones_"):
            kwargs["generator"] = torch.Generator().manual_seed(_torch_seed(generator))
        fn(torch.from_numpy(arr), **kwargs)
        return arr
    return candidate


class _TorchLinear:
    def __init__(self, in_features, out_features, bias=True, dtype=None, generator=None):
        with torch.random.fork_rng():
            torch.manual_seed(_torch_seed(generator))
            self.m = torch.nn.Linear(in_features, out_features, bias, dtype=torch_dtype(np.dtype(dtype).name))

    def named_parameters(self):
        for name, p in self.m.named_parameters():
            yield name, types.SimpleNamespace(data=p.detach().numpy())


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_torch_itself_satisfies_the_laws(spec):
    cand = _TorchLinear if spec.name == "linear_default" else _torch_backed(spec.twin.__name__)

    @settings(max_examples=scaled(5))
    @given(spec.cases())
    def prop(case):
        for dtype in DTYPES:
            bad = [(r.step, r.quantity, r.note) for r in run_init_case(spec, case, dtype, candidate=cand)
                   if not r.passed]
            assert not bad, (case.as_code(), dtype, bad)

    prop()


# ---- every check of run_init_case fails on a wrong initializer ----

def _failed(name, case, candidate, dtype="float64"):
    return {(r.step, r.quantity) for r in run_init_case(BY_NAME[name], case, dtype, candidate=candidate)
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


def test_strategies_reach_their_edges():
    from reference.sampling import sample_cases

    def collect(name, n=80):
        return sample_cases(BY_NAME[name].cases(), n, seed=0)

    kaiming, uniform = collect("kaiming_uniform", 120), collect("uniform")
    reached = {c.config["nonlinearity"] for c in kaiming}  # every distinct gain, and conv names
    assert set(NONLINEARITIES[:6]) <= reached and len(reached) >= 9
    assert {"fan_in", "fan_out", "FAN_OUT"} == {c.config["mode"] for c in kaiming}
    assert {0, math.sqrt(5.0)} <= {c.config["a"] for c in kaiming}
    shapes = [c.extra["shape"] for c in kaiming]
    assert any(len(s) == 4 for s in shapes) and any(s[0] == 1 for s in shapes) and any(s[1] == 1 for s in shapes)
    assert all(2048 <= math.prod(s) for s in shapes)
    ushapes = {len(c.extra["shape"]) for c in uniform}
    assert {0, 1, 2, 4} <= ushapes and any(c.config["a"] == c.config["b"] for c in uniform)
    assert any(c.config["std"] == 0 for c in collect("normal"))
    assert any(math.isnan(c.config["val"]) for c in collect("constant"))
    lin = collect("linear_default")
    assert any(c.config["in_features"] == 1 for c in lin) and {True, False} == {c.config["bias"] for c in lin}
