"""A user's Adam written from the formulas with only the options it needs: torch's amsgrad,
maximize, weight_decay, foreach, ... are not in its constructor, so the verifier pins them."""

import numpy as np


class MinimalAdam:
    """torch's Adam without amsgrad, maximize, weight_decay or foreach: those are pinned."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        params = list(params)
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = [{"lr": lr, "betas": betas, "eps": eps, **g} for g in groups]
        self.state = {}

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                p.grad = None

    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    self._update(p, g["lr"], *g["betas"], g["eps"])

    def _update(self, p, lr, b1, b2, eps):
        s = self.state.setdefault(p, {"step": 0, "exp_avg": np.zeros_like(p.data),
                                      "exp_avg_sq": np.zeros_like(p.data)})
        s["step"] += 1
        s["exp_avg"] = b1 * s["exp_avg"] + (1 - b1) * p.grad
        s["exp_avg_sq"] = b2 * s["exp_avg_sq"] + (1 - b2) * p.grad * p.grad
        m_hat, v_hat = s["exp_avg"] / (1 - b1 ** s["step"]), s["exp_avg_sq"] / (1 - b2 ** s["step"])
        p.data = p.data - lr * m_hat / (np.sqrt(v_hat) + eps)
