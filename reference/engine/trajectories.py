"""The comparison engine for optimizers and learning-rate schedulers: a trajectory
compared step by step with torch's.

Optimizers (``spec.kind == "optimizer"``): both sides get the same initial
parameters (``Case.inputs``), the same parameter groups (``Case.extra["groups"]``)
and, at each step, the same gradients (``Case.steps``; None leaves ``grad`` None,
so that parameter must be skipped). After every ``step()`` the engine compares
every parameter, every state tensor under torch's state names (``step`` as a
number), and that the candidate left the gradients it was given unchanged.

Schedulers (``spec.kind == "scheduler"``): the scheduler under test drives
scratch's optimizer named in ``Case.extra["optimizer"]`` while torch's scheduler
drives torch's; per step: optimizer.step(), scheduler.step(), then compare
``get_last_lr()`` and the momentum/betas a scheduler cycles *exactly* (torch computes them
in Python floats, so the same formula in the same order gives the same bits), and the parameters.

The allowance for parameters and state after step t is ``spec.tolerance(dtype, t)``
(stated per spec: rounding of a trajectory accumulates with t) plus the measured
rounding of this very trajectory (float32 vs float64 on the same data, as in
``reference.engine.measure``), and the effect of one more rounding per fused multiply-add
(``reference.engine.fused``).
"""

from __future__ import annotations

import numpy as np
import torch

from reference.compare import Key, Record, compare, failed_record, not_compared
from reference.convert import cast, to_numpy, to_torch
from reference.engine.fused import measure_fused
from reference.engine.measure import EXACT, CandidateError, Guard, Trace, twin_data
from reference.spec import Case, Spec

_CYCLED = ("momentum", "betas")  # group entries a scheduler may change besides lr (OneCycleLR)


def _groups(case: Case, params: list) -> list:
    """torch's ``params`` argument: the parameters, or a list of group dicts."""
    groups = case.extra.get("groups")
    if not groups:
        return list(params)
    return [{**{k: v for k, v in g.items() if k != "params"}, "params": [params[i] for i in g["params"]]}
            for g in groups]


def _group_values(opt) -> dict:
    out = {"lr": np.array([float(g["lr"]) for g in opt.param_groups])}
    for key in _CYCLED:
        if all(key in g for g in opt.param_groups):
            out[key] = np.array([np.asarray(g[key], dtype=np.float64) for g in opt.param_groups], dtype=np.float64)
    return out


def trace_trajectory_twin(spec: Spec, case: Case, dtype: str, device: str = "cpu", perturb: int = 0,
                          round_to: str | None = None, absolute: bool = False, before_step=None) -> Trace:
    """Run torch's optimizer (and scheduler) over the case's gradient sequence; record everything.
    ``before_step(opt, t)``, if given, runs before step t (it may change the groups' values)."""
    tr = Trace()
    p = twin_data(perturb, round_to, absolute)
    params = [to_torch(p(np.asarray(v, dtype=np.float64)), dtype, device, requires_grad=True) for v in case.inputs]
    if spec.kind == "scheduler":
        opt_name, opt_kwargs = case.extra["optimizer"]
        opt = getattr(torch.optim, opt_name)(_groups(case, params), **opt_kwargs)
        sched = spec.twin(opt, **case.config)
        tr.values.update({Key(0, k): v for k, v in _group_values(opt).items()})
    else:
        opt = spec.twin(_groups(case, params), **case.config)
        sched = None
    index = {id(t): i for i, t in enumerate(params)}
    for t, grads in enumerate(case.steps, 1):
        for tp, g in zip(params, grads):
            tp.grad = None if g is None else to_torch(p(np.asarray(g, dtype=np.float64)), dtype, device)
        if before_step is not None:
            before_step(opt, t)
        opt.step()
        if sched is not None:
            sched.step()
            tr.values.update({Key(t, k): v for k, v in _group_values(opt).items()})
        for i, tp in enumerate(params):
            tr.values[Key(t, "param", index=i)] = to_numpy(tp).copy()
        for tp, state in opt.state.items():
            for name, v in state.items():
                if isinstance(v, torch.Tensor) or isinstance(v, (int, float)):
                    tr.values[Key(t, "state", name, index[id(tp)])] = np.array(to_numpy(v), copy=True)
    return tr


