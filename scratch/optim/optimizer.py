"""``Optimizer``: the thin stateful shell every scratch optimizer shares (twin: torch.optim.Optimizer).

What the shell does (the arithmetic lives in each optimizer's ``*_step`` kernel):

- ``params`` is an iterable of Parameter-like objects (``.data``: a float32/float64 ndarray,
  ``.grad``: None or an array of the same shape and dtype), or of dicts (parameter groups,
  ``{"params": [...], "lr": ..., ...}``), exactly like torch;
- ``param_groups`` is a list of dicts holding every hyperparameter, defaults filled in; a
  learning-rate scheduler may rewrite ``group["lr"]`` (or ``momentum``/``betas``) between steps;
- ``state[p]`` is a dict per parameter with torch's state names; ``state["step"]`` is a 0-d
  float32 array (torch keeps a float32 tensor unless the default dtype is float64);
- ``step()`` skips a parameter whose ``grad`` is None (no state is created, its step counter
  does not advance); every grad is checked before anything is updated;
- ``zero_grad(set_to_none=True)``, ``add_param_group``, ``state_dict``/``load_state_dict``
  (state keyed by the parameter's index in group order, like torch).

Parameters and state arrays are updated in place by the kernels, as torch's ``_single_tensor_*``
functions do (aliases of ``p.data`` see the step).

Rounding: torch's CPU kernels for ``add(alpha=)``, ``addcmul`` and ``lerp`` round x*y + c once (a
fused multiply-add); NumPy has no fma, so the kernels here round the product and then the sum.
Each such operation may then differ from torch's by u * |x*y| (u the unit roundoff);
``reference/specs/optim.py`` states what that allows.
"""

from __future__ import annotations

import copy
import functools
import inspect
import warnings

import numpy as np

_FLOATS = (np.float32, np.float64)


def _is_param_like(p) -> bool:
    return hasattr(p, "data") and hasattr(p, "grad")


def _check_param(p, where: str) -> None:
    if not _is_param_like(p):
        raise TypeError(f"{where}: optimizer can only optimize Parameter-like objects (with .data and .grad), "
                        f"but one of the params is {type(p).__name__}")
    if not isinstance(p.data, np.ndarray) or p.data.dtype not in _FLOATS:
        got = p.data.dtype if isinstance(p.data, np.ndarray) else type(p.data).__name__
        raise TypeError(f"{where}: expected param.data to be a numpy.ndarray of float32 or float64, got {got}")


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """torch's ``start.lerp_(end, weight)``, in place: start + weight * (end - start).

    torch writes it end - (1 - weight) * (end - start) once weight >= 0.5, so that weight 1 gives
    ``end`` exactly (Adam with beta1 = 0: exp_avg = g). The weight is first rounded to the
    array's dtype, as torch does (then 1 - weight is exact)."""
    w = start.dtype.type(weight)
    diff = end - start
    if abs(w) < 0.5:
        start += w * diff
    else:
        np.subtract(end, (1 - w) * diff, out=start)
    return start


def decayed_grad(param, grad, *, lr, weight_decay, decoupled_weight_decay, maximize):
    """Adam-family weight decay, in torch's order: g = -grad when maximizing; decoupled (AdamW):
    p *= 1 - lr * weight_decay, in place; else L2: g = g + weight_decay * p. Returns g."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    return g


def next_step(state: dict) -> tuple[np.ndarray, float]:
    """torch's ``step_t += 1`` on a float32 0-d tensor, and the Python float it reads back."""
    step = np.asarray(np.float32(state["step"]) + np.float32(1.0), dtype=np.float32)
    return step, float(step)


@functools.lru_cache(maxsize=None)
def _keyword_names(kernel) -> tuple:
    """The hyperparameters a step kernel takes: its keyword-only arguments."""
    return tuple(n for n, a in inspect.signature(kernel).parameters.items() if a.kind is inspect.Parameter.KEYWORD_ONLY)


def _kernel_args(kernel, group: dict) -> dict:
    names = _keyword_names(kernel)
    args = {n: group[n] for n in names if n in group}
    if "beta1" in names:
        args["beta1"], args["beta2"] = group["betas"]
    # Python numbers, as torch reads them: a NumPy float64 scalar would turn float32 arithmetic into float64
    return {n: float(v) if isinstance(v, (np.floating, np.integer)) else v for n, v in args.items()}


