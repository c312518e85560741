"""``Module`` and ``Sequential``: the stateful shells around the pure kernels.

Twin: ``torch.nn.Module`` / ``torch.nn.Sequential``. The protocol every scratch
module follows (and ``reference.verify`` accepts from users):

- the constructor takes torch's keyword arguments with torch's defaults;
- ``named_parameters()`` yields ``(name, Parameter)`` with torch's names and layouts;
- ``forward(x) -> y`` caches what backward needs; ``backward(grad_y) -> grad_x``
  sets ``param.grad`` when it is None and adds to it otherwise (accumulation);
- state that is not learned (running statistics) is exposed by ``named_buffers()``.

Scratch's own modules keep what backward needs one way: forward makes one
``scratch.autograd.Context`` (``self._ctx``), fills it with ``save_for_backward(*arrays)``
(settings such as a dim as attributes), and backward reads ``saved_tensors``.
"""

from __future__ import annotations

import functools

from collections import OrderedDict
from typing import Iterator

import numpy as np

from scratch.nn.parameter import Parameter


class Module:
    """Base class. Subclasses implement ``forward`` and ``backward``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- attribute registration (like torch: parameters, buffers and children live in dicts)
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("call Module.__init__() before assigning attributes")
        if isinstance(value, (Parameter, Module)):
            for d in (self.__dict__, self._parameters, self._buffers, self._modules):
                d.pop(name, None)
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
        elif name in self._buffers:
            self._buffers[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} (expected Parameter or None)")
            self._parameters[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(key)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (None records an absent optional parameter, like torch's ``bias=False``)."""
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, value: np.ndarray | None) -> None:
        self.__dict__.pop(name, None)
        self._buffers[name] = value

    # -- traversal
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Each parameter once, under its first name (torch's rule for shared parameters)."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in modules:
            for name, p in mod._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in modules:
            for name, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes and gradients
    def train(self, mode: bool = True) -> "Module":
        for _, m in self.named_modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """torch's default ``set_to_none=True``: the next backward *sets* the gradients."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    # -- dtype and state
    def to(self, dtype) -> "Module":
        """Cast every float parameter and buffer to ``dtype`` (torch's ``module.to(dtype)``)."""
        dtype = np.dtype(dtype)
        for _, m in self.named_modules():
            for p in m._parameters.values():
                if p is not None:
                    p.data = p.data.astype(dtype)
                    p.grad = None if p.grad is None else p.grad.astype(dtype)
            for name, b in m._buffers.items():
                if b is not None and np.issubdtype(b.dtype, np.floating):
                    m._buffers[name] = b.astype(dtype)
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and buffer under torch's names, in torch's order
        (module by module: its parameters, then its buffers)."""
        out = OrderedDict()
        for prefix, mod in self.named_modules():
            out.update((n, p.data.copy()) for n, p in mod.named_parameters(prefix, recurse=False))
            out.update((n, b.copy()) for n, b in mod.named_buffers(prefix, recurse=False))
        return out

    def load_state_dict(self, state: dict) -> None:
        """Load arrays by name; every key must exist and every shape must match, or nothing changes."""
        params = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        expected = set(params) | set(buffers)
        if set(state) != expected:
            raise KeyError(f"load_state_dict: expected keys {sorted(expected)}, got {sorted(state)}")
        for name, value in state.items():
            current = params[name].data if name in params else buffers[name]
            if np.shape(value) != current.shape:
                raise ValueError(f"load_state_dict: {name} expected shape {current.shape}, got {np.shape(value)}")
        for name, value in state.items():
            if name in params:
                params[name].data = np.array(value, dtype=params[name].data.dtype)
            else:
                owner, _, leaf = name.rpartition(".")
                mod = dict(self.named_modules())[owner]
                mod._buffers[leaf] = np.array(value, dtype=buffers[name].dtype)

    # -- computation
    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(lines) + "\n)" if lines else ")")


class Sequential(Module):
    """Chain of modules; backward runs them in reverse (the chain rule, one link at a time)."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} expected a Module, got {type(m).__name__}")
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i):
        """An int gives a module; a slice gives a Sequential, like torch."""
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def backward(self, grad_output, input_grad: bool = True):
        """The chain rule, last module first. ``input_grad=False`` (the input is data, as when
        it does not require grad in torch) lets the first module skip dL/dx where it can
        (Linear does): returns None then."""
        mods = list(self._modules.values())
        for i, m in enumerate(reversed(mods)):
            first = i == len(mods) - 1
            if first and not input_grad and _skips_input_grad(m):
                return m.backward(grad_output, input_grad=False)
            grad_output = m.backward(grad_output)
        return None if not input_grad and not mods else grad_output


def _skips_input_grad(module) -> bool:
    return _accepts_input_grad(type(module))


@functools.lru_cache(maxsize=None)
def _accepts_input_grad(cls) -> bool:
    """Once per class: inspecting a signature costs more than a small layer's backward."""
    import inspect

    return "input_grad" in inspect.signature(cls.backward).parameters
