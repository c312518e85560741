"""The torch side of a side-by-side training run: adapters so ``scratch.train.fit`` drives a torch
model with NumPy batches, exactly as it drives a scratch model.

- ``TorchModel(module)``: ``forward(x: ndarray) -> ndarray`` keeps the autograd graph;
  ``backward(grad_y: ndarray) -> grad_x`` runs ``y.backward(grad_y)``, so the module's
  ``param.grad`` accumulate as torch does; ``named_parameters()`` yields views whose ``.data``
  and ``.grad`` are NumPy arrays (for the update-to-weight ratio); ``state_dict()`` and
  ``load_state_dict()`` speak NumPy (scratch's names and layouts are torch's).
- ``TorchLoss(loss_module)``: ``forward(input, target) -> 0-d ndarray``; ``backward()`` returns
  dL/dinput as NumPy (the input becomes a leaf tensor, so the two graphs chain through NumPy,
  which is exact: nothing is rounded on the way).
- torch's optimizers and schedulers already follow the protocol (``step``, ``zero_grad``,
  ``param_groups``, ``get_last_lr``) and are passed to ``fit`` as they are.
- ``torch_twin(scratch_model)``: the torch module with the same architecture and weights.

The batches come from one ``scratch.data.DataLoader``; its ``export_order()`` feeds a
``ReplayLoader`` for the second side, so both histories can be compared line by line
(``python -m reference.train`` runs the digits MLP on both sides).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

__all__ = ["TorchModel", "TorchLoss", "torch_twin"]


class _ParamView:
    """A torch parameter seen through the scratch protocol: ``.data`` and ``.grad`` as NumPy."""

    def __init__(self, p: torch.nn.Parameter):
        self.tensor = p

    @property
    def data(self) -> np.ndarray:
        return self.tensor.detach().cpu().numpy()

    @property
    def grad(self):
        g = self.tensor.grad
        return None if g is None else g.detach().cpu().numpy()

    @property
    def shape(self):
        return tuple(self.tensor.shape)


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


class TorchModel:
    """A ``torch.nn.Module`` behind the scratch module protocol (NumPy in, NumPy out)."""

    def __init__(self, module: torch.nn.Module, device: str = "cpu"):
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"TorchModel: expected a torch.nn.Module, got {type(module).__name__}")
        self.module, self.device = module.to(device), torch.device(device)
        self._x = self._y = None

    @property
    def training(self) -> bool:
        return self.module.training

    def train(self, mode: bool = True) -> "TorchModel":
        self.module.train(mode)
        return self

    def eval(self) -> "TorchModel":
        return self.train(False)

    def _dtype(self):
        p = next(self.module.parameters(), None)
        return p.dtype if p is not None else torch.get_default_dtype()

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(x), device=self.device)
        if self.module.training:
            self._x = x.clone().requires_grad_(x.is_floating_point())
            self._y = self.module(self._x)
            return _to_numpy(self._y)
        with torch.no_grad():  # eval: no graph, like scratch's eval forward has nothing to backward
            self._x = self._y = None
            return _to_numpy(self.module(x))

    __call__ = forward

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._y is None:
            raise RuntimeError("TorchModel.backward: expected a training-mode forward first")
        g = torch.as_tensor(np.asarray(grad_output), device=self.device, dtype=self._y.dtype)
        if g.shape != self._y.shape:
            raise ValueError(f"TorchModel.backward: expected grad_output of shape {tuple(self._y.shape)}, "
                             f"got {tuple(g.shape)}")
        self._y.backward(g)
        gx = self._x.grad
        self._x = self._y = None  # the graph is used once, like torch's
        return None if gx is None else _to_numpy(gx)

    def named_parameters(self):
        for name, p in self.module.named_parameters():
            yield name, _ParamView(p)

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.module.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        return OrderedDict((k, _to_numpy(v)) for k, v in self.module.state_dict().items())

    def load_state_dict(self, state: dict) -> None:
        current = self.module.state_dict()
        self.module.load_state_dict({k: torch.as_tensor(np.asarray(v), dtype=current[k].dtype, device=current[k].device)
                                     for k, v in state.items()})


class TorchLoss:
    """A torch loss module behind the scratch loss protocol."""

    def __init__(self, loss: torch.nn.Module, device: str = "cpu"):
        self.loss, self.device = loss, torch.device(device)
        self._input = self._value = None

    def forward(self, input: np.ndarray, target: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(input), device=self.device).clone().requires_grad_(True)
        t = torch.as_tensor(np.asarray(target), device=self.device)
        t = t.long() if not t.is_floating_point() else t.to(x.dtype)  # class indices are int64 in torch
        self._input, self._value = x, self.loss(x, t)
        return _to_numpy(self._value)

    __call__ = forward

    def backward(self, grad=None) -> np.ndarray:
        if self._value is None:
            raise RuntimeError("TorchLoss.backward: expected forward first")
        g = None if grad is None else torch.as_tensor(np.asarray(grad), dtype=self._value.dtype, device=self.device)
        self._value.backward(g)
        gx, self._input, self._value = _to_numpy(self._input.grad), None, None
        return gx


def torch_twin(model) -> torch.nn.Module:
    """The torch module with ``model``'s architecture (a scratch ``Sequential`` of registry
    modules, or one such module: the spec whose component is its class builds the twin), dtype
    and weights (copied by name: scratch's ``state_dict`` keys and layouts are torch's)."""
    from reference.registry import specs

    if type(model).__name__ == "Sequential":
        twin = torch.nn.Sequential(*(torch_twin(m) for m in model))
    else:
        spec = next((s for s in specs("module") if s.component is type(model)), None)
        if spec is None:
            known = sorted(s.component.__name__ for s in specs("module"))
            raise TypeError(f"torch_twin: expected a Sequential of {known}, got {type(model).__name__}")
        twin = spec.twin_of(model)
    state = model.state_dict()
    floats = [v.dtype for v in state.values() if np.issubdtype(v.dtype, np.floating)]
    if floats:
        twin = twin.to({np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[floats[0]])
    twin.load_state_dict({k: torch.as_tensor(v.copy()) for k, v in state.items()})
    return twin


def digits_mlp_runs(epochs: int = 20, seed: int = 0, dtype: str = "float64", batch_size: int = 32,
                    lr: float = 1e-3, progress: bool = False) -> dict:
    """The digits MLP (64-128-40-10 ReLU, Adam, cross-entropy) trained by ``scratch.train.fit`` on
    both sides from the same initial weights and batches: a stratified 80/20 train/validation
    split of sklearn's digits, standardization fitted on the training part.
    Returns ``{"scratch": history, "torch": history}`` (pandas DataFrames)."""
    import scratch.nn as snn
    import scratch.optim as so
    from scratch.data import DataLoader, ReplayLoader, StandardScaler, load_digits, train_test_split
    from scratch.train import fit

    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, stratify=y, generator=seed)
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xva = scaler.transform(Xtr).astype(dtype), scaler.transform(Xva).astype(dtype)
    rng = np.random.default_rng(seed)
    model = snn.Sequential(snn.Linear(64, 128, dtype=dtype, generator=rng), snn.ReLU(),
                           snn.Linear(128, 40, dtype=dtype, generator=rng), snn.ReLU(),
                           snn.Linear(40, 10, dtype=dtype, generator=rng))
    twin = torch_twin(model)  # before training: the same initial weights
    kw = dict(epochs=epochs, val_data=(Xva, yva), metrics=["accuracy"], progress=progress)
    loader = DataLoader((Xtr, ytr), batch_size=batch_size, shuffle=True, generator=seed + 1)
    h_scratch = fit(model, snn.CrossEntropyLoss(), so.Adam(list(model.parameters()), lr=lr), loader, **kw)
    h_torch = fit(TorchModel(twin), TorchLoss(torch.nn.CrossEntropyLoss()), torch.optim.Adam(twin.parameters(), lr=lr),
                  ReplayLoader((Xtr, ytr), loader.export_order()), **kw)
    return {"scratch": h_scratch, "torch": h_torch}


def main(argv=None) -> int:
    """``python -m reference.train [--epochs N] [--dtype float32|float64] [--seed S]``: digits MLP, both sides."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m reference.train", description=main.__doc__)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (default 1: a small MLP gains nothing from more, and on a busy "
                        "machine extra threads slow torch down many times)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    runs = digits_mlp_runs(args.epochs, args.seed, args.dtype, progress=True)
    s, t = runs["scratch"], runs["torch"]
    cols = ["train_loss", "val_loss", "val_accuracy"]
    table = s[["epoch", *cols]].join(t[cols].add_suffix("_torch"))
    print(table.to_string(index=False))
    gap = float(np.max(np.abs(s.to_numpy() - t.to_numpy()) / np.maximum(np.abs(t.to_numpy()), 1e-300)))
    print(f"final val accuracy: scratch {s['val_accuracy'].iloc[-1]:.4f}, torch {t['val_accuracy'].iloc[-1]:.4f}; "
          f"largest relative gap over the whole history {gap:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