class Optimizer:
    """Base class: subclasses set ``defaults`` and implement ``_update(p, group)``."""

    def __init__(self, params, defaults: dict):
        if _is_param_like(params) or isinstance(params, np.ndarray):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Parameter-like objects or dicts, but got {type(params).__name__}")
        if defaults.get("fused"):
            raise ValueError("fused=True: torch's fused kernels are a device feature that scratch.optim does not "
                             "implement; pass fused=None or False (foreach, capturable and differentiable are "
                             "accepted and ignored: NumPy has one code path)")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list[dict] = []
        # build every group before keeping any, so a bad group changes nothing
        built: list[dict] = []
        for g in groups:
            built.append(self._make_group(g, taken=[p for b in built for p in b["params"]]))
        self.param_groups = built

    # ---- hyperparameters -------------------------------------------------------------------
    @staticmethod
    def _validate(hp: dict) -> None:
        """Raise ValueError for an out-of-range hyperparameter (torch's messages); per optimizer."""

    def _make_group(self, param_group, taken) -> dict:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group: expected a 'params' entry holding the group's parameters")
        params = param_group["params"]
        if _is_param_like(params):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            _check_param(p, "param_group")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        if group.get("fused"):
            raise ValueError("param_group: fused=True is not supported by scratch.optim")
        self._validate(group)  # torch checks only the constructor's values; groups get the same checks here
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        if set(ids) & {id(p) for p in taken}:
            raise ValueError("some parameters appear in more than one parameter group")
        return group

    def add_param_group(self, param_group: dict) -> None:
        """Append a group (defaults filled in); raises before changing anything."""
        group = self._make_group(param_group, taken=[p for g in self.param_groups for p in g["params"]])
        self.param_groups.append(group)

    # ---- stepping --------------------------------------------------------------------------
    def _check_grads(self) -> None:
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                g = p.grad
                if g is None:
                    continue
                where = f"param_groups[{gi}]['params'][{pi}].grad"
                if not isinstance(g, np.ndarray):
                    raise TypeError(f"{where}: expected None or a numpy.ndarray, got {type(g).__name__}")
                if g.shape != p.data.shape:
                    raise ValueError(f"{where}: expected shape {p.data.shape} (the parameter's), got {g.shape}")
                if g.dtype != p.data.dtype:
                    raise TypeError(f"{where}: expected dtype {p.data.dtype} (the parameter's), got {g.dtype}")

    def step(self, closure=None):
        """One update of every parameter that has a grad; returns ``closure()`` if given."""
        loss = closure() if closure is not None else None
        self._check_grads()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
        return loss

    # A subclass names its step kernel (``_kernel = staticmethod(adam_step)``) and how a
    # parameter's state starts (``_init_state``); the shell reads the kernel's keyword arguments
    # from the group by name (``betas`` gives beta1 and beta2) and runs it.
    _kernel = None

    def _init_state(self, param: np.ndarray, group: dict) -> dict:
        raise NotImplementedError

    def _update(self, p, group: dict) -> None:
        state = self.state.get(p) or self._init_state(p.data, group)
        kw = _kernel_args(self._kernel, group)
        self._kernel(self._target(p), p.grad, state, **kw)
        self.state[p] = state

    @staticmethod
    def _target(p) -> np.ndarray:
        """The array the kernel updates in place (torch's ``param.add_``), so aliases see the step;
        a read-only ``p.data`` is first replaced by a writable copy."""
        if not p.data.flags.writeable:
            p.data = np.array(p.data)
        return p.data

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad[...] = 0

    # ---- (de)serialisation in torch's layout ------------------------------------------------
    def state_dict(self) -> dict:
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        saved = copy.deepcopy(state_dict["param_groups"])
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size "
                             "of optimizer's group")
        id_map = {}
        for g, s in zip(self.param_groups, saved):
            id_map.update(zip(s["params"], g["params"]))
        state = {}
        for k, v in state_dict["state"].items():
            p = id_map.get(k)
            if p is None:
                continue
            # torch's rule: every floating state array takes the parameter's dtype except ``step``
            # (so a loaded NAdam ``mu_product`` becomes float64 for a float64 parameter, as in torch)
            state[p] = {name: (np.array(x, dtype=p.data.dtype) if isinstance(x, np.ndarray) and name != "step"
                               else copy.deepcopy(x)) for name, x in v.items()}
        new_groups = [dict(s, params=g["params"]) for g, s in zip(self.param_groups, saved)]
        self.state, self.param_groups = state, new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {g[k]}" for k in sorted(g) if k != "params"]
        return "\n".join(lines + [")"])
