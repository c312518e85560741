"""Conformance: every registry component side by side with its torch twin, on its
default case and a sample of generated cases, per dtype and device. One row per
(component, dtype, device, compared quantity): largest errors, tolerance, margin
(error / allowed; above 1 fails), pass/fail."""

from __future__ import annotations

import pandas as pd

from experiments.report import Result
from reference.compare import Record
from reference.engine import run_case
from reference.registry import specs
from reference.sampling import sample_cases

DESCRIPTION = "every registry component against its torch twin: largest errors per compared quantity"
COLUMNS = ("component", "dtype", "device", "quantity", "cases", "checks", "max_abs_err", "max_rel_err", "rtol", "atol",
           "worst_margin", "passed")
FIGURES = ()


def run(ctx) -> Result:
    df = table(ctx.dtypes, ctx.device, cases=2 if ctx.quick else 10, seed=ctx.seed, progress=ctx.progress)
    worst = df.loc[df["dtype"] == "float32"].sort_values("worst_margin").tail(1)
    findings = [f"{len(set(df['component']))} components, {len(df)} compared quantity kinds; "
                f"{int((~df['passed']).sum())} failing."]
    if len(worst):
        w = worst.iloc[0]
        findings.append(f"Closest to its float32 tolerance: {w['component']} {w['quantity']} "
                        f"(margin {w['worst_margin']:.2f} of 1).")
    return Result("Conformance: scratch vs torch", df, findings=findings, passed=bool(df["passed"].all()))


def table(dtypes: list[str], device: str, cases: int, seed: int = 0, progress=lambda it, desc: it) -> pd.DataFrame:
    """``progress(iterable, desc)`` wraps the loop over specs (a progress bar in ``run``)."""
    rows = []
    for spec in progress(specs(), "conformance"):
        generated = sample_cases(spec.cases(n_calls=len(spec.calls)), cases, seed)
        for dtype in dtypes:
            records: list[Record] = []
            for case in [spec.default_case(), *generated]:
                records += run_case(spec, case, dtype, device)
            rows += _summarize(spec.name, dtype, device, records, 1 + len(generated))
    return pd.DataFrame(rows)


def _summarize(name, dtype, device, records, n_cases) -> list[dict]:
    df = pd.DataFrame([dict(quantity=r.check, abs=r.max_abs_err, rel=r.max_rel_err, margin=r.margin,
                            passed=r.passed, rtol=r.rtol, atol=r.atol) for r in records])
    out = []
    for quantity, g in df.groupby("quantity", sort=False):
        out.append(dict(component=name, dtype=dtype, device=device, quantity=quantity, cases=n_cases,
                        checks=len(g), max_abs_err=g["abs"].max(), max_rel_err=g["rel"].max(),
                        rtol=g["rtol"].iloc[0], atol=g["atol"].iloc[0], worst_margin=g["margin"].max(),
                        passed=bool(g["passed"].all())))
    return out
