"""python -m reference.verify KIND CANDIDATE: does your NumPy component match PyTorch?

    python -m reference.verify KIND CANDIDATE [--style cs231n] [--fix NAME=VALUE ...]
                               [--accept VARIANT] [--examples N] [--dtype float64|float32]
                               [--device cpu|cuda] [--seed S] [--report FILE.csv|.md|.html]
                               [--timeout SECONDS]
    python -m reference.verify --list

KIND is a registry name (linear, batch_norm1d, cross_entropy, adam, step_lr, ...).
CANDIDATE is ``path/to/file.py:Name`` or ``package.module:Name``: a class that follows
the candidate protocol of its kind (README, "The candidate protocol"), or with
``--style cs231n`` a course function (affine_forward, svm_loss, adam, ...).
Options the candidate cannot take are pinned to torch's defaults (``--fix`` pins more)
and listed as not checked. On a mismatch the known variants of the kind are tried
(``Matches known variant: NAME``); ``--accept NAME`` checks against that variant.
The kind's registry strategy (the one the project's own suite uses) draws cases;
each runs through the comparison engine with the candidate in place of scratch's
class. On a mismatch hypothesis shrinks the case; the minimal one is printed with
the quantity, got vs expected at the worst index, and a snippet that reproduces it.
A candidate that raises SystemExit or KeyboardInterrupt, or runs a case past --timeout
seconds, fails at once with that case (not shrunk).

Exit status: 0 every case matches; 1 a mismatch (or the candidate raised or hung);
2 usage error (unknown kind, missing file or class, protocol not followed).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from reference.candidates import Prepared, UsageError, load_object, prepare
from reference.compare import describe_failure, to_frame
from reference.convert import check_device
from reference.diagnose import diagnose, failing_quantities
from reference.engine import repro_snippet
from reference.fileio import hypothesis_storage_in_user_cache, write_atomic
from reference.guard import CaseTimeout, run_guarded, time_limit  # noqa: F401 (CaseTimeout: API)
from reference.registry import REGISTRY
from reference.scope import parse_fix, pin, scoped_cases

# a run of the default examples stays well under 20 s on 2 cores for every kind
DEFAULT_EXAMPLES = {"module": 30, "loss": 40, "optimizer": 40, "scheduler": 15, "init": 10}
# seconds one case may take (a default case takes well under 1 s); past it the candidate fails
DEFAULT_TIMEOUT = 60.0
load_candidate = load_object  # the class (or function) a CANDIDATE reference names


class _Aborted(BaseException):
    """A case ended in a BaseException (SystemExit, KeyboardInterrupt, CaseTimeout): stop the
    run at once, with that case, unshrunk."""


def _check_timeout(timeout) -> None:
    if timeout is not None and not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
        raise UsageError(f"--timeout: expected a positive number of seconds, got {timeout!r}")


def checks_table(records) -> pd.DataFrame:
    """One row per compared quantity kind: how many checks, largest errors, tolerance, margin."""
    df = to_frame(records)
    if df.empty:
        return df
    g = df.groupby("check", sort=False)
    return g.agg(checks=("passed", "size"), failed=("passed", lambda s: int((~s).sum())),
                 max_abs_err=("max_abs_err", "max"), max_rel_err=("max_rel_err", "max"),
                 rtol=("rtol", "first"), atol=("atol", "first"), worst_margin=("margin", "max")).reset_index()


def verify(kind: str, candidate, examples: int | None = None, dtype: str = "float64", device: str = "cpu",
           seed: int = 0, candidate_ref: str | None = None, shrink: bool = True,
           timeout: float | None = DEFAULT_TIMEOUT, style: str | None = None, fix: dict | None = None,
           accept: str | None = None) -> dict:
    """Run the kind's strategy with ``candidate`` (a class; with ``style`` a course function),
    scoped to what it can express; return records, the minimal failure (if any), the known
    variants it matches, what was not checked, and timing. ``shrink=False`` reports the first
    failing case as drawn. ``timeout``: seconds per case (None: no limit); a case that runs
    longer, or raises SystemExit, KeyboardInterrupt, ..., ends the run with ``aborted=True``."""
    _check_timeout(timeout)
    prep = prepare(kind, candidate, style, fix, accept, candidate_ref)
    n = examples or DEFAULT_EXAMPLES[prep.spec.kind]
    start = time.perf_counter()
    if prep.check is not None:  # a check of its own (a course dropout draws its own mask)
        records, meaning = prep.check(examples=n, seed=seed, dtype=dtype, device=device,
                                      tolerance=prep.spec.tolerance(dtype))
        out = dict(spec=prep.spec, records=records, seconds=time.perf_counter() - start, examples=n,
                   not_checked=prep.scope.notes(), meaning=meaning)
        bad = [r for r in records if not r.passed]
        return {**out, "failed_records": bad} if bad else out
    seen, failure = _run_cases(prep, n, dtype, device, seed, shrink, timeout)
    if failure and prep.spec.kind in ("optimizer", "scheduler") and not failure.get("aborted"):
        _truncate_trajectory(prep, failure, dtype, device, timeout)
    out = dict(spec=prep.spec, records=seen, seconds=time.perf_counter() - start, examples=n,
               not_checked=prep.scope.notes(), accepted=prep.accepted, **failure)
    if failure:
        out["repro"] = repro_snippet(prep.spec, failure["case"], dtype, device, candidate_ref,
                                     prep.candidate_code or None, prep.spec_code or None)
        if not failure.get("aborted") and not prep.accepted:
            out["variants"] = diagnose(prep, failure["case"], dtype, device, timeout)
    return out


def _run_cases(prep: Prepared, n: int, dtype, device, seed, shrink, timeout) -> tuple[list, dict]:
    """The generated cases, then the default one (if the scope takes it): (records, failure)."""
    seen, failure = [], {}

    def run(case):
        records, aborted = run_guarded(prep.spec, case, dtype, device, prep.candidate, timeout, lenient=True)
        seen.extend(records)
        bad = [r for r in records if not r.passed]
        if aborted:
            failure.update(case=case, failed_records=bad, aborted=True)
            raise _Aborted
        if bad:
            failure.update(case=case, failed_records=bad)  # the last failing run is hypothesis's minimal case
            raise AssertionError(describe_failure(bad[0]))

    try:
        prop = given(scoped_cases(prep.spec, prep.scope))(run)
        prop = settings(max_examples=n, database=None, deadline=None, derandomize=False, print_blob=False,
                        phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
                        suppress_health_check=list(HealthCheck))(prop)
        hypothesis_seed(seed)(prop)()
        default = pin(prep.spec.default_case(), prep.scope.pins)
        if prep.scope.accepts is None or prep.scope.accepts(default):
            run(default)  # after the generated ones: a generated failure gets shrunk
    except (AssertionError, _Aborted):
        pass
    except Exception as e:  # hypothesis reports flaky or erroring candidates this way
        if not failure:
            raise
        failure.setdefault("note", f"{type(e).__name__}: {e}")
    return seen, failure


def _truncate_trajectory(prep: Prepared, failure: dict, dtype, device, timeout) -> None:
    """A trajectory is the same up to its first failing step, so the steps after it are noise
    in a minimal case: keep the prefix that ends there (hypothesis rarely shortens lists whose
    length shapes every later draw)."""
    import dataclasses

    steps = [r.step for r in failure["failed_records"] if r.step > 0]
    case = failure["case"]
    if not steps or min(steps) >= len(case.steps):
        return
    short = dataclasses.replace(case, steps=case.steps[:min(steps)])
    records, aborted = run_guarded(prep.spec, short, dtype, device, prep.candidate, timeout, lenient=True)
    bad = [r for r in records if not r.passed]
    if bad and not aborted:  # a candidate that hangs or exits on the rerun keeps the case it failed
        failure.update(case=short, failed_records=bad)


REPORT_FORMATS = {  # suffix -> table renderer
    ".csv": lambda t: t.to_csv(index=False),
    ".md": lambda t: t.to_markdown(index=False, floatfmt=".3g") + "\n",
    ".html": lambda t: t.to_html(index=False, float_format=lambda v: f"{v:.3g}"),
}


def _check_report(path: Path | None) -> None:
    """Before any case runs: a bad --report name must not cost a whole verification."""
    if path is not None and path.suffix not in REPORT_FORMATS:
        raise UsageError(f"--report: expected a file name ending in {', '.join(REPORT_FORMATS)}, got {path.name!r}")


def _write_report(table: pd.DataFrame, path: Path) -> None:
    write_atomic(path, REPORT_FORMATS[path.suffix](table))


def list_kinds() -> str:
    rows = [dict(kind=s.name, family=s.kind, twin=s.twin_name, styles=", ".join(s.styles),
                 variants=", ".join(v.name for v in s.variants), draws=s.draws) for s in REGISTRY.values()]
    return pd.DataFrame(rows).to_markdown(index=False)


def _parser():
    p = argparse.ArgumentParser(prog="python -m reference.verify", description=__doc__.split("\n\n")[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", nargs="?", help="registry name (see --list)")
    p.add_argument("candidate", nargs="?", help="path/to/file.py:Name or package.module:Name")
    p.add_argument("--list", action="store_true", help="list every kind with its torch twin and what is drawn")
    p.add_argument("--style", choices=["cs231n"], help="the candidate is a course function (affine_forward, adam, ...)")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE", help="pin a torch option in every case (repeatable)")
    p.add_argument("--accept", metavar="VARIANT", help="check against this known variant of the kind instead")
    p.add_argument("--examples", type=int, help="generated cases (default: per kind, a run under 20 s)")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", type=Path, help="also write the table of checks to FILE.csv, .md or .html")
    p.add_argument("--no-shrink", action="store_true", help="print the first failing case as drawn, unshrunk")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"time limit per case; a case that runs longer fails (default {DEFAULT_TIMEOUT:g})")
    return p


def _prepare(args):
    """Check the command line and load the candidate; UsageError names what is wrong."""
    if not args.kind or not args.candidate:
        raise UsageError("expected KIND and CANDIDATE (or --list)")
    if args.kind not in REGISTRY:
        raise UsageError(f"unknown kind {args.kind!r}; known: {', '.join(sorted(REGISTRY))}")
    _check_report(args.report)
    if args.examples is not None and args.examples < 1:
        raise UsageError(f"--examples: expected a positive integer, got {args.examples}")
    _check_timeout(args.timeout)
    try:
        check_device(args.device)
        args.fixes = parse_fix(args.fix)
    except ValueError as e:
        raise UsageError(str(e)) from None
    with time_limit(args.timeout):  # a file that never finishes importing fails like one that raises
        return load_candidate(args.candidate)


def _print_failure(args, result) -> None:
    if result.get("aborted"):
        print("\nFAILED: the candidate raised or did not return. Failing case (not shrunk):")
    elif "case" not in result:
        print("\nMISMATCH.")
    else:
        print("\nMISMATCH. " + ("First failing case (unshrunk):" if args.no_shrink else "Minimal failing case:"))
    if "case" in result:
        print(f"  {result['case'].as_code()}")
    print("Failing quantities:")
    for rec in failing_quantities(result["failed_records"]):
        print("  " + describe_failure(rec).replace("\n", "\n    "))
    for variant in result.get("variants", ()):
        print(f"Matches known variant: {variant.name}: {variant.explanation} "
              f"(--accept {variant.name} checks the rest against it)")
    if "repro" in result:
        print("Reproduce with:\n" + result["repro"])


def _print_summary(args, result) -> None:
    spec = result["spec"]
    twin = spec.twin_name + (f", known variant {result['accepted']}" if result.get("accepted") else "")
    default = "" if "meaning" in result else " + the default case"  # a course dropout's own check has none
    print(f"{args.candidate} vs {twin} [{args.dtype}, {args.device}]: "
          f"{result['examples']} generated cases{default}, {result['seconds']:.1f} s")
    if result.get("meaning"):
        print(f"p read as the {result['meaning']} probability" + (" (torch's meaning)" if result["meaning"] == "drop"
                                                                   else ""))
    table = checks_table(result["records"])
    print(table.to_markdown(index=False, floatfmt=".3g") if not table.empty else "(nothing compared)")
    if result.get("not_checked"):
        print("Not checked: " + "; ".join(result["not_checked"]))
    return table


def main(argv=None) -> int:
    with hypothesis_storage_in_user_cache():  # before anything runs: nothing lands in the working directory
        return _main(argv)


def _main(argv) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        print(list_kinds())
        return 0
    try:
        obj = _prepare(args)
        result = verify(args.kind, obj, args.examples, args.dtype, args.device, args.seed, args.candidate,
                        shrink=not args.no_shrink, timeout=args.timeout, style=args.style, fix=args.fixes,
                        accept=args.accept)
    except UsageError as e:  # the command line, the candidate's file, the protocol check
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception:  # the engine guards the candidate's calls; whatever escapes is still a failure
        print("FAILED: the run raised:\n" + traceback.format_exc())
        return 1
    table = _print_summary(args, result)
    if args.report:
        _write_report(table, args.report)
    if "failed_records" not in result:
        print("\nOK: every generated case matches.")
        return 0
    _print_failure(args, result)
    return 1


if __name__ == "__main__":
    sys.exit(main())
