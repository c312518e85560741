"""CS231n's dropout functions, ``dropout_forward(x, dropout_param) -> (out, cache)`` and
``dropout_backward(dout, cache) -> dx``, against torch.

The course's forward draws its own mask (``np.random.rand`` after ``np.random.seed(seed)``), so
the verifier cannot hand it torch's mask: it reads the mask off the candidate's output (x has no
exact zeros, so a kept unit is a nonzero one) and runs ``x * mask * scale`` in torch with it.

Older course versions read p as the drop probability (torch's meaning: scale 1/(1-p)), newer
ones as the keep probability (scale 1/p). Which one a candidate uses is read off it twice:
- the scale of its kept units (out / x) sets the meaning its values are compared under;
- its kept counts must fit a meaning: the pooled count's binomial z-score within ``Z_LIMIT``
  (two-sided normal tail 5.7e-7) and each value of p's count with an exact binomial tail of at
  least that (``ALPHA``); per p, because a pooled count can fit by accident (keeping with
  probability (1-p)**2 fits the keep meaning's pooled count at z = 2.7 on seed 0's draw).
  A candidate that fits neither, or keeps at one meaning's rate while scaling by the other's,
  fails with a "keep rate" record.
p = 0 keeps every unit under the drop meaning; under the keep meaning it keeps none and has no
scale (1/0), so those cases are skipped. p = 1 is never drawn (the drop meaning's 1/0).
"""

from __future__ import annotations

import contextlib
import math
import traceback
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from reference.compare import DEFAULT_TOLERANCES, Record, compare, failed_record
from reference.convert import check_device, check_dtype_name, np_dtype, to_numpy, to_torch
from reference.engine import EXACT
from reference.guard import exc_line

P_VALUES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9)  # p = 0.5 (where the meanings agree) is 1 draw in 6
Z_LIMIT = 5.0
ALPHA = 2 * stats.norm.sf(Z_LIMIT)  # 5.7e-7: a per-p count fails where its exact binomial tail is smaller
SCALE_RTOL = 1e-4  # out / x on a kept unit against 1/(1-p) or 1/p: float32 rounding is ~1e-7
MEANINGS = ("drop", "keep")


@dataclass
class _Case:
    step: int
    x: np.ndarray
    dout: np.ndarray
    p: float
    seed: int
    called: bool = False      # the first train-mode forward returned a pair (out, cache)
    out: object = None
    cache: object = None
    records: list = field(default_factory=list)  # the train-mode forward's own records

    @property
    def usable(self) -> bool:
        """The output is an array shaped like x: its nonzeros are the mask."""
        return (self.called and isinstance(self.out, np.ndarray) and self.out.shape == self.x.shape
                and self.out.dtype.kind in "fi")

    @property
    def kept(self) -> np.ndarray:
        return np.isfinite(self.out) & (self.out != 0)


def _draw_shape(rng) -> tuple:
    """(1,) up to (64, 64), and 3-D shapes up to (16, 16, 16); each side log-uniform, so small
    shapes are common."""
    ndim = int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
    top = 16 if ndim == 3 else 64
    return tuple(int(np.exp(rng.uniform(0.0, np.log(top + 1)))) for _ in range(ndim))


