"""python -m experiments.bench_memory scratch|torch N BATCH: one training epoch of the
784-128-40-10 MLP (cross-entropy, Adam) on N random samples; prints a JSON line with
the peak resident memory in MB above the baseline taken after imports and data.
The scratch side never imports torch, so each side pays only for itself."""

from __future__ import annotations

import json
import resource
import sys

import numpy as np


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return None


def reset_peak() -> float:
    """Reset the kernel's peak-RSS mark (Linux: write 5 to clear_refs) and return the current RSS in MB.
    ru_maxrss cannot be used: a child inherits its parent's peak across fork and exec."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_mb() -> float:
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(side: str, n: int, batch: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 784), dtype=np.float32)  # no float64 temporary to raise the peak early
    y = rng.integers(0, 10, n)
    sizes = (784, 128, 40, 10)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # bench's thread count, for NumPy's BLAS on both sides
    if side == "scratch":
        import scratch.nn as nn
        import scratch.optim as optim
    else:
        import torch
        from torch import nn, optim
        torch.set_num_threads(1)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    if side == "scratch":
        model.float()
    loss = nn.CrossEntropyLoss()
    opt = optim.Adam(list(model.parameters()), lr=1e-3)
    base = reset_peak()
    for i in range(0, n, batch):
        xb, yb = x[i:i + batch], y[i:i + batch]
        opt.zero_grad()
        if side == "scratch":
            loss.forward(model(xb), yb)
            model.backward(loss.backward(), input_grad=False)
        else:
            loss(model(xb), yb).backward()
        opt.step()
    return dict(baseline_mb=round(base, 1), peak_above_baseline_mb=round(peak_mb() - base, 2),
                torch_imported="torch" in sys.modules)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
