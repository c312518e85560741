"""The comparison engine's data: tolerances, one ``Record`` per compared quantity,
a pandas view of records, and an assertion that explains a failure.

A value passes when

    |got - expected| <= atol + rtol * |expected| + noise,

- atol and rtol per element, exactly torch.testing.assert_close's rule;
- noise (an array, measured by the engine per case, quantity and element) is K
  times the rounding error float32 arithmetic makes in that element, scaled to
  the run's dtype: it lets a sum with heavy cancellation (inputs of magnitude
  1e4, a batch-norm backward) be as inexact on both sides as the arithmetic
  forces, and it is ~1 ulp where a computation is well conditioned;
- NaN must meet NaN and inf must meet the same inf, except where the noise is infinite: an
  engine says so where the reference's NaN is made by its own rounding (the same data in
  float64 gives a number), so any value there is as right as the reference's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def allowed(self, expected: np.ndarray, noise=0.0) -> np.ndarray:
        return self.atol + self.rtol * np.abs(expected.astype(np.float64)) + noise


# float64: rounding is ~1e-16 per operation; 1e-10 leaves room for sums over
# thousands of terms and still catches a perturbation of one part in 1e6.
# float32: torch.testing.assert_close's defaults (rtol 1.3e-6, atol 1e-5).
DEFAULT_TOLERANCES = {
    "float64": Tolerance(rtol=1e-10, atol=1e-12),
    "float32": Tolerance(rtol=1.3e-6, atol=1e-5),
}


class Key(NamedTuple):
    """Where a value lives in a trace: the call (modules, losses) or optimizer step it follows,
    from 1 (0: set-up, before the first), what it is (output, grad, buffer, state, ...), the
    parameter, buffer or state name, and the parameter's index in an optimizer's list."""

    step: int
    kind: str
    name: str = ""
    index: int | None = None


@dataclass
class Record:
    """One compared quantity of one case: what was compared, how far apart, and where.
    ``kind``, ``name``, ``index``, ``step`` and ``mode`` say what and where; ``quantity`` and
    ``where`` are built from them for display only (nothing parses them back)."""

    kind: str                 # output, grad_input, grad, buffer, init, layout, param, state, lr, ...,
    #                           or the call into the candidate that failed (construct, forward, ...)
    component: str = ""
    name: str = ""            # parameter, buffer or state name ('' where the kind has none)
    index: int | None = None  # parameter index in an optimizer's parameter list
    step: int = 0             # call or optimizer step, from 1; 0: set-up, before the first
    mode: str = ""            # a module call's mode (train, eval); a loss call's upstream gradient
    dtype: str = ""
    device: str = "cpu"
    case: str = ""
    shape: tuple = ()
    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    rtol: float = 0.0
    atol: float = 0.0
    noise: float = 0.0   # the rounding allowance at the worst element (see module doc)
    margin: float = 0.0  # max over elements of error / allowed error; > 1 fails
    passed: bool = True
    worst_index: tuple | None = None
    got: float | None = None
    expected: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def quantity(self) -> str:
        """'output', 'grad:weight', 'state:0:exp_avg' (display)."""
        return ":".join([self.kind, *([str(self.index)] if self.index is not None else []),
                         *([self.name] if self.name else [])])

    @property
    def where(self) -> str:
        """'init', 'call 2 (train)', 'step 3' (display)."""
        if self.step == 0:
            return "init"
        return f"call {self.step} ({self.mode})" if self.mode else f"step {self.step}"

    @property
    def check(self) -> str:
        """The row of a summary table: kind and the last part of the name (grad:weight for every
        Linear's weight of a Sequential, state:exp_avg for every parameter)."""
        return f"{self.kind}:{self.name.rsplit('.', 1)[-1]}" if self.name else self.kind


def compare(kind: str, got, expected, tol: Tolerance, noise=0.0, array_only: bool = False,
            **context) -> Record:
    """Compare two arrays elementwise and return a Record (never raises on mismatch).
    ``noise`` is a scalar or an array shaped like ``expected``. ``array_only``: ``got`` must be a
    NumPy array or scalar (what a candidate returns where torch returns a tensor), not a list."""
    rec = Record(kind=kind, rtol=tol.rtol, atol=tol.atol, **context)
    expected = np.asarray(expected)
    if got is None:
        return dataclasses.replace(rec, passed=False, margin=np.inf, shape=expected.shape,
                                   note="candidate produced None")
    if array_only and not isinstance(got, (np.ndarray, np.generic)):
        return dataclasses.replace(rec, passed=False, margin=np.inf, shape=expected.shape,
                                   note=f"candidate returned a {type(got).__name__}, expected a numpy.ndarray "
                                        f"of dtype {expected.dtype} (torch returns a tensor)")
    try:
        # a NumPy scalar keeps its dtype (float32 must stay float32); Python numbers count as float64
        got = np.asarray(got) if isinstance(got, (np.ndarray, np.generic)) else np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return dataclasses.replace(rec, passed=False, margin=np.inf, note=f"not an array: {type(got).__name__}")
    rec.shape = expected.shape
    if got.shape != expected.shape:
        return dataclasses.replace(rec, passed=False, margin=np.inf,
                                   note=f"shape {got.shape}, expected {expected.shape}")
    if np.issubdtype(expected.dtype, np.floating) and got.dtype != expected.dtype:
        return dataclasses.replace(rec, passed=False, margin=np.inf,
                                   note=f"dtype {got.dtype}, expected {expected.dtype}")
    if expected.size == 0:
        return rec
    g, e = got.astype(np.float64), expected.astype(np.float64)
    nan_mismatch = np.isnan(g) != np.isnan(e)
    inf_mismatch = (np.isinf(e) | np.isinf(g)) & ~((g == e) | nan_mismatch)
    both_nan_or_same_inf = (np.isnan(g) & np.isnan(e)) | (np.isinf(e) & (g == e))
    with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf and x / 0 are handled below
        err = np.where(both_nan_or_same_inf, 0.0, np.abs(g - e))
        err = np.where(nan_mismatch | inf_mismatch, np.inf, err)
        allowed = tol.allowed(expected, noise)
        ratio = np.where(err == 0, 0.0, err / allowed)
        ratio = np.where(np.isposinf(noise), 0.0, ratio)  # the engine found the reference undetermined here
        rel = np.where(err == 0, 0.0, err / np.abs(e))
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.ndim else ()
    rec.max_abs_err = float(err.max())
    rec.max_rel_err = float(rel.max())
    rec.margin = float(ratio.max())
    rec.passed = bool(rec.margin <= 1.0)
    rec.worst_index = tuple(int(i) for i in worst)
    rec.got = float(g[worst])
    rec.expected = float(e[worst])
    rec.noise = float(np.broadcast_to(noise, e.shape)[worst])
    return rec


def not_compared(kind: str, note: str, **context) -> Record:
    """A quantity the candidate does not expose (lenient runs): listed, not failed."""
    return Record(kind="not compared", name=":".join(filter(None, (kind, context.pop("name", "")))), note=note,
                  passed=True, **context)


def failed_record(kind: str, note: str, **context) -> Record:
    """A record for something that could not be compared (an exception, a missing attribute)."""
    return Record(kind=kind, passed=False, margin=np.inf, note=note, **context)


DISPLAY = ("quantity", "where", "check")


def to_frame(records) -> pd.DataFrame:
    """One row per record: the Record fields (without ``extra``) and the display columns."""
    rows = [{**{k: v for k, v in dataclasses.asdict(r).items() if k != "extra"},
             **{d: getattr(r, d) for d in DISPLAY}} for r in records]
    cols = [f.name for f in dataclasses.fields(Record) if f.name != "extra"] + list(DISPLAY)
    return pd.DataFrame(rows, columns=cols)


def summarize(records) -> pd.DataFrame:
    """Worst error per (component, dtype, device, quantity kind) over all records."""
    df = to_frame(records)
    if df.empty:
        return df
    g = df.groupby(["component", "dtype", "device", "kind"], sort=False)
    return g.agg(max_abs_err=("max_abs_err", "max"), max_rel_err=("max_rel_err", "max"),
                 margin=("margin", "max"), passed=("passed", "all"), checks=("passed", "size")).reset_index()


def describe_failure(rec: Record) -> str:
    where = f" at index {rec.worst_index}" if rec.worst_index is not None else ""
    parts = [f"{rec.component} [{rec.dtype}, {rec.device}] {rec.where} {rec.quantity}: "]
    if rec.got is not None:
        parts.append(f"got {rec.got!r}, expected {rec.expected!r}{where} "
                     f"(abs err {rec.max_abs_err:.3g}; allowed: rtol={rec.rtol:g}, atol={rec.atol:g}, "
                     f"measured rounding {rec.noise:.3g}; "
                     f"margin {rec.margin:.3g})")
    if rec.note:
        parts.append(("; " if rec.got is not None else "") + rec.note)
    return "".join(parts)


def assert_records(records, repro: str | None = None) -> None:
    """Raise AssertionError listing every failed record, with a reproducing snippet."""
    bad = [r for r in records if not r.passed]
    if not bad:
        return
    lines = [f"{len(bad)} of {len(records)} compared quantities differ:"]
    lines += ["  " + describe_failure(r) for r in bad[:10]]
    if len(bad) > 10:
        lines.append(f"  ... and {len(bad) - 10} more")
    if repro:
        lines += ["Reproduce with:", repro]
    raise AssertionError("\n".join(lines))
