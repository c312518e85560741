"""Writing reports: atomic files, Markdown/CSV tables, PNG figures, the environment,
and index.html (one self-contained page: every table, every figure embedded)."""

from __future__ import annotations

import base64
import html
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from reference.convert import precision_settings
# the atomic writer lives in reference (which must not import experiments); re-exported here
# for the experiments and tests that import it from experiments.report
from reference.fileio import _atomic, write_atomic  # noqa: F401


@dataclass
class Result:
    """What an experiment produced: its main table (reports/NAME.csv/.md), further
    tables (reports/NAME_SUFFIX.csv/.md), figures (matplotlib Figures, saved as
    reports/NAME_SUFFIX.png) and findings (one sentence each, shown in index.html)."""

    title: str
    table: pd.DataFrame
    tables: dict = field(default_factory=dict)    # suffix -> (title, DataFrame)
    figures: dict = field(default_factory=dict)   # suffix -> matplotlib Figure
    findings: list = field(default_factory=list)
    passed: bool = True                           # False makes the command exit 1 (a check failed)


def write_table(df: pd.DataFrame, out: Path, name: str, title: str) -> list[Path]:
    """``out/name.csv`` and ``out/name.md``."""
    csv = write_atomic(Path(out) / f"{name}.csv", df.to_csv(index=False, float_format="%.6g"))
    md = write_atomic(Path(out) / f"{name}.md", f"# {title}\n\n" + df.to_markdown(index=False, floatfmt=".3g") + "\n")
    return [csv, md]


def write_figure(fig, out: Path, name: str) -> Path:
    """``out/name.png`` (Agg backend, 110 dpi), written atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    try:
        return _atomic(Path(out) / f"{name}.png", lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight"))
    finally:
        plt.close(fig)


def write_result(res: Result, out: Path, name: str) -> list[Path]:
    paths = write_table(res.table, out, name, res.title)
    for suffix, (title, df) in res.tables.items():
        paths += write_table(df, out, f"{name}_{suffix}", title)
    for suffix, fig in res.figures.items():
        paths.append(write_figure(fig, out, f"{name}_{suffix}"))
    return paths


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
        return rev.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment(device: str, dtypes: list[str]) -> dict:
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "pandas": pd.__version__,
        "device": device if device == "cpu" else f"{device} ({torch.cuda.get_device_name(0)})",
        "dtypes": ", ".join(dtypes),
        "torch threads": torch.get_num_threads(),
        "cpu cores": os.cpu_count(),
        "git revision": git_revision(),
    }
    env.update({k: str(v) for k, v in precision_settings().items()})
    return env


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0)


def index_html(sections: list[tuple[str, str, Result, float, list[Path]]], env: dict) -> str:
    """One self-contained page: environment, time per experiment, then each experiment's
    description, findings, tables and figures (PNG embedded as base64)."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>scratch vs torch: reports</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px}"
             "img{max-width:100%}</style></head><body>",
             "<h1>scratch vs torch</h1><h2>Environment</h2><table>"]
    parts += [f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in env.items()]
    parts.append("</table><h2>Experiments</h2><table><tr><th>experiment</th><th>seconds</th><th>checks</th></tr>")
    parts += [f"<tr><td><a href='#{n}'>{n}</a></td><td>{s:.1f}</td><td>{'pass' if r.passed else 'FAIL'}</td></tr>"
              for n, _, r, s, _ in sections]
    parts.append("</table>")
    for name, description, res, seconds, paths in sections:
        parts.append(f"<h2 id='{name}'>{html.escape(name)}: {html.escape(res.title)}</h2>"
                     f"<p>{html.escape(description)} <em>({seconds:.1f} s)</em></p>")
        if res.findings:
            parts.append("<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in res.findings) + "</ul>")
        parts.append(_table_html(res.table))
        for suffix, (title, df) in res.tables.items():
            parts.append(f"<h3>{html.escape(title)}</h3>" + _table_html(df))
        for path in paths:
            if path.suffix == ".png":
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f"<h3>{html.escape(path.stem)}</h3><img alt='{html.escape(path.stem)}' "
                             f"src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
