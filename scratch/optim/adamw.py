"""AdamW: Adam with decoupled weight decay (twin: torch.optim.AdamW).

    p <- p * (1 - lr * weight_decay)           # before the moments; lr * wd, so it follows the schedule
    then Adam's update with g itself (no L2 term in the moments)

It is ``Adam(decoupled_weight_decay=True)`` with weight_decay defaulting to 1e-2, as in torch;
the kernel is ``scratch.optim.adam.adam_step``. State names are Adam's.
"""

from __future__ import annotations

from scratch.optim.adam import Adam


class AdamW(Adam):
    """torch.optim.AdamW's constructor and defaults."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
