"""Diagnosis: a failing candidate is tried against its kind's known variants
(``Spec.variants``) and told which one it matches; ``accept`` checks the rest against that
variant, so a second bug still fails."""

from __future__ import annotations

import pytest

from reference import verify as V
from reference.candidates import load_object
from tests.catalog.optimizers import EpsInsideSqrtAdam

LAYERS, LOSSES, OPTIM = (f"tests/candidates/cs231n_{n}.py" for n in ("layers", "losses", "optim"))

# buggy candidates overflow on purpose (softmax without the max shift)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:_candidate_")



def _names(result) -> list:
    return [v.name for v in result.get("variants", ())]


@pytest.mark.parametrize("kind,ref,variant", [
    ("batch_norm1d", f"{LAYERS}:biased_batchnorm_forward", "biased_running_var"),
    ("relu", f"{LAYERS}:relu_at_zero_forward", "grad_one_at_zero"),
    ("adam", f"{OPTIM}:adam_eps_inside", "eps_inside_sqrt"),
])
def test_course_conventions_are_named_and_accepted(kind, ref, variant):
    obj = load_object(ref)
    result = V.verify(kind, obj, examples=15, style="cs231n")
    assert "failed_records" in result and _names(result) == [variant]
    accepted = V.verify(kind, obj, examples=15, style="cs231n", accept=variant)
    assert "failed_records" not in accepted, accepted.get("failed_records")


def test_unshifted_course_softmax_is_named():
    result = V.verify("cross_entropy", load_object(f"{LOSSES}:unshifted_softmax_loss"), style="cs231n")
    assert "softmax_without_max_shift" in _names(result)


def test_a_class_candidate_is_diagnosed_too():
    result = V.verify("adam", EpsInsideSqrtAdam, examples=15)
    assert _names(result) == ["eps_inside_sqrt"]


def test_accepting_one_variant_does_not_hide_a_second_bug(tmp_path):
    source = (tmp_path / "two_bugs.py")
    layers = open(LAYERS).read()
    source.write_text(layers.replace("x_hat = (x - mean) / np.sqrt(var + eps)\n    return gamma * x_hat + beta, "
                                     "(x_hat, gamma, np.sqrt(var + eps))\n\n\nbiased_batchnorm_backward",
                                     "x_hat = (x - mean) / (np.sqrt(var) + eps)  # eps outside the root\n"
                                     "    return gamma * x_hat + beta, (x_hat, gamma, np.sqrt(var) + eps)\n\n\n"
                                     "biased_batchnorm_backward"))
    assert "eps outside the root" in source.read_text()
    obj = load_object(f"{source}:biased_batchnorm_forward")
    result = V.verify("batch_norm1d", obj, examples=15, style="cs231n", accept="biased_running_var")
    assert "failed_records" in result and "output" in {r.quantity for r in result["failed_records"]}


def test_accept_does_not_pass_a_correct_candidate_that_lacks_the_variant():
    result = V.verify("relu", load_object(f"{LAYERS}:relu_forward"), examples=20, style="cs231n",
                      accept="grad_one_at_zero")
    assert "failed_records" in result


def test_unknown_variant_is_a_usage_error_listing_the_known_ones(capsys):
    assert V.main(["adam", f"{OPTIM}:adam", "--style", "cs231n", "--accept", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no known variant 'nope'" in err and "eps_inside_sqrt" in err


def test_cli_prints_the_variant_and_how_to_accept_it(capsys):
    assert V.main(["relu", f"{LAYERS}:relu_at_zero_forward", "--style", "cs231n", "--examples", "20"]) == 1
    out = capsys.readouterr().out
    assert "Matches known variant: grad_one_at_zero:" in out and "--accept grad_one_at_zero" in out
