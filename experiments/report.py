"""Writing reports: atomic files, Markdown/CSV tables, the environment, and index.html."""

from __future__ import annotations

import html
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from reference.convert import precision_settings


def write_atomic(path: Path, text: str) -> Path:
    """Write to a temporary file beside ``path`` and rename it: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_table(df: pd.DataFrame, out: Path, name: str, title: str) -> list[Path]:
    """``out/name.csv`` and ``out/name.md``."""
    csv = write_atomic(Path(out) / f"{name}.csv", df.to_csv(index=False, float_format="%.6g"))
    md = write_atomic(Path(out) / f"{name}.md", f"# {title}\n\n" + df.to_markdown(index=False, floatfmt=".3g") + "\n")
    return [csv, md]


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
        "git revision": git_revision(),
    }
    env.update({k: str(v) for k, v in precision_settings().items()})
    return env


def index_html(sections: list[tuple[str, str, pd.DataFrame, float]], env: dict) -> str:
    """One self-contained page: environment, then each experiment's description, time and table."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>scratch vs torch: reports</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px}"
             ".fail{background:#fdd}</style></head><body>",
             "<h1>scratch vs torch</h1><h2>Environment</h2><table>"]
    parts += [f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in env.items()]
    parts.append("</table>")
    for name, description, df, seconds in sections:
        parts.append(f"<h2 id='{name}'>{html.escape(name)}</h2><p>{html.escape(description)} "
                     f"<em>({seconds:.1f} s)</em></p>")
        parts.append(df.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0))
    parts.append("</body></html>")
    return "\n".join(parts)
