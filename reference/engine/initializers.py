"""Statistical comparison of an initializer (kind="init") with its torch twin and its formula.

NumPy's and torch's random streams differ, so the values cannot be compared one by one.
Instead, per filled tensor of n values, against the spec's *law* (the distribution the
formula says: U(lo, hi), N(mean, std^2) or a constant, computed in ``reference.specs.init``
from torch's formulas, never from the code under test):

    bound          every value in [lo, hi] (the bounds rounded to the dtype): exact
    bound reached  min - lo and hi - max below 20 (hi - lo) / n: a bound too wide by even
                   1% fails, while a correct one fails with probability 2 e^-20
    mean           |mean - mu| <= 6 sd / sqrt(n)  (+ the dtype's rounding of the values)
    variance       |s^2 - sd^2| <= 6 sd^2 sqrt((kurtosis - 1) / n) (+ rounding); kurtosis 3
                   for a normal, 9/5 for a uniform: 6 standard errors of the sample variance
    ks law         one-sample Kolmogorov-Smirnov against the law's CDF: p-value > 1e-6
    ks torch       two-sample KS against torch's initializer on the same shape and dtype: p > 1e-6
    values         a deterministic law (constant_, std 0, a == b): exactly the value, and
    torch values   exactly torch's output
    dtype          the array keeps the input's dtype (and shape); "in place": the function
                   fills and returns the array it was given
    reproducible   the same int seed, and fresh Generators with the same seed, give the same
                   array bit for bit; "seed matters": another seed gives another array
Thresholds are stated here and fixed, and every seed is fixed by the case, so the result of a
case never changes between runs. 6 standard errors and p > 1e-6 keep false alarms below one in
10^5 checks (the thorough profile runs ~10^4), and still catch a variance off by a factor
(fan_in + fan_out) / fan_in = 2 at a few thousand values. Statistics (mean, variance, KS)
need n >= 100 values; smaller tensors get the exact checks only.
"""

from __future__ import annotations

import inspect
import math
import traceback
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from reference.compare import Record, Tolerance, compare, failed_record
from reference.convert import np_dtype, to_numpy, torch_dtype

Z = 6.0              # standard errors allowed for the mean and the variance
KS_ALPHA = 1e-6      # smallest passing p-value of a KS test
REACH = 20.0         # the extremes must come within REACH * width / n of the bounds
MIN_STAT_N = 100     # fewer values than this: exact checks only
EXACT = Tolerance(rtol=0.0, atol=0.0)


@dataclass(frozen=True)
class Law:
    """What a filled tensor should look like: ("uniform", lo, hi), ("normal", mean, std) or ("constant", v)."""

    kind: str
    a: float
    b: float = 0.0

    @property
    def deterministic(self) -> bool:
        """A constant, U(a, a) or N(mean, 0): every value is ``value``."""
        return self.kind == "constant" or (self.kind == "uniform" and self.a == self.b) or \
            (self.kind == "normal" and self.b == 0)

    @property
    def value(self) -> float:
        return self.a  # the constant, the mean, or lo == hi

    def moments(self) -> tuple[float, float, float]:
        """(mean, std, kurtosis)."""
        if self.kind == "uniform":
            return (self.a + self.b) / 2, (self.b - self.a) / math.sqrt(12.0), 9 / 5
        return self.a, self.b, 3.0

    def cdf(self):
        if self.kind == "uniform":
            return stats.uniform(loc=self.a, scale=self.b - self.a).cdf
        return stats.norm(loc=self.a, scale=self.b).cdf


def _record(kind, name, passed, margin, got=None, expected=None, err=0.0, allowed=0.0, note="", **ctx):
    """A statistical check of the filled tensor ``name`` (a parameter's name, or "tensor")."""
    margin = float(margin) if passed or np.isfinite(margin) else np.inf  # NaN statistics fail with margin inf
    return Record(kind=kind, name=name, passed=bool(passed), margin=float(margin), got=got,
                  expected=expected, max_abs_err=float(err), atol=float(allowed), note=note, **ctx)


def _law_records(name: str, x: np.ndarray, law: Law, twin: np.ndarray | None, dtype: str, ctx) -> list[Record]:
    out: list[Record] = []
    eps = float(np.finfo(np_dtype(dtype)).eps)
    if law.deterministic:
        want = np.full(x.shape, law.value, dtype=np_dtype(dtype))
        out.append(compare("values", x, want, EXACT, name=name, **ctx))
        if twin is not None:
            out.append(compare("torch values", x, twin, EXACT, name=name, **ctx))
        return out
    v = x.astype(np.float64).ravel()
    n = v.size
    if law.kind == "uniform":
        lo, hi = float(np_dtype(dtype)(law.a)), float(np_dtype(dtype)(law.b))
        bad = ~((v >= lo) & (v <= hi))
        out.append(_record("bound", name, not bad.any(), np.inf if bad.any() else 0.0,
                           got=float(v[bad][0]) if bad.any() else None, expected=hi,
                           note=f"{int(bad.sum())} of {n} values outside [{lo!r}, {hi!r}]" if bad.any() else "", **ctx))
        if n:
            gap, allowed = max(v.min() - law.a, law.b - v.max()), REACH * (law.b - law.a) / n
            out.append(_record("bound reached", name, gap <= allowed, gap / allowed, got=float(v.max()),
                               expected=law.b, err=gap, allowed=allowed, **ctx))
    if n < MIN_STAT_N:
        return out
    mu, sd, kurt = law.moments()
    scale = max(abs(mu) + 8 * sd, 1e-300)          # largest plausible |value|: where rounding is measured
    rounding = 2 * eps * scale
    checks = [("mean", float(v.mean()), mu, Z * sd / math.sqrt(n) + rounding),
              ("variance", float(v.var(ddof=1)), sd**2,
               Z * sd**2 * math.sqrt((kurt - 1) / n) + 4 * rounding * sd + rounding**2)]
    for quantity, got, want, allowed in checks:
        err = abs(got - want)
        out.append(_record(quantity, name, err <= allowed, err / allowed, got=got, expected=want, err=err,
                           allowed=allowed, **ctx))
    # asymptotic p-values: accurate at n >= MIN_STAT_N, and the exact two-sample one costs 20x
    tests = [("ks law", stats.kstest(v, law.cdf(), method="asymp").pvalue)]
    if twin is not None:
        tests.append(("ks torch", stats.ks_2samp(v, twin.astype(np.float64).ravel(), method="asymp").pvalue))
    for quantity, p in tests:
        margin = math.log(p) / math.log(KS_ALPHA) if p > 0 else np.inf  # 1 at p = KS_ALPHA, 0 at p = 1
        out.append(_record(quantity, name, p > KS_ALPHA, margin, got=float(p), expected=KS_ALPHA,
                           note=f"p-value {p:.3g}, threshold {KS_ALPHA:g}", **ctx))
    return out