def _draw_cases(examples: int, seed: int, dtype: str) -> list[_Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for step in range(1, examples + 1):
        shape = _draw_shape(rng)
        x = rng.standard_normal(shape).astype(np_dtype(dtype))
        x[x == 0] = 1.0  # a kept unit must never look dropped
        dout = rng.standard_normal(shape).astype(np_dtype(dtype))
        p = float(rng.choice(P_VALUES))
        cases.append(_Case(step, x, dout, p, int(rng.integers(2**31))))
    return cases


def _call(kind: str, ctx: dict, fn, *args, quiet: bool = False):
    """fn(*args) -> (value, None), or (None, a failed record) where it raises an Exception.
    ``quiet`` silences NumPy's division warnings (at p = 0 the keep meaning divides by p)."""
    try:
        with np.errstate(divide="ignore", invalid="ignore") if quiet else contextlib.nullcontext():
            return fn(*args), None
    except Exception as e:
        note = f"candidate raised {exc_line(e)}\n{traceback.format_exc().rstrip()}"
        return None, failed_record(kind, note, **ctx)


def _forward(forward, x, param: dict, ctx: dict):
    """-> ((out, cache), None) or (None, a failed "forward" record)."""
    result, failure = _call("forward", ctx, forward, x, dict(param), quiet=param["p"] == 0)
    if failure is None and not (isinstance(result, tuple) and len(result) == 2):
        failure = failed_record("forward", f"returned a {type(result).__name__}, expected a pair (out, cache)", **ctx)
    return (None, failure) if failure else (result, None)


def _train_calls(forward, case: _Case, ctx: dict) -> None:
    """Two train-mode calls with the case's seed: the first's output and cache are the ones
    compared; x must come back unchanged and the second call must give the same output."""
    param = {"p": case.p, "mode": "train", "seed": case.seed}
    inputs, results = [case.x.copy(), case.x.copy()], []
    for x in inputs:
        result, failure = _forward(forward, x, param, ctx)
        if failure:
            case.records.append(failure)
            return
        out, cache = result  # a copy: the second call may reuse the first one's output buffer
        results.append((out.copy() if isinstance(out, np.ndarray) else out, cache))
    (case.out, case.cache), (again, _) = results
    case.called = True
    case.records.append(compare("input unchanged", inputs[0], case.x, EXACT, **ctx))
    if case.usable:
        same = compare("same seed, same mask", again, case.out, EXACT, array_only=True, **ctx)
        if not same.passed:
            same.note = (same.note + "; " if same.note else "") + \
                f"two train-mode calls with seed {case.seed} differ: the mask must come from dropout_param['seed']"
        case.records.append(same)


def _levels(cases) -> dict:
    """{p: (units, kept units)} pooled over the usable train-mode cases with 0 < p < 1."""
    levels = {}
    for c in cases:
        if c.usable and 0 < c.p < 1:
            units, kept = levels.get(c.p, (0, 0))
            levels[c.p] = (units + c.x.size, kept + int(c.kept.sum()))
    return levels


def _z(kept: float, expected: float, var: float) -> float:
    return (kept - expected) / math.sqrt(var) if var > 0 else 0.0


def _tail(kept: int, units: int, keep: float) -> float:
    """Two-sided exact binomial tail: twice the smaller of P(K <= kept), P(K >= kept). A small
    count is skewed: 56 units at keep = 0.1 land beyond |z| = 5 with probability 2.1e-5, 37
    times the normal tail, and 10 units with 1.5e-4."""
    return min(1.0, 2 * min(stats.binom.cdf(kept, units, keep), stats.binom.sf(kept - 1, units, keep)))


def _rate_fit(levels: dict, meaning: str) -> tuple[float, float, float, bool]:
    """(expected kept units, pooled z, worst per-p z, fits) of the kept counts when p is the
    ``meaning`` probability. Fits: the pooled |z| <= Z_LIMIT and each p's exact tail >= ALPHA."""
    keep = {p: 1 - p if meaning == "drop" else p for p in levels}
    expected = sum(n * keep[p] for p, (n, _) in levels.items())
    var = sum(n * keep[p] * (1 - keep[p]) for p, (n, _) in levels.items())
    pooled = _z(sum(k for _, k in levels.values()), expected, var)
    per_p = [_z(k, n * keep[p], n * keep[p] * (1 - keep[p])) for p, (n, k) in levels.items()]
    worst = max(per_p, key=abs, default=0.0)
    tails_fit = all(_tail(k, n, keep[p]) >= ALPHA for p, (n, k) in levels.items())
    return expected, pooled, worst, abs(pooled) <= Z_LIMIT and tails_fit


def _scale_meaning(cases) -> str | None:
    """The meaning whose scale (1/(1-p) drop, 1/p keep) every kept unit of every case with
    0 < p < 1, p != 0.5 shows; None where neither does (or no case tells them apart)."""
    fits = {m: [] for m in MEANINGS}
    for c in cases:
        if c.usable and 0 < c.p < 1 and c.p != 0.5 and c.kept.any():
            ratio = c.out[c.kept].astype(np.float64) / c.x[c.kept]
            for m, scale in zip(MEANINGS, (1 / (1 - c.p), 1 / c.p)):
                fits[m].append(bool(np.allclose(ratio, scale, rtol=SCALE_RTOL, atol=0.0)))
    found = [m for m in MEANINGS if fits[m] and all(fits[m])]
    return found[0] if len(found) == 1 else None


def _rate_note(levels: dict, fits: dict) -> str:
    units, kept = sum(n for n, _ in levels.values()), sum(k for _, k in levels.values())
    by_p = ", ".join(f"p={p:g}: {k} of {n}" for p, (n, k) in sorted(levels.items()))
    expect = "; ".join(f"p as {m} probability expects {e:.1f} (z = {z:.2f}; worst p: z = {w:.2f})"
                       for m, (e, z, w, _) in fits.items())
    return (f"kept {kept} of {units} units with 0 < p < 1 ({by_p}); {expect}; fits: pooled |z| <= {Z_LIMIT:g} "
            f"and each p's binomial tail >= {ALPHA:.2g}")


def _decide(cases, ctx: dict) -> tuple[str, str, Record]:
    """-> (the candidate's meaning of p, the meaning its values are compared under, the "keep
    rate" record). Compared under: the scale's meaning, else the rate's, else torch's (drop)."""
    levels = _levels(cases)
    fits = {m: _rate_fit(levels, m) for m in MEANINGS}
    fitting = [m for m in MEANINGS if fits[m][3]]
    rate = fitting[0] if len(fitting) == 1 else None
    scale = _scale_meaning(cases)
    compared = scale or rate or "drop"
    note = _rate_note(levels, fits)
    if not fitting:
        return "undetermined", compared, failed_record("keep rate", "fits neither meaning of p: " + note, **ctx)
    if rate and scale and rate != scale:
        note = f"units are kept as if p were the {rate} probability but scaled as if it were the {scale} one: {note}"
        return "undetermined", compared, failed_record("keep rate", note, **ctx)
    meaning = rate or (scale if scale in fitting else "undetermined")
    return meaning, compared, Record(kind="keep rate", passed=True, note=note, **ctx)


def _p0_record(cases, ctx: dict) -> Record | None:
    """Under the drop meaning p = 0 keeps every unit (the z-scores leave it out: no variance)."""
    zero = [c for c in cases if c.usable and c.p == 0]
    if not zero:
        return None
    lost = {c.step: int(c.x.size - c.kept.sum()) for c in zero if not c.kept.all()}
    units = sum(c.x.size for c in zero)
    if not lost:
        return Record(kind="keep rate", passed=True, note=f"p=0 kept all {units} units", **ctx)
    where = ", ".join(f"call {s}: {n}" for s, n in lost.items())
    return failed_record("keep rate", f"p=0 must keep every unit; dropped {sum(lost.values())} of {units} ({where})",
                         **ctx)


def _torch_reference(case: _Case, scale: float, dtype: str, device: str):
    """torch's y = x * mask * scale with the candidate's mask, and dL/dx for L = sum(y * dout)."""
    x = to_torch(case.x, dtype, device, requires_grad=True)
    y = x * to_torch(case.kept, dtype, device) * scale
    y.backward(to_torch(case.dout, dtype, device))
    return to_numpy(y), to_numpy(x.grad)


def _compare_case(backward, case: _Case, scale: float, tol, ctx: dict) -> list[Record]:
    """The first train-mode call's output, then backward(dout, cache) with that call's cache."""
    if not case.called:
        return []  # the forward's failure is already recorded
    if not case.usable:  # no mask to read: say what is wrong with the output
        return [compare("output", case.out, case.x, tol, array_only=True, **ctx)]
    y, dx = _torch_reference(case, scale, ctx["dtype"], ctx["device"])
    records = [compare("output", case.out, y, tol, array_only=True, **ctx)]
    dout = case.dout.copy()
    got, failure = _call("backward", ctx, backward, dout, case.cache)
    if failure:
        return records + [failure]
    return records + [compare("grad_input", got, dx, tol, array_only=True, **ctx),
                      compare("upstream gradient unchanged", dout, case.dout, EXACT, **ctx)]


def _eval_record(forward, case: _Case, ctx: dict) -> Record:
    """Test mode returns x unchanged (p given, no seed: as the course's notebook calls it)."""
    ctx = {**ctx, "mode": "eval"}
    result, failure = _forward(forward, case.x.copy(), {"p": case.p, "mode": "test"}, ctx)
    return failure or compare("output", result[0], case.x, EXACT, array_only=True, **ctx)


def check_course_dropout(forward, backward, *, examples: int = 30, seed: int = 0, dtype: str = "float64",
                         device: str = "cpu", tolerance=None) -> tuple[list[Record], str]:
    """Compare CS231n-style ``dropout_forward``/``dropout_backward`` with torch on ``examples``
    cases drawn from ``seed``. Returns (records, meaning): meaning is "drop" (p is the drop
    probability, torch's), "keep" (p is the keep probability) or "undetermined": nothing tells
    the meanings apart (e.g. only p = 0.5 was drawn), or the kept counts fit neither meaning, or
    fit one while the scale fits the other (then a "keep rate" record fails).
    What the candidate raises (an Exception) becomes a failed "forward"/"backward" record."""
    check_dtype_name(dtype)
    check_device(device)
    tol = tolerance or DEFAULT_TOLERANCES[dtype]  # the dropout spec's (verify passes it)
    base = dict(component="dropout", dtype=dtype, device=device)
    cases = _draw_cases(examples, seed, dtype)
    state = np.random.get_state()  # the candidate reseeds NumPy's global generator
    try:
        for case in cases:
            _train_calls(forward, case, {**base, "step": case.step, "mode": "train"})
        rate_ctx = {**base, "step": examples, "mode": "train"}  # after the last call: pools them all
        meaning, compared, rate_record = _decide(cases, rate_ctx)
        if compared == "keep":
            skipped = [c for c in cases if c.p == 0]
            cases = [c for c in cases if c.p != 0]
            if skipped:
                rate_record.note += f"; {len(skipped)} case(s) with p=0 skipped (keep probability 0 has no scale 1/p)"
        records = []
        for case in cases:
            ctx = {**base, "step": case.step, "mode": "train"}
            scale = 1 / (1 - case.p) if compared == "drop" else 1 / case.p
            records += case.records + _compare_case(backward, case, scale, tol, ctx)
            records.append(_eval_record(forward, case, ctx))
        p0 = _p0_record(cases, rate_ctx) if compared == "drop" else None
    finally:
        np.random.set_state(state)
    return records + [rate_record] + ([p0] if p0 else []), meaning
