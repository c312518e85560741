"""Sanity checks before training (Karpathy's recipe), scratch vs torch, on the 8x8 digits:
a 64-128-40-10 ReLU MLP, cross-entropy, Adam, inputs standardized with the training split's
mean and std (``scratch.data.StandardScaler``).

1. Initial loss. With tiny weights (W ~ N(0, 1e-3^2), b = 0) the logits z are ~1e-7, softmax is
   uniform, and the cross-entropy is ln C = ln 10 = 2.302585 up to its first-order term, the
   mean over samples of (mean_c z_c - z_y): ~1e-8. The main table
   gives both sides' loss on the whole training split and its relative difference from ln 10;
   the default init (torch's Linear: U(+-1/sqrt(fan_in))) is listed beside it for contrast.
2. Overfitting a tiny set: 5 fixed mini-batches of 20 training samples, cycled with Adam (lr
   1e-3), until all 100 are classified correctly (checked after every step); a working
   model/loss/optimizer must get there. Table ``overfit``: steps needed on each side.
3. Update-to-weight ratio ||W_after - W_before|| / ||W_before|| per weight matrix per step over
   the first epoch (batch 32), for Adam lr 1e-4, 1e-3, 1e-2; near 1e-3 is the usual healthy
   value. Adam's first step moves every weight with a non-zero gradient by almost exactly lr
   (m/sqrt(v) = sign(g) at t = 1), so the first ratio is about lr / rms(W): lr / 1e-3 for the
   tiny init, lr * sqrt(3 * fan_in) for the default one. Table ``ratio``: the median per layer.

Both sides start from the same weights (scratch initializes, the torch twin gets a copy
through ``state_dict``) and see the same batches; ``reference.train``'s adapters let one loop
drive both (scratch: ``scratch.optim.Adam``; torch: ``torch.optim.Adam``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

import scratch.nn as snn
import scratch.optim as soptim
from experiments.context import single_threaded
from experiments.report import Result
from reference.convert import np_dtype
from reference.train import TorchLoss, TorchModel, torch_twin
from scratch.data import StandardScaler, load_digits, train_test_split
from scratch.metrics import accuracy_score
from scratch.train import predict, update_ratio

DESCRIPTION = "initial loss = ln C, overfitting 5 mini-batches, update-to-weight ratio per layer (digits MLP)"
COLUMNS = ("dtype", "device", "init", "weight_rms", "loss_scratch", "loss_torch", "ln_C", "rel_diff_scratch",
           "rel_diff_torch", "scratch_vs_torch", "passed")
FIGURES = ("ratio",)
SIZES = (64, 128, 40, 10)
INITS = ("small (std 1e-3)", "default")
SMALL_STD = 1e-3
OVERFIT_LR, OVERFIT_BATCHES, OVERFIT_BATCH, MAX_STEPS = 1e-3, 5, 20, 3000
RATIO_LRS, RATIO_BATCH = (1e-4, 1e-3, 1e-2), 32
# scratch vs torch: float64 agrees to rounding; float32 Adam trajectories drift apart by rounding
# (a weight change of 1e-3 of |W| loses 3 digits to cancellation), measured below 1e-3; 2x that
TOL = {"float64": 1e-9, "float32": 2e-3}
# the initial loss with tiny weights is ln 10 within ~1e-8 (measured 1.5e-8 relative); 1e-6 is
# generous and still fails a loss off by a constant, a missing log-sum-exp term or a log2
LN_C_RTOL = 1e-6


def digits(seed: int, dtype: str, n_train: int | None = None):
    """Standardized digits: (X_train, y_train) in ``dtype`` (stratified 80/20 split, seeded)."""
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, stratify=y, generator=seed)
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    X_train = StandardScaler().fit(X_train).transform(X_train)
    return X_train.astype(np_dtype(dtype)), y_train


def build(init: str, dtype: str, seed: int) -> snn.Sequential:
    """The 64-128-40-10 ReLU MLP; ``small`` draws W ~ N(0, SMALL_STD^2) and b = 0."""
    rng = np.random.default_rng([seed, INITS.index(init)])
    layers = []
    for k, (i, o) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(snn.Linear(i, o, dtype=np_dtype(dtype), generator=rng))
        if k < len(SIZES) - 2:
            layers.append(snn.ReLU())
    model = snn.Sequential(*layers)
    if init.startswith("small"):
        for lin in list(model)[::2]:
            snn.init.normal_(lin.weight, 0.0, SMALL_STD, generator=rng)
            snn.init.zeros_(lin.bias)
    return model


def sides(model: snn.Sequential, lr: float, device: str) -> dict:
    """{"scratch": (model, loss, optimizer), "torch": (...)} from the same weights."""
    twin = torch_twin(model).to(device)
    return {"scratch": (model, snn.CrossEntropyLoss(), soptim.Adam(model.parameters(), lr=lr)),
            "torch": (TorchModel(twin, device), TorchLoss(torch.nn.CrossEntropyLoss(), device),
                      torch.optim.Adam(twin.parameters(), lr=lr))}


def step(model, loss_fn, opt, xb, yb) -> float:
    """One training step through the shared protocol; returns the loss before the update."""
    opt.zero_grad()
    loss = loss_fn.forward(model(xb), yb)
    model.backward(loss_fn.backward())
    opt.step()
    return float(loss)


def weights(model) -> dict:
    """Copies of the weight matrices (biases are left out of the ratio, as usual)."""
    return {n: np.array(p.data, copy=True) for n, p in model.named_parameters() if n.endswith("weight")}


def initial_loss(model, loss_fn, X, y) -> float:
    return float(loss_fn.forward(predict(model, X), y))


def overfit(model, loss_fn, opt, batches) -> tuple[int, float]:
    """Cycle through ``batches`` until every sample in them is classified correctly; returns
    (steps taken, loss of the last step), steps = -1 if MAX_STEPS were not enough."""
    X = np.concatenate([xb for xb, _ in batches])
    y = np.concatenate([yb for _, yb in batches])
    loss = float("nan")
    for k in range(MAX_STEPS):
        loss = step(model, loss_fn, opt, *batches[k % len(batches)])
        if accuracy_score(y, np.argmax(predict(model, X), axis=1)) == 1.0:
            return k + 1, loss
    return -1, loss


def ratios(model, loss_fn, opt, batches) -> dict:
    """Per weight matrix, the update-to-weight ratio of every step over ``batches``."""
    out = {n: [] for n in weights(model)}
    for xb, yb in batches:
        before = weights(model)
        step(model, loss_fn, opt, xb, yb)
        after = weights(model)
        for n in out:
            out[n].append(update_ratio(before[n], after[n]))
    return out


def sanity_task(dtype: str, init: str, seed: int, device: str, n_train: int | None,
                n_batches: int = OVERFIT_BATCHES):
    """Everything for one (dtype, init); seeded by (seed, init) only. ``n_train`` (None: all)
    and ``n_batches`` shrink the run for the quick path."""
    with single_threaded():
        return _sanity(dtype, init, seed, device, n_train, n_batches)


def _sanity(dtype, init, seed, device, n_train, n_batches):
    X, y = digits(seed, dtype, n_train)
    # 1. initial loss on the whole training split
    model = build(init, dtype, seed)
    run = sides(model, OVERFIT_LR, device)
    losses = {s: initial_loss(m, lf, X, y) for s, (m, lf, _) in run.items()}
    rms = float(np.sqrt(np.mean(list(model)[0].weight.data.astype(np.float64) ** 2)))
    ln_c = math.log(SIZES[-1])
    rel = {s: abs(v - ln_c) / ln_c for s, v in losses.items()}
    vs = abs(losses["scratch"] - losses["torch"]) / abs(losses["torch"])
    ok = vs <= TOL[dtype] and (not init.startswith("small") or max(rel.values()) <= LN_C_RTOL)
    main = dict(dtype=dtype, device=device, init=init, weight_rms=rms, loss_scratch=losses["scratch"],
                loss_torch=losses["torch"], ln_C=ln_c, rel_diff_scratch=rel["scratch"], rel_diff_torch=rel["torch"],
                scratch_vs_torch=vs, passed=bool(ok))
    # 2. overfit 5 fixed mini-batches of 20 (a seeded choice of training samples)
    pick = np.random.default_rng([seed, 11]).permutation(len(y))[:n_batches * OVERFIT_BATCH]
    batches = [(X[pick[i:i + OVERFIT_BATCH]], y[pick[i:i + OVERFIT_BATCH]])
               for i in range(0, len(pick), OVERFIT_BATCH)]
    fits = {s: overfit(*run[s], batches) for s in run}
    over = dict(dtype=dtype, device=device, init=init, lr=OVERFIT_LR,
                samples=len(pick), steps_scratch=fits["scratch"][0], steps_torch=fits["torch"][0],
                loss_scratch=fits["scratch"][1], loss_torch=fits["torch"][1],
                passed=bool(fits["scratch"][0] > 0 and fits["torch"][0] > 0))
    # 3. update-to-weight ratio over the first epoch, fresh models from the same init per lr
    perm = np.random.default_rng([seed, 12]).permutation(len(y))
    epoch = [(X[perm[i:i + RATIO_BATCH]], y[perm[i:i + RATIO_BATCH]]) for i in range(0, len(y), RATIO_BATCH)]
    ratio_rows, curves = [], []
    for lr in RATIO_LRS:
        run = sides(build(init, dtype, seed), lr, device)
        r = {s: ratios(*run[s], epoch) for s in run}
        for layer, name in enumerate(r["scratch"], 1):
            a, b = np.array(r["scratch"][name]), np.array(r["torch"][name])
            diff = float(np.max(np.abs(a - b) / np.abs(b)))
            ratio_rows.append(dict(dtype=dtype, device=device, init=init, lr=lr, layer=layer, weight=name,
                                   steps=len(a), first_scratch=a[0], first_torch=b[0],
                                   median_scratch=float(np.median(a)), median_torch=float(np.median(b)),
                                   max_rel_diff=diff, passed=bool(diff <= TOL[dtype])))
            curves.append(dict(dtype=dtype, init=init, lr=lr, layer=layer, ratio=a.tolist()))
    return main, over, ratio_rows, curves


def figure(curves: list[dict], dtype: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4.2))
    axes = fig.subplots(1, len(RATIO_LRS), sharey=True)
    colors = ("tab:blue", "tab:orange", "tab:green")
    for ax, lr in zip(axes, RATIO_LRS):
        for c in curves:
            if c["dtype"] == dtype and c["lr"] == lr:
                style = "--" if c["init"].startswith("small") else "-"
                ax.plot(np.arange(1, len(c["ratio"]) + 1), c["ratio"], style, color=colors[c["layer"] - 1],
                        label=f"layer {c['layer']}, {c['init']}")
        ax.axhline(1e-3, color="k", lw=0.8, ls=":", label="1e-3")
        ax.set_yscale("log")
        ax.set_title(f"Adam lr={lr:g}")
        ax.set_xlabel("step in the first epoch")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("||dW|| / ||W|| (scratch)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Update-to-weight ratio per layer, digits MLP 64-128-40-10, {dtype}")
    return fig


def run(ctx) -> Result:
    # quick: 320 training samples (10 ratio steps instead of 45) and 2 mini-batches to overfit
    n_train, n_batches = (320, 2) if ctx.quick else (None, OVERFIT_BATCHES)
    tasks = [(dtype, init, ctx.seed, ctx.device, n_train, n_batches) for dtype in ctx.dtypes for init in INITS]
    results = ctx.map(sanity_task, tasks, desc="sanity")
    df = pd.DataFrame([r[0] for r in results], columns=list(COLUMNS))
    over = pd.DataFrame([r[1] for r in results])
    ratio = pd.DataFrame([row for r in results for row in r[2]])
    curves = [c for r in results for c in r[3]]
    d0 = ctx.dtypes[0]
    small = df[(df["dtype"] == d0) & (df["init"] == INITS[0])].iloc[0]
    o = over[over["dtype"] == d0]
    rs = ratio[(ratio["dtype"] == d0)]

    def med(init, lr, layer, q="median_scratch"):
        return float(rs[(rs["init"] == init) & (rs["lr"] == lr) & (rs["layer"] == layer)][q].iloc[0])

    findings = [
        f"Initial loss with W ~ N(0, 1e-3^2) ({d0}): scratch {small['loss_scratch']:.9f}, torch "
        f"{small['loss_torch']:.9f}, ln 10 = {math.log(10):.9f} (relative difference "
        f"{max(small['rel_diff_scratch'], small['rel_diff_torch']):.1e}); the default init starts at "
        f"{float(df[(df['dtype'] == d0) & (df['init'] == INITS[1])]['loss_scratch'].iloc[0]):.4f}.",
        f"Overfitting {int(o['samples'].iloc[0])} samples ({d0}, Adam lr {OVERFIT_LR:g}) to 100% training accuracy: "
        + "; ".join(f"{r['init']} init {r['steps_scratch']} steps on scratch, {r['steps_torch']} on torch"
                    for _, r in o.iterrows()) + ".",
        f"Update-to-weight ratio, median over the first epoch, layer 1 (scratch, {d0}): default init "
        + ", ".join(f"lr {lr:g}: {med(INITS[1], lr, 1):.2g}" for lr in RATIO_LRS)
        + f"; tiny init at lr 1e-3 starts at {med(INITS[0], 1e-3, 1, 'first_scratch'):.2g} (= lr / 1e-3) and has "
          f"median {med(INITS[0], 1e-3, 1):.2g}.",
        "Scratch vs torch, largest relative difference of a ratio: "
        + ", ".join(f"{d} {ratio[ratio['dtype'] == d]['max_rel_diff'].max():.2g}" for d in ctx.dtypes) + ".",
    ]
    return Result("Sanity checks: initial loss, overfitting 5 mini-batches, update-to-weight ratio", df,
                  tables={"overfit": ("Overfitting 5 mini-batches of 20 to 100% training accuracy (Adam)", over),
                          "ratio": ("Update-to-weight ratio per layer over the first epoch (Adam)", ratio)},
                  figures={"ratio": figure(curves, d0)}, findings=findings,
                  passed=bool(df["passed"].all() and over["passed"].all() and ratio["passed"].all()))
