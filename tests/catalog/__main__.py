"""python -m tests.catalog [--seeds K] [--examples N | --cli-default] [--match TEXT] [--out FILE.md]

Runs ``reference.verify.verify`` on every catalog entry in each of its dtypes, exactly as the
command line does (with shrinking), and prints one row per run: the verdict, whether it is the
expected one, the wall time and the first failing quantity; then the catch rate
(wrong runs caught / wrong runs) and the pass rate of the correct ones.
``--seeds K`` also reruns each wrong entry with seeds 0..K-1 without shrinking and reports in
how many of them the bug was found (how reliably the strategy reaches it at N cases).
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
import torch
from hypothesis import Phase, settings

import reference.verify as V
from reference.registry import REGISTRY
from tests.catalog import CATALOG


def _run(entry, dtype, examples, seed=0, shrink=True) -> dict:
    saved = V.settings
    if not shrink:
        V.settings = lambda *a, **kw: saved(*a, **{**kw, "phases": [p for p in kw["phases"] if p is not Phase.shrink]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            t = time.perf_counter()
            r = V.verify(entry.kind, entry.cls, examples=examples, dtype=dtype, seed=seed, candidate_ref=entry.ref)
            r["wall"] = time.perf_counter() - t
            return r
    finally:
        V.settings = saved


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.catalog", description=__doc__.split("\n\n")[1])
    p.add_argument("--seeds", type=int, default=0, help="reliability: rerun wrong entries with K seeds")
    p.add_argument("--examples", type=int, help="cases per run (default: each entry's own)")
    p.add_argument("--cli-default", action="store_true",
                   help="use the verifier's own default count per family (what the command line does)")
    p.add_argument("--match", default="", help="only entries whose name or kind contains TEXT")
    p.add_argument("--out", help="also write the table as markdown")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for e in CATALOG:
        if args.match not in e.name and args.match not in e.kind:
            continue
        if e.kind not in REGISTRY:
            print(f"skip {e.name}: kind {e.kind!r} not registered")
            continue
        n = None if args.cli_default else (args.examples or e.examples)
        for dtype, must_catch in e.runs():
            r = _run(e, dtype, n)
            found = "case" in r
            bad = r.get("failed_records", [])
            miss = dtype in e.misses
            row = dict(entry=e.name, kind=e.kind, dtype=dtype, wrong=e.wrong,
                       expected=("known miss" if miss else "caught") if must_catch else "pass",
                       verdict="caught" if found else "pass", ok=found == must_catch or (miss and not found),
                       seconds=round(r["wall"], 2),
                       first_failure=f"{bad[0].where} {bad[0].quantity}" if bad else "")
            if args.seeds and e.wrong:
                hits = sum("case" in _run(e, dtype, n, seed=s, shrink=False) for s in range(args.seeds))
                row["seeds_caught"] = f"{hits}/{args.seeds}"
            rows.append(row)
            print(" | ".join(str(v) for v in row.values()), flush=True)
    df = pd.DataFrame(rows)
    if df.empty:
        return 0
    wrong, right = df[df.wrong & (df.expected != "pass")], df[~df.wrong]
    summary = (f"\nwrong runs caught: {int((wrong.verdict == 'caught').sum())}/{len(wrong)} "
               f"(entries: {df[df.wrong].groupby('entry').verdict.apply(lambda v: (v == 'caught').any()).sum()}"
               f"/{df[df.wrong].entry.nunique()} caught in at least one dtype); "
               f"correct runs passed: {int((right.verdict == 'pass').sum())}/{len(right)}; "
               f"total {df.seconds.sum():.1f} s")
    print(df.to_markdown(index=False) + summary)
    if args.out:
        with open(args.out, "w") as f:
            f.write(df.to_markdown(index=False) + "\n" + summary + "\n")
    return 0 if df.ok.all() else 1


if __name__ == "__main__":
    raise SystemExit(main())