def _is_module(spec) -> bool:
    return inspect.isclass(spec.component)


def _draw(spec, case, dtype, candidate, generator) -> dict:
    """The candidate's filled tensors by name: a module's parameters, or the one array it fills."""
    impl = candidate or spec.component
    if _is_module(spec):
        module = impl(**case.config, dtype=np_dtype(dtype), generator=generator)
        return {name: np.asarray(p.data) for name, p in module.named_parameters()}
    arr = np.full(tuple(case.extra["shape"]), np.nan, dtype=np_dtype(dtype))  # NaN: an unfilled value shows
    takes_generator = "generator" in inspect.signature(impl).parameters
    kwargs = dict(case.config, **({"generator": generator} if takes_generator else {}))
    returned = impl(arr, **kwargs)
    return {"tensor": arr, "_returned": returned, "_input": arr}


def twin_draw(spec, case, dtype: str, device: str = "cpu") -> dict:
    """torch's tensors for the case, seeded by ``case.seed`` (the global RNG is restored after)."""
    seed = case.seed % 2**63
    if _is_module(spec):
        with torch.random.fork_rng(devices=[device] if device != "cpu" else []):
            torch.manual_seed(seed)
            module = spec.twin(**case.config, dtype=torch_dtype(dtype), device=device)
        return {name: to_numpy(p).copy() for name, p in module.named_parameters()}
    t = torch.empty(tuple(case.extra["shape"]), dtype=torch_dtype(dtype), device=device)
    kwargs = dict(case.config)
    if "generator" in inspect.signature(spec.twin).parameters:
        kwargs["generator"] = torch.Generator(device=device).manual_seed(seed)
    spec.twin(t, **kwargs)
    return {"tensor": to_numpy(t).copy()}


def run_init_case(spec, case, dtype: str = "float64", device: str = "cpu", candidate=None) -> list[Record]:
    """Compare ``candidate`` (default: the spec's scratch initializer) with the law and torch on ``case``."""
    ctx = dict(component=spec.name, dtype=dtype, device=device)
    try:
        got = _draw(spec, case, dtype, candidate, case.seed)
        again = _draw(spec, case, dtype, candidate, case.seed)
        gen_a = _draw(spec, case, dtype, candidate, np.random.default_rng(case.seed))
        gen_b = _draw(spec, case, dtype, candidate, np.random.default_rng(case.seed))
        other = _draw(spec, case, dtype, candidate, case.seed + 1)
    except Exception:
        return [failed_record("call", "candidate raised:\n" + traceback.format_exc(), **ctx)]
    twin = twin_draw(spec, case, dtype, device)
    laws = spec.law(case)
    records: list[Record] = []
    if "_returned" in got:
        ok = got.pop("_returned") is got.pop("_input")
        records.append(_record("in place", "tensor", ok, 0.0 if ok else np.inf,
                               note="" if ok else "expected the array passed in, filled and returned", **ctx))
    if sorted(got) != sorted(twin):
        return records + [failed_record("parameter names", f"got {sorted(got)}, expected {sorted(twin)}", **ctx)]
    for name, x in got.items():
        ok = isinstance(x, np.ndarray) and x.dtype == np_dtype(dtype) and x.shape == twin[name].shape
        records.append(_record("dtype", name, ok, 0.0 if ok else np.inf, note="" if ok else
                               f"got {getattr(x, 'dtype', None)} {np.shape(x)}, expected {dtype} {twin[name].shape}",
                               **ctx))
        if not ok:
            continue
        same = all(np.array_equal(a[name], b[name], equal_nan=True) for a, b in ((got, again), (gen_a, gen_b)))
        records.append(_record("reproducible", name, same, 0.0 if same else np.inf, note="" if same else
                               "the same seed (or fresh Generators with it) gave different arrays", **ctx))
        if not laws[name].deterministic and x.size > 1:
            moved = not np.array_equal(x, other[name], equal_nan=True)
            records.append(_record("seed matters", name, moved, 0.0 if moved else np.inf, note="" if moved else
                                   f"seeds {case.seed} and {case.seed + 1} gave the same array", **ctx))
        records += _law_records(name, x, laws[name], twin[name], dtype, ctx)
    return records
