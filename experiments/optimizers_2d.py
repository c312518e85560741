"""Optimizer trajectories on classic 2-D surfaces, scratch and torch side by side.

For each surface (experiments/surfaces.py: ill-conditioned quadratic, Rosenbrock, a saddle, two
wells) and each optimizer (sgd, sgd + momentum 0.9 and 0.99, nesterov, adagrad, rmsprop, adam),
both sides start from the same point with the same lr (per surface and optimizer, listed in the
table) and take the same number of steps:

- scratch: a 2-vector ``scratch.nn.Parameter``; ``grad`` is the surface's analytic NumPy gradient;
  ``scratch.optim.<Cls>(...).step()``;
- torch: a leaf tensor; ``f_torch(x).backward()`` (autograd on the same formula);
  ``torch.optim.<Cls>(...).step()``.

Autograd and the analytic formula round differently (about one ulp), and so may two correct
optimizers (measured: torch's float64 ``add(alpha=)`` is one fused multiply-add, scratch's rounds
twice, so ~0.25% of float64 updates differ by one ulp); a trajectory that hovers in a narrow valley
amplifies such an ulp step after step. So the check separates the two: torch runs a second time
fed the analytic gradient at its own point (only the optimizers' arithmetic differs), and that
deviation must stay within ``allowed`` = max(K_SENS * sensitivity, FLOOR_ULPS * eps * max|x|),
where ``sensitivity`` is measured: how far the scratch trajectory moves when its start moves by
one ulp. A wrong update (lr off by 0.1%, Adam's eps 1e5 times too large) exceeds it by orders
of magnitude (tests/test_exp_optimizers.py).

Table, one row per (surface, optimizer, dtype): final point and loss, ``steps_to_tol`` (the first
step after which f - f* stays <= TOL to the end of the run; empty when it never does), the
stationary point reached (within 0.05; "none" if none), ``max_dev`` = max over steps and
coordinates of |x_scratch - x_torch| (torch on autograd), ``max_dev_same_grad``, ``sensitivity``,
``allowed``, ``passed``. Figure: the trajectories over the contour plot, one panel per surface
(torch: x markers).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from experiments.context import single_threaded
from experiments.report import Result
from experiments.surfaces import SURFACES, classify

DESCRIPTION = "sgd/momentum/nesterov/adagrad/rmsprop/adam trajectories on 2-D surfaces, scratch vs torch"
COLUMNS = ["surface", "optimizer", "dtype", "lr", "steps", "x_final", "y_final", "loss_final", "steps_to_tol",
           "reached", "max_dev", "max_dev_same_grad", "sensitivity", "allowed", "passed"]
FIGURES = ("trajectories",)

TOL = 1e-4           # f - f* below which a run counts as converged
# scratch vs torch fed the same gradient may differ by at most max(K_SENS x sensitivity, FLOOR_ULPS
# roundings of the trajectory's scale); sensitivity = how far a one-ulp change of the start moves it
K_SENS, FLOOR_ULPS = 10.0, 16.0

# name -> (class name in scratch.optim and torch.optim, constructor kwargs besides lr)
OPTIMIZERS = {
    "sgd": ("SGD", {}),
    "momentum 0.9": ("SGD", {"momentum": 0.9}),
    "momentum 0.99": ("SGD", {"momentum": 0.99}),
    "nesterov 0.9": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
}

# (surface -> steps, {optimizer: lr}); the SGD family shares one lr per surface so momentum's effect
# shows; each lr keeps plain GD stable (quadratic: lambda_max = 20, so lr < 0.1).
SETTINGS = {
    "quadratic": (150, {"sgd": 0.02, "momentum 0.9": 0.02, "momentum 0.99": 0.02, "nesterov 0.9": 0.02,
                        "adagrad": 1.0, "rmsprop": 0.05, "adam": 0.2}),
    "rosenbrock": (1500, {"sgd": 1e-3, "momentum 0.9": 1e-3, "momentum 0.99": 1e-3, "nesterov 0.9": 1e-3,
                          "adagrad": 0.5, "rmsprop": 1e-2, "adam": 5e-2}),
    "saddle": (300, {"sgd": 0.1, "momentum 0.9": 0.1, "momentum 0.99": 0.1, "nesterov 0.9": 0.1,
                     "adagrad": 0.5, "rmsprop": 0.02, "adam": 0.05}),
    "two_well": (300, {"sgd": 0.02, "momentum 0.9": 0.02, "momentum 0.99": 0.02, "nesterov 0.9": 0.02,
                       "adagrad": 0.5, "rmsprop": 0.02, "adam": 0.05}),
}


def _surface(name):
    return next(s for s in SURFACES if s.name == name)


def scratch_trajectory(surface, opt_name: str, lr: float, steps: int, dtype: str, start=None,
                       optim=None) -> np.ndarray:
    """(steps + 1, 2) points visited by the scratch optimizer from ``start`` (default
    ``surface.start``); ``optim`` replaces the ``scratch.optim`` namespace (the tests pass a wrong one)."""
    import scratch.optim
    from scratch.nn import Parameter

    cls, kw = OPTIMIZERS[opt_name]
    p = Parameter(np.array(surface.start if start is None else start, dtype=dtype))
    opt = getattr(optim or scratch.optim, cls)([p], lr=lr, **kw)
    out = np.empty((steps + 1, 2), dtype=dtype)
    out[0] = p.data
    for k in range(1, steps + 1):
        opt.zero_grad()
        p.grad = surface.grad(p.data)
        opt.step()
        out[k] = p.data
    return out


def torch_trajectory(surface, opt_name: str, lr: float, steps: int, dtype: str, device: str = "cpu",
                     autograd: bool = True) -> np.ndarray:
    """(steps + 1, 2) points visited by torch.optim from the same start. Gradients by autograd on
    ``f_torch``, or (``autograd=False``) the analytic NumPy gradient at torch's own point, which
    isolates the optimizer's arithmetic from the gradient's rounding."""
    import torch

    cls, kw = OPTIMIZERS[opt_name]
    x = torch.tensor(surface.start, dtype=getattr(torch, dtype), device=device, requires_grad=True)
    opt = getattr(torch.optim, cls)([x], lr=lr, **kw)
    out = torch.empty((steps + 1, 2), dtype=x.dtype, device=device)
    with torch.no_grad():
        out[0] = x
    for k in range(1, steps + 1):
        x.grad = None  # opt.zero_grad()'s effect (set_to_none), without its per-call profiler overhead
        if autograd:
            surface.f_torch(x).backward()
        else:
            x.grad = torch.as_tensor(surface.grad(x.detach().cpu().numpy()), device=device)
        opt.step()
        with torch.no_grad():
            out[k] = x
    return out.cpu().numpy()


def steps_to_tol(losses: np.ndarray, f_star: float, tol: float = TOL):
    """First step k with losses[j] - f_star <= tol for every j >= k; None if the last one is above."""
    above = ~(np.asarray(losses, dtype=np.float64) - f_star <= tol)  # NaN counts as above
    if above[-1]:
        return None
    idx = np.flatnonzero(above)
    return 0 if idx.size == 0 else int(idx[-1] + 1)


def _max_dev(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| over steps and coordinates; inf where exactly one side is not finite."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore"):
        d = np.where(np.isfinite(a) & np.isfinite(b), np.abs(a - b), np.where(np.isnan(a) & np.isnan(b), 0.0, np.inf))
    return float(d.max())


def rounding_sensitivity(surface, opt_name: str, lr: float, steps: int, dtype: str, reference: np.ndarray,
                         optim=None) -> float:
    """How far the scratch trajectory moves when its start moves by one rounding (one ulp up, then
    one down, in both coordinates): the amplification that per-step rounding differences between
    two correct implementations also get."""
    start = np.array(surface.start, dtype=dtype)
    return max(_max_dev(reference, scratch_trajectory(surface, opt_name, lr, steps, dtype,
                                                      np.nextafter(start, np.array(d, dtype=dtype)), optim))
               for d in (np.inf, -np.inf))


def allowed_deviation(sensitivity: float, scale: float, dtype: str) -> float:
    """K_SENS x the measured sensitivity, at least FLOOR_ULPS roundings of the trajectory's scale."""
    return max(K_SENS * sensitivity, FLOOR_ULPS * float(np.finfo(dtype).eps) * scale)


