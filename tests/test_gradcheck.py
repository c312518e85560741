"""The check that does not trust torch: scratch's backward passes against centered
differences in float64, for every module and loss in the registry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import scratch.nn as snn
from reference.hypothesis_profiles import scaled
from reference.registry import specs
from experiments.gradcheck import prepared
from scratch.gradcheck import check_module, numerical_gradient, relative_error


MODES = [pytest.param(s, mode, id=f"{s.name}-{mode}") for s in specs("module") + specs("loss")
         for mode in (["train", "eval"] if "train_eval" in s.tags else ["train"])]


@pytest.mark.parametrize("spec,mode", MODES)
def test_backward_matches_numerical_gradient(spec, mode):
    """Losses are checked as modules of their input with the target fixed (LossWithTarget)."""
    @settings(max_examples=scaled(10))
    @given(spec.cases(n_calls=1, smooth=True))
    def prop(case):
        module, x, prepare = prepared(spec, case)
        module.train(mode == "train")
        for r in check_module(module, x, kinks=spec.kinks, prepare=prepare, seed=case.seed):
            assert r.passed, (f"{spec.name} {r.quantity}: relative error {r.max_rel_error:.3g} > {r.threshold:g} "
                              f"at {r.worst_index} (analytic {r.analytic!r}, numeric {r.numeric!r}); config {case.config}")

    prop()


class _WrongReLU(snn.ReLU):
    """ReLU whose backward passes the gradient through where x < 0 as well (derivative 1 everywhere)."""

    def _df(self, g, x, y):
        return g


class _HalfLinear(snn.Linear):
    def backward(self, grad_output):
        gx = super().backward(grad_output)
        self.weight.grad *= 0.5
        return gx


def test_gradcheck_catches_wrong_backward():
    x = np.array([[-1.0, 2.0, -0.5], [0.3, -2.0, 1.0]])
    assert not all(r.passed for r in check_module(_WrongReLU(), x))
    lin = _HalfLinear(3, 2).double()
    bad = {r.quantity: r for r in check_module(lin, x)}
    assert not bad["weight"].passed and bad["input"].passed and bad["bias"].passed


def test_points_near_a_kink_are_skipped_and_counted():
    x = np.array([0.0, 1.0, -1.0, 5e-6])
    (res,) = check_module(snn.ReLU(), x, kinks=(0.0,))
    assert res.skipped_near_kink == 2 and res.checked == 2 and res.passed


def test_numerical_gradient_of_a_known_function():
    x = np.array([0.5, -1.5, 2.0])
    g = numerical_gradient(lambda: np.sum(np.sin(x) * x), x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-9)
    assert relative_error(1.0, 1.0 + 1e-3) == pytest.approx(1e-3 / (1 + 1e-3))


def test_numerical_gradient_rejects_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))
