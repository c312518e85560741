"""reference.styles.dropout: CS231n-style dropout_forward/dropout_backward against torch.

The two correct candidates (p = drop probability, p = keep probability) pass and their meaning
is found; each bug fails with a record whose kind names it, so every check is shown to fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference.compare import assert_records
from reference.styles import dropout as style
from reference.styles.dropout import check_course_dropout
from tests.candidates import cs231n_dropout as cands


def _check(prefix: str = "", **kw):
    return check_course_dropout(getattr(cands, prefix + "dropout_forward"),
                                getattr(cands, prefix + "dropout_backward"), **kw)


def _failed(records) -> set[str]:
    return {r.kind for r in records if not r.passed}


def _notes(records, kind: str) -> str:
    return "\n".join(r.note for r in records if r.kind == kind and not r.passed)


# ---- the correct candidates ----

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("prefix, meaning", [("", "drop"), ("keep_", "keep")])
def test_a_correct_candidate_passes_and_its_meaning_of_p_is_found(prefix, meaning, dtype):
    records, found = _check(prefix, dtype=dtype)
    assert_records(records)
    assert found == meaning
    kinds = {r.kind for r in records}
    assert kinds == {"output", "grad_input", "input unchanged", "upstream gradient unchanged",
                     "same seed, same mask", "keep rate"}
    assert {r.mode for r in records if r.kind == "output"} == {"train", "eval"}
    assert all(r.component == "dropout" and r.dtype == dtype for r in records)


def test_a_correct_candidate_passes_on_every_device(device):
    records, found = _check(device=device, examples=10)
    assert_records(records)
    assert found == "drop" and {r.device for r in records} == {device}


def test_other_seeds_find_the_same_meanings():
    for seed in (1, 2, 3):
        for prefix, meaning in [("", "drop"), ("keep_", "keep")]:
            records, found = _check(prefix, seed=seed, examples=15)
            assert (found, _failed(records)) == (meaning, set()), (seed, prefix)


def test_keep_meaning_skips_p0_and_says_so():
    # under the keep meaning p = 0 keeps nothing and has no scale (1/0): those cases are left out
    records, _ = _check("keep_")
    rate = [r for r in records if r.kind == "keep rate"]
    assert len(rate) == 1 and "p=0 skipped" in rate[0].note


def test_the_check_is_deterministic_and_leaves_numpys_generator_alone():
    np.random.seed(7)
    expected_next = np.random.rand()
    np.random.seed(7)
    a, _ = _check(examples=5)
    assert np.random.rand() == expected_next
    b, _ = _check(examples=5)
    assert [(r.kind, r.step, r.max_abs_err, r.note) for r in a] == [(r.kind, r.step, r.max_abs_err, r.note) for r in b]


def test_only_p_half_leaves_the_meaning_undetermined(monkeypatch):
    monkeypatch.setattr(style, "P_VALUES", (0.5,))
    for prefix in ("", "keep_"):
        records, found = _check(prefix, examples=5)
        assert found == "undetermined" and _failed(records) == set()


# ---- the buggy candidates in tests/candidates ----

def test_no_inverse_scaling_fails_output_and_gradient():
    records, found = _check("unscaled_")
    assert _failed(records) == {"output", "grad_input"}
    assert found == "drop"  # the keep rate is right; the values are not
    assert all(r.mode == "train" for r in records if not r.passed)


def test_keeping_with_probability_one_minus_p_squared_fails_the_keep_rate():
    records, found = _check("squared_")
    assert _failed(records) == {"keep rate"} and found == "undetermined"
    note = _notes(records, "keep rate")
    assert note.startswith("fits neither meaning of p") and "expects" in note


def test_writing_into_dout_fails():
    records, _ = _check("writes_dout_")
    assert _failed(records) == {"upstream gradient unchanged"}


def test_ignoring_the_seed_fails():
    records, _ = _check("unseeded_")
    assert _failed(records) == {"same seed, same mask"}
    assert "dropout_param['seed']" in _notes(records, "same seed, same mask")


# ---- bugs written here, one check each ----

def _drop(x, p, seed, keep=None):
    np.random.seed(seed)
    return np.random.rand(*x.shape) < (1 - p if keep is None else keep)


def _backward(dout, cache):
    p, mask = cache
    return dout * mask / (1 - p)


def test_writing_into_x_fails():
    def forward(x, param):
        if param["mode"] == "test":
            return x, None
        mask = _drop(x, param["p"], param["seed"])
        x *= mask / (1 - param["p"])
        return x, (param["p"], mask)

    records, _ = check_course_dropout(forward, _backward)
    assert _failed(records) == {"input unchanged"}


def test_dropping_in_test_mode_fails_the_eval_output():
    def forward(x, param):
        mask = _drop(x, param["p"], param.get("seed", 0))
        return x * mask / (1 - param["p"]), (param["p"], mask)

    records, _ = check_course_dropout(forward, _backward)
    assert _failed(records) == {"output"}
    assert {r.mode for r in records if not r.passed} == {"eval"}


def test_keeping_at_one_rate_and_scaling_at_the_other_fails_the_keep_rate():
    # keeps with probability 1-p (drop meaning) but scales by 1/p (keep meaning): the values match
    # torch under the keep meaning, the counts do not
    def forward(x, param):
        if param["mode"] == "test":
            return x, None
        mask = _drop(x, param["p"], param["seed"])
        return x * mask / param["p"], (param["p"], mask)

    def backward(dout, cache):
        p, mask = cache
        return dout * mask / p

    records, found = check_course_dropout(forward, backward)
    assert _failed(records) == {"keep rate"} and found == "undetermined"
    note = _notes(records, "keep rate")
    assert "kept as if p were the drop probability but scaled as if it were the keep one" in note


def test_p0_must_keep_every_unit():
    # drops at least 5% of the units, with the scale 1/(1-p): only p = 0 shows it
    def forward(x, param):
        if param["mode"] == "test":
            return x, None
        mask = _drop(x, param["p"], param["seed"], keep=min(1 - param["p"], 0.95))
        return x * mask / (1 - param["p"]), (param["p"], mask)

    records, found = check_course_dropout(forward, _backward)
    assert _failed(records) == {"keep rate"} and found == "drop"
    assert "p=0 must keep every unit" in _notes(records, "keep rate")


def test_what_the_candidate_raises_becomes_a_failed_record():
    def forward(x, param):
        raise ValueError("candidate bug")

    records, found = check_course_dropout(forward, _backward, examples=3)
    assert _failed(records) == {"forward"} and found == "undetermined"
    assert "candidate raised ValueError: candidate bug" in _notes(records, "forward")

    def backward(dout, cache):
        raise ZeroDivisionError("in backward")

    records, _ = check_course_dropout(cands.dropout_forward, backward, examples=3)
    assert _failed(records) == {"backward"}
    assert "ZeroDivisionError: in backward" in _notes(records, "backward")


def test_a_forward_that_returns_no_pair_fails():
    records, _ = check_course_dropout(lambda x, param: x.copy(), _backward, examples=3)
    assert _failed(records) == {"forward"}
    assert "returned a ndarray, expected a pair (out, cache)" in _notes(records, "forward")


def test_an_output_of_the_wrong_dtype_fails():
    def forward(x, param):  # a float64 mask makes a float32 x's output float64 (torch keeps float32)
        if param["mode"] == "test":
            return x, None
        mask = _drop(x, param["p"], param["seed"]) / (1 - param["p"])
        return x * mask, (param["p"], mask)

    def backward(dout, cache):
        return dout * cache[1]

    records, _ = check_course_dropout(forward, backward, dtype="float32")
    assert _failed(records) == {"output", "grad_input"}
    assert "dtype float64, expected float32" in _notes(records, "output")


def test_keyboard_interrupt_is_not_swallowed():
    def forward(x, param):
        raise KeyboardInterrupt

    state = np.random.get_state()
    with pytest.raises(KeyboardInterrupt):
        check_course_dropout(forward, _backward, examples=1)
    assert np.array_equal(np.random.get_state()[1], state[1])  # restored on the way out too
