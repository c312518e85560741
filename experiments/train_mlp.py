"""train_mlp: the course's digit classifier trained by ``scratch.train.fit`` on both
sides, scratch and torch, from identical initial weights and identical mini-batches.

Model: input-128-40-10, ReLU, softmax (inside the cross-entropy). Data: scikit-learn's
bundled 8x8 digits (1,797 real images, 64-128-40-10 = 13,890 parameters) by default;
``--mnist DIR`` reads MNIST IDX files (784-128-40-10 = 106,050 parameters;
the course material's 105,898 matches no choice of biases). A stratified
80/20 split; standardization fitted on the training part only.
Per optimizer (sgd, sgd+momentum, nesterov, adagrad, rmsprop, adam) and dtype, per
epoch: train/validation loss and accuracy on both sides, and the largest parameter
deviation between them. Also the course's original variant, MSE on the softmax
outputs against one-hot targets, with Adam, next to cross-entropy.
"Accuracy, R^2 and RMSE as the course defines them": accuracy of the argmax class;
R^2 and RMSE of the predicted class probabilities against the one-hot targets
(all N x C entries pooled), on the validation split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.context import single_threaded
from experiments.report import Result
from scratch.train import Callback

DESCRIPTION = "digits MLP (input-128-40-10) trained by fit with each optimizer, scratch vs torch, same weights and batches"
COLUMNS = ("variant", "dtype", "epoch", "side", "train_loss", "val_loss", "train_accuracy", "val_accuracy",
           "max_param_dev")
FIGURES = ("curves",)

VARIANTS = {  # name -> (optimizer, kwargs, loss)
    "sgd": ("SGD", dict(lr=0.05), "ce"),
    "momentum": ("SGD", dict(lr=0.01, momentum=0.9), "ce"),
    "nesterov": ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True), "ce"),
    "adagrad": ("Adagrad", dict(lr=0.01), "ce"),
    "rmsprop": ("RMSprop", dict(lr=1e-3), "ce"),
    "adam": ("Adam", dict(lr=1e-3), "ce"),
    "adam_mse_softmax": ("Adam", dict(lr=1e-3), "mse"),
}


def load_data(mnist=None, quick=False, seed=0):
    from scratch.data import StandardScaler, load_digits, load_mnist, train_test_split

    if mnist is not None:
        X, y = load_mnist(mnist, split="train")
        X = X.reshape(len(X), -1).astype(np.float64) / 255.0
        n = 2000 if quick else 12000
        X, y = X[:n], y[:n]
    else:
        X, y = load_digits(return_X_y=True)
        if quick:
            X, y = X[:400], y[:400]
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, stratify=y, generator=seed)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xva), ytr, yva


class _Snapshots(Callback):
    """A fit callback that keeps the parameters at the end of every epoch."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, state, row):
        self.states.append({k: np.array(v, dtype=np.float64) for k, v in state.model.state_dict().items()})


def one_run(variant: str, dtype: str, epochs: int, mnist, quick: bool, seed: int, device: str = "cpu") -> pd.DataFrame:
    """Both sides of one (variant, dtype): a long table, one row per (epoch, side)."""
    with single_threaded():  # sweeps run in parallel workers; one thread each
        return _one_run(variant, dtype, epochs, mnist, quick, seed, device)


def _one_run(variant, dtype, epochs, mnist, quick, seed, device):
    import torch

    import scratch.nn as snn
    import scratch.optim as so
    from reference.train import TorchLoss, TorchModel, torch_twin
    from scratch.data import DataLoader, ReplayLoader
    from scratch.train import fit

    Xtr, Xva, ytr, yva = load_data(mnist, quick, seed)
    Xtr, Xva = Xtr.astype(dtype), Xva.astype(dtype)
    opt_name, opt_kw, loss_kind = VARIANTS[variant]
    rng = np.random.default_rng(seed)
    d = Xtr.shape[1]
    layers = [snn.Linear(d, 128, dtype=dtype, generator=rng), snn.ReLU(),
              snn.Linear(128, 40, dtype=dtype, generator=rng), snn.ReLU(),
              snn.Linear(40, 10, dtype=dtype, generator=rng)]
    if loss_kind == "mse":
        layers.append(snn.Softmax(dim=1))
    model = snn.Sequential(*layers)
    n_params = sum(p.data.size for p in model.parameters())
    twin = torch_twin(model)
    if loss_kind == "mse":
        eye = np.eye(10, dtype=dtype)
        s_loss, t_loss = _OneHot(snn.MSELoss(), eye), _OneHot(TorchLoss(torch.nn.MSELoss()), eye)
        metric = [("accuracy", lambda y, out: float(np.mean(out.argmax(1) == y)))]
    else:
        s_loss, t_loss = snn.CrossEntropyLoss(), TorchLoss(torch.nn.CrossEntropyLoss())
        metric = ["accuracy"]
    kw = dict(epochs=epochs, val_data=(Xva, yva), metrics=metric, progress=False, track_update_ratio=False)
    loader = DataLoader((Xtr, ytr), batch_size=32, shuffle=True, generator=seed + 1)
    snaps = [_Snapshots(), _Snapshots()]
    hs = fit(model, s_loss, getattr(so, opt_name)(list(model.parameters()), **opt_kw), loader,
             callbacks=[snaps[0]], **kw)
    tm = TorchModel(twin.to(device), device)
    ht = fit(tm, t_loss, getattr(torch.optim, opt_name)(twin.parameters(), **opt_kw),
             ReplayLoader((Xtr, ytr), loader.export_order()), callbacks=[snaps[1]], **kw)
    dev = [max(float(np.max(np.abs(a[k] - b[k]))) for k in a) for a, b in zip(*(s.states for s in snaps))]
    out = []
    for side, h, m in (("scratch", hs, model), ("torch", ht, tm)):
        h = h.copy()
        h.insert(0, "side", side)
        h.insert(0, "dtype", dtype)
        h.insert(0, "variant", variant)
        h["max_param_dev"] = dev
        h["parameters"] = n_params
        probs = _probs(m, Xva, loss_kind)
        onehot = np.eye(10)[yva]
        h["val_r2_course"] = np.nan
        h["val_rmse_course"] = np.nan
        h.loc[h.index[-1], "val_r2_course"] = _r2(onehot, probs)
        h.loc[h.index[-1], "val_rmse_course"] = float(np.sqrt(np.mean((onehot - probs) ** 2)))
        out.append(h)
    return pd.concat(out, ignore_index=True)


