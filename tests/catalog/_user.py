"""The minimum a user's own (non-scratch) candidate needs to meet the candidate protocol.

Written the way a user would, independent of ``scratch.nn.Module`` and ``scratch.optim.Optimizer``:
a parameter holder with ``.data``/``.grad``, a module shell with train/eval and named
parameters and buffers, and an optimizer shell with torch's ``param_groups`` and ``state``
(a dict keyed by the parameter object, holding torch's state names).
"""

from __future__ import annotations

import numpy as np


class Param:
    """``.data`` (the harness may replace it) and ``.grad`` (None until the first backward)."""

    def __init__(self, data):
        self.data = np.asarray(data)
        self.grad = None

    def accumulate(self, g):
        """torch's rule: the first backward sets grad, later ones add to it."""
        g = np.asarray(g, dtype=self.data.dtype)
        self.grad = g.copy() if self.grad is None else self.grad + g


class UserModule:
    """train/eval, ``named_parameters()`` in declaration order, ``named_buffers()`` from ``BUFFERS``."""

    BUFFERS: tuple = ()

    def __init__(self):
        self.training = True

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def named_parameters(self):
        return [(k, v) for k, v in vars(self).items() if isinstance(v, Param)]

    def named_buffers(self):
        return [(k, getattr(self, k)) for k in self.BUFFERS if getattr(self, k, None) is not None]

    def __call__(self, x):
        return self.forward(x)


def legacy_softmax_dim(ndim):
    """torch's choice for dim=None: 0 for 0-, 1- and 3-D input, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


class UserOptimizer:
    """Parameter groups with defaults filled in, ``state[p]`` dicts, ``zero_grad``; subclasses
    give ``DEFAULTS`` and ``update(p, grad, state, group)``, which returns the new value of p."""

    DEFAULTS: dict = {}

    def __init__(self, params, **hyper):
        params = list(params)
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        defaults = {**self.DEFAULTS, **hyper}
        self.param_groups = [{**defaults, **g, "params": list(g["params"])} for g in groups]
        self.state = {}

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                p.grad = None

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                p.data = np.asarray(self.update(p.data, p.grad, state, group), dtype=p.data.dtype)

    def update(self, p, grad, state, group):
        raise NotImplementedError
