"""What ``bench`` times: pairs of zero-argument callables (scratch, torch) doing the
same work on the same data. Components come from the registry, so a new layer or
loss is benchmarked without touching this file (at its default size until its spec
gets a ``bench`` case)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import torch

import scratch.nn as snn
import scratch.optim as sopt
from reference.convert import to_torch
from reference.engine.losses import config_for
from reference.registry import specs

SIZES = (784, 128, 40, 10)
MLP_WEIGHTS = sum(a * b for a, b in zip(SIZES, SIZES[1:]))  # 105,872 weights (+ 178 biases = 106,050 parameters)


def build_mlp(ns, sizes=SIZES):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [ns.Linear(a, b), ns.ReLU()]
    return ns.Sequential(*layers[:-1])


def mlp_pair_models(dtype: str, hidden: int | None = None, seed: int = 0):
    """The scratch MLP and its torch twin with identical weights."""
    sizes = SIZES if hidden is None else (784, hidden, 40, 10)
    torch.manual_seed(seed)
    t = build_mlp(torch.nn, sizes).to(getattr(torch, dtype))
    s = build_mlp(snn, sizes)
    s.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    s.to(np.dtype(dtype))
    return s, t


def mlp_step_pair(dtype: str, batch: int, device: str = "cpu", hidden: int | None = None, seed: int = 0):
    """One Adam training step with cross-entropy on a fixed random batch, each side."""
    s, t = mlp_pair_models(dtype, hidden, seed)
    t = t.to(device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 784)).astype(dtype)
    y = rng.integers(0, 10, batch)
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    loss, s_opt = snn.CrossEntropyLoss(), sopt.Adam(list(s.parameters()), lr=1e-3)
    t_opt = torch.optim.Adam(t.parameters(), lr=1e-3)

    def scratch_step():
        s_opt.zero_grad()
        loss.forward(s(x), y)
        s.backward(loss.backward(), input_grad=False)  # the data needs no gradient (torch: no requires_grad)
        s_opt.step()

    def torch_step():
        t_opt.zero_grad()
        torch.nn.functional.cross_entropy(t(xt), yt).backward()
        t_opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    return scratch_step, torch_step


def component_pairs(dtype: str, quick: bool = False):
    """(name, scratch fn, torch fn): forward+backward of every registry layer and loss on its
    spec's ``bench`` case (its default case, named as such, where a spec has none)."""
    for spec in specs("module") + specs("loss"):
        case = spec.bench() if spec.bench is not None else spec.default_case()
        name = spec.name if spec.bench is not None else f"{spec.name} (default size)"
        yield (name, *_pair(spec, case, dtype))


def _pair(spec, case, dtype):
    cfg = case.config
    x = case.inputs[0].astype(dtype)
    xt = to_torch(x, dtype, requires_grad=True)
    if spec.kind == "loss":
        cand, twin = spec.make(config_for(cfg, dtype)), spec.twin(**config_for(cfg, dtype, "cpu"))
        t = case.inputs[1]
        t = t.astype(dtype) if np.issubdtype(t.dtype, np.floating) else t
        tt = to_torch(t, dtype)
        return (lambda: (cand.forward(x, t), cand.backward()),
                lambda: twin(xt, tt).backward())
    cand = spec.make(cfg).to(np.dtype(dtype))
    twin = spec.twin(**cfg).to(getattr(torch, dtype))
    g = np.random.default_rng(1).standard_normal(np.shape(cand(x))).astype(dtype)
    gt = torch.from_numpy(g)
    return (lambda: (cand(x), cand.backward(g)),
            lambda: twin(xt).backward(gt))


def optimizer_pairs(dtype: str, size: int):
    """(name, scratch step, torch step) for every registry optimizer on one parameter of ``size``."""
    from scratch.nn import Parameter

    r = np.random.default_rng(0)
    w, g = r.standard_normal(size).astype(dtype), r.standard_normal(size).astype(dtype)
    for spec in specs("optimizer"):
        cfg = dict(spec.default_case().config)
        p = Parameter(w.copy())
        p.grad = g.copy()
        tp = torch.tensor(w.copy(), requires_grad=True)
        tp.grad = torch.from_numpy(g.copy())
        s, t = spec.component([p], **cfg), spec.twin([tp], **cfg)
        yield spec.name, s.step, t.step


def memory_rows(quick: bool) -> list[dict]:
    """Peak resident memory (MB above the baseline after imports and data) of one
    training epoch of the MLP, each side in a fresh process."""
    n = 2048 if quick else 16384
    rows = []
    for side in ("scratch", "torch"):
        out = subprocess.run([sys.executable, "-m", "experiments.bench_memory", side, str(n), "128"],
                             capture_output=True, text=True, timeout=600, check=True)
        rows.append(dict(side=side, samples=n, batch=128, **json.loads(out.stdout.strip().splitlines()[-1])))
    return rows
