"""The comparison engine for modules: run a candidate (scratch's class by default)
and its torch twin on the same case, return one Record per compared quantity.

The twin runs first and leaves a ``Trace``: every value it produced, keyed by
(step, quantity), plus the script the candidate replays (parameter values,
dropout masks, upstream gradients). Per case:
1. parameter names and layouts must agree; fixed initial values (BatchNorm's 1/0,
   PReLU's 0.25) and initial buffers are compared;
2. both sides get the same parameter values (the case's overrides, else Gaussian);
3. for each call in ``spec.calls`` (train/eval): same input, compare the output,
   then backward with the same *random Gaussian* upstream gradient (never all
   ones: with a sum() loss the true input gradient of softmax and batch norm is
   zero, which hides wrong backward passes), compare the input gradient and every
   parameter gradient (never zeroed between calls, so accumulation is checked),
   then every buffer.
How inexact float arithmetic is on this case is measured per element, not guessed
(Monte Carlo arithmetic, Parker 1997). At the case's point and at two nearby
points (inputs, parameters and upstream gradients moved by one float32 rounding,
a deterministic function of each value, so ties and exact zeros survive) the twin
runs in float32 and in float64 on the *same* float32-rounded data. Each gap is
then rounding alone, never sensitivity to the inputs. K times the largest gap of
each element, scaled to the run's dtype, is added to that element's tolerance
(see ``reference.compare``). Elementwise functions get ~1 ulp; a cancelling sum
(the gradient of a bias feeding a batch norm is exactly zero) gets what float32
actually loses there, so both sides may be equally inexact, and no more.
An exception raised by the candidate becomes a failed record carrying the traceback.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np
import torch

from reference.compare import Record, Tolerance, compare, failed_record
from reference.convert import cast, np_dtype, strict_precision, to_numpy, to_torch, torch_dtype
from reference.spec import FIXED_INIT, Case, Spec

EXACT = Tolerance(rtol=0.0, atol=0.0)
# Two implementations, each off by the sampled rounding, can differ by twice it; three
# sampled points underestimate an element's tail. Measured (150 cases per spec, inputs with
# offsets, K = 1): the worst float32 margin was 1.23 (sequential), 1.11 (linear), 0.99
# (batch_norm1d); K = 3 leaves more than 2x headroom.
NOISE_FACTOR = 3.0
MC_SAMPLES = 3      # points where rounding is sampled: the case's own and two perturbed ones
_EPS_RATIO = {"float32": 1.0, "float64": float(np.finfo(np.float64).eps / np.finfo(np.float32).eps)}
ERROR_QUANTITIES = ("construct", "named_parameters", "named_buffers", "train/eval", "sync", "forward", "backward")


@dataclass
class Trace:
    values: dict = field(default_factory=dict)        # (step, quantity) -> np.ndarray
    params: dict = field(default_factory=dict)        # name -> float64 value given to both sides
    init_params: dict = field(default_factory=dict)   # name -> the twin's initial value
    sync: list = field(default_factory=list)          # per call: data for spec.sync_candidate
    grads: list = field(default_factory=list)         # per call: float64 upstream gradient


def _step(i: int, mode: str) -> str:
    return f"call {i + 1} ({mode})"


def _perturb(a: np.ndarray, rel: float, salt: int, shrink: bool = False) -> np.ndarray:
    """a * (1 + rel * h(a)) with h in [-1, 1] a hash of the value: equal values move together.
    ``shrink``: h in (-1, 0] instead, so magnitudes only shrink (probabilities stay in [0, 1])."""
    h = np.sin(a * (12.9898 + salt) + 78.233) * 43758.5453
    u = h - np.floor(h)
    return np.asarray(a * (1 - rel * u if shrink else 1 + rel * (2 * u - 1)))  # 0-d stays an array


def trace_twin(spec: Spec, case: Case, dtype: str, device: str = "cpu", perturb: int = 0,
               round_to: str | None = None, absolute: bool = False) -> Trace:
    """Run the torch twin on ``case`` and record everything it produces.

    ``perturb`` = k > 0 scales every input, parameter and upstream gradient by
    (1 + eps32 * h_k) (see ``_perturb``); ``round_to="float32"`` rounds them to
    float32 first, so a float64 run sees exactly the data a float32 run sees.
    ``absolute``: every input, parameter and upstream gradient replaced by its absolute value
    (for ``sum_bounds``: a sum of products then returns the sum of its terms' magnitudes).
    """
    tr = Trace()
    rng = np.random.default_rng(case.seed)
    eps = float(np.finfo(np.float32).eps)

    def p(a):
        a = _perturb(a, eps, perturb) if perturb else a
        a = cast(a, round_to).astype(np.float64) if round_to else a
        return np.abs(a) if absolute else a
    twin = spec.twin(**case.config).to(device=device, dtype=torch_dtype(dtype))
    for name, tp in twin.named_parameters():
        tr.init_params[name] = to_numpy(tp).copy()
        value = case.params.get(name)
        value = rng.standard_normal(tuple(tp.shape)) if value is None else np.asarray(value, dtype=np.float64)
        with torch.no_grad():
            tp.copy_(to_torch(p(value), dtype, device))
        tr.params[name] = value
    for name, tb in twin.named_buffers():
        tr.values[("init", f"buffer:{name}")] = to_numpy(tb).copy()
    for i, (mode, x) in enumerate(zip(spec.calls, case.inputs)):
        step = _step(i, mode)
        twin.train(mode == "train")
        xt = to_torch(p(x), dtype, device, requires_grad=True)
        tr.sync.append(spec.sync_twin(twin, xt, (case.seed + i) % 2**63) if spec.sync_twin else None)
        with spec.expected_warnings():
            yt = twin(xt.clone())  # clone: an inplace twin must not write into the leaf
        tr.values[(step, "output")] = to_numpy(yt).copy()
        g = rng.standard_normal(tuple(yt.shape))
        tr.grads.append(g)
        yt.backward(to_torch(p(g), dtype, device))
        tr.values[(step, "grad_input")] = to_numpy(xt.grad).copy()
        for name, tp in twin.named_parameters():
            grad = to_numpy(tp.grad).copy() if tp.grad is not None else np.zeros(tuple(tp.shape), np_dtype(dtype))
            tr.values[(step, f"grad:{name}")] = grad
        for name, tb in twin.named_buffers():
            tr.values[(step, f"buffer:{name}")] = to_numpy(tb).copy()
    return tr


def _gap(a, b):
    """Elementwise |a - b| (0 where either is not finite), or 0 if they cannot be compared."""
    if a is None or b is None or a.shape != b.shape or not np.issubdtype(a.dtype, np.floating):
        return 0.0
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.where(np.isfinite(a) & np.isfinite(b), np.abs(a - b), 0.0)


def rounding_noise(key, pairs: list, dtype: str):
    """K * elementwise max over (float32, float64-on-the-same-data) pairs of |t32 - t64|, in ``dtype``'s units."""
    gap = 0.0
    for t32, t64 in pairs:
        gap = np.maximum(gap, _gap(t32.values.get(key), t64.values.get(key)))
    # an element's three samples can all be lucky; the quantity's median gap is a floor
    # that a few huge entries cannot raise (elements of one quantity share conditioning)
    gap = np.maximum(gap, float(np.median(gap))) if np.ndim(gap) else gap
    return NOISE_FACTOR * gap * _EPS_RATIO[dtype]


class _CandidateError(Exception):
    pass


def _buffers(cand) -> list:
    """A layer without state that is not learned need not define ``named_buffers``; if the
    twin has buffers, the missing names are reported."""
    return list(cand.named_buffers()) if hasattr(cand, "named_buffers") else []


def _set_buffer(module, dotted: str, value) -> None:
    *path, leaf = dotted.split(".")
    owner = module
    for part in path:
        owner = getattr(owner, part)
    setattr(owner, leaf, value)


def run_case(spec: Spec, case: Case, dtype: str = "float64", device: str = "cpu", candidate=None) -> list[Record]:
    """Compare ``candidate`` (default: the spec's scratch component) with the torch twin on
    ``case``; one engine per kind of spec (modules here, the others in their own files)."""
    if spec.kind == "module":
        return run_module_case(spec, case, dtype, device, candidate)
    if spec.kind == "loss":
        from reference.engine_loss import run_loss_case
        return run_loss_case(spec, case, dtype, device, candidate)
    if spec.kind in ("optimizer", "scheduler"):
        from reference.engine_optim import run_trajectory_case
        return run_trajectory_case(spec, case, dtype, device, candidate)
    if spec.kind == "init":
        from reference.init_check import run_init_case
        return run_init_case(spec, case, dtype, device, candidate)
    raise ValueError(f"spec {spec.name!r}: unknown kind {spec.kind!r}")


def gamma(n: int, dtype: str) -> float:
    """Higham's gamma_n = n u / (1 - n u), u the unit roundoff of ``dtype``: a sum of n products
    computed in ``dtype`` in any order is within gamma_n * (sum of the terms' magnitudes) of exact."""
    nu = n * float(np.finfo(np_dtype(dtype)).eps) / 2
    return nu / (1 - nu)


def sum_bounds(trace, spec: Spec, case: Case, dtype: str, device: str) -> dict:
    """(step, quantity) -> 2 gamma_n * sum|terms| elementwise, for the quantities that
    ``spec.sum_terms`` names. The twin run in float64 on the absolute values of the same
    ``dtype``-rounded data gives sum|terms| exactly where the quantity is a sum of products.
    Two results that each meet gamma_n's bound differ by at most twice it, whatever BLAS,
    kernel, thread split or summation order produced them."""
    if spec.sum_terms is None:
        return {}
    terms = spec.sum_terms(case)
    magnitudes = trace(spec, case, "float64", device, round_to=dtype, absolute=True).values
    return {key: 2 * gamma(terms[key[1]], dtype) * np.abs(value)
            for key, value in magnitudes.items() if key[1] in terms}


def measure(trace, spec: Spec, case: Case, dtype: str, device: str):
    """Run a family's ``trace`` function: the reference trace for ``dtype`` and the rounding
    allowance ``noise_of(key)``: the larger of the measured rounding (float32 vs float64 on the
    same float32 data, at the case's point and ``MC_SAMPLES - 1`` nearby ones; see the module
    docstring) and, for sums of products, the a-priori bound of ``sum_bounds``."""
    with strict_precision():
        pairs = [(trace(spec, case, "float32", device, perturb=k),
                  trace(spec, case, "float64", device, perturb=k, round_to="float32"))
                 for k in range(MC_SAMPLES)]
        ref = trace(spec, case, "float64", device) if dtype == "float64" else pairs[0][0]
        bounds = sum_bounds(trace, spec, case, dtype, device)
    return ref, lambda key: np.maximum(rounding_noise(key, pairs, dtype), bounds.get(key, 0.0))


def run_module_case(spec: Spec, case: Case, dtype: str = "float64", device: str = "cpu", candidate=None) -> list[Record]:
    """The module engine (see the module docstring)."""
    ref, noise_of = measure(trace_twin, spec, case, dtype, device)
    with strict_precision():
        return _replay(spec, case, dtype, device, candidate, ref, noise_of)


def _replay(spec, case, dtype, device, candidate, ref: Trace, noise_of) -> list[Record]:
    records: list[Record] = []
    ctx = dict(component=spec.name, dtype=dtype, device=device)
    tol = spec.tolerance(dtype)

    def check(step, quantity, got, t=tol):
        expected = ref.values[(step, quantity)]
        noise = noise_of((step, quantity)) if t is tol else 0.0
        records.append(compare(quantity, got, expected, t, noise=noise, array_only=True, step=step, **ctx))

    def fail(step, quantity, note):
        records.append(failed_record(quantity, note, step=step, **ctx))

    def guarded(step, quantity, fn, *args):
        try:
            return fn(*args)
        except Exception:
            fail(step, quantity, "candidate raised:\n" + traceback.format_exc())
            raise _CandidateError from None

    try:
        cand = guarded("init", "construct", spec.make, case.config, candidate)
        params = dict(guarded("init", "named_parameters", lambda: list(cand.named_parameters())))
        if sorted(params) != sorted(ref.params):
            fail("init", "parameter names", f"got {sorted(params)}, expected {sorted(ref.params)}")
            return records
        for name, value in ref.params.items():
            if not (hasattr(params[name], "data") and hasattr(params[name], "grad")):
                fail("init", f"layout:{name}", f"named_parameters() yielded a {type(params[name]).__name__} for "
                     f"{name!r}: expected a Parameter-like object with writable .data and .grad")
                return records
            if np.shape(params[name].data) != value.shape:
                fail("init", f"layout:{name}", f"shape {np.shape(params[name].data)}, expected {value.shape} "
                     "(torch's layout)")
                return records
            if FIXED_INIT in spec.tags:
                got = np.asarray(params[name].data, dtype=np_dtype(dtype))
                records.append(compare(f"init:{name}", got, ref.init_params[name], tol, step="init", **ctx))
            params[name].data = cast(value, dtype)
        buffers = dict(guarded("init", "named_buffers", _buffers, cand))
        ref_buffers = [q.split(":", 1)[1] for (s, q) in ref.values if s == "init"]
        if sorted(buffers) != sorted(ref_buffers):
            fail("init", "buffer names", f"got {sorted(buffers)}, expected {sorted(ref_buffers)}")
            return records
        for name in ref_buffers:
            # constructed at its default dtype: compare initial values in the run's dtype
            check("init", f"buffer:{name}", cast(np.asarray(buffers[name]), dtype))
            guarded("init", f"buffer:{name}", _set_buffer, cand, name, cast(ref.values[("init", f"buffer:{name}")], dtype))

        for i, (mode, x) in enumerate(zip(spec.calls, case.inputs)):
            step = _step(i, mode)
            guarded(step, "train/eval", cand.train, mode == "train")
            xc = cast(x, dtype)
            x_before = xc.copy()
            if spec.sync_candidate is not None:
                guarded(step, "sync", spec.sync_candidate, cand, ref.sync[i])
            yc = guarded(step, "forward", cand, xc)
            check(step, "output", yc)
            gc = guarded(step, "backward", cand.backward, cast(ref.grads[i], dtype))
            check(step, "grad_input", gc)
            # after backward too: a backward that writes into its cached input must not pass
            records.append(compare("input unchanged", xc, x_before, EXACT, step=step, **ctx))
            for name in ref.params:
                check(step, f"grad:{name}", params[name].grad)
            buffers = dict(guarded(step, "named_buffers", _buffers, cand))
            for name in ref_buffers:
                got = buffers.get(name)
                check(step, f"buffer:{name}", None if got is None else np.asarray(got))
    except _CandidateError:
        pass
    return records


def repro_snippet(spec: Spec, case: Case, dtype: str, device: str, candidate_ref: str | None = None) -> str:
    """Python that reruns exactly this comparison and prints the failing records."""
    lines = [
        "import numpy as np",
        "from numpy import nan, inf",
        *spec.snippet_imports,
        "from reference.registry import get_spec",
        "from reference.spec import Case",
        "from reference.engine import run_case",
        "from reference.compare import to_frame",
    ]
    cand = ""
    if candidate_ref:
        lines.append("from reference.verify import load_candidate")
        cand = f", candidate=load_candidate({candidate_ref!r})"
    lines += [
        f"case = {case.as_code()}",
        f"records = run_case(get_spec({spec.name!r}), case, dtype={dtype!r}, device={device!r}{cand})",
        "print(to_frame([r for r in records if not r.passed]).T)",
    ]
    return "\n".join(lines)
