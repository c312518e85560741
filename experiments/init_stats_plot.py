"""The figure of ``init_stats`` (a helper module, not an experiment: ``experiments.__main__.MODULES``
lists the experiments): std of activations and of dL/dh_l per layer, scratch vs torch.
"""

from __future__ import annotations

import pandas as pd


def figure(df: pd.DataFrame, activations, inits):
    """Std of h_l and of dL/dh_l per layer: one panel per (quantity, activation), one colour per
    init, scratch as lines and torch as crosses; ``df`` holds one dtype's rows of init_stats."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2, sharex=True)
    colors = dict(zip(inits, ("tab:blue", "tab:red", "tab:green", "tab:purple")))
    for c, activation in enumerate(activations):
        for r, (q, label) in enumerate((("act_std", "std of activations h_l"), ("grad_std", "std of dL/dh_l"))):
            ax = axes[r, c]
            for init in inits:
                g = df[(df["activation"] == activation) & (df["init"] == init)]
                ax.plot(g["layer"], g[f"{q}_scratch"], "-", color=colors[init], label=f"{init} (scratch)")
                ax.plot(g["layer"], g[f"{q}_torch"], "x", color=colors[init], label=f"{init} (torch)")
            ax.set_yscale("log")
            ax.set_title(f"{activation}: {label}")
            ax.grid(True, which="major", alpha=0.3)
            if r == 1:
                ax.set_xlabel("layer")
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"10-layer MLP, {df['dtype'].iloc[0]}: std per layer (lines scratch, crosses torch)")
    return fig
