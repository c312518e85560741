"""python -m reference.verify KIND CANDIDATE: does your NumPy component match PyTorch?

    python -m reference.verify KIND CANDIDATE [--examples N] [--dtype float64|float32]
                               [--device cpu|cuda] [--seed S] [--report FILE.csv|.md|.html]
    python -m reference.verify --list

KIND is a registry name (linear, batch_norm1d, cross_entropy, adam, step_lr, ...).
CANDIDATE is ``path/to/file.py:ClassName`` or ``package.module:ClassName``: a class
that follows the candidate protocol of its kind (README, "The candidate protocol").
The kind's registry strategy (the one the project's own suite uses) draws cases;
each runs through the comparison engine with the candidate in place of scratch's
class. On a mismatch hypothesis shrinks the case; the minimal one is printed with
the quantity, got vs expected at the worst index, and a snippet that reproduces it.

Exit status: 0 every case matches; 1 a mismatch (or the candidate raised);
2 usage error (unknown kind, missing file or class, protocol not followed).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
import traceback
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from reference.compare import describe_failure, quantity_kind, to_frame
from reference.convert import check_device
from reference.engine import repro_snippet, run_case
from reference.registry import REGISTRY, get_spec
from reference.spec import BUFFERS, STOCHASTIC

# a run of the default examples stays well under 20 s on 2 cores for every kind
DEFAULT_EXAMPLES = {"module": 30, "loss": 40, "optimizer": 40, "scheduler": 15, "init": 10}

# what each kind's candidate must provide (attributes of the class)
PROTOCOL = {
    "module": ("forward", "backward", "named_parameters", "train", "eval"),
    "loss": ("forward", "backward"),
    "optimizer": ("step", "zero_grad"),
    "scheduler": ("step", "get_last_lr"),
    "init": (),
}


class UsageError(Exception):
    """A problem with the command line or the candidate's shape: exit status 2."""


