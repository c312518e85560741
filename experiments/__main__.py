"""python -m experiments {all,conformance} [--device cpu|cuda] [--dtype float32|float64] [--quick] [--out DIR]

Each experiment writes reports/NAME.csv and reports/NAME.md; ``all`` also writes
reports/index.html, one self-contained page with every table and the environment.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from experiments import conformance, report
from reference.convert import check_device

EXPERIMENTS = {
    "conformance": conformance.DESCRIPTION,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="experiments:\n" + "\n".join(f"  {k:14s} {v}" for k, v in EXPERIMENTS.items()))
    p.add_argument("name", choices=["all", *EXPERIMENTS], help="an experiment, or all of them")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where torch runs (default cpu)")
    p.add_argument("--dtype", choices=["float32", "float64"], help="one dtype (default: both)")
    p.add_argument("--quick", action="store_true", help="few cases: seconds, same code path (what CI runs)")
    p.add_argument("--out", default="reports", type=Path, help="output folder (default reports/)")
    p.add_argument("--seed", default=0, type=int, help="seed for generated cases (default 0)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        check_device(args.device)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    dtypes = [args.dtype] if args.dtype else ["float64", "float32"]
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    sections, failed = [], False
    for name in names:
        start = time.perf_counter()
        if name == "conformance":
            df = conformance.run(dtypes, args.device, cases=2 if args.quick else 10, seed=args.seed)
            failed |= not df["passed"].all()
            title = "Conformance: scratch vs torch"
        seconds = time.perf_counter() - start
        for path in report.write_table(df, args.out, name, title):
            print(f"wrote {path}")
        sections.append((name, EXPERIMENTS[name], df, seconds))
        print(f"{name}: {seconds:.1f} s")
    if args.name == "all":
        page = report.index_html(sections, report.environment(args.device, dtypes))
        print(f"wrote {report.write_atomic(args.out / 'index.html', page)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
