"""Course-style candidates (``--style cs231n``): the course's functions verified without an
adapter, options they cannot take pinned and listed, state they do not keep not failed,
arrays they write into named, and ``reference.testing.assert_matches_torch``."""

from __future__ import annotations

import numpy as np
import pytest

from reference import verify as V
from reference.candidates import load_object
from reference.testing import assert_matches_torch
from tests.candidates.minimal_adam import MinimalAdam

LAYERS, LOSSES, OPTIM = (f"tests/candidates/cs231n_{n}.py" for n in ("layers", "losses", "optim"))
CORRECT = [("linear", LAYERS, "affine_forward"), ("relu", LAYERS, "relu_forward"),
           ("batch_norm1d", LAYERS, "batchnorm_forward"), ("cross_entropy", LOSSES, "softmax_loss"),
           ("multi_margin", LOSSES, "svm_loss"), ("sgd", OPTIM, "sgd"), ("sgd", OPTIM, "sgd_momentum"),
           ("rmsprop", OPTIM, "rmsprop"), ("adam", OPTIM, "adam")]

# buggy candidates overflow on purpose (softmax without the max shift)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:_candidate_")



@pytest.mark.parametrize("kind,path,name", CORRECT, ids=[c[2] for c in CORRECT])
def test_correct_course_functions_pass_and_say_what_was_not_checked(kind, path, name):
    result = V.verify(kind, load_object(f"{path}:{name}"), examples=8, style="cs231n")
    assert "failed_records" not in result, result.get("failed_records")
    assert result["not_checked"], "every course form leaves some torch option out"
    assert any(r.kind not in ("not compared",) for r in result["records"])


def test_a_wrong_course_function_fails_with_every_failing_quantity(tmp_path):
    forgets_b = tmp_path / "forgets_b.py"
    forgets_b.write_text("""
import numpy as np

def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w, (x, w)  # forgets b

def affine_backward(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, np.zeros(w.shape[1])
""")
    result = V.verify("linear", load_object(f"{forgets_b}:affine_forward"), examples=5, style="cs231n",
                      shrink=False)
    failing = {r.quantity for r in result["failed_records"]}
    assert {"output", "grad:bias"} <= failing


def test_unshifted_softmax_is_caught_at_the_default_example_count():
    """float64 logits past ~709 overflow exp: the default run must reach them."""
    result = V.verify("cross_entropy", load_object(f"{LOSSES}:unshifted_softmax_loss"), style="cs231n",
                      shrink=False)
    assert "failed_records" in result


def test_a_function_that_writes_into_its_input_fails_naming_it():
    result = V.verify("relu", load_object(f"{LAYERS}:relu_inplace_forward"), examples=5, style="cs231n",
                      shrink=False)
    bad = [r for r in result["failed_records"] if r.kind == "x unchanged"]
    assert bad and "relu_inplace_forward wrote into its argument 'x'" in bad[0].note


def test_style_errors_name_what_is_expected():
    with pytest.raises(V.UsageError, match="partner relu_backward"):
        V.prepare("relu", _named("relu_forward"), style="cs231n")
    with pytest.raises(V.UsageError, match="no course form for kind 'mse'"):
        V.prepare("mse", load_object(f"{LOSSES}:svm_loss"), style="cs231n")
    with pytest.raises(V.UsageError, match="expected the forward function"):
        V.prepare("linear", load_object(f"{LOSSES}:svm_loss"), style="cs231n")


def _named(name):
    def fn(x):
        return x, None
    fn.__name__ = name
    fn.__module__ = "json"  # a module without the partner
    return fn


def test_options_a_class_does_not_take_are_pinned_not_reported_as_mismatches():
    result = V.verify("adam", MinimalAdam, examples=10)
    assert "failed_records" not in result, result.get("failed_records")
    assert any("amsgrad=False" in line for line in result["not_checked"])


def test_fix_pins_an_option_and_rejects_one_torch_does_not_have():
    result = V.verify("adam", MinimalAdam, examples=5, fix={"lr": 0.01})
    assert all(r.passed for r in result["records"]) and any("lr=0.01" in n for n in result["not_checked"])
    with pytest.raises(V.UsageError, match="has no option 'nesterov'"):
        V.verify("adam", MinimalAdam, fix={"nesterov": True})
    assert V.main(["adam", "tests/candidates/minimal_adam.py:MinimalAdam", "--fix", "amsgrad"]) == 2


def test_assert_matches_torch_passes_and_raises_with_the_case_and_repro():
    assert_matches_torch("multi_margin", load_object(f"{LOSSES}:svm_loss"), style="cs231n", examples=5)
    with pytest.raises(AssertionError, match=r"(?s)minimal case: Case\(.*Reproduce with:.*load_candidate"):
        assert_matches_torch("relu", load_object(f"{LAYERS}:relu_at_zero_forward"), style="cs231n", examples=30)


def test_module_protocol_is_forward_train_eval_without_call():
    class NoCallReLU:
        def __init__(self, inplace=False):
            pass

        def named_parameters(self):
            return iter(())

        def train(self):
            return self

        def eval(self):
            return self

        def forward(self, x):
            self.x = x
            return np.maximum(x, np.zeros((), x.dtype))

        def backward(self, g):
            return np.where(self.x > 0, g, np.zeros((), g.dtype))
    result = V.verify("relu", NoCallReLU, examples=10)
    assert "failed_records" not in result, result.get("failed_records")
