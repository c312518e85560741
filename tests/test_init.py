"""Initializers: calculate_gain and fans equal torch's, reproducibility, torch's errors (and
nothing changed by them), every registry case through ``run_init_case`` in both dtypes, the
reference laws confirmed on torch's own initializers, and the strategies' edges (every check of
``run_init_case`` failing on a wrong initializer: ``test_init_checks.py``)."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from reference.convert import torch_dtype
from reference.hypothesis_profiles import scaled
from reference.engine.initializers import run_init_case
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
        bad = [f"{r.name} {r.kind}: got {r.got}, expected {r.expected}; {r.note}" for r in records if not r.passed]
        assert not bad, f"{case.as_code()}\n" + "\n".join(bad)
        compared.update(r.kind for r in records)

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
            bad = [(r.name, r.kind, r.note) for r in run_init_case(spec, case, dtype, candidate=cand)
                   if not r.passed]
            assert not bad, (case.as_code(), dtype, bad)

    prop()


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