def run_pair(surface_name: str, opt_name: str, dtype: str, steps: int, device: str, optim=None) -> dict:
    """Every trajectory for one (surface, optimizer, dtype): a sweep task (module level for joblib)."""
    surface = _surface(surface_name)
    lr = SETTINGS[surface_name][1][opt_name]
    with single_threaded(), np.errstate(over="ignore", invalid="ignore"):
        s = scratch_trajectory(surface, opt_name, lr, steps, dtype, optim=optim)
        t = torch_trajectory(surface, opt_name, lr, steps, dtype, device)
        same = torch_trajectory(surface, opt_name, lr, steps, dtype, device, autograd=False)
        sens = rounding_sensitivity(surface, opt_name, lr, steps, dtype, s, optim)
        losses = surface.f(s.T).astype(np.float64)
    final = s[-1].astype(np.float64)
    dev_same = _max_dev(s, same)
    allowed = allowed_deviation(sens, float(np.nanmax(np.abs(s))), dtype)
    row = dict(surface=surface_name, optimizer=opt_name, dtype=dtype, lr=lr, steps=steps, x_final=final[0],
               y_final=final[1], loss_final=losses[-1], steps_to_tol=steps_to_tol(losses, surface.f_star),
               reached=classify(surface, final), max_dev=_max_dev(s, t), max_dev_same_grad=dev_same,
               sensitivity=sens, allowed=allowed, passed=bool(dev_same <= allowed))
    return dict(row=row, scratch=s, torch=t)


