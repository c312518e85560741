"""Optimizers: the allowance for one more rounding per fused multiply-add.

One more rounding per fused multiply-add. torch's ``add(alpha=)``, ``addcmul`` and ``lerp`` round
x*y + c once; an implementation without an fma (NumPy) rounds x*y first, an error of at most u *
|x*y| (u the unit roundoff) that torch never makes, so torch's own measured rounding need not cover
it where x*y nearly cancels c, or where the trajectory amplifies it. Rounding x*y is multiplying it
by some (1 + d), |d| <= u, and every fused product in torch's optimizers carries a scalar factor
(alpha, value, weight), so the same error is what moving that scalar does. ``measure_fused``
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
is defined at all, and its value from then on is rounding's choice: the noise there is infinite.
Products with a constant factor are covered through their operands: Adagrad's ``addcmul(g, g,
value=1)`` cannot cancel (sum, g*g >= 0). RMSprop's centered ``square_avg.addcmul(grad_avg,
grad_avg, value=-1)`` cancels as the variance does, and moving 1 - alpha cannot reach that: it moves
square_avg and grad_avg^2 together (under a constant gradient the variance stays (1 - a^t) a^t g^2).
The extra rounding of grad_avg^2 (at most u * grad_avg^2 <= u * square_avg) is a move of the state
itself: ``spec.fused_states`` names such states, and four more runs *in the run's dtype* move the
state before every step by u * |state| / decay (at least one ulp; the step multiplies it by the
decay) down, up and alternately, their gap to the unmoved run counting as rounding with factor K.
Under a constant gradient with alpha 0.5 the variance falls below one ulp of square_avg by step ~24
in float32: the moved runs then reach a variance of 0 or NaN, as scratch's unfused one does.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from reference.compare import Key
from reference.convert import cast, strict_precision
from reference.engine.measure import measure, rounding_noise
from reference.spec import Case, Spec


def measure_fused(trace, groups, spec: Spec, case: Case, dtype: str, device: str):
    """``measure.measure`` for a trajectory (``trace``: the twin's trace function, taking
    ``before_step``; ``groups(case, params)``: torch's params argument), plus, where
    ``spec.fused_scalars`` is set, the gap to float64 (same data) of float32 runs with one fused
    product's scalar moved to a float32 neighbour, as rounding with the same factor K."""
    ref, noise_of = measure(trace, spec, case, dtype, device)
    if spec.fused_scalars is None:
        return ref, noise_of
    states = spec.fused_states(case.config) if spec.fused_states else {}
    with strict_precision():
        same = trace(spec, case, "float64", device, round_to="float32")
        pairs = [(trace(spec, case, "float32", device, before_step=move), same)
                 for name, complement in spec.fused_scalars(case.config).items()
                 for move in _moves(spec, case, groups, name, complement)]
        own = [(trace(spec, case, dtype, device, before_step=move), ref)
               for name, decay in states.items() for move in _state_moves(name, decay, dtype)]

    undecided = _cancelled_from(spec, case, same if dtype == "float32" else ref, dtype)

    def noise(key):
        out = np.maximum(noise_of(key), rounding_noise(key, pairs, dtype))
        if own:
            out = np.maximum(out, rounding_noise(key, own, None))  # already in the dtype's units
        first = undecided.get(key.index) if key.kind in ("param", "state") else None
        if first is not None and np.shape(ref.values[key]) == first.shape and np.any(key.step >= first):
            out = np.where(key.step >= first, np.inf, out)  # rounding chose the gradient's sign
        if dtype == "float32" and key in same.values:  # a NaN of torch's float32 rounding, not of the data
            nan32 = np.isnan(ref.values[key])
            for t32, _ in pairs + own:
                nan32 = nan32 | np.isnan(t32.values.get(key, 0.0))
            made = nan32 & ~np.isnan(same.values[key])
            out = np.where(made, np.inf, out) if made.any() else out
        return out
    return ref, noise


def _moves(spec: Spec, case: Case, groups, name: str, complement: bool) -> list:
    """``before_step`` functions that set the scalar ``name`` in every group to its float32
    neighbour below (every step), above (every step), or alternately above and below."""
    key = "betas" if name in ("beta1", "beta2") else name
    down, up = (_group_values_of(spec, _moved(case, name, complement, u), groups, key) for u in (False, True))

    def pattern(choose):
        def before_step(opt, t):
            for group, low, high in zip(opt.param_groups, down, up):
                group[key] = choose(t, low, high)
        return before_step
    return [pattern(lambda t, lo, hi: lo), pattern(lambda t, lo, hi: hi),
            pattern(lambda t, lo, hi: hi if t % 2 else lo), pattern(lambda t, lo, hi: lo if t % 2 else hi)]


def _state_moves(name: str, decay: str, dtype: str) -> list:
    """``before_step`` functions that move the state ``name`` of every parameter by
    max(u * |state| / group[decay], one ulp): down, up, and alternately up and down."""
    u = float(np.finfo(np.float32 if dtype == "float32" else np.float64).eps) / 2

    def pattern(sign_at):
        def before_step(opt, t):
            for group in opt.param_groups:
                for p in group["params"]:
                    state = opt.state.get(p, {})
                    if name in state:
                        s = state[name]
                        ulp = torch.nextafter(s.abs(), torch.full_like(s, np.inf)) - s.abs()
                        s.add_(sign_at(t) * torch.maximum(s.abs() * u / max(group[decay], u), ulp))
        return before_step
    return [pattern(lambda t: -1.0), pattern(lambda t: 1.0),
            pattern(lambda t: 1.0 if t % 2 else -1.0), pattern(lambda t: -1.0 if t % 2 else 1.0)]


def _group_values_of(spec: Spec, case: Case, groups, key: str) -> list:
    """Each parameter group's ``key`` in torch's optimizer built from ``case`` (defaults filled in)."""
    params = [torch.zeros(1, requires_grad=True) for _ in case.inputs]
    return [g[key] for g in spec.twin(groups(case, params), **case.config).param_groups]


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


def _cancelled_from(spec: Spec, case: Case, trace, dtype: str) -> dict:
    """Parameter index -> elementwise first step from which the element is rounding's choice:
    the L2-decayed gradient g = (-)grad + weight_decay * p cancels to within 4u of its terms
    (scratch rounds weight_decay * p, then the sum; torch rounds once). There the sign of g, or
    g = 0 exactly, is rounding's, and an Adam-like step lr * m / sqrt(v) is about lr * sign(g)
    whatever g's size: no smaller allowance can hold. ``trace``: float64 params on the run's data."""
    if "weight_decay" not in spec.fused_scalars(case.config):
        return {}
    u = float(np.finfo(np.float32 if dtype == "float32" else np.float64).eps) / 2
    decay = {i: case.config.get("weight_decay", 0.0) for i in range(len(case.inputs))}
    for group in case.extra.get("groups") or ():
        decay.update({i: group.get("weight_decay", case.config.get("weight_decay", 0.0)) for i in group["params"]})
    sign = -1.0 if case.config.get("maximize") else 1.0
    first = {}
    for t, grads in enumerate(case.steps, 1):
        for i, grad in enumerate(grads):
            if grad is None or not decay[i]:
                continue
            before = case.inputs[i] if t == 1 else trace.values[Key(t - 1, "param", index=i)]
            grad = cast(np.asarray(grad, dtype=np.float64), dtype).astype(np.float64)
            p = cast(np.asarray(before, dtype=np.float64), dtype).astype(np.float64)
            terms = np.abs(grad) + np.abs(decay[i] * p)
            cancelled = (np.abs(sign * grad + decay[i] * p) <= 4 * u * terms) & (terms > 0)
            if cancelled.any():
                seen = first.get(i, np.full(np.shape(p), np.inf))
                first[i] = np.where(cancelled & np.isinf(seen), t, seen)
    return first

