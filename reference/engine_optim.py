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
``reference.engine``).
"""

from __future__ import annotations

import traceback

import numpy as np
import torch

from reference.compare import Record, compare, failed_record
from reference.convert import cast, to_numpy, to_torch
from reference.engine import EXACT, Trace, _perturb, measure
from reference.spec import Case, Spec

_CYCLED = ("momentum", "betas")  # group entries a scheduler may change besides lr (OneCycleLR)


def _step(t: int) -> str:
    return f"step {t}"


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
                          round_to: str | None = None) -> Trace:
    """Run torch's optimizer (and scheduler) over the case's gradient sequence; record everything."""
    tr = Trace()
    eps = float(np.finfo(np.float32).eps)

    def p(a):
        a = _perturb(np.asarray(a, dtype=np.float64), eps, perturb) if perturb else np.asarray(a, dtype=np.float64)
        return cast(a, round_to).astype(np.float64) if round_to else a

    params = [to_torch(p(v), dtype, device, requires_grad=True) for v in case.inputs]
    if spec.kind == "scheduler":
        opt_name, opt_kwargs = case.extra["optimizer"]
        opt = getattr(torch.optim, opt_name)(_groups(case, params), **opt_kwargs)
        sched = spec.twin(opt, **case.config)
        tr.values.update({("init", k): v for k, v in _group_values(opt).items()})
    else:
        opt = spec.twin(_groups(case, params), **case.config)
        sched = None
    index = {id(t): i for i, t in enumerate(params)}
    for t, grads in enumerate(case.steps, 1):
        for tp, g in zip(params, grads):
            tp.grad = None if g is None else to_torch(p(g), dtype, device)
        opt.step()
        if sched is not None:
            sched.step()
            tr.values.update({(_step(t), k): v for k, v in _group_values(opt).items()})
        for i, tp in enumerate(params):
            tr.values[(_step(t), f"param:{i}")] = to_numpy(tp).copy()
        for tp, state in opt.state.items():
            for name, v in state.items():
                if isinstance(v, torch.Tensor) or isinstance(v, (int, float)):
                    tr.values[(_step(t), f"state:{index[id(tp)]}:{name}")] = np.array(to_numpy(v), copy=True)
    return tr


def run_trajectory_case(spec: Spec, case: Case, dtype: str = "float64", device: str = "cpu",
                        candidate=None) -> list[Record]:
    ref, noise_of = measure(trace_trajectory_twin, spec, case, dtype, device)
    return _replay(spec, case, dtype, device, candidate, ref, noise_of)


def _as_number(v):
    return np.asarray(v, dtype=np.float64)


def _replay(spec, case, dtype, device, candidate, ref: Trace, noise_of) -> list[Record]:
    from scratch.nn import Parameter

    records: list[Record] = []
    ctx = dict(component=spec.name, dtype=dtype, device=device)

    def guarded(step, quantity, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs), True
        except Exception:
            records.append(failed_record(quantity, "candidate raised:\n" + traceback.format_exc(), step=step, **ctx))
            return None, False

    params = [Parameter(cast(v, dtype)) for v in case.inputs]
    factory = candidate or spec.build or spec.component
    if spec.kind == "scheduler":
        import scratch.optim as sopt

        opt_name, opt_kwargs = case.extra["optimizer"]
        opt = getattr(sopt, opt_name)(_groups(case, params), **opt_kwargs)
        sched, ok = guarded("init", "construct", factory, opt, **case.config)
        if not ok:
            return records
        for key, v in _group_values(opt).items():
            records.append(compare(key, v, ref.values[("init", key)], EXACT, step="init", **ctx))
        stepper = [opt, sched]
    else:
        opt, ok = guarded("init", "construct", factory, _groups(case, params), **case.config)
        if not ok:
            return records
        stepper = [opt]
    for t, grads in enumerate(case.steps, 1):
        step = _step(t)
        tol = spec.tolerance(dtype, t)
        given = [None if g is None else cast(g, dtype) for g in grads]
        for param, g in zip(params, given):
            param.grad = None if g is None else g.copy()
        for obj in stepper:
            _, ok = guarded(step, f"{type(obj).__name__}.step", obj.step)
            if not ok:
                return records
        if spec.kind == "scheduler":
            for key, v in _group_values(opt).items():
                records.append(compare(key, v, ref.values[(step, key)], EXACT, step=step, **ctx))
            lrs, ok = guarded(step, "get_last_lr", sched.get_last_lr)
            if not ok:
                return records
            records.append(compare("get_last_lr", _as_number(lrs), ref.values[(step, "lr")],
                                   EXACT, step=step, **ctx))
        for i, param in enumerate(params):
            key = f"param:{i}"
            records.append(compare(key, param.data, ref.values[(step, key)], tol, noise=noise_of((step, key)),
                                   step=step, **ctx))
            if given[i] is not None:
                records.append(compare("grad unchanged by step", param.grad, given[i], EXACT, step=step, **ctx))
        if spec.kind == "optimizer":
            records += _compare_state(opt, params, ref, step, tol, noise_of, ctx)
    return records


def _compare_state(opt, params, ref: Trace, step, tol, noise_of, ctx) -> list[Record]:
    out = []
    state = getattr(opt, "state", None)
    if state is None:
        return [failed_record("state", "the optimizer has no `state` attribute (a dict keyed by parameter)",
                              step=step, **ctx)]
    for (s, key), expected in ref.values.items():
        if s != step or not key.startswith("state:"):
            continue
        _, i, name = key.split(":", 2)
        got = state.get(params[int(i)], {}).get(name) if hasattr(state, "get") else None
        if got is None:
            out.append(failed_record(key, f"state[{name!r}] missing for parameter {i} (torch has it)", step=step, **ctx))
        elif name == "step":  # torch keeps a float32 (or float64) counter tensor; compare the count
            out.append(compare(key, _as_number(got), _as_number(expected), EXACT, step=step, **ctx))
        else:
            out.append(compare(key, got, expected, tol, noise=noise_of((step, key)), step=step, **ctx))
    return out
