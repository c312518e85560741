"""The cs231n style for update rules: ``rule(w, dw, config) -> (next_w, config)``.

The adapter is a torch-shaped optimizer (``param_groups``, ``state``, ``step``, ``zero_grad``)
that keeps one course ``config`` per parameter, fills it with the group's hyperparameters under
the course's names before every step, and reads the course's state back under torch's names:

    torch SGD (momentum)  lr -> learning_rate, momentum;  momentum_buffer = -velocity / lr
    torch RMSprop         lr -> learning_rate, alpha -> decay_rate, eps -> epsilon;  square_avg = cache
    torch Adam            lr, betas -> beta1, beta2, eps -> epsilon;  exp_avg = m, exp_avg_sq = v, step = t

(the course's velocity is v = momentum * v - lr * dw, so torch's buffer is -v / lr; at lr = 0 it
cannot be read back and is not compared). Options the course's rules do not have are pinned.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch

from reference.scope import Scope
from reference.styles import Adapted

# function -> (torch hyperparameter -> course config key, course state key -> torch state name, pins)
_RULES = {
    "sgd": ({"lr": "learning_rate"}, {}, {"momentum": 0.0}),
    "sgd_momentum": ({"lr": "learning_rate", "momentum": "momentum"}, {"velocity": "momentum_buffer"}, {}),
    "rmsprop": ({"lr": "learning_rate", "alpha": "decay_rate", "eps": "epsilon"}, {"cache": "square_avg"}, {}),
    "adam": ({"lr": "learning_rate", "beta1": "beta1", "beta2": "beta2", "eps": "epsilon"},
             {"m": "exp_avg", "v": "exp_avg_sq", "t": "step"}, {}),
}
# options of torch's optimizers that no course rule has: pinned to torch's defaults
_NOT_IN_COURSE = {"sgd": {"dampening": 0.0, "weight_decay": 0.0, "nesterov": False, "maximize": False},
                  "rmsprop": {"weight_decay": 0.0, "momentum": 0.0, "centered": False, "maximize": False},
                  "adam": {"weight_decay": 0.0, "amsgrad": False, "maximize": False}}


_TORCH = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam}


def _torch_defaults(kind: str) -> dict:
    params = inspect.signature(_TORCH[kind]).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _hyper(group: dict) -> dict:
    """The group's hyperparameters with betas split into beta1, beta2."""
    out = dict(group)
    if "betas" in out:
        out["beta1"], out["beta2"] = out["betas"]
    return out


def update_rule(kind: str):
    """The adapter factory for torch optimizer ``kind`` (sgd, rmsprop, adam). For sgd, a rule
    whose name has "momentum" in it is the course's sgd_momentum (config momentum, velocity)."""
    def form(module, rule) -> Adapted:
        function = rule.__name__
        course = kind if kind != "sgd" else ("sgd_momentum" if "momentum" in function else "sgd")
        names, states, extra_pins = _RULES[course]
        pins = {**_NOT_IN_COURSE[kind], **extra_pins}
        reasons = {k: f"{function} has no {k}" for k in pins}
        not_checked = [] if "step" in states.values() else [f"state 'step': {function} keeps no step count"]
        rule_class = _optimizer(rule, names, states, _torch_defaults(kind))
        return Adapted(rule_class, Scope(pins, reasons, not_checked=not_checked))
    return form


def _optimizer(rule, names: dict, states: dict, torch_defaults: dict):
    class CourseRule:
        def __init__(self, params, **defaults):
            params = list(params)
            groups = params if isinstance(params[0], dict) else [{"params": params}]
            defaults = {**torch_defaults, **defaults}
            self.param_groups = [{**defaults, **g, "params": list(g["params"])} for g in groups]
            self.state, self.configs = {}, {}

        def zero_grad(self, set_to_none=True):
            for group in self.param_groups:
                for p in group["params"]:
                    p.grad = None

        def step(self, closure=None):
            for group in self.param_groups:
                hyper = _hyper(group)
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, {course: hyper[torch_name] for torch_name, course in names.items()})

        def _update(self, p, hyper: dict) -> None:
            config = self.configs.setdefault(id(p), {})
            config.update(hyper)
            next_w, returned = rule(p.data, p.grad, config)
            self.configs[id(p)] = config = returned if isinstance(returned, dict) else config
            p.data = np.asarray(next_w)
            self.state[p] = _torch_state(config, states)
    CourseRule.__name__ = rule.__name__
    return CourseRule


def _torch_state(config: dict, states: dict) -> dict:
    """The course's state under torch's names (velocity -> momentum_buffer = -velocity / lr)."""
    out = {}
    for course, torch_name in states.items():
        if course not in config:
            continue
        value = config[course]
        if course == "velocity":
            lr = config["learning_rate"]
            if lr == 0:
                continue
            value = -np.asarray(value) / np.asarray(lr, dtype=np.asarray(value).dtype)
        out[torch_name] = value
    return out