def load_candidate(ref: str):
    """``path/to/file.py:ClassName`` or ``package.module:ClassName`` -> the class."""
    if ":" not in ref:
        raise UsageError(f"CANDIDATE: expected 'path/to/file.py:ClassName' or 'package.module:ClassName', got {ref!r}")
    where, _, name = ref.rpartition(":")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise UsageError(f"CANDIDATE: file not found: {path}")
        mod_spec = importlib.util.spec_from_file_location(f"_candidate_{path.stem}", path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[mod_spec.name] = module  # dataclasses and pickling look their module up
        try:
            mod_spec.loader.exec_module(module)
        except Exception as e:  # a syntax error or a crash at import: the file, not a mismatch
            raise UsageError(f"CANDIDATE: {path} failed to import: {type(e).__name__}: {e}") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise UsageError(f"CANDIDATE: cannot import module {where!r}: {e}") from None
        except Exception as e:
            raise UsageError(f"CANDIDATE: module {where!r} failed to import: {type(e).__name__}: {e}") from None
    if not hasattr(module, name):
        raise UsageError(f"CANDIDATE: {where} has no attribute {name!r}")
    return getattr(module, name)


def check_protocol(spec, cls) -> None:
    """Raise UsageError naming every method or attribute the kind's protocol needs and ``cls`` lacks."""
    if not callable(cls):
        raise UsageError(f"CANDIDATE: {cls!r} is not a class or callable")
    needed = list(PROTOCOL[spec.kind])
    if spec.kind == "module" and BUFFERS in spec.tags:
        needed.append("named_buffers")
    if spec.kind == "module" and STOCHASTIC in spec.tags:
        needed.append("inject_mask")
    missing = [n for n in needed if not hasattr(cls, n)]
    if missing:
        raise UsageError(f"CANDIDATE: {getattr(cls, '__name__', cls)} does not follow the {spec.kind} protocol: "
                         f"missing {', '.join(missing)} (see README, 'The candidate protocol')")


def checks_table(records) -> pd.DataFrame:
    """One row per compared quantity kind: how many checks, largest errors, tolerance, margin."""
    df = to_frame(records)
    if df.empty:
        return df
    df["check"] = df["quantity"].map(quantity_kind)
    g = df.groupby("check", sort=False)
    return g.agg(checks=("passed", "size"), failed=("passed", lambda s: int((~s).sum())),
                 max_abs_err=("max_abs_err", "max"), max_rel_err=("max_rel_err", "max"),
                 rtol=("rtol", "first"), atol=("atol", "first"), worst_margin=("margin", "max")).reset_index()


def verify(kind: str, candidate, examples: int | None = None, dtype: str = "float64", device: str = "cpu",
           seed: int = 0, candidate_ref: str | None = None, shrink: bool = True) -> dict:
    """Run the kind's strategy with ``candidate``; return records, the minimal failure (if any) and timing.
    ``shrink=False`` reports the first failing case as drawn (faster: shrinking a long
    optimizer trajectory takes seconds)."""
    spec = get_spec(kind)
    check_protocol(spec, candidate)
    n = examples or DEFAULT_EXAMPLES[spec.kind]
    seen, failure = [], {}

    def run(case):
        records = run_case(spec, case, dtype, device, candidate)
        seen.extend(records)
        bad = [r for r in records if not r.passed]
        if bad:
            failure.update(case=case, failed_records=bad)  # the last failing run is hypothesis's minimal case
            raise AssertionError(describe_failure(bad[0]))

    start = time.perf_counter()
    try:
        prop = given(spec.cases(n_calls=len(spec.calls)))(run)
        prop = settings(max_examples=n, database=None, deadline=None, derandomize=False, print_blob=False,
                        phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
                        suppress_health_check=list(HealthCheck))(prop)
        hypothesis_seed(seed)(prop)()
        run(spec.default_case())  # after the generated ones: a generated failure gets shrunk
    except AssertionError:
        pass
    except Exception as e:  # hypothesis reports flaky or erroring candidates this way
        if not failure:
            raise
        failure.setdefault("note", f"{type(e).__name__}: {e}")
    if failure and spec.kind in ("optimizer", "scheduler"):
        _truncate_trajectory(spec, failure, dtype, device, candidate)
    out = dict(spec=spec, records=seen, seconds=time.perf_counter() - start, examples=n, **failure)
    if failure:
        out["repro"] = repro_snippet(spec, failure["case"], dtype, device, candidate_ref)
    return out


def _truncate_trajectory(spec, failure: dict, dtype, device, candidate) -> None:
    """A trajectory is the same up to its first failing step, so the steps after it are noise
    in a minimal case: keep the prefix that ends there (hypothesis rarely shortens lists whose
    length shapes every later draw)."""
    import dataclasses

    steps = [int(r.step.split()[1]) for r in failure["failed_records"] if r.step.startswith("step ")]
    case = failure["case"]
    if not steps or min(steps) >= len(case.steps):
        return
    short = dataclasses.replace(case, steps=case.steps[:min(steps)])
    bad = [r for r in run_case(spec, short, dtype, device, candidate) if not r.passed]
    if bad:
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
    from experiments.report import write_atomic

    write_atomic(path, REPORT_FORMATS[path.suffix](table))


def list_kinds() -> str:
    rows = [dict(kind=s.name, family=s.kind, twin=s.twin_name, draws=s.draws) for s in REGISTRY.values()]
    return pd.DataFrame(rows).to_markdown(index=False)


def _parser():
    p = argparse.ArgumentParser(prog="python -m reference.verify", description=__doc__.split("\n\n")[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", nargs="?", help="registry name (see --list)")
    p.add_argument("candidate", nargs="?", help="path/to/file.py:ClassName or package.module:ClassName")
    p.add_argument("--list", action="store_true", help="list every kind with its torch twin and what is drawn")
    p.add_argument("--examples", type=int, help="generated cases (default: per kind, a run under 20 s)")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", type=Path, help="also write the table of checks to FILE.csv, .md or .html")
    p.add_argument("--no-shrink", action="store_true", help="print the first failing case as drawn, unshrunk")
    return p


def main(argv=None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    if args.list:
        print(list_kinds())
        return 0
    try:
        if not args.kind or not args.candidate:
            raise UsageError("expected KIND and CANDIDATE (or --list)")
        if args.kind not in REGISTRY:
            raise UsageError(f"unknown kind {args.kind!r}; known: {', '.join(sorted(REGISTRY))}")
        _check_report(args.report)
        if args.examples is not None and args.examples < 1:
            raise UsageError(f"--examples: expected a positive integer, got {args.examples}")
        try:
            check_device(args.device)
        except ValueError as e:
            raise UsageError(str(e)) from None
        cls = load_candidate(args.candidate)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        result = verify(args.kind, cls, args.examples, args.dtype, args.device, args.seed, args.candidate,
                        shrink=not args.no_shrink)
    except UsageError as e:  # the protocol check
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception:  # the engine guards the candidate's calls; whatever escapes is still a failure
        print("FAILED: the run raised:\n" + traceback.format_exc())
        return 1
    table = checks_table(result["records"])
    if args.report:
        _write_report(table, args.report)
    spec = result["spec"]
    print(f"{args.candidate} vs {spec.twin_name} [{args.dtype}, {args.device}]: "
          f"{result['examples']} generated cases + the default case, {result['seconds']:.1f} s")
    print(table.to_markdown(index=False, floatfmt=".3g") if not table.empty else "(nothing compared)")
    if "case" not in result:
        print("\nOK: every generated case matches.")
        return 0
    print("\nMISMATCH. " + ("First failing case (unshrunk):" if args.no_shrink else "Minimal failing case:"))
    print(f"  {result['case'].as_code()}")
    for rec in result["failed_records"][:5]:
        print("  " + describe_failure(rec).replace("\n", "\n    "))
    print("Reproduce with:\n" + result["repro"])
    return 1


if __name__ == "__main__":
    sys.exit(main())
