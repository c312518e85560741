"""The comparison engine for losses: ``forward(input, target) -> loss`` and
``backward(grad=None) -> grad of input`` against the torch loss on the same case.

Per case (``Case.inputs == [input, target]``; array-valued config entries such as
``weight`` and ``pos_weight`` become tensors of the run's dtype on the torch side):
1. output (the loss, shaped by ``reduction``);
2. grad_input for a random Gaussian upstream gradient shaped like the loss (never
   all ones: with ``reduction="none"`` a ones gradient hides per-element scaling);
3. grad_input again from ``backward()`` with no argument, which must mean ones,
   on a second forward (call 2, the protocol's default, so ``loss.backward()`` works);
4. input and target unchanged by forward and backward (exactly).
The rounding allowance is measured as for modules (``reference.engine``): the
twin runs in float32 and in float64 on the same float32-rounded data, at the
case's point and at nearby points. Nearby points only *shrink* magnitudes
(x * (1 - eps * u), u in [0, 1)): probabilities stay in [0, 1] for BCE and KL
targets, and zeros, signs and class indices are untouched.
"""

from __future__ import annotations

import numpy as np

from reference.compare import Key, Record, compare
from reference.convert import cast, to_numpy, to_torch
from reference.engine.measure import EXACT, CandidateError, Guard, Trace, measure, twin_data
from reference.spec import Case, Spec

# call 1: a random Gaussian upstream gradient; call 2: backward() with no argument (ones)
CALLS = ((1, "upstream grad"), (2, "backward()"))


def config_for(config: dict, dtype: str, device: str | None = None) -> dict:
    """Array-valued kwargs cast to ``dtype``: NumPy for scratch (device None), tensors for torch."""
    out = {}
    for k, v in config.items():
        if isinstance(v, np.ndarray):
            v = cast(v, dtype) if device is None else to_torch(v, dtype, device)
        out[k] = v
    return out


def trace_loss_twin(spec: Spec, case: Case, dtype: str, device: str = "cpu", perturb: int = 0,
                    round_to: str | None = None, absolute: bool = False) -> Trace:
    """Run the torch loss on ``case``; ``perturb``/``round_to`` as in ``measure.twin_data``
    (nearby points only shrink magnitudes here)."""
    tr = Trace()
    rng = np.random.default_rng(case.seed)
    p = twin_data(perturb, round_to, absolute, shrink=True)
    cfg = {k: p(v) if isinstance(v, np.ndarray) else v for k, v in case.config.items()}
    twin = spec.twin(**config_for(cfg, dtype, device))
    x, target = case.inputs
    for call, mode in CALLS:
        xt = to_torch(p(x), dtype, device, requires_grad=True)
        tt = to_torch(p(target), dtype, device)
        with spec.expected_warnings():
            out = twin(xt, tt)
        tr.values[Key(call, "output")] = to_numpy(out).copy()
        g = np.ones(tuple(out.shape)) if mode == "backward()" else rng.standard_normal(tuple(out.shape))
        tr.grads.append(g)
        out.backward(to_torch(p(g), dtype, device))
        tr.values[Key(call, "grad_input")] = to_numpy(xt.grad).copy()
    return tr


def run_loss_case(spec: Spec, case: Case, dtype: str = "float64", device: str = "cpu",
                  candidate=None) -> list[Record]:
    """Compare ``candidate`` (default: the spec's scratch class) with the torch loss on ``case``."""
    ref, noise_of = measure(trace_loss_twin, spec, case, dtype, device)
    records: list[Record] = []
    ctx = dict(component=spec.name, dtype=dtype, device=device)
    guard, tol = Guard(records, **ctx), spec.tolerance(dtype)
    try:
        cand = guard(0, "construct", spec.make, config_for(case.config, dtype), candidate)
        x, target = (cast(a, dtype) for a in case.inputs)
        before = (x.copy(), target.copy())
        for (call, mode), grad in zip(CALLS, (cast(ref.grads[0], dtype), None)):
            out = guard(call, "forward", cand.forward, x, target, mode=mode)
            records.append(compare("output", out, ref.values[Key(call, "output")], tol, noise=noise_of(Key(call, "output")),
                                   array_only=True, step=call, mode=mode, **ctx))
            gx = guard(call, "backward", *((cand.backward,) if grad is None else (cand.backward, grad)), mode=mode)
            records.append(compare("grad_input", gx, ref.values[Key(call, "grad_input")], tol,
                                   noise=noise_of(Key(call, "grad_input")), array_only=True, step=call, mode=mode, **ctx))
            records.append(compare("input unchanged", x, before[0], EXACT, step=call, mode=mode, **ctx))
            records.append(compare("target unchanged", target, before[1], EXACT, step=call, mode=mode, **ctx))
    except CandidateError:
        pass
    return records
