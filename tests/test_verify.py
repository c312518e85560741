"""``python -m reference.verify``: exit codes, the minimal failing case, the report,
usage errors that name what is missing. The catalog of wrong and correct candidates
lives in tests/catalog (test_catalog.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from reference import verify

CANDIDATES = textwrap.dedent('''
    import numpy as np
    import scratch.nn as snn

    class Good(snn.Linear):
        pass

    class ThirdRowWrong(snn.Linear):
        """Input gradient of the third sample scaled by 1.5: only batches of 3 or more show it."""
        def backward(self, g):
            gx = super().backward(g)
            if gx.ndim == 2 and gx.shape[0] >= 3:
                gx[2] *= 1.5
            return gx

    class Raises(snn.Linear):
        def forward(self, x):
            raise ZeroDivisionError("candidate bug")

    class NoBackward:
        def forward(self, x):
            return x
''')


@pytest.fixture(scope="module")
def cand(tmp_path_factory):
    path = tmp_path_factory.mktemp("cand") / "cands.py"
    path.write_text(CANDIDATES)
    return path


def _run(capsys, *argv):
    code = verify.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_correct_candidate_exits_0_with_a_table(cand, capsys, tmp_path):
    report = tmp_path / "r.csv"
    code, out, _ = _run(capsys, "linear", f"{cand}:Good", "--examples", 10, "--report", report)
    assert code == 0 and "OK: every generated case matches" in out and "grad:weight" in out
    table = pd.read_csv(report)
    assert {"check", "checks", "failed", "max_abs_err", "rtol", "worst_margin"} <= set(table.columns)
    assert (table["failed"] == 0).all()


def test_mismatch_exits_1_with_a_shrunk_case_and_a_repro_that_reruns(cand, capsys):
    code, out, _ = _run(capsys, "linear", f"{cand}:ThirdRowWrong", "--examples", 30)
    assert code == 1 and "MISMATCH" in out and "grad_input" in out and "at index (2," in out
    # shrinking reaches the smallest configuration that still shows the bug
    assert "'in_features': 1, 'out_features': 1" in out
    snippet = out.split("Reproduce with:\n", 1)[1]
    ns = {}
    exec(snippet.replace("print(", "result = ("), ns)
    assert not all(r.passed for r in ns["records"])


def test_float32_run_uses_float32_tolerances(cand, capsys):
    code, out, _ = _run(capsys, "linear", f"{cand}:Good", "--examples", 5, "--dtype", "float32")
    assert code == 0 and "1.3e-06" in out


def test_candidate_exception_is_a_failure_with_its_traceback(cand, capsys):
    code, out, _ = _run(capsys, "linear", f"{cand}:Raises", "--examples", 5)
    assert code == 1 and "ZeroDivisionError" in out and "candidate bug" in out


@pytest.mark.parametrize("argv,message", [
    (["nope", "x.py:Y"], "unknown kind 'nope'"),
    (["linear", "missing_file.py:Good"], "file not found"),
    (["linear", "no_colon"], "expected 'path/to/file.py:Name'"),
    (["linear", "json:NoSuchClass"], "has no attribute 'NoSuchClass'"),
    (["linear", "no_such_module_xyz:Cls"], "cannot import module"),
    (["linear"], "expected KIND and CANDIDATE"),
    (["linear", "json:JSONDecoder", "--examples", "0"], "--examples"),
    (["linear", "scratch.nn:Linear", "--report", "out.txt"], "--report: expected a file name ending in"),
    (["linear", "scratch.nn:Linear", "--timeout", "0"], "--timeout: expected a positive number of seconds"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    code, _, err = _run(capsys, *argv)
    assert code == 2 and message in err


def test_protocol_error_names_the_missing_methods(cand, capsys):
    code, _, err = _run(capsys, "linear", f"{cand}:NoBackward")
    assert code == 2 and "missing backward, named_parameters, train, eval" in err


def test_list_names_every_kind_with_its_twin(capsys):
    from reference.registry import REGISTRY

    code, out, _ = _run(capsys, "--list")
    assert code == 0
    for name, spec in REGISTRY.items():
        assert f"| {name} " in out and spec.twin_name in out


def test_module_entry_point_and_package_candidates():
    proc = subprocess.run([sys.executable, "-m", "reference.verify", "relu", "scratch.nn:ReLU", "--examples", "5"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_optimizer_mismatch_is_cut_to_the_first_failing_step():
    from tests.catalog.optimizers import EpsInsideSqrtAdam

    result = verify.verify("adam", EpsInsideSqrtAdam, examples=20)
    case = result["case"]
    first = min(r.step for r in result["failed_records"])
    assert len(case.steps) == first  # nothing after the first failing step is kept
    assert all(not r.passed for r in result["failed_records"])


def test_a_candidate_file_that_fails_to_import_exits_2_naming_the_syntax_problem(tmp_path, capsys):
    bad = tmp_path / "broken.py"
    bad.write_text("class Broken(:\n    pass\n")
    code, _, err = _run(capsys, "linear", f"{bad}:Broken")
    assert code == 2 and "failed to import: SyntaxError" in err
