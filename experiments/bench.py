"""bench: scratch (NumPy) vs torch eager on the CPU (and torch on CUDA when asked).

Method: one process, the same thread count for NumPy's BLAS (threadpoolctl) and
torch (set_num_threads), recorded in the table; each measurement is warmed up,
then scratch and torch run interleaved (s, t, s, t, ...) so drift hits both, and
the median of the repeats is reported.
- ``mlp``: one training step (forward, cross-entropy, backward, Adam step) of the
  784-128-40-10 ReLU MLP, batch 1..4096, float32 and float64: times, ratio, GFLOP/s
  (6 * B * weights: forward 2, backward 4 multiply-adds per weight and sample) and
  that as a fraction of the GEMM peak measured in the same run (a large GEMM).
- ``components``: forward+backward of every registry layer and loss at a mid-size shape.
- ``optimizers``: one step of every registry optimizer on 1M and 10M float32 parameters
  and 1M float64 ones.
- ``growth``: step time vs batch size and vs hidden width, with fitted exponents.
- ``memory``: peak resident memory of one training epoch, each side in its own process.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from experiments import bench_cases as BC
from experiments.context import single_threaded
from experiments.report import Result

DESCRIPTION = "speed: scratch vs torch eager per MLP training step, component, optimizer step; growth; memory"
COLUMNS = ("dtype", "batch", "scratch_ms", "torch_ms", "ratio", "scratch_gflops", "fraction_of_peak", "threads")
FIGURES = ("mlp",)
# One thread for NumPy's BLAS and for torch: on a 2-core machine two thread pools that spin-wait
# between calls contend when scratch and torch run interleaved (measured: torch's float32 step at
# batch 4096 took 105 ms with 2 threads, 24 ms with 1), which would bias every ratio.
THREADS = 1


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def interleaved(fns: dict, warmup: int = 2, repeats: int = 7, budget_s: float = 1.0) -> dict:
    """Median seconds per call of each fn, measured in turns after ``warmup`` calls each.
    Fast functions are called in inner loops so one sample lasts about a millisecond."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    inner = {}
    for name, fn in fns.items():
        one = min(timed(fn, 2))
        inner[name] = max(1, min(1000, int(1e-3 / max(one, 1e-9))))
    samples = {name: [] for name in fns}
    start = time.perf_counter()
    for r in range(repeats):
        for name, fn in fns.items():
            n = inner[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
        if r >= 2 and time.perf_counter() - start > budget_s * len(fns):
            break
    return {name: float(np.median(v)) for name, v in samples.items()}


def gemm_peak(dtype: str, n: int) -> float:
    """GFLOP/s of an n x n x n GEMM, best of NumPy and torch (the machine's practical peak)."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    ta = torch.from_numpy(a)
    t = interleaved({"np": lambda: a @ a, "torch": lambda: ta @ ta}, warmup=1, repeats=5)
    return 2 * n**3 / min(t.values()) / 1e9


def run(ctx) -> Result:
    with single_threaded(THREADS):
        result = _run(ctx)
    threads = pd.DataFrame(_thread_rows(ctx, 3 if ctx.quick else 9))
    result.tables["threads"] = ("The float32 MLP step at 1 and 2 threads (the same count on both sides)", threads)
    result.findings.append("float32 MLP step by threads: " + ", ".join(
        f"{int(r.threads)} thread{'s' if r.threads > 1 else ''} batch {int(r.batch)}: {r.ratio:.2f}x"
        for r in threads.itertuples()))
    return result


def _thread_rows(ctx, repeats) -> list[dict]:
    """The goal's rows (float32 MLP step, batch 128 and 1024) at 1 and 2 threads for NumPy's BLAS
    and torch alike: a ratio that only held single-threaded would not be an honest speed."""
    rows = []
    for threads in (1, 2):
        with single_threaded(threads):
            for batch in [128] if ctx.quick else [128, 1024]:
                s, t = BC.mlp_step_pair("float32", batch, "cpu", seed=ctx.seed)
                m = interleaved({"scratch": s, "torch": t}, repeats=repeats)
                rows.append(dict(threads=threads, batch=batch, scratch_ms=1e3 * m["scratch"],
                                 torch_ms=1e3 * m["torch"], ratio=m["scratch"] / m["torch"]))
    return rows


def _run(ctx) -> Result:
    quick = ctx.quick
    batches = [1, 32, 128] if quick else [1, 32, 128, 1024, 4096]
    repeats = 3 if quick else 9
    devices = ["cpu"] + (["cuda"] if ctx.device == "cuda" else [])
    rows = []
    peaks = {dt: gemm_peak(dt, 256 if quick else 1024) for dt in ctx.dtypes}
    for dtype in ctx.dtypes:
        for batch in ctx.progress(batches, f"bench mlp {dtype}"):
            for device in devices:
                s, t = BC.mlp_step_pair(dtype, batch, device, seed=ctx.seed)
                m = interleaved({"scratch": s, "torch": t}, repeats=repeats)
                flops = 6 * batch * BC.MLP_WEIGHTS
                rows.append(dict(dtype=dtype, batch=batch, device=f"torch on {device}",
                                 scratch_ms=1e3 * m["scratch"], torch_ms=1e3 * m["torch"],
                                 ratio=m["scratch"] / m["torch"],
                                 scratch_gflops=flops / m["scratch"] / 1e9,
                                 torch_gflops=flops / m["torch"] / 1e9,
                                 fraction_of_peak=flops / m["scratch"] / 1e9 / peaks[dtype],
                                 gemm_peak_gflops=peaks[dtype], threads=THREADS))
    mlp = pd.DataFrame(rows)
    comp = pd.DataFrame(_components(ctx, repeats))
    opt = pd.DataFrame(_optimizers(ctx, repeats))
    growth, exps = _growth(ctx, repeats)
    memory = pd.DataFrame(BC.memory_rows(quick))
    goal = mlp[(mlp["dtype"] == "float32") & mlp["batch"].isin([128, 1024]) & (mlp["device"] == "torch on cpu")]
    findings = [f"MLP step ratio scratch/torch ({dt}, cpu): " +
                ", ".join(f"batch {int(r.batch)}: {r.ratio:.2f}x" for r in mlp[(mlp.dtype == dt) &
                                                                               (mlp.device == "torch on cpu")].itertuples())
                for dt in ctx.dtypes]
    findings += [f"Worst component ratio: {comp.sort_values('ratio').iloc[-1]['component']} "
                f"{comp['ratio'].max():.2f}x; median {comp['ratio'].median():.2f}x." if len(comp) else "no components",
                "Fitted exponents (time ~ size^k): " + ", ".join(f"{k}: {v:.2f}" for k, v in exps.items())]
    if len(goal):
        findings.append(f"Goal (<= 1.0x at batch 128 and 1024, float32): "
                        f"{'met' if (goal['ratio'] <= 1.0).all() else 'not met'} "
                        f"({', '.join(f'{r:.2f}x' for r in goal['ratio'])}).")
    for (dt, size), part in opt.groupby(["dtype", "parameters"]) if len(opt) else []:
        findings.append(f"Optimizer steps ({dt}, {size:.0e} parameters): median {part['ratio'].median():.2f}x, "
                        f"worst {part['ratio'].max():.2f}x ({part.sort_values('ratio').iloc[-1]['optimizer']}).")
    return Result("Speed: scratch vs torch eager", mlp,
                  tables={"components": ("Forward+backward per component (mid-size shapes)", comp),
                          "optimizers": ("One optimizer step", opt),
                          "growth": ("Step time vs batch size and hidden width", growth),
                          "memory": ("Peak memory of one training epoch", memory)},
                  figures={"mlp": _figure(mlp, growth)}, findings=findings)


def _components(ctx, repeats):
    rows = []
    for dtype in ctx.dtypes[:1] if ctx.quick else ctx.dtypes:
        for name, s, t in ctx.progress(list(BC.component_pairs(dtype, quick=ctx.quick)), f"bench components {dtype}"):
            m = interleaved({"scratch": s, "torch": t}, repeats=repeats, budget_s=0.3)
            rows.append(dict(component=name, dtype=dtype, scratch_us=1e6 * m["scratch"], torch_us=1e6 * m["torch"],
                             ratio=m["scratch"] / m["torch"]))
    return rows


def _optimizers(ctx, repeats):
    rows = []
    # float64 at 1M only: its step costs ~2x float32's, and 10M adds nothing the float32 rows do not show
    runs = [("float32", 10**5)] if ctx.quick else [("float32", 10**6), ("float32", 10**7), ("float64", 10**6)]
    for dtype, size in runs:
        pairs = list(BC.optimizer_pairs(dtype, size))
        for name, s, t in ctx.progress(pairs, f"bench optimizers {dtype} {size:.0e}"):
            m = interleaved({"scratch": s, "torch": t}, warmup=1,
                            repeats=max(3, repeats // 2), budget_s=0.5)
            rows.append(dict(optimizer=name, parameters=size, dtype=dtype, scratch_ms=1e3 * m["scratch"],
                             torch_ms=1e3 * m["torch"], ratio=m["scratch"] / m["torch"]))
    return rows


def _growth(ctx, repeats):
    rows, exps = [], {}
    batches = [32, 128, 512] if ctx.quick else [32, 128, 512, 2048]
    widths = [32, 128] if ctx.quick else [32, 128, 512, 2048]
    for kind, values in (("batch", batches), ("hidden", widths)):
        for v in values:
            batch, hidden = (v, 128) if kind == "batch" else (256, v)
            s, t = BC.mlp_step_pair("float32", batch, "cpu", hidden=hidden, seed=ctx.seed)
            m = interleaved({"scratch": s, "torch": t}, repeats=repeats, budget_s=0.5)
            rows.append(dict(vary=kind, batch=batch, hidden=hidden, scratch_ms=1e3 * m["scratch"],
                             torch_ms=1e3 * m["torch"], ratio=m["scratch"] / m["torch"]))
    df = pd.DataFrame(rows)
    for kind in ("batch", "hidden"):
        g = df[df["vary"] == kind]
        x = np.log(g["batch"] if kind == "batch" else g["hidden"])
        for side in ("scratch", "torch"):
            exps[f"{side} vs {kind}"] = float(np.polyfit(x, np.log(g[f"{side}_ms"]), 1)[0])
    return df, exps


def _figure(mlp, growth):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4))
    ax1, ax2 = fig.subplots(1, 2)
    for (dtype, device), g in mlp.groupby(["dtype", "device"]):
        ax1.plot(g["batch"], g["ratio"], "o-", label=f"{dtype}, {device}")
    ax1.axhline(1.0, color="k", lw=0.8, ls="--")
    ax1.set(xscale="log", xlabel="batch size", ylabel="scratch time / torch time", title="MLP training step")
    ax1.legend()
    for kind, g in growth.groupby("vary"):
        x = g["batch"] if kind == "batch" else g["hidden"]
        ax2.plot(x, g["scratch_ms"], "o-", label=f"scratch, vary {kind}")
        ax2.plot(x, g["torch_ms"], "s--", label=f"torch, vary {kind}")
    ax2.set(xscale="log", yscale="log", xlabel="batch size or hidden width", ylabel="ms per step",
            title="How cost grows (float32)")
    ax2.legend(fontsize=8)
    return fig
