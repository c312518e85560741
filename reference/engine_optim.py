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

One more rounding per fused multiply-add. torch's ``add(alpha=)``, ``addcmul`` and ``lerp`` round
x*y + c once; an implementation without an fma (NumPy) rounds x*y first, an error of at most u *
|x*y| (u the unit roundoff) that torch never makes, so torch's own measured rounding need not cover
it where x*y nearly cancels c, or where the trajectory amplifies it. Rounding x*y is multiplying it
by some (1 + d), |d| <= u, and every fused product in torch's optimizers carries a scalar factor
(alpha, value, weight), so the same error is what moving that scalar does. ``measure_trajectory``
therefore runs the twin in float32 four more times per fused scalar, that scalar alone moved to the
next float32 (a relative move of u..2u, the least the float32 run can see): below in every step,
above in every step, and alternately above and below (both phases). One sign throughout is the worst
case for an error that drifts; alternating signs excite the period-2 oscillation Adam-like steps
fall into near an equilibrium, where a constant move only shifts the equilibrium (NAdam, g = grad +
0.01 p cancelling 2000-fold: scratch's parameter left torch's by 20x torch's own float32 rounding,
4x what the constant moves measured). One scalar at a time, because moves of several can cancel.
Each run's gap to float64 counts as rounding, with the same factor K; ``spec.fused_scalars`` names
the scalars. Where torch's float32 result, or one of the moved runs, is NaN and the float64 run on
the same data is not (RMSprop's centered variance, square_avg - grad_avg^2, cancelled below zero by
rounding: under a constant gradient it is ~2^-t of square_avg), rounding decides whether the element
is defined at all, and its value from then on is rounding's choice: the noise there is infinite. Not
covered: the step or two before that, where scratch's extra rounding can make the variance exactly 0
(a step of lr * g / eps) while torch's stays positive (alpha 0.5, 30 identical gradients: 2 steps of
30 fail). Products with a constant factor are covered through their operands: Adagrad's ``addcmul(g,
g, value=1)`` cannot cancel (sum, g*g >= 0), RMSprop's ``square_avg.addcmul(grad_avg, grad_avg,
value=-1)`` cancels as the variance does, which moving 1 - alpha reaches.
"""

from __future__ import annotations

import dataclasses
import traceback

import numpy as np
import torch

from reference.compare import Record, compare, failed_record
from reference.convert import cast, strict_precision, to_numpy, to_torch
from reference.engine import EXACT, Trace, _perturb, measure, rounding_noise
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
                          round_to: str | None = None, before_step=None) -> Trace:
    """Run torch's optimizer (and scheduler) over the case's gradient sequence; record everything.
    ``before_step(opt, t)``, if given, runs before step t (it may change the groups' values)."""
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
        if before_step is not None:
            before_step(opt, t)
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
    ref, noise_of = measure_trajectory(spec, case, dtype, device)
    return _replay(spec, case, dtype, device, candidate, ref, noise_of)


def measure_trajectory(spec: Spec, case: Case, dtype: str, device: str):
    """``reference.engine.measure`` for a trajectory, plus, where ``spec.fused_scalars`` is set,
    the gap to float64 (same data) of float32 runs with one fused product's scalar moved to a
    float32 neighbour (see the module docstring), as rounding with the same factor K."""
    ref, noise_of = measure(trace_trajectory_twin, spec, case, dtype, device)
    if spec.fused_scalars is None:
        return ref, noise_of
    with strict_precision():
        same = trace_trajectory_twin(spec, case, "float64", device, round_to="float32")
        pairs = [(trace_trajectory_twin(spec, case, "float32", device, before_step=move), same)
                 for name, complement in spec.fused_scalars(case.config).items()
                 for move in _moves(spec, case, name, complement)]
    def noise(key):
        out = np.maximum(noise_of(key), rounding_noise(key, pairs, dtype))
        if dtype == "float32" and key in same.values:  # a NaN of torch's float32 rounding, not of the data
            nan32 = np.isnan(ref.values[key])
            for t32, _ in pairs:
                nan32 = nan32 | np.isnan(t32.values.get(key, 0.0))
            made = nan32 & ~np.isnan(same.values[key])
            out = np.where(made, np.inf, out) if made.any() else out
        return out
    return ref, noise


def _moves(spec: Spec, case: Case, name: str, complement: bool) -> list:
    """``before_step`` functions that set the scalar ``name`` in every group to its float32
    neighbour below (every step), above (every step), or alternately above and below."""
    key = "betas" if name in ("beta1", "beta2") else name
    down, up = (_group_values_of(spec, _moved(case, name, complement, u), key) for u in (False, True))

    def pattern(choose):
        def before_step(opt, t):
            for group, low, high in zip(opt.param_groups, down, up):
                group[key] = choose(t, low, high)
        return before_step
    return [pattern(lambda t, lo, hi: lo), pattern(lambda t, lo, hi: hi),
            pattern(lambda t, lo, hi: hi if t % 2 else lo), pattern(lambda t, lo, hi: lo if t % 2 else hi)]


def _group_values_of(spec: Spec, case: Case, key: str) -> list:
    """Each parameter group's ``key`` in torch's optimizer built from ``case`` (defaults filled in)."""
    params = [torch.zeros(1, requires_grad=True) for _ in case.inputs]
    return [g[key] for g in spec.twin(_groups(case, params), **case.config).param_groups]


def _neighbour(value, up: bool, complement: bool):
    """The value whose factor (value, or 1 - value) is the float32 next to the factor's own
    float32, above or below; factors 0 and 1 stay (the product is then 0 or exact)."""
    factor = 1 - value if complement else value
    if factor in (0, 1):
        return value
    moved = float(np.nextafter(np.float32(factor), np.float32(np.inf if up else -np.inf)))
    return 1 - moved if complement else moved


def _moved(case: Case, name: str, complement: bool, up: bool) -> Case:
    """The case with the scalar ``name`` moved (``_neighbour``) in the config and in every group."""
    def move(d: dict) -> dict:
        if name in ("beta1", "beta2") and "betas" in d:
            i = ("beta1", "beta2").index(name)
            betas = list(d["betas"])
            betas[i] = _neighbour(betas[i], up, complement)
            return {**d, "betas": tuple(betas)}
        return {**d, name: _neighbour(d[name], up, complement)} if name in d else d
    groups = case.extra.get("groups")
    extra = dict(case.extra, groups=[move(g) for g in groups]) if groups else case.extra
    return dataclasses.replace(case, config=move(case.config), extra=extra)


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
