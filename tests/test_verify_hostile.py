"""``python -m reference.verify`` against hostile or broken candidates: one that calls
sys.exit(0), raises KeyboardInterrupt or never returns fails (exit 1) with the case and the call,
never ends the verifier with its own status or hangs it; the verifier writes nothing into the
working directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from reference import verify
from reference.guard import CaseTimeout, time_limit
from tests.test_verify import _run

ROOT = Path(__file__).resolve().parents[1]

# the README's MyReLU, and candidates built on it that misbehave in one call each
CANDIDATES = textwrap.dedent('''
    import sys, time
    import numpy as np

    class MyReLU:
        built = 0
        def __init__(self, inplace=False):
            type(self).built += 1
            self.inplace = inplace
        def named_parameters(self):
            return iter(())
        def train(self, mode=True):
            return self
        def eval(self):
            return self
        def forward(self, x):
            self.mask = x > 0
            return np.where(self.mask, x, np.zeros((), x.dtype))
        __call__ = forward
        def backward(self, grad):
            return np.where(self.mask, grad, np.zeros((), grad.dtype))

    class Exits(MyReLU):
        built = 0
        def forward(self, x):
            sys.exit(0)
        __call__ = forward

    class Interrupts(MyReLU):
        def backward(self, grad):
            raise KeyboardInterrupt

    class Sleeps(MyReLU):
        def forward(self, x):
            time.sleep(30)  # "forever" for a test: long past every timeout here, short if the limit broke
        __call__ = forward

    class ProbesStorage(MyReLU):
        """Writes into hypothesis' storage, as its database or constants cache would."""
        def forward(self, x):
            from hypothesis.configuration import storage_directory
            storage_directory("probe").create_if_missing()
            return super().forward(x)
        __call__ = forward
''')


@pytest.fixture(scope="module")
def cand(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "hostile.py"
    path.write_text(CANDIDATES)
    return path


def test_the_readme_relu_still_passes(cand, capsys):
    code, out, _ = _run(capsys, "relu", f"{cand}:MyReLU", "--examples", 3)
    assert code == 0 and "OK: every generated case matches" in out


def test_sys_exit_in_forward_is_a_failure_of_that_call_not_the_verifiers_exit(cand, capsys):
    code, out, _ = _run(capsys, "relu", f"{cand}:Exits", "--examples", 10)
    assert code == 1
    assert "raised SystemExit: 0 in Exits.forward" in out and "call 1 (train) forward" in out
    assert "Case(config=" in out and "Reproduce with:" in out and "load_candidate(" in out
    # not shrunk, not replayed: the first case that exits ends the run
    module = sys.modules[f"_candidate_{cand.stem}"]
    assert module.Exits.built == 1


def test_keyboard_interrupt_in_backward_is_a_failure_naming_it(cand, capsys):
    code, out, _ = _run(capsys, "relu", f"{cand}:Interrupts", "--examples", 3)
    assert code == 1 and "raised KeyboardInterrupt in Interrupts.backward" in out and "backward" in out


def test_a_candidate_that_never_returns_fails_after_the_timeout(cand, capsys):
    handler_before = signal.getsignal(signal.SIGALRM)
    start = time.monotonic()
    code, out, _ = _run(capsys, "relu", f"{cand}:Sleeps", "--examples", 5, "--timeout", 1)
    assert time.monotonic() - start < 20  # one timeout, not one per shrink attempt
    assert code == 1 and "did not return within 1 s in Sleeps.forward" in out and "Reproduce with:" in out
    assert signal.getsignal(signal.SIGALRM) is handler_before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_verify_takes_a_timeout_keyword(cand):
    cls = verify.load_candidate(f"{cand}:Sleeps")
    result = verify.verify("relu", cls, examples=2, timeout=0.5)
    assert result["aborted"] and "did not return within 0.5 s" in result["failed_records"][0].note
    with pytest.raises(verify.UsageError, match="--timeout"):
        verify.verify("relu", cls, examples=2, timeout=0)


def test_an_optimizer_that_exits_in_step_fails_without_a_rerun():
    from scratch.optim import SGD

    class ExitsInStep(SGD):
        calls = 0

        def step(self):
            type(self).calls += 1
            raise SystemExit(3)

    result = verify.verify("sgd", ExitsInStep, examples=5)
    rec = result["failed_records"][0]
    assert result["aborted"] and "raised SystemExit: 3 in " in rec.note and "step" in rec.note
    assert ExitsInStep.calls == 1  # the trajectory is not rerun to cut it


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_timeout_that_is_not_a_positive_number_is_a_usage_error(cand, capsys, value):
    code, _, err = _run(capsys, "relu", f"{cand}:MyReLU", "--timeout", value)
    assert code == 2 and "--timeout: expected a positive number of seconds" in err


def test_sys_exit_while_importing_the_candidate_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "exits_on_import.py"
    path.write_text("import sys\nsys.exit(0)\n")
    code, _, err = _run(capsys, "relu", f"{path}:MyReLU")
    assert code == 2 and "failed to import: SystemExit: 0" in err


def test_time_limit_raises_and_restores_an_outer_timer():
    fired = []
    outer = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 100)
        with pytest.raises(CaseTimeout, match="did not return within 0.2 s"):
            with time_limit(0.2):
                time.sleep(5)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 90 < remaining <= 100 and not fired  # the outer timer runs on, its handler is back
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer)


def test_time_limit_off_the_main_thread_is_no_limit():
    errors = []

    def body():
        try:
            with time_limit(0.05):
                time.sleep(0.3)
        except BaseException as e:  # a CaseTimeout here would be the failure
            errors.append(e)

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    assert errors == [] and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def _subprocess_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HYPOTHESIS_STORAGE_DIRECTORY", "PYTHONDONTWRITEBYTECODE")}
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    return env


def test_the_module_entry_point_exits_1_when_the_candidate_calls_sys_exit(cand, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "reference.verify", "relu", f"{cand}:Exits", "--examples", "3"],
                          capture_output=True, text=True, timeout=120, env=_subprocess_env(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "raised SystemExit: 0 in Exits.forward" in proc.stdout


def test_nothing_is_written_into_the_working_directory(tmp_path):
    """Neither hypothesis' storage (a candidate writes into it, as its database would) nor the
    candidate's bytecode lands in the directory the verifier runs in."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "mine.py").write_text(CANDIDATES)
    argv = [sys.executable, "-m", "reference.verify", "relu", "mine.py:ProbesStorage", "--examples", "3"]
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, env=_subprocess_env(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in cwd.iterdir()) == ["mine.py"]
    assert (tmp_path / "cache" / "scratch-vs-torch" / "hypothesis" / "probe").is_dir()
