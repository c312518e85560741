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
is defined at all, and its value from then on is rounding's choice: the noise there is infinite. Not
covered: the step or two before that, where scratch's extra rounding can make the variance exactly 0
(a step of lr * g / eps) while torch's stays positive (alpha 0.5, 30 identical gradients: 2 steps of
30 fail). Products with a constant factor are covered through their operands: Adagrad's ``addcmul(g,
g, value=1)`` cannot cancel (sum, g*g >= 0), RMSprop's ``square_avg.addcmul(grad_avg, grad_avg,
value=-1)`` cancels as the variance does, which moving 1 - alpha reaches.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from reference.convert import strict_precision
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
    with strict_precision():
        same = trace(spec, case, "float64", device, round_to="float32")
        pairs = [(trace(spec, case, "float32", device, before_step=move), same)
                 for name, complement in spec.fused_scalars(case.config).items()
                 for move in _moves(spec, case, groups, name, complement)]

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
