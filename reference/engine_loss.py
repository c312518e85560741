"""The comparison engine for losses: ``forward(input, target) -> loss`` and
``backward(grad=None) -> grad of input`` against the torch loss on the same case.

Per case (``Case.inputs == [input, target]``; array-valued config entries such as
``weight`` and ``pos_weight`` become tensors of the run's dtype on the torch side):
1. output (the loss, shaped by ``reduction``);
2. grad_input for a random Gaussian upstream gradient shaped like the loss (never
   all ones: with ``reduction="none"`` a ones gradient hides per-element scaling);
3. grad_input again from ``backward()`` with no argument, which must mean ones,
   on a second forward (the protocol's default, so ``loss.backward()`` works);
4. input and target unchanged by forward and backward (exactly).
The rounding allowance is measured as for modules (``reference.engine``): the
twin runs in float32 and in float64 on the same float32-rounded data, at the
case's point and at nearby points. Nearby points only *shrink* magnitudes
(x * (1 - eps * u), u in [0, 1)): probabilities stay in [0, 1] for BCE and KL
targets, and zeros, signs and class indices are untouched.
"""

from __future__ import annotations

import traceback

import numpy as np

from reference.compare import Record, compare, failed_record
from reference.convert import cast, to_numpy, to_torch
from reference.engine import EXACT, Trace, _perturb, measure
from reference.spec import Case, Spec

STEP = "call 1"
DEFAULT_GRAD = "call 1 (backward())"


def _is_float(a) -> bool:
    return np.issubdtype(np.asarray(a).dtype, np.floating)


def config_for(config: dict, dtype: str, device: str | None = None) -> dict:
    """Array-valued kwargs cast to ``dtype``: NumPy for scratch (device None), tensors for torch."""
    out = {}
    for k, v in config.items():
        if isinstance(v, np.ndarray):
            v = cast(v, dtype) if device is None else to_torch(v, dtype, device)
        out[k] = v
    return out


def trace_loss_twin(spec: Spec, case: Case, dtype: str, device: str = "cpu", perturb: int = 0,
                    round_to: str | None = None) -> Trace:
    """Run the torch loss on ``case``; ``perturb``/``round_to`` as in ``reference.engine.trace_twin``."""
    tr = Trace()
    rng = np.random.default_rng(case.seed)

    def p(a):
        a = np.asarray(a)
        if not _is_float(a):
            return a
        a = _perturb(a, float(np.finfo(np.float32).eps), perturb, shrink=True) if perturb else a
        return cast(a, round_to).astype(np.float64) if round_to else a

    cfg = {k: p(v) if isinstance(v, np.ndarray) else v for k, v in case.config.items()}
    twin = spec.twin(**config_for(cfg, dtype, device))
    x, target = case.inputs
    for step, ones in ((STEP, False), (DEFAULT_GRAD, True)):
        xt = to_torch(p(x), dtype, device, requires_grad=True)
        tt = to_torch(p(target), dtype, device)
        with spec.expected_warnings():
            out = twin(xt, tt)
        tr.values[(step, "output")] = to_numpy(out).copy()
        g = np.ones(tuple(out.shape)) if ones else rng.standard_normal(tuple(out.shape))
        tr.grads.append(g)
        out.backward(to_torch(p(g), dtype, device))
        tr.values[(step, "grad_input")] = to_numpy(xt.grad).copy()
    return tr


def run_loss_case(spec: Spec, case: Case, dtype: str = "float64", device: str = "cpu",
                  candidate=None) -> list[Record]:
    """Compare ``candidate`` (default: the spec's scratch class) with the torch loss on ``case``."""
    ref, noise_of = measure(trace_loss_twin, spec, case, dtype, device)
    return _replay(spec, case, dtype, device, candidate, ref, noise_of)


def _replay(spec, case, dtype, device, candidate, ref: Trace, noise_of) -> list[Record]:
    records: list[Record] = []
    ctx = dict(component=spec.name, dtype=dtype, device=device)
    tol = spec.tolerance(dtype)

    def guarded(step, quantity, fn, *args):
        try:
            return fn(*args), True
        except Exception:
            records.append(failed_record(quantity, "candidate raised:\n" + traceback.format_exc(), step=step, **ctx))
            return None, False

    cand, ok = guarded("init", "construct", spec.make, config_for(case.config, dtype), candidate)
    if not ok:
        return records
    x, target = (cast(a, dtype) for a in case.inputs)
    before = (x.copy(), target.copy())
    for step, grad in ((STEP, cast(ref.grads[0], dtype)), (DEFAULT_GRAD, None)):
        out, ok = guarded(step, "forward", cand.forward, x, target)
        if not ok:
            return records
        records.append(compare("output", out, ref.values[(step, "output")], tol,
                               noise=noise_of((step, "output")), array_only=True, step=step, **ctx))
        gx, ok = guarded(step, "backward", *((cand.backward,) if grad is None else (cand.backward, grad)))
        if not ok:
            return records
        records.append(compare("grad_input", gx, ref.values[(step, "grad_input")], tol,
                               noise=noise_of((step, "grad_input")), array_only=True, step=step, **ctx))
        records.append(compare("input unchanged", x, before[0], EXACT, step=step, **ctx))
        records.append(compare("target unchanged", target, before[1], EXACT, step=step, **ctx))
    return records