def run(ctx) -> Result:
    scale = 30 if ctx.quick else 1
    tasks = [(s.name, o, dtype, max(SETTINGS[s.name][0] // scale, 5), ctx.device)
             for s in SURFACES for o in OPTIMIZERS for dtype in ctx.dtypes]
    results = ctx.map(run_pair, tasks, desc="optimizers_2d")
    df = pd.DataFrame([r["row"] for r in results], columns=COLUMNS)
    df["steps_to_tol"] = df["steps_to_tol"].astype("Int64")
    passed = bool(df["passed"].all())
    shown = "float64" if "float64" in ctx.dtypes else ctx.dtypes[0]
    fig = _figure({(r["row"]["surface"], r["row"]["optimizer"]): r for r in results if r["row"]["dtype"] == shown},
                  grid=81 if ctx.quick else 241, dtype=shown)
    return Result("Optimizer trajectories on 2-D surfaces: scratch vs torch", df,
                  figures={"trajectories": fig}, findings=_findings(df), passed=passed)


def _findings(df: pd.DataFrame) -> list[str]:
    out = []
    for dtype, g in df.groupby("dtype", sort=False):
        w = g.loc[g["max_dev"].idxmax()]
        margin = (g["max_dev_same_grad"] / g["allowed"]).max()
        out.append(f"{dtype}: scratch vs torch (autograd) differ by at most {w['max_dev']:.2g} ({w['optimizer']} on "
                   f"{w['surface']}, {w['steps']} steps; moving its start by one ulp moves that trajectory by "
                   f"{w['sensitivity']:.2g}: amplified rounding, not a bug). Fed the same gradient, "
                   f"{int(g['passed'].sum())} of {len(g)} runs stay within their allowance (largest margin "
                   f"{margin:.2g} of 1).")
    d = df[df["dtype"] == df["dtype"].iloc[0]]
    wells = d[d["surface"] == "two_well"]
    if len(wells):
        glob = ", ".join(wells.loc[wells["reached"] == "global", "optimizer"]) or "none"
        out.append(f"two_well from {_surface('two_well').start}: reached the deep global minimum: {glob}; "
                   f"the others stopped in: " + ", ".join(f"{o} -> {r}" for o, r in
                                                          zip(wells["optimizer"], wells["reached"]) if r != "global") + ".")
    for surf in ("rosenbrock", "quadratic"):
        s = d[d["surface"] == surf]
        if len(s):
            done = s.dropna(subset=["steps_to_tol"]).sort_values("steps_to_tol")
            out.append(f"{surf}: f - f* <= {TOL:g} to the end in " +
                       (", ".join(f"{o} ({n} steps)" for o, n in zip(done["optimizer"], done["steps_to_tol"]))
                        or "no run") + f"; not within {s['steps'].iloc[0]} steps: " +
                       (", ".join(s.loc[s["steps_to_tol"].isna(), "optimizer"]) or "none") + ".")
    return out


def _figure(runs: dict, grid: int = 241, dtype: str = "float64"):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 10.5))
    axes = fig.subplots(2, 2).ravel()
    colors = dict(zip(OPTIMIZERS, ["C0", "C1", "C2", "C3", "C4", "C5", "C6"]))
    for ax, surface in zip(axes, SURFACES):
        X, Y = np.meshgrid(np.linspace(*surface.xlim, grid), np.linspace(*surface.ylim, grid))
        F = surface.f(np.stack([X, Y]))
        levels = np.unique(np.quantile(F, np.linspace(0, 0.9, 24) ** 2))  # dense near the minimum
        ax.contour(X, Y, F, levels=levels, colors="0.75", linewidths=0.6, linestyles="solid")
        for opt in OPTIMIZERS:
            r = runs.get((surface.name, opt))
            if r is None:
                continue
            s, t = r["scratch"], r["torch"]
            thin = opt == "momentum 0.99"  # it rings for a long time; drawn thin so the others stay visible
            ax.plot(s[:, 0], s[:, 1], color=colors[opt], lw=0.7 if thin else 1.4, alpha=0.6 if thin else 1.0,
                    label=f"{opt} (lr {r['row']['lr']:g})")
            every = max(len(t) // 12, 1)
            ax.plot(t[::every, 0], t[::every, 1], "x", color=colors[opt], ms=4)
        for label, (px, py) in surface.points:
            ax.plot(px, py, "k*" if label != "barrier" else "k|", ms=9)
        ax.plot(*surface.start, "ko", ms=5)
        ax.set_xlim(surface.xlim)
        ax.set_ylim(surface.ylim)
        ax.set_title(f"{surface.name} (start {surface.start}, {len(s) - 1} steps)")
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"scratch trajectories (lines) and torch's (x, every 1/12 of the run), {dtype}")
    fig.tight_layout()
    return fig
