"""Specs for scratch.nn.init (kind="init"): each initializer against torch.nn.init's, plus
``linear_default``, Linear's default weight and bias init against torch.nn.Linear's.

An ``InitSpec`` adds ``law(case) -> {tensor name: Law}``: the distribution torch's formula
gives for the case's shape and kwargs, computed here from torch's own definitions (fans by
torch's rule, gains from ``torch.nn.init.calculate_gain``), never from the scratch code.
``reference.engine.initializers.run_init_case`` compares samples with it and with torch's samples.
Names are torch's function names without the trailing underscore.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from torch import nn

import scratch.nn as snn
from reference.engine.initializers import Law
from reference.spec import Case, Spec
from reference.strategies import init as SI
from scratch.nn import init


@dataclass(frozen=True)
class InitSpec(Spec):
    law: Callable[[Case], dict] | None = None   # case -> {tensor name: Law}


def fans(shape) -> tuple[int, int]:
    """torch's rule: (out, in, *receptive) -> (in * r, out * r), r = prod(receptive)."""
    r = math.prod(shape[2:])
    return shape[1] * r, shape[0] * r


def _uniform(case):
    return {"tensor": Law("uniform", case.config.get("a", 0.0), case.config.get("b", 1.0))}


def _normal(case):
    return {"tensor": Law("normal", case.config.get("mean", 0.0), case.config.get("std", 1.0))}


def _constant(value=None):
    return lambda case: {"tensor": Law("constant", case.config["val"] if value is None else value)}


def _xavier_std(case):
    fan_in, fan_out = fans(case.extra["shape"])
    return case.config.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))


def _kaiming_std(case):
    c = case.config
    fan_in, fan_out = fans(case.extra["shape"])
    fan = fan_in if c.get("mode", "fan_in").lower() == "fan_in" else fan_out
    return nn.init.calculate_gain(c.get("nonlinearity", "leaky_relu"), c.get("a", 0)) / math.sqrt(fan)


def _symmetric_uniform(bound):
    return Law("uniform", -bound, bound)


def _linear_default(case):
    bound = 1 / math.sqrt(case.config["in_features"])  # kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(in))
    laws = {"weight": _symmetric_uniform(bound)}
    if case.config.get("bias", True):
        laws["bias"] = _symmetric_uniform(bound)
    return laws


def _default(config, shape=(64, 48)):
    return lambda: Case(config=dict(config), inputs=[], seed=0, extra={"shape": shape})


def _spec(name, fn, law, cases, default, draws):
    return InitSpec(name, getattr(init, fn), getattr(nn.init, fn), f"torch.nn.init.{fn}", cases, kind="init",
                    law=law, default=default, draws=draws)


_FAN_SHAPES = "(out, in) 2048..16384 values incl. (1, n), (n, 1); (out, in, k, k), k 1..5"
_ANY_SHAPES = f"{_FAN_SHAPES}; (n,); (), (1,), (7,)"

SPECS = [
    _spec("uniform", "uniform_", _uniform, SI.uniform_cases, _default({"a": -0.5, "b": 2.0}),
          f"a, b: (0, 1), offset (10, 10.5), negative, a == b, random; {_ANY_SHAPES}"),
    _spec("normal", "normal_", _normal, SI.normal_cases, _default({"mean": 1.0, "std": 0.5}),
          f"mean 0, 1, -5, 100, [-10, 10]; std 1, 0.01, 0, 3, [0.01, 10]; {_ANY_SHAPES}"),
    _spec("constant", "constant_", _constant(), SI.constant_cases, _default({"val": -2.5}),
          f"val 0, 1, -2.5, 1e-30, nan, +-inf, 3.4e38, [-1e6, 1e6]; {_ANY_SHAPES}"),
    _spec("zeros", "zeros_", _constant(0.0), SI.zeros_cases, _default({}), _ANY_SHAPES),
    _spec("ones", "ones_", _constant(1.0), SI.ones_cases, _default({}), _ANY_SHAPES),
    _spec("xavier_uniform", "xavier_uniform_",
          lambda c: {"tensor": _symmetric_uniform(math.sqrt(3.0) * _xavier_std(c))},
          SI.xavier_uniform_cases, _default({"gain": 1.0}), f"gain 1, sqrt 2, 5/3, 0.5, [0.1, 3]; {_FAN_SHAPES}"),
    _spec("xavier_normal", "xavier_normal_", lambda c: {"tensor": Law("normal", 0.0, _xavier_std(c))},
          SI.xavier_normal_cases, _default({"gain": 1.0}), f"gain 1, sqrt 2, 5/3, 0.5, [0.1, 3]; {_FAN_SHAPES}"),
    _spec("kaiming_uniform", "kaiming_uniform_",
          lambda c: {"tensor": _symmetric_uniform(math.sqrt(3.0) * _kaiming_std(c))}, SI.kaiming_uniform_cases,
          _default({"a": 0, "mode": "fan_in", "nonlinearity": "relu"}, shape=(32, 16, 3, 3)),
          f"a 0, 0.01, sqrt 5, 1, [0, 3]; mode fan_in, fan_out, FAN_OUT; every nonlinearity; {_FAN_SHAPES}"),
    _spec("kaiming_normal", "kaiming_normal_", lambda c: {"tensor": Law("normal", 0.0, _kaiming_std(c))},
          SI.kaiming_normal_cases, _default({"a": 0, "mode": "fan_out", "nonlinearity": "relu"}, shape=(32, 16, 3, 3)),
          f"a 0, 0.01, sqrt 5, 1, [0, 3]; mode fan_in, fan_out, FAN_OUT; every nonlinearity; {_FAN_SHAPES}"),
    InitSpec("linear_default", snn.Linear, nn.Linear, "torch.nn.Linear (default init: reset_parameters)",
             SI.linear_default_cases, kind="init", law=_linear_default,
             default=lambda: Case(config={"in_features": 20, "out_features": 300, "bias": True}, inputs=[], seed=0),
             draws="in_features 1, 3, 64, 1..64; out_features 256..(2048/in + 512); bias; "
                   "weight and bias U(+-1/sqrt(in))"),
]
