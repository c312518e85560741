"""Running a candidate's case so that nothing it does ends the verifier: a time limit per case
(SIGALRM) and a failure record for a case that ends in a BaseException.

The engines guard every call into the candidate with ``except Exception``, which turns what a
buggy candidate raises into a failed record. SystemExit, KeyboardInterrupt and the time limit's
CaseTimeout are not Exceptions: they leave the engine, and ``run_guarded`` makes them one failed
record naming what was raised (or that the case hung) and in which call.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from reference.compare import failed_record
from reference.engine import run_case
from reference.engine.measure import Guard


class CaseTimeout(BaseException):
    """Raised by SIGALRM in a case that ran past the time limit. Not an Exception, so neither
    the engines' guards nor hypothesis catch it (hypothesis would shrink: a timeout per try)."""


@contextmanager
def time_limit(seconds: float | None):
    """Raise CaseTimeout after ``seconds`` of wall time (None: no limit). Needs SIGALRM and the
    main thread (elsewhere: no limit); the previous handler and timer are restored."""
    if seconds is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise CaseTimeout(f"did not return within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    outer, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:  # nested: an alarm landing just before the disarm must not skip the restore
            signal.signal(signal.SIGALRM, previous)
            if outer:  # someone else's timer was running: give it what is left
                signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 1e-6), outer_interval)


def exc_line(e: BaseException) -> str:
    """'SystemExit: 0', 'KeyboardInterrupt', 'ZeroDivisionError: candidate bug'."""
    return traceback.format_exception_only(type(e), e)[-1].strip()


def _where(tb) -> tuple[int, str, str, str]:
    """(step, mode, kind, function) of the candidate call a traceback ends in: the engines call
    the candidate through a ``Guard``; the function is the first frame past that one outside
    reference/. (0, "", "", "") when the traceback never reached such a call."""
    here = str(Path(__file__).resolve().parent) + os.sep
    step, mode, kind, function = 0, "", "", ""
    for frame, _ in traceback.walk_tb(tb):
        in_reference = str(Path(frame.f_code.co_filename).resolve()).startswith(here)
        if in_reference and isinstance(frame.f_locals.get("self"), Guard):
            step, mode, kind, function = frame.f_locals["step"], frame.f_locals["mode"], frame.f_locals["kind"], ""
        elif kind and not in_reference and not function:
            function = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
    return step, mode, kind, function


def abort_record(spec, err: BaseException, dtype: str, device: str):
    """A failure record for a case that ended in a BaseException: what was raised (or that the
    case hung) and in which call, with the traceback."""
    step, mode, kind, function = _where(err.__traceback__)
    what = str(err) if isinstance(err, CaseTimeout) else f"raised {exc_line(err)}"
    where = f" in {function}" if function else ""
    who = "the candidate" if kind else "the case"  # kind: inside a call into the candidate
    note = f"{who} {what}{where}\n" + "".join(traceback.format_exception(type(err), err, err.__traceback__)).rstrip()
    return failed_record(kind or "case", note, step=step, mode=mode, component=spec.name, dtype=dtype, device=device)


def run_guarded(spec, case, dtype, device, candidate, timeout, lenient: bool = False) -> tuple[list, bool]:
    """run_case under the time limit -> (records, aborted). A BaseException escaping it (the
    engines guard the candidate's calls with ``except Exception``) is the candidate's failure,
    never the verifier's exit."""
    try:
        with time_limit(timeout):
            return run_case(spec, case, dtype, device, candidate, lenient=lenient), False
    except Exception:
        raise
    except BaseException as e:
        return [abort_record(spec, e, dtype, device)], True


