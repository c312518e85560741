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


# centered RMSprop under a constant gradient (lr 0, so g = grad + 0.01 p never changes): the
# variance square_avg - grad_avg^2 = (1 - a^t) a^t g^2 falls to ~2^-30 of square_avg by step 30,
# below float32's rounding of square_avg from step ~24 (the thorough profile drew this case)
CONSTANT_GRADIENT = Case(config=dict(lr=0.0, alpha=0.5, eps=1e-10, weight_decay=0.01, momentum=0.9, centered=True),
                         inputs=[np.array([0.5, -1.25, 2.0, 1e-3])],
                         steps=[[np.array([1e-9, -2e-9, 3e-9, 1.5e-9])]] * 30)


def test_centered_variance_cancelling_passes_with_the_moved_state_and_fails_without():
    spec = get_spec("rmsprop")
    for dtype in ("float64", "float32"):
        assert all(r.passed for r in run_case(spec, CONSTANT_GRADIENT, dtype)), dtype
    unmeasured = dataclasses.replace(spec, fused_states=None)
    assert _value_mismatches(run_case(unmeasured, CONSTANT_GRADIENT, "float64"))


def _value_mismatches(records) -> list:
    return [r for r in records if not r.passed and r.kind in ("param", "state")]


def test_centered_variance_allowance_still_catches_a_wrong_eps():
    spec = get_spec("rmsprop")

    class WrongEps(spec.component):  # eps read as sqrt(eps): 1e-5 where torch adds 1e-10
        def _update(self, p, group):
            super()._update(p, dict(group, eps=group["eps"] ** 0.5))
    for dtype in ("float64", "float32"):
        assert _value_mismatches(run_case(spec, CONSTANT_GRADIENT, dtype, candidate=WrongEps)), dtype


def _steps(pattern: str, g0: float, g1: float) -> list:
    """One gradient per step: '.' both entries, 'A' the first one 0, 'B' the second one 0."""
    return [[np.array([0.0 if c == "A" else g0, 0.0 if c == "B" else g1])] for c in pattern]


# drawn by the thorough profile: maximize with L2 decay, p[1] = 100 * grad[1], so the decayed
# gradient -grad + 0.01 p cancels exactly; torch's one rounding leaves ~1e-9, scratch's two
# leave 0, and Adamax's step lr * m / exp_inf is then lr * sign(g) for torch and 0 for scratch
CANCELLED_DECAY = Case(config=dict(lr=0.01, betas=(0.9, 0.999), eps=1e-10, weight_decay=0.01, maximize=True),
                       inputs=[np.array([12.57302210933933, -13.21048632913019])],
                       steps=_steps("A.......A.BB..AAA.........B...", 0.1257302210933933, -0.1321048632913019))


def test_a_decayed_gradient_cancelled_to_rounding_is_rounding_s_choice_there_only():
    from reference.engine.fused import _cancelled_from
    from reference.engine.trajectories import trace_trajectory_twin

    spec = get_spec("adamax")
    for dtype in ("float64", "float32"):
        assert all(r.passed for r in run_case(spec, CANCELLED_DECAY, dtype)), dtype
    same = trace_trajectory_twin(spec, CANCELLED_DECAY, "float64", round_to="float32")
    first = _cancelled_from(spec, CANCELLED_DECAY, same, "float32")[0]
    assert np.isinf(first[0]) and first[1] == 1  # the cancelled element, from step 1; the other never


def test_the_cancelled_element_does_not_hide_the_others():
    spec = get_spec("adamax")

    class Off(spec.component):
        def _update(self, p, group):
            super()._update(p, dict(group, lr=group["lr"] * (1 + 1e-6)))
    bad = _value_mismatches(run_case(spec, CANCELLED_DECAY, "float64", candidate=Off))
    assert bad and all(r.worst_index == (0,) for r in bad if r.kind == "param")


def test_without_the_rule_the_correct_adamax_fails_the_cancelled_case(monkeypatch):
    import reference.engine.fused as fused

    monkeypatch.setattr(fused, "_cancelled_from", lambda *args: {})
    assert _value_mismatches(run_case(get_spec("adamax"), CANCELLED_DECAY, "float32"))
