"""The comparison engine for modules: run a candidate (scratch's class by default)
and its torch twin on the same case, return one Record per compared quantity.

The twin runs first and leaves a ``Trace``: every value it produced, keyed by
``Key(call, kind, name)``, plus the script the candidate replays (parameter values,
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
The allowance per element is measured (``reference.engine.measure``). An exception raised by
the candidate becomes a failed record carrying the traceback.
"""

from __future__ import annotations

import numpy as np
import torch

from reference.compare import Key, Record, compare, failed_record, not_compared
from reference.convert import cast, np_dtype, strict_precision, to_numpy, to_torch, torch_dtype
from reference.engine.local_bounds import local_sum_bounds
from reference.engine.measure import EXACT, CandidateError, Guard, Trace, measure, twin_data
from reference.spec import FIXED_INIT, Case, Spec

ERROR_QUANTITIES = ("construct", "named_parameters", "named_buffers", "set buffer", "train/eval", "sync", "forward",
                    "backward")


def trace_twin(spec: Spec, case: Case, dtype: str, device: str = "cpu", perturb: int = 0,
               round_to: str | None = None, absolute: bool = False, instrument=None) -> Trace:
    """Run the torch twin on ``case`` and record everything it produces. ``perturb``,
    ``round_to`` and ``absolute`` change the data it is given (``measure.twin_data``);
    ``instrument`` = (attach(twin), on_call(call, values)) reads more off the run."""
    tr = Trace()
    rng = np.random.default_rng(case.seed)
    p = twin_data(perturb, round_to, absolute)
    twin = spec.twin(**case.config).to(device=device, dtype=torch_dtype(dtype))
    attach, on_call = instrument or (None, None)
    if attach:
        attach(twin)
    for name, tp in twin.named_parameters():
        tr.init_params[name] = to_numpy(tp).copy()
        value = case.params.get(name)
        value = rng.standard_normal(tuple(tp.shape)) if value is None else np.asarray(value, dtype=np.float64)
        with torch.no_grad():
            tp.copy_(to_torch(p(value), dtype, device))
        tr.params[name] = value
    for name, tb in twin.named_buffers():
        tr.values[Key(0, "buffer", name)] = to_numpy(tb).copy()
    for i, (mode, x) in enumerate(zip(spec.calls, case.inputs)):
        call = i + 1
        twin.train(mode == "train")
        xt = to_torch(p(x) * (spec.sum_input_sign if absolute else 1.0), dtype, device, requires_grad=True)
        tr.sync.append(spec.sync_twin(twin, xt, (case.seed + i) % 2**63) if spec.sync_twin else None)
        with spec.expected_warnings():
            yt = twin(xt.clone())  # clone: an inplace twin must not write into the leaf
        tr.values[Key(call, "output")] = to_numpy(yt).copy()
        g = rng.standard_normal(tuple(yt.shape))
        tr.grads.append(g)
        yt.backward(to_torch(p(g), dtype, device))
        tr.values[Key(call, "grad_input")] = to_numpy(xt.grad).copy()
        for name, tp in twin.named_parameters():
            grad = to_numpy(tp.grad).copy() if tp.grad is not None else np.zeros(tuple(tp.shape), np_dtype(dtype))
            tr.values[Key(call, "grad", name)] = grad
        for name, tb in twin.named_buffers():
            tr.values[Key(call, "buffer", name)] = to_numpy(tb).copy()
        if on_call:
            on_call(call, tr.values)
    return tr


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


def run_module_case(spec: Spec, case: Case, dtype: str = "float64", device: str = "cpu", candidate=None,
                    lenient: bool = False) -> list[Record]:
    """The module engine (see the module docstring); ``lenient`` as in ``engine.run_case``."""
    ref, noise_of = measure(trace_twin, spec, case, dtype, device)
    if spec.local_sums:
        with strict_precision():
            local = local_sum_bounds(trace_twin, spec, case, dtype, device)
        measured = noise_of
        noise_of = lambda key: np.maximum(measured(key), local.get(key, 0.0))  # noqa: E731
    records: list[Record] = []
    replay = _Replay(spec, case, dtype, device, ref, noise_of, records)
    replay.lenient = lenient
    with strict_precision():
        try:
            cand = replay.guard(0, "construct", spec.make, case.config, candidate)
            params = replay.set_up(cand)
            if params is not None:
                replay.calls(cand, params)
        except CandidateError:
            pass
    return records


