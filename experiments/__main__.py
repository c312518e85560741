"""python -m experiments NAME|all [--device cpu|cuda] [--dtype float32|float64] [--quick] [--out DIR]

Each experiment writes reports/NAME.csv and reports/NAME.md (plus NAME_*.csv/.md
tables and NAME_*.png figures); ``all`` also writes reports/index.html, one
self-contained page with every table and figure, the environment and the time
each experiment took. Every experiment is seeded: two runs write the same CSVs.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from pathlib import Path

from experiments import report
from experiments.context import BACKENDS, Context
from reference.convert import check_device

# name -> module (each has DESCRIPTION and run(ctx) -> report.Result); ``all`` runs them in this order
MODULES = {
    "conformance": "experiments.conformance",
    "optimizers_2d": "experiments.optimizers_2d",
    "train_mlp": "experiments.train_mlp",
    "lr_sweep": "experiments.lr_sweep",
    "init_stats": "experiments.init_stats",
    "sanity": "experiments.sanity",
    "regression": "experiments.regression",
    "gradcheck": "experiments.gradcheck",
    "bench": "experiments.bench",
}


def _description(name: str) -> str:
    return importlib.import_module(MODULES[name]).DESCRIPTION


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="experiments:\n" + "\n".join(f"  {k:14s} {_description(k)}" for k in MODULES))
    p.add_argument("name", choices=["all", *MODULES], help="an experiment, or all of them")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where torch runs (default cpu)")
    p.add_argument("--dtype", choices=["float32", "float64"], help="one dtype (default: both)")
    p.add_argument("--quick", action="store_true", help="small sizes: seconds, same code path (what CI runs)")
    p.add_argument("--out", default="reports", type=Path, help="output folder (default reports/)")
    p.add_argument("--seed", default=0, type=int, help="seed for generated cases and initial weights (default 0)")
    p.add_argument("--backend", default="loky", choices=BACKENDS,
                   help="joblib backend for sweeps (default loky: local processes; dask/ray: a cluster, see README)")
    p.add_argument("--jobs", default=2, type=int, help="parallel workers for local sweep backends (default 2)")
    p.add_argument("--mnist", type=Path, help="folder with MNIST IDX files (train_mlp uses 784-128-40-10 on them)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        check_device(args.device)
        if args.jobs < 1:
            raise ValueError(f"--jobs: expected a positive integer, got {args.jobs}")
        needs = {"dask": ("dask.distributed", 'pip install "dask[distributed]"'), "ray": ("ray", "pip install ray")}
        if args.backend in needs and importlib.util.find_spec(needs[args.backend][0].split(".")[0]) is None:
            raise ValueError(f"--backend {args.backend}: the package is not installed ({needs[args.backend][1]})")
        if args.mnist is not None:
            from scratch.data import load_mnist

            load_mnist(args.mnist, split="train")  # fails here, naming the missing file, not inside a worker
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ctx = Context(device=args.device, dtypes=[args.dtype] if args.dtype else ["float64", "float32"],
                  quick=args.quick, out=args.out, seed=args.seed, backend=args.backend, jobs=args.jobs,
                  mnist=args.mnist)
    names = list(MODULES) if args.name == "all" else [args.name]
    sections, failed = [], False
    for name in names:
        module = importlib.import_module(MODULES[name])
        start = time.perf_counter()
        res = module.run(ctx)
        seconds = time.perf_counter() - start
        paths = report.write_result(res, args.out, name)
        for path in paths:
            print(f"wrote {path}")
        failed |= not res.passed
        sections.append((name, module.DESCRIPTION, res, seconds, paths))
        print(f"{name}: {seconds:.1f} s" + ("" if res.passed else "  (checks FAILED, see the report)"), flush=True)
    if args.name == "all":
        page = report.index_html(sections, report.environment(args.device, ctx.dtypes))
        print(f"wrote {report.write_atomic(args.out / 'index.html', page)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
