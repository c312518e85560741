"""The optimizers' allowance for one more rounding per fused multiply-add
(``reference.engine.fused.measure_fused``): scratch rounds x*y, then x*y + c, where torch
rounds once. Where x*y nearly cancels c the error is not relative to the result; the engine
measures it by moving each fused product's scalar by one float32 rounding."""

from __future__ import annotations

import dataclasses

import numpy as np

from reference.compare import Tolerance, compare
from reference.engine import run_case
from reference.registry import get_spec
from reference.spec import Case

# NAdam at its equilibrium grad + 0.01 p = 0 (p -> 0.101): g cancels ~2000-fold, and scratch's
# rounding of 0.01 p is ~2000 float32 roundings of g; the steps then oscillate about p
NEAR_EQUILIBRIUM = Case(config=dict(lr=0.1, betas=(0.9, 0.999), eps=1e-10, weight_decay=0.01, momentum_decay=0.004),
                        inputs=[np.array([0.0009034701816518086, 0.5])],
                        steps=[[np.full(2, -0.001009618183538736)]] * 30)


def test_cancelling_fused_product_passes_with_the_moved_scalars_and_fails_without():
    spec = get_spec("nadam")
    assert all(r.passed for r in run_case(spec, NEAR_EQUILIBRIUM, "float32"))
    unmeasured = dataclasses.replace(spec, fused_scalars=None)
    assert not all(r.passed for r in run_case(unmeasured, NEAR_EQUILIBRIUM, "float32"))


def test_the_moved_scalars_are_the_fused_ones():
    assert get_spec("adamw").fused_scalars({"weight_decay": 0.01}) == {"beta1": True, "beta2": True}
    assert get_spec("adam").fused_scalars({"weight_decay": 0.01}) == {"beta1": True, "beta2": True,
                                                                       "weight_decay": False}
    assert get_spec("sgd").fused_scalars({"nesterov": True}) == {"lr": False, "dampening": True, "weight_decay": False,
                                                                 "momentum": False}
    assert "momentum" not in get_spec("sgd").fused_scalars({"nesterov": False})


def test_a_nan_the_engine_marks_as_rounding_admits_any_value_and_only_there():
    tol = Tolerance(rtol=1e-6, atol=0.0)
    expected = np.array([np.nan, 1.0], dtype=np.float32)
    assert compare("q", np.array([2.0, 1.0], np.float32), expected, tol, noise=np.array([np.inf, 0.0])).passed
    assert not compare("q", np.array([2.0, 1.0], np.float32), expected, tol, noise=np.array([0.0, 0.0])).passed
    assert not compare("q", np.array([2.0, 1.1], np.float32), expected, tol, noise=np.array([np.inf, 0.0])).passed


def test_one_part_in_a_million_in_lr_still_fails_in_float64():
    # the moved scalars add rounding-sized allowance only: a default case off by 1e-6 in lr fails
    spec = get_spec("nadam")
    case = spec.default_case()

    class Off(spec.component):
        def _update(self, p, group):
            super()._update(p, dict(group, lr=group["lr"] * (1 + 1e-6)))
    assert all(r.passed for r in run_case(spec, case, "float64"))
    assert not all(r.passed for r in run_case(spec, case, "float64", candidate=Off))
