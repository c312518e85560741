"""Initialization statistics: activation and gradient standard deviation per layer of a
10-layer MLP, h_l = f(W_l h_{l-1} + b_l), f = tanh or ReLU, W_l (width, width), b_l = 0,
under four initializations, scratch vs torch.

- small gaussian: W ~ N(0, 0.01^2)                    (std per layer shrinks: vanishing)
- large gaussian: W ~ N(0, 1)                         (ReLU explodes, tanh saturates)
- xavier:  ``xavier_normal_`` (gain 1): std = sqrt(2 / (fan_in + fan_out)) = 1/sqrt(width)
- he:      ``kaiming_normal_(nonlinearity="relu")``: std = sqrt(2 / fan_in)

Mean-field rule behind the numbers: with zero biases, Var(W h) = width * std_W^2 * E[h^2], so
a linear-regime layer multiplies the activation std by sqrt(width) * std_W (0.01 * sqrt(500)
= 0.22 for small gaussian); ReLU halves E[h^2], which He's gain sqrt(2) undoes.

Same weights on both sides: initialized by ``scratch.nn.init`` from a NumPy Generator and
copied into the torch twin (``torch.nn.Linear``/``Tanh``/``ReLU``) through ``state_dict``. The
input is one Gaussian batch x (batch, width); the backward pass starts from one Gaussian
upstream gradient G = dL/dh_10. Per layer l we record the population std (ddof 0) of
h_l (``act_std``), of dL/dh_l (``grad_std``) and of dL/dW_l (``wgrad_std``); the torch side
computes them with torch ops on its own autograd gradients. A row passes when the largest
relative difference of the three is within ``allowed`` = RTOL[dtype] + 3 * noise, where noise
(float32 only, one value per network) is the most float32 rounding alone moves any of torch's
stds: the gap to torch's float64 on the same data, or the change when the input moves by one
float32 rounding, the larger.

Separately, each side initializes its own network (scratch from a NumPy Generator, torch
from a ``torch.Generator``: same formula, different random streams). Table ``own_init``
compares the sample std of every weight with the formula (a row passes within 6 standard
errors of a sample std, 6 / sqrt(2 * width^2)) and the activation std each side's own weights
produce (ratio near 1; not a pass criterion, it differs by sampling noise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

import scratch.nn as snn
from experiments.context import single_threaded
from experiments.init_stats_plot import figure
from experiments.report import Result
from reference.convert import np_dtype, torch_dtype

DESCRIPTION = "std of activations and gradients per layer, 10-layer tanh/ReLU nets, 4 inits, scratch vs torch"
COLUMNS = ("dtype", "device", "activation", "init", "layer", "act_std_scratch", "act_std_torch",
           "grad_std_scratch", "grad_std_torch", "wgrad_std_scratch", "wgrad_std_torch", "max_rel_diff",
           "allowed", "passed")
FIGURES = ("std",)
DEPTH = 10
ACTIVATIONS = ("tanh", "relu")
INITS = ("small gaussian", "large gaussian", "xavier", "he")
QUANTITIES = ("act_std", "grad_std", "wgrad_std")
# allowed = RTOL + K_NOISE * noise, noise measured by ``float32_noise`` (0 in float64). Large-gaussian
# tanh is chaotic (saturated units, derivative 1 - y^2 cancelling), so its float32 noise reaches
# 1e-3: measured rather than guessed. RTOL float32 = 1e-3 covers the rare unit whose pre-activation
# rounds to the other side of ReLU's kink (one flip moves a 250000-entry gradient std by ~1e-4). A wrong formula
# (a factor sqrt(2), a missing gain) moves a std by 40% and more: far outside either bound.
RTOL = {"float64": 1e-9, "float32": 1e-3}
K_NOISE = 3


def formula_std(init: str, fan_in: int, fan_out: int) -> float:
    """The std the formula asks for (hand-derived from torch.nn.init's docs)."""
    return {"small gaussian": 0.01, "large gaussian": 1.0, "xavier": (2.0 / (fan_in + fan_out)) ** 0.5,
            "he": (2.0 / fan_in) ** 0.5}[init]


def init_scratch_(weight, init: str, rng: np.random.Generator):
    """Fill ``weight`` (a Parameter holding an (out, in) array) in place with scratch.nn.init."""
    if init == "small gaussian":
        return snn.init.normal_(weight, 0.0, 0.01, generator=rng)
    if init == "large gaussian":
        return snn.init.normal_(weight, 0.0, 1.0, generator=rng)
    if init == "xavier":
        return snn.init.xavier_normal_(weight, gain=1.0, generator=rng)
    if init == "he":
        return snn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu", generator=rng)
    raise ValueError(f"init: expected one of {INITS}, got {init!r}")


def init_torch_(weight: torch.Tensor, init: str, gen: torch.Generator) -> torch.Tensor:
    """The same formula with torch.nn.init and a torch.Generator."""
    with torch.no_grad():
        if init == "small gaussian":
            return torch.nn.init.normal_(weight, 0.0, 0.01, generator=gen)
        if init == "large gaussian":
            return torch.nn.init.normal_(weight, 0.0, 1.0, generator=gen)
        if init == "xavier":
            return torch.nn.init.xavier_normal_(weight, gain=1.0, generator=gen)
        if init == "he":
            return torch.nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu", generator=gen)
    raise ValueError(f"init: expected one of {INITS}, got {init!r}")


def build_scratch(activation: str, width: int, depth: int, dtype: str) -> snn.Sequential:
    act = {"tanh": snn.Tanh, "relu": snn.ReLU}[activation]
    layers = []
    for _ in range(depth):
        layers += [snn.Linear(width, width, dtype=np_dtype(dtype), generator=0), act()]
    return snn.Sequential(*layers)


def build_torch(activation: str, width: int, depth: int, dtype: str, device: str) -> torch.nn.Sequential:
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]
    layers = []
    for _ in range(depth):
        layers += [torch.nn.Linear(width, width), act()]
    return torch.nn.Sequential(*layers).to(device=device, dtype=torch_dtype(dtype))