def run_trajectory_case(spec: Spec, case: Case, dtype: str = "float64", device: str = "cpu",
                        candidate=None, lenient: bool = False) -> list[Record]:
    ref, noise_of = measure_fused(trace_trajectory_twin, _groups, spec, case, dtype, device)
    records: list[Record] = []
    try:
        _replay(spec, case, dtype, device, candidate, ref, noise_of, records, lenient)
    except CandidateError:
        pass
    return records


def _as_number(v):
    return np.asarray(v, dtype=np.float64)


def _build(spec, case, factory, params, guard):
    """The candidate optimizer (or scratch's optimizer under the candidate scheduler): (opt, steppers)."""
    if spec.kind != "scheduler":
        opt = guard(0, "construct", factory, _groups(case, params), **case.config)
        return opt, [opt]
    import scratch.optim as sopt

    opt_name, opt_kwargs = case.extra["optimizer"]
    opt = getattr(sopt, opt_name)(_groups(case, params), **opt_kwargs)
    return opt, [opt, guard(0, "construct", factory, opt, **case.config)]


def _replay(spec, case, dtype, device, candidate, ref: Trace, noise_of, records: list, lenient=False) -> None:
    from scratch.nn import Parameter

    ctx = dict(component=spec.name, dtype=dtype, device=device)
    guard = Guard(records, **ctx)
    params = [Parameter(cast(v, dtype)) for v in case.inputs]
    opt, stepper = _build(spec, case, candidate or spec.build or spec.component, params, guard)
    if spec.kind == "scheduler":
        for key, v in _group_values(opt).items():
            records.append(compare(key, v, ref.values[Key(0, key)], EXACT, **ctx))
    for t, grads in enumerate(case.steps, 1):
        tol = spec.tolerance(dtype, t)
        given = [None if g is None else cast(g, dtype) for g in grads]
        for param, g in zip(params, given):
            param.grad = None if g is None else g.copy()
        for obj in stepper:
            guard(t, f"{type(obj).__name__}.step", obj.step)
        if spec.kind == "scheduler":
            for key, v in _group_values(opt).items():
                records.append(compare(key, v, ref.values[Key(t, key)], EXACT, step=t, **ctx))
            lrs = guard(t, "get_last_lr", stepper[1].get_last_lr)
            records.append(compare("get_last_lr", _as_number(lrs), ref.values[Key(t, "lr")], EXACT, step=t, **ctx))
        for i, param in enumerate(params):
            key = Key(t, "param", index=i)
            records.append(compare("param", param.data, ref.values[key], tol, noise=noise_of(key), index=i, step=t,
                                   **ctx))
            if given[i] is not None:
                records.append(compare("grad unchanged by step", param.grad, given[i], EXACT, index=i, step=t, **ctx))
        if spec.kind == "optimizer":
            records += _compare_state(opt, params, ref, t, tol, noise_of, ctx, lenient)


def _compare_state(opt, params, ref: Trace, t: int, tol, noise_of, ctx, lenient=False) -> list[Record]:
    out = []
    state = getattr(opt, "state", None)
    if state is None and lenient:
        return [not_compared("state", "the optimizer has no `state` attribute", step=t, **ctx)]
    if state is None:
        return [failed_record("state", "the optimizer has no `state` attribute (a dict keyed by parameter)",
                              step=t, **ctx)]
    for key, expected in ref.values.items():
        if key.step != t or key.kind != "state":
            continue
        where = dict(name=key.name, index=key.index, step=t, **ctx)
        got = state.get(params[key.index], {}).get(key.name) if hasattr(state, "get") else None
        if got is None and lenient:
            out.append(not_compared("state", f"state[{key.name!r}] not kept for parameter {key.index}", **where))
        elif got is None:
            out.append(failed_record("state", f"state[{key.name!r}] missing for parameter {key.index} (torch has it)",
                                     **where))
        elif key.name == "step":  # torch keeps a float32 (or float64) counter tensor; compare the count
            out.append(compare("state", _as_number(got), _as_number(expected), EXACT, **where))
        else:
            out.append(compare("state", got, expected, tol, noise=noise_of(key), **where))
    return out