class _OneHot:
    """MSE against one-hot targets: the course's original loss (on softmax outputs)."""

    def __init__(self, loss, eye):
        self.loss, self.eye = loss, eye

    def forward(self, out, y):
        return self.loss.forward(out, self.eye[y])

    def backward(self, grad=None):
        return self.loss.backward(grad)


def _probs(model, X, loss_kind):
    model.eval()
    out = np.asarray(model(X), dtype=np.float64)
    if loss_kind == "mse":
        return out
    e = np.exp(out - out.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _r2(y, p):
    from scratch.metrics import r2_score

    return float(r2_score(y.ravel(), p.ravel()))


def run(ctx) -> Result:
    epochs = 3 if ctx.quick else 20
    variants = ["sgd", "adam", "adam_mse_softmax"] if ctx.quick else list(VARIANTS)
    tasks = [(v, dt, epochs, ctx.mnist, ctx.quick, ctx.seed, ctx.device) for v in variants for dt in ctx.dtypes]
    df = pd.concat(ctx.map(one_run, tasks, desc="train_mlp"), ignore_index=True)
    df = df[list(COLUMNS) + [c for c in df.columns if c not in COLUMNS]]
    last = df[df["epoch"] == df["epoch"].max()]
    summary = last.pivot_table(index=["variant", "dtype"], columns="side",
                               values=["val_accuracy", "val_r2_course", "val_rmse_course"]).reset_index()
    summary.columns = ["_".join(c for c in col if c) for col in summary.columns]
    summary = summary.merge(last.groupby(["variant", "dtype"])["max_param_dev"].max().reset_index(),
                            on=["variant", "dtype"])
    best = summary[summary["dtype"] == ctx.dtypes[0]].sort_values("val_accuracy_scratch").iloc[-1]
    f64 = summary[summary["dtype"] == "float64"]
    findings = [f"Best validation accuracy after {epochs} epochs ({ctx.dtypes[0]}): {best['variant']} "
                f"{best['val_accuracy_scratch']:.4f} (scratch) vs {best['val_accuracy_torch']:.4f} (torch)."]
    if len(f64):
        findings.append(f"Largest parameter deviation scratch vs torch at the end, float64: "
                        f"{f64['max_param_dev'].max():.2g}; float32: "
                        f"{summary[summary['dtype'] == 'float32']['max_param_dev'].max():.2g}.")
    data = "MNIST (784-128-40-10)" if ctx.mnist else "digits (64-128-40-10)"
    return Result(f"Training the course MLP on {data}: scratch vs torch", df,
                  tables={"summary": ("Final epoch: accuracy, R^2 and RMSE (course definitions), deviation", summary)},
                  figures={"curves": _figure(df)}, findings=findings)


def _figure(df):
    from matplotlib.figure import Figure

    d = df[df["dtype"] == df["dtype"].iloc[0]]
    fig = Figure(figsize=(12, 4.5))
    ax1, ax2 = fig.subplots(1, 2)
    colors = {v: f"C{i}" for i, v in enumerate(d["variant"].unique())}
    for (variant, side), g in d.groupby(["variant", "side"]):
        style = dict(ls="-" if side == "scratch" else ":", lw=2.5 if side == "scratch" else 1.5, color=colors[variant])
        ax1.plot(g["epoch"], g["val_loss"], label=f"{variant} ({side})", **style)
        ax2.plot(g["epoch"], g["val_accuracy"], label=f"{variant} ({side})", **style)
    ax1.set(xlabel="epoch", ylabel="validation loss", yscale="log", title="Learning curves (solid scratch, dotted torch)")
    ax2.set(xlabel="epoch", ylabel="validation accuracy")
    ax2.legend(fontsize=7, ncol=2)
    return fig