def init_network_scratch(net: snn.Sequential, init: str, rng: np.random.Generator) -> None:
    """Weights by ``init``, biases zero (so the std rule above is exact in expectation)."""
    for layer in list(net)[::2]:
        init_scratch_(layer.weight, init, rng)
        snn.init.zeros_(layer.bias)


def copy_to_torch(net: snn.Sequential, twin: torch.nn.Sequential) -> None:
    """The loop over state_dict: scratch's names and layouts are torch's."""
    ref = twin.state_dict()
    twin.load_state_dict({k: torch.as_tensor(v).to(ref[k]) for k, v in net.state_dict().items()})


def stats_scratch(net: snn.Sequential, x: np.ndarray, upstream: np.ndarray) -> dict:
    """Per layer: std of h_l, of dL/dh_l (L = sum(G * h_depth)) and of dL/dW_l, in NumPy."""
    mods = list(net)
    net.zero_grad()
    act_std, h = [], x
    for lin, act in zip(mods[::2], mods[1::2]):
        h = act(lin(h))
        act_std.append(float(np.std(h)))
    grad_std, g = [], upstream
    for lin, act in zip(mods[::2][::-1], mods[1::2][::-1]):
        grad_std.append(float(np.std(g)))  # dL/dh_l, the gradient arriving at layer l's output
        g = lin.backward(act.backward(g))
    wgrad = [float(np.std(lin.weight.grad)) for lin in mods[::2]]
    return {"act_std": act_std, "grad_std": grad_std[::-1], "wgrad_std": wgrad}


def stats_torch(twin: torch.nn.Sequential, x: torch.Tensor, upstream: torch.Tensor) -> dict:
    """The same quantities from torch's forward and autograd (retain_grad on each h_l)."""
    mods = list(twin)
    twin.zero_grad(set_to_none=True)
    hs, h = [], x
    for lin, act in zip(mods[::2], mods[1::2]):
        h = act(lin(h))
        h.retain_grad()
        hs.append(h)
    h.backward(upstream)

    def std(t):
        return float(torch.std(t.detach(), correction=0))

    return {"act_std": [std(h) for h in hs], "grad_std": [std(h.grad) for h in hs],
            "wgrad_std": [std(lin.weight.grad) for lin in mods[::2]]}


