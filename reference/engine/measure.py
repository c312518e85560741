"""What every engine shares: the twin's ``Trace``, and how inexact the arithmetic of a case is.

How inexact float arithmetic is on a case is measured per element, not guessed (Monte Carlo
arithmetic, Parker 1997). At the case's point and at two nearby points (every input,
parameter and upstream gradient moved by one float32 rounding, a deterministic function of
each value, so ties and exact zeros survive) the twin runs in float32 and in float64 on the
*same* float32-rounded data. Each gap is then rounding alone, never sensitivity to the inputs.
K times the largest gap of each element, scaled to the run's dtype, is added to that element's
tolerance (see ``reference.compare``). Elementwise functions get ~1 ulp; a cancelling sum (the
gradient of a bias feeding a batch norm is exactly zero) gets what float32 actually loses there.

For a quantity that is a sum of products (a spec's ``sum_terms``) the allowance is at least the
a-priori bound of any summation order, 2 gamma_n * sum|terms| (``sum_bounds``): the measured
rounding samples torch's own order only.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np

from reference.compare import Key, Tolerance, failed_record
from reference.convert import cast, np_dtype, strict_precision
from reference.spec import Case, Spec

EXACT = Tolerance(rtol=0.0, atol=0.0)
# Two implementations, each off by the sampled rounding, can differ by twice it; three
# sampled points underestimate an element's tail. Measured (150 cases per spec, inputs with
# offsets, K = 1): the worst float32 margin was 1.23 (sequential), 1.11 (linear), 0.99
# (batch_norm1d); K = 3 leaves more than 2x headroom.
NOISE_FACTOR = 3.0
MC_SAMPLES = 3      # points where rounding is sampled: the case's own and two perturbed ones
_EPS_RATIO = {"float32": 1.0, "float64": float(np.finfo(np.float64).eps / np.finfo(np.float32).eps)}


@dataclass
class Trace:
    values: dict = field(default_factory=dict)        # Key -> np.ndarray
    params: dict = field(default_factory=dict)        # name -> float64 value given to both sides
    init_params: dict = field(default_factory=dict)   # name -> the twin's initial value
    sync: list = field(default_factory=list)          # per call: data for spec.sync_candidate
    grads: list = field(default_factory=list)         # per call: float64 upstream gradient


def perturb(a: np.ndarray, rel: float, salt: int, shrink: bool = False) -> np.ndarray:
    """a * (1 + rel * h(a)) with h in [-1, 1] a hash of the value: equal values move together.
    ``shrink``: h in (-1, 0] instead, so magnitudes only shrink (probabilities stay in [0, 1])."""
    h = np.sin(a * (12.9898 + salt) + 78.233) * 43758.5453
    u = h - np.floor(h)
    return np.asarray(a * (1 - rel * u if shrink else 1 + rel * (2 * u - 1)))  # 0-d stays an array


def twin_data(perturbation: int, round_to: str | None, absolute: bool = False, shrink: bool = False):
    """The function a trace applies to every float input, parameter and upstream gradient it
    gives the twin: moved by one rounding (``perturbation`` k > 0: float32's, salt k; k < 0:
    float64's, salt -k; 0: unmoved), rounded to ``round_to`` (then back to float64), and made
    absolute for ``sum_bounds``."""
    eps = float(np.finfo(np.float32 if perturbation >= 0 else np.float64).eps)

    def p(a):
        a = np.asarray(a)
        if not np.issubdtype(a.dtype, np.floating):
            return a
        a = perturb(a, eps, abs(perturbation), shrink) if perturbation else a
        a = cast(a, round_to).astype(np.float64) if round_to else a
        return np.abs(a) if absolute else a
    return p


def _gap(a, b):
    """Elementwise |a - b| (0 where either is not finite), or 0 if they cannot be compared."""
    if a is None or b is None or a.shape != b.shape or a.dtype.kind != "f":
        return 0.0
    a, b = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: masked out below
        return np.where(np.isfinite(a) & np.isfinite(b), np.abs(a - b), 0.0)


def rounding_noise(key: Key, pairs: list, dtype: str | None):
    """K * elementwise max over (float32, float64-on-the-same-data) pairs of |t32 - t64|, in
    ``dtype``'s units (None: the pairs' gaps are in the run's units already)."""
    gap = 0.0
    for t32, t64 in pairs:
        gap = np.maximum(gap, _gap(t32.values.get(key), t64.values.get(key)))
    # an element's three samples can all be lucky; the quantity's median gap is a floor
    # that a few huge entries cannot raise (elements of one quantity share conditioning)
    gap = np.maximum(gap, float(np.median(gap))) if np.ndim(gap) else gap
    return NOISE_FACTOR * gap * (_EPS_RATIO[dtype] if dtype else 1.0)


def gamma(n: int, dtype: str) -> float:
    """Higham's gamma_n = n u / (1 - n u), u the unit roundoff of ``dtype``: a sum of n products
    computed in ``dtype`` in any order is within gamma_n * (sum of the terms' magnitudes) of exact."""
    nu = n * float(np.finfo(np_dtype(dtype)).eps) / 2
    return nu / (1 - nu)


def sum_bounds(trace, spec: Spec, case: Case, dtype: str, device: str) -> dict:
    """Key -> 2 gamma_n * sum|terms| elementwise, for the quantities that ``spec.sum_terms``
    names ('output', 'grad:weight', ...). The twin run in float64 on the absolute values of the
    same ``dtype``-rounded data gives sum|terms| exactly where the quantity is a sum of products.
    Two results that each meet gamma_n's bound differ by at most twice it, whatever BLAS,
    kernel, thread split or summation order produced them."""
    if spec.sum_terms is None:
        return {}
    terms = spec.sum_terms(case)
    magnitudes = trace(spec, case, "float64", device, round_to=dtype, absolute=True).values
    named = {key: ":".join(filter(None, (key.kind, key.name))) for key in magnitudes}
    return {key: 2 * gamma(terms[named[key]], dtype) * np.abs(value)
            for key, value in magnitudes.items() if named[key] in terms}


def measure(trace, spec: Spec, case: Case, dtype: str, device: str):
    """Run a family's ``trace`` function: the reference trace for ``dtype`` and the rounding
    allowance ``noise_of(key)``: the larger of the measured rounding (float32 vs float64 on the
    same float32 data, at the case's point and ``MC_SAMPLES - 1`` nearby ones) and, for sums of
    products, the a-priori bound of ``sum_bounds``. In float64, where float32 kept no digit of a
    quantity (``_kept_no_digit``), also the gap between the float64 twin and the float64 twin at
    points one float64 rounding away: float64's own rounding, sampled directly."""
    with strict_precision():
        pairs = [(trace(spec, case, "float32", device, perturb=k),
                  trace(spec, case, "float64", device, perturb=k, round_to="float32"))
                 for k in range(MC_SAMPLES)]
        ref = trace(spec, case, "float64", device) if dtype == "float64" else pairs[0][0]
        bounds = sum_bounds(trace, spec, case, dtype, device)
    near = []

    def noise_of(key):
        measured = rounding_noise(key, pairs, dtype)
        if dtype == "float64" and not near and _kept_no_digit(key, pairs):
            with strict_precision():  # float64's own rounding: the twin one float64 rounding away
                near.extend((trace(spec, case, "float64", device, perturb=-k), ref) for k in range(1, MC_SAMPLES))
        return np.maximum(np.maximum(measured, rounding_noise(key, near, None)), bounds.get(key, 0.0))
    return ref, noise_of


def _kept_no_digit(key: Key, pairs: list) -> bool:
    """Whether float32 lost (nearly) every digit of some element of ``key`` at the case's own
    point: a gap to float64 above 1% of the value. Scaling such a gap by 2^-29 says too little
    about float64's own rounding (a batch norm over nearly equal rows: the gap saturates)."""
    t32, t64 = pairs[0]
    gap, value = _gap(t32.values.get(key), t64.values.get(key)), t64.values.get(key)
    return bool(np.ndim(gap)) and bool(np.any(gap > 0.01 * np.abs(value)))


class CandidateError(Exception):
    """Raised by ``Guard`` after a candidate call failed and was recorded: the replay stops."""


class Guard:
    """Calls into the candidate: what one raises becomes a failed record (with the traceback),
    then ``CandidateError`` stops the replay. ``records`` and ``context`` are the engine's."""

    def __init__(self, records: list, **context):
        self.records, self.context = records, context

    def __call__(self, step: int, kind: str, fn, *args, mode: str = "", **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # an exception that names its own check (record_kind) is that check's failure
            kind, note = (e.record_kind, str(e)) if hasattr(e, "record_kind") else \
                (kind, "candidate raised:\n" + traceback.format_exc())
            self.records.append(failed_record(kind, note, step=step, mode=mode, **self.context))
            raise CandidateError from None
