"""Learning rates: the divergence threshold of gradient descent, and an lr sweep on an MLP.

1. Threshold. Gradient descent on f(x) = 1/2 x^T H x (H symmetric positive definite) is
   x <- (I - lr H) x: each eigencomponent of x is multiplied by (1 - lr lambda_i) per step, so
   GD converges for every start iff lr < 2 / lambda_max. Measured without the eigenvalues:
   ``surfaces.gd_diverges`` runs GD and calls it divergent when ||x_k|| rises over a block of steps
   (for a converging lr no component grows, so the norm never rises), and ``bisect_threshold``
   bisects lr on that verdict, for the Hessians of ``surfaces.hessians``. Table ``threshold``: measured vs 2 / lambda_max per Hessian, and
   scratch.optim.SGD vs torch.optim.SGD at 0.98x and 1.02x the measured lr (loss after / before).
2. MLP sweep. A 64-32-10 ReLU MLP on digits (scratch.data.load_digits, standardized, 75/25
   stratified split), 100 iterations of SGD or Adam (batch 64) per lr, scratch and torch from the
   same weights on the same batches. Grid: lrs log-spaced over 1e-1..1e-5; random search:
   log-uniform lrs on the same interval, seeded, the same number of trials. Each (optimizer, lr,
   seed) is one task of ``ctx.map`` (joblib: local processes by default, a Dask or Ray cluster by
   the --backend option). Main table: every run. Table ``budget``: best validation loss within a
   budget of B trials, grid (B log-spaced lrs) vs random (the first B random lrs), per seed.

Figures: ``loss_vs_lr`` (validation loss after 100 iterations vs lr) and ``threshold`` (loss
after 200 GD steps / initial loss vs lr * lambda_max / 2: the jump sits at 1).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from experiments.context import single_threaded
from experiments.report import Result
from experiments.surfaces import bisect_threshold, hessians

DESCRIPTION = "GD diverges at lr = 2/lambda_max (bisected vs theory); MLP loss vs lr, grid vs random search"
COLUMNS = ["optimizer", "search", "seed", "lr", "iters", "dtype", "train_loss", "val_loss", "val_accuracy",
           "torch_train_loss", "torch_val_loss", "max_abs_diff", "diverged"]
FIGURES = ("loss_vs_lr", "threshold")

REL_TOL = 1e-3   # the check: |measured - 2/lambda_max| / (2/lambda_max) below this for every Hessian
LR_RANGE = (1e-5, 1e-1)
MLP_OPTIMIZERS = {"sgd": ("SGD", {}), "adam": ("Adam", {})}


# ---- 1. the divergence threshold (the kernels gd_diverges, bisect_threshold, hessians: experiments/surfaces.py)
def _sgd_loss_ratio(side: str, H: np.ndarray, x0: np.ndarray, lr: float, steps: int, device: str,
                    optim=None) -> float:
    """f(x_steps) / f(x_0) under scratch.optim.SGD (or ``optim.SGD``) or torch.optim.SGD, gradient H x."""
    f0 = 0.5 * x0 @ H @ x0
    with np.errstate(over="ignore", invalid="ignore"):
        if side == "scratch":
            import scratch.optim
            from scratch.nn import Parameter

            p = Parameter(x0.copy())
            opt = (optim or scratch.optim).SGD([p], lr=lr)
            for _ in range(steps):
                p.grad = H @ p.data
                opt.step()
            x = p.data
        else:
            import torch

            xt = torch.tensor(x0, dtype=torch.float64, device=device, requires_grad=True)
            ht = torch.tensor(H, device=device)  # a copy: H is a read-only cached array
            opt = torch.optim.SGD([xt], lr=lr)
            for _ in range(steps):
                xt.grad = ht @ xt.detach()
                opt.step()
            x = xt.detach().cpu().numpy()
        return float(0.5 * x @ H @ x / f0)


def threshold_row(name: str, steps: int, sgd_steps: int, seed: int, device: str, optim=None) -> dict:
    """One Hessian: measured threshold vs theory, and both SGDs just below and above it (a sweep task;
    ``optim`` replaces the scratch.optim namespace, for the tests)."""
    H = hessians(seed)[name]
    x0 = np.random.default_rng([seed, len(H)]).standard_normal(len(H))
    lam = np.linalg.eigvalsh(H)
    theory = 2.0 / lam[-1]
    with single_threaded():
        return _threshold_row(name, H, x0, lam, theory, steps, sgd_steps, device, optim)


def _threshold_row(name, H, x0, lam, theory, steps, sgd_steps, device, optim) -> dict:
    measured, bracket, runs = bisect_threshold(H, x0, steps)
    row = dict(hessian=name, dim=len(H), lambda_min=lam[0], lambda_max=lam[-1], theory=theory, measured=measured,
               rel_diff=(measured - theory) / theory, bracket=bracket, gd_runs=runs, gd_steps=steps)
    for tag, factor in (("below", 0.98), ("above", 1.02)):
        for side in ("scratch", "torch"):
            row[f"{side}_ratio_{tag}"] = _sgd_loss_ratio(side, H, x0, factor * measured, sgd_steps, device, optim)
    row["passed"] = bool(abs(row["rel_diff"]) < REL_TOL and row["scratch_ratio_below"] < 1 < row["scratch_ratio_above"]
                         and row["torch_ratio_below"] < 1 < row["torch_ratio_above"])
    return row


def _threshold_figure(seed: int, steps: int = 200):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    scale = np.linspace(0.9, 1.1, 161)
    for name, H in hessians(seed).items():
        lr = scale * 2.0 / np.linalg.eigvalsh(H)[-1]
        x0 = np.random.default_rng([seed, len(H)]).standard_normal(len(H))
        X = np.repeat(x0[:, None], len(lr), axis=1)
        for _ in range(steps):  # every lr at once: one column each
            X = X - (H @ X) * lr
        ratio = np.einsum("ij,ij->j", X, H @ X) / (x0 @ H @ x0)
        ax.semilogy(scale, ratio, label=name)
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel("lr * lambda_max / 2")
    ax.set_ylabel(f"f(x_{steps}) / f(x_0)")
    ax.set_title("gradient descent on 1/2 x^T H x: divergence starts at lr = 2 / lambda_max")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---- 2. the MLP lr sweep --------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _digits(dtype: str, data_seed: int):
    from scratch.data import StandardScaler, load_digits, train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.25, stratify=y, generator=data_seed)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr).astype(dtype), sc.transform(Xva).astype(dtype), ytr, yva


def _batches(n: int, batch: int, iters: int, seed: int) -> list[np.ndarray]:
    """``iters`` index batches: consecutive blocks of seeded permutations (one per epoch)."""
    rng = np.random.default_rng([seed, 1])
    order = np.concatenate([rng.permutation(n) for _ in range(-(-iters * batch // n))])
    return [order[i * batch:(i + 1) * batch] for i in range(iters)]


def train_mlp(optimizer: str, lr: float, seed: int, dtype: str, iters: int, device: str, search: str,
              data_seed: int = 0) -> dict:
    """One run, scratch and torch from the same weights on the same batches (a sweep task)."""
    with single_threaded():
        return _train_mlp(optimizer, lr, seed, dtype, iters, device, search, data_seed)


def _train_mlp(optimizer, lr, seed, dtype, iters, device, search, data_seed) -> dict:
    import torch

    import scratch.nn as snn
    import scratch.optim
    from reference.train import torch_twin

    Xtr, Xva, ytr, yva = _digits(dtype, data_seed)
    model = snn.Sequential(snn.Linear(64, 32, dtype=dtype, generator=np.random.default_rng([seed, 1])), snn.ReLU(),
                           snn.Linear(32, 10, dtype=dtype, generator=np.random.default_rng([seed, 2])))
    twin = torch_twin(model).to(device)
    cls, kw = MLP_OPTIMIZERS[optimizer]
    s_opt = getattr(scratch.optim, cls)(list(model.parameters()), lr=lr, **kw)
    t_opt = getattr(torch.optim, cls)(twin.parameters(), lr=lr, **kw)
    s_loss, t_loss = snn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    xt_all, yt_all = torch.as_tensor(Xtr, device=device), torch.as_tensor(ytr, device=device)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for idx in _batches(len(ytr), 64, iters, seed):
            s_opt.zero_grad()
            s_loss.forward(model(Xtr[idx]), ytr[idx])
            model.backward(s_loss.backward())
            s_opt.step()
            t_opt.zero_grad()
            t_loss(twin(xt_all[idx]), yt_all[idx]).backward()
            t_opt.step()
        model.eval()
        out = {}
        for split, X, y in (("train", Xtr, ytr), ("val", Xva, yva)):
            logits = model(X)
            out[f"{split}_loss"] = float(s_loss.forward(logits, y))
            with torch.no_grad():
                out[f"torch_{split}_loss"] = float(t_loss(twin(torch.as_tensor(X, device=device)),
                                                          torch.as_tensor(y, device=device)))
            if split == "val":
                out["val_accuracy"] = float(np.mean(np.argmax(logits, axis=1) == y))
    diff = max(abs(out["train_loss"] - out["torch_train_loss"]), abs(out["val_loss"] - out["torch_val_loss"]))
    return dict(optimizer=optimizer, search=search, seed=seed, lr=lr, iters=iters, dtype=dtype,
                train_loss=out["train_loss"], val_loss=out["val_loss"], val_accuracy=out["val_accuracy"],
                torch_train_loss=out["torch_train_loss"], torch_val_loss=out["torch_val_loss"],
                max_abs_diff=diff, diverged=not np.isfinite(out["val_loss"]))


def grid_lrs(budget: int) -> np.ndarray:
    """``budget`` lrs log-spaced from 1e-1 down to 1e-5 (3 and 5 are subsets of 9)."""
    return np.logspace(np.log10(LR_RANGE[1]), np.log10(LR_RANGE[0]), budget)


def random_lrs(budget: int, seed: int, optimizer: str, base_seed: int = 0) -> np.ndarray:
    """``budget`` log-uniform lrs on LR_RANGE, seeded by (base seed, run seed, optimizer)."""
    rng = np.random.default_rng([base_seed, seed, list(MLP_OPTIMIZERS).index(optimizer), 7])
    return 10.0 ** rng.uniform(np.log10(LR_RANGE[0]), np.log10(LR_RANGE[1]), budget)


def budget_table(runs: pd.DataFrame, budgets) -> pd.DataFrame:
    """Best validation loss within B trials: grid (its B-point grid) vs random (its first B draws)."""
    rows = []
    for (opt, seed), g in runs.groupby(["optimizer", "seed"], sort=False):
        rnd = g[g["search"] == "random"]  # in draw order
        grid = g[g["search"] == "grid"]
        for b in budgets:
            picks = {"grid": grid[np.isclose(grid["lr"].to_numpy()[:, None], grid_lrs(b)[None, :],
                                             rtol=1e-9).any(axis=1)],
                     "random": rnd.head(b)}
            for method, p in picks.items():
                loss = p["val_loss"].where(np.isfinite(p["val_loss"]), np.inf)  # a diverged run counts as inf
                best = int(np.argmin(loss.to_numpy()))
                rows.append(dict(optimizer=opt, seed=seed, budget=b, method=method, trials=len(p),
                                 best_val_loss=float(loss.iloc[best]), best_lr=float(p["lr"].iloc[best])))
    per_seed = pd.DataFrame(rows)
    out = []
    for (opt, b), g in per_seed.groupby(["optimizer", "budget"], sort=False):
        piv = g.pivot(index="seed", columns="method", values="best_val_loss")
        for method, other in (("grid", "random"), ("random", "grid")):
            m = g[g["method"] == method]
            out.append(dict(optimizer=opt, budget=b, method=method, seeds=len(m),
                            mean_best_val_loss=m["best_val_loss"].mean(), min_best_val_loss=m["best_val_loss"].min(),
                            max_best_val_loss=m["best_val_loss"].max(),
                            median_best_lr=float(np.exp(np.median(np.log(m["best_lr"])))),
                            wins=int((piv[method] < piv[other]).sum())))
    return pd.DataFrame(out)


def _loss_figure(runs: pd.DataFrame):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, len(MLP_OPTIMIZERS), sharey=True)
    finite = runs.loc[np.isfinite(runs["val_loss"]), "val_loss"]
    top = float(finite.max()) * 1.1 if len(finite) else 10.0
    for ax, opt in zip(np.atleast_1d(axes), MLP_OPTIMIZERS):
        d = runs[runs["optimizer"] == opt]
        for seed, g in d[d["search"] == "grid"].groupby("seed"):
            g = g.sort_values("lr")
            ax.plot(g["lr"], g["val_loss"].fillna(top).clip(upper=top), "o-", color="C0", alpha=0.7, ms=4,
                    label="grid" if seed == d["seed"].min() else None)
        r = d[d["search"] == "random"]
        ax.plot(r["lr"], r["val_loss"].fillna(top).clip(upper=top), "^", color="C1", ms=5, alpha=0.8,
                label="random search")
        ax.set_xscale("log")
        ax.set_xlabel("lr")
        ax.set_title(f"{opt}: validation loss after {int(d['iters'].iloc[0])} iterations")
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("cross-entropy (diverged runs at the top)")
    fig.tight_layout()
    return fig


def run(ctx) -> Result:
    q = ctx.quick
    names = list(hessians(ctx.seed))
    th = pd.DataFrame(ctx.map(threshold_row, [(n, 500 if q else 10000, 100 if q else 300, ctx.seed, ctx.device)
                                              for n in names], desc="lr threshold"))
    dtype = "float32" if "float32" in ctx.dtypes else ctx.dtypes[0]
    seeds = range(ctx.seed, ctx.seed + (1 if q else 3))
    budgets = (2, 3) if q else (3, 5, 9)
    iters = 10 if q else 100
    tasks = []
    for opt in MLP_OPTIMIZERS:
        for seed in seeds:
            tasks += [(opt, float(lr), seed, dtype, iters, ctx.device, "grid") for lr in grid_lrs(max(budgets))]
            tasks += [(opt, float(lr), seed, dtype, iters, ctx.device, "random")
                      for lr in random_lrs(max(budgets), seed, opt, ctx.seed)]
    runs = pd.DataFrame(ctx.map(train_mlp, tasks, desc="mlp lr sweep"), columns=COLUMNS)
    budget = budget_table(runs, budgets)
    with single_threaded():
        threshold_figure = _threshold_figure(ctx.seed)
    findings = _findings(th, runs, budget)
    return Result("Learning rates: divergence threshold and MLP lr sweep", runs,
                  tables={"threshold": ("Gradient descent divergence threshold: measured vs 2 / lambda_max", th),
                          "budget": ("Best validation loss within a budget of trials: grid vs random search",
                                     budget)},
                  figures={"loss_vs_lr": _loss_figure(runs), "threshold": threshold_figure},
                  findings=findings, passed=bool(th["passed"].all()))


def _findings(th: pd.DataFrame, runs: pd.DataFrame, budget: pd.DataFrame) -> list[str]:
    w = th.loc[th["rel_diff"].abs().idxmax()]
    out = [f"GD divergence threshold, bisected on {len(th)} Hessians: largest |measured - 2/lambda_max| / "
           f"(2/lambda_max) = {abs(w['rel_diff']):.1e} ({w['hessian']}); scratch and torch SGD both converge at "
           f"0.98x and diverge at 1.02x on {int(th['passed'].sum())} of {len(th)}."]
    for opt, g in runs[runs["search"] == "grid"].groupby("optimizer", sort=False):
        mean = g.groupby("lr")["val_loss"].mean()
        best = mean.idxmin()
        r = runs[runs["optimizer"] == opt]
        w = r.loc[r["max_abs_diff"].idxmax()]
        out.append(f"{opt}: best grid lr {best:.2g} (mean validation loss {mean[best]:.3f} over seeds; "
                   f"{mean.iloc[0]:.3f} at {mean.index[0]:.0e}). Scratch vs torch: largest loss difference "
                   f"{w['max_abs_diff']:.1e} ({w['dtype']}, lr {w['lr']:.2g}), median {r['max_abs_diff'].median():.1e}.")
    b = budget[budget["budget"] == budget["budget"].max()]
    for opt, g in b.groupby("optimizer", sort=False):
        gr, rn = g.set_index("method").loc["grid"], g.set_index("method").loc["random"]
        out.append(f"{opt}, budget {int(gr['budget'])}: grid best {gr['mean_best_val_loss']:.3f} vs random "
                   f"{rn['mean_best_val_loss']:.3f} (mean over {int(gr['seeds'])} seeds; random better on "
                   f"{int(rn['wins'])}, grid on {int(gr['wins'])}).")
    return out