def within_sampling(sample_std: float, expected: float, n: int, k: float = 6.0) -> bool:
    """A sample std of n Gaussian draws has relative standard error ~ 1/sqrt(2n): within k of them."""
    return bool(rel_diff(sample_std, expected) <= k / np.sqrt(2.0 * n))


def rel_diff(got: float, expected: float) -> float:
    if got == expected:
        return 0.0
    return abs(got - expected) / abs(expected) if expected != 0 else float("inf")


def float32_noise(net, x, upstream, t32, activation, width, device, seed) -> dict:
    """Per quantity and layer, how much float32 rounding alone moves torch's std: the gap to
    torch in float64 on the same float32 data, and the change when x moves by one float32
    rounding (relative 2^-24, random sign). The second catches what rounding does to a chaotic
    network (large-gaussian tanh amplifies a perturbation several-fold per layer) and to units
    sitting on ReLU's kink."""
    exact = build_torch(activation, width, DEPTH, "float64", device)
    copy_to_torch(net, exact)
    t64 = stats_torch(exact, torch.as_tensor(x.astype(np.float64), device=device),
                      torch.as_tensor(upstream.astype(np.float64), device=device))
    twin = build_torch(activation, width, DEPTH, "float32", device)
    copy_to_torch(net, twin)
    signs = np.random.default_rng([seed, 8]).choice([-1.0, 1.0], size=x.shape)
    x_moved = (x * (1 + signs * 2.0**-24)).astype(np.float32)
    t_moved = stats_torch(twin, torch.as_tensor(x_moved, device=device), torch.as_tensor(upstream, device=device))
    return {q: [max(rel_diff(a, b), rel_diff(a, c)) for a, b, c in zip(t32[q], t64[q], t_moved[q])]
            for q in QUANTITIES}


def compare_task(dtype: str, activation: str, init: str, width: int, batch: int, seed: int, device: str):
    """One (dtype, activation, init): the side-by-side rows and the own-init rows.
    Seeded by its own arguments: the input batch by ``seed``, weights by (seed, activation, init)."""
    with single_threaded():
        return _compare(dtype, activation, init, width, batch, seed, device)


def _compare(dtype, activation, init, width, batch, seed, device):
    key = [seed, ACTIVATIONS.index(activation), INITS.index(init)]
    data_rng = np.random.default_rng([seed, 7])
    x = data_rng.standard_normal((batch, width)).astype(np_dtype(dtype))
    upstream = data_rng.standard_normal((batch, width)).astype(np_dtype(dtype))
    net = build_scratch(activation, width, DEPTH, dtype)
    init_network_scratch(net, init, np.random.default_rng(key))
    twin = build_torch(activation, width, DEPTH, dtype, device)
    copy_to_torch(net, twin)
    s = stats_scratch(net, x, upstream)
    t = stats_torch(twin, torch.as_tensor(x, device=device), torch.as_tensor(upstream, device=device))
    noise = {q: [0.0] * DEPTH for q in QUANTITIES}
    if dtype == "float32":
        noise = float32_noise(net, x, upstream, t, activation, width, device, seed)
    # one allowance per network: every gradient std depends on the whole forward and backward pass
    worst_noise = max(max(v) for v in noise.values())
    rows = []
    for i in range(DEPTH):
        diff = max(rel_diff(s[q][i], t[q][i]) for q in QUANTITIES)
        allowed = RTOL[dtype] + K_NOISE * worst_noise
        rows.append(dict(dtype=dtype, device=device, activation=activation, init=init, layer=i + 1,
                         act_std_scratch=s["act_std"][i], act_std_torch=t["act_std"][i],
                         grad_std_scratch=s["grad_std"][i], grad_std_torch=t["grad_std"][i],
                         wgrad_std_scratch=s["wgrad_std"][i], wgrad_std_torch=t["wgrad_std"][i],
                         max_rel_diff=diff, allowed=allowed, passed=bool(diff <= allowed)))
    # own init: torch draws its own weights from a torch.Generator seeded by the same key
    own = build_torch(activation, width, DEPTH, dtype, device)
    gen = torch.Generator(device=device).manual_seed(int(np.random.default_rng(key).integers(2**62)))
    with torch.no_grad():
        for lin in list(own)[::2]:
            init_torch_(lin.weight, init, gen)
            lin.bias.zero_()
    with torch.no_grad():  # only the forward statistics are compared here
        h, own_act = torch.as_tensor(x, device=device), []
        for lin, act in zip(list(own)[::2], list(own)[1::2]):
            h = act(lin(h))
            own_act.append(float(torch.std(h, correction=0)))
    expected = formula_std(init, width, width)
    own_rows = []
    for i, (ls, lt) in enumerate(zip(list(net)[::2], list(own)[::2])):
        ws, wt = float(np.std(ls.weight.data)), float(torch.std(lt.weight.detach(), correction=0))
        own_rows.append(dict(dtype=dtype, activation=activation, init=init, layer=i + 1, weight_std_formula=expected,
                             weight_std_scratch=ws, weight_std_torch=wt,
                             act_std_scratch_own=s["act_std"][i], act_std_torch_own=own_act[i],
                             act_std_ratio=s["act_std"][i] / own_act[i],
                             passed=within_sampling(ws, expected, width * width)
                             and within_sampling(wt, expected, width * width)))
    return rows, own_rows