class _Replay:
    """The candidate's side of a module case, step by step, appending to ``records``."""

    def __init__(self, spec, case, dtype, device, ref: Trace, noise_of, records: list):
        self.spec, self.case, self.dtype, self.ref, self.noise_of = spec, case, dtype, ref, noise_of
        self.records, self.tol = records, spec.tolerance(dtype)
        self.ctx = dict(component=spec.name, dtype=dtype, device=device)
        self.guard = Guard(records, **self.ctx)
        self.ref_buffers = [k.name for k in ref.values if k.step == 0 and k.kind == "buffer"]
        self.lenient = False

    def check(self, key: Key, got, mode: str = "", exact: bool = False):
        tol, noise = (EXACT, 0.0) if exact else (self.tol, self.noise_of(key))
        self.records.append(compare(key.kind, got, self.ref.values[key], tol, noise=noise, array_only=True,
                                    name=key.name, step=key.step, mode=mode, **self.ctx))

    def fail(self, kind: str, note: str, name: str = ""):
        self.records.append(failed_record(kind, note, name=name, **self.ctx))

    def set_up(self, cand) -> dict | None:
        """Parameter names, layouts and fixed initial values; the case's values given to both
        sides; buffer names and initial values. Returns the candidate's parameters (None: stop)."""
        ref, dtype = self.ref, self.dtype
        params = dict(self.guard(0, "named_parameters", lambda: list(cand.named_parameters())))
        if sorted(params) != sorted(ref.params):
            return self.fail("parameter names", f"got {sorted(params)}, expected {sorted(ref.params)}")
        for name, value in ref.params.items():
            if not (hasattr(params[name], "data") and hasattr(params[name], "grad")):
                return self.fail("layout", f"named_parameters() yielded a {type(params[name]).__name__} for "
                                 f"{name!r}: expected a Parameter-like object with writable .data and .grad", name)
            if np.shape(params[name].data) != value.shape:
                return self.fail("layout", f"shape {np.shape(params[name].data)}, expected {value.shape} "
                                 "(torch's layout)", name)
            if FIXED_INIT in self.spec.tags:
                got = np.asarray(params[name].data, dtype=np_dtype(dtype))
                self.records.append(compare("init", got, ref.init_params[name], self.tol, name=name, **self.ctx))
            params[name].data = cast(value, dtype)
        buffers = dict(self.guard(0, "named_buffers", _buffers, cand))
        if self.lenient:  # compare the buffers it has under torch's names; say which it lacks
            for name in [n for n in self.ref_buffers if n not in buffers]:
                self.records.append(not_compared("buffer", f"the candidate has no buffer {name!r}", name=name,
                                                 **self.ctx))
            self.ref_buffers = [n for n in self.ref_buffers if n in buffers]
        elif sorted(buffers) != sorted(self.ref_buffers):
            return self.fail("buffer names", f"got {sorted(buffers)}, expected {sorted(self.ref_buffers)}")
        for name in self.ref_buffers:
            # constructed at its default dtype: compare initial values in the run's dtype
            self.check(Key(0, "buffer", name), cast(np.asarray(buffers[name]), dtype))
            self.guard(0, "set buffer", _set_buffer, cand, name, cast(ref.values[Key(0, "buffer", name)], dtype))
        return params

    def calls(self, cand, params: dict) -> None:
        """Each call of ``spec.calls``: forward, backward, gradients, buffers, inputs untouched."""
        spec, dtype, guard = self.spec, self.dtype, self.guard
        for i, (mode, x) in enumerate(zip(spec.calls, self.case.inputs)):
            call = i + 1
            guard(call, "train/eval", cand.train if mode == "train" else cand.eval, mode=mode)
            xc = cast(x, dtype)
            x_before = xc.copy()
            if spec.sync_candidate is not None:
                guard(call, "sync", spec.sync_candidate, cand, self.ref.sync[i], mode=mode)
            self.check(Key(call, "output"), guard(call, "forward", cand.forward, xc, mode=mode), mode)
            if mode == "eval" and not getattr(cand, "backward_in_eval", True):  # a style's training-only backward
                self.records.append(not_compared("grad_input", "no backward in eval mode", step=call, mode=mode,
                                                 **self.ctx))
            else:
                self.check(Key(call, "grad_input"), guard(call, "backward", cand.backward,
                                                          cast(self.ref.grads[i], dtype), mode=mode), mode)
                for name in self.ref.params:
                    self.check(Key(call, "grad", name), params[name].grad, mode)
            # after backward too: a backward that writes into its cached input must not pass
            self.records.append(compare("input unchanged", xc, x_before, EXACT, step=call, mode=mode, **self.ctx))
            buffers = dict(guard(call, "named_buffers", _buffers, cand, mode=mode))
            for name in self.ref_buffers:
                got = buffers.get(name)
                self.check(Key(call, "buffer", name), None if got is None else np.asarray(got), mode)