def _off(own: pd.DataFrame, side: str) -> float:
    """Largest relative distance of one side's sample weight std from the formula."""
    return float((own[f"weight_std_{side}"] / own["weight_std_formula"] - 1).abs().max())


def _worst(df: pd.DataFrame, dtype: str) -> str:
    w = df[df["dtype"] == dtype].sort_values("max_rel_diff").iloc[-1]
    return f"{w['activation']}, {w['init']}, layer {w['layer']}"


def run(ctx) -> Result:
    width = batch = 64 if ctx.quick else 500
    tasks = [(dtype, a, i, width, batch, ctx.seed, ctx.device) for dtype in ctx.dtypes
             for a in ACTIVATIONS for i in INITS]
    results = ctx.map(compare_task, tasks, desc="init_stats")
    df = pd.DataFrame([r for rows, _ in results for r in rows], columns=list(COLUMNS))
    own = pd.DataFrame([r for _, rows in results for r in rows])
    first = df[df["dtype"] == ctx.dtypes[0]]

    def at(activation, init, layer, q="act_std_scratch"):
        return float(first[(first["activation"] == activation) & (first["init"] == init)
                           & (first["layer"] == layer)][q].iloc[0])

    findings = [
        f"Vanishing: tanh with small gaussian init, activation std {at('tanh', 'small gaussian', 1):.3g} at layer 1 "
        f"and {at('tanh', 'small gaussian', DEPTH):.3g} at layer {DEPTH} (width {width}; the linear-regime "
        f"rule predicts a factor 0.01*sqrt(width) = {0.01 * width ** 0.5:.3g} per layer).",
        f"Exploding: ReLU with large gaussian init, activation std {at('relu', 'large gaussian', DEPTH):.3g} and "
        f"dL/dh_1 std {at('relu', 'large gaussian', 1, 'grad_std_scratch'):.3g} (upstream std 1); He keeps "
        f"ReLU's activation std at {at('relu', 'he', DEPTH):.3g} after {DEPTH} layers, Xavier lets it fall to "
        f"{at('relu', 'xavier', DEPTH):.3g}.",
        "Scratch vs torch, largest relative difference of any std: "
        + ", ".join(f"{d} {df[df['dtype'] == d]['max_rel_diff'].max():.2g} ({_worst(df, d)})" for d in ctx.dtypes)
        + "; a saturated large-gaussian tanh net is chaotic, so float32 rounding alone moves its gradient stds "
        "by about as much (the allowed column).",
        f"Each side's own init (different streams): weight std within {_off(own, 'scratch'):.2g} (scratch) and "
        f"{_off(own, 'torch'):.2g} (torch) of the formula, relative; activation-std ratio scratch/torch in "
        f"[{own['act_std_ratio'].min():.3g}, {own['act_std_ratio'].max():.3g}] (sampling noise, amplified by depth).",
    ]
    return Result(f"Init statistics: std per layer, 10-layer MLP, width {width}, batch {batch}", df,
                  tables={"own_init": ("Each side's own init: weight std vs formula, activation std", own)},
                  figures={"std": figure(first, ACTIVATIONS, INITS)}, findings=findings,
                  passed=bool(df["passed"].all() and own["passed"].all()))
