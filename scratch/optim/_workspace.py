"""``Workspace``: the temporaries of the optimizers' step kernels, reused from step to step."""

from __future__ import annotations

import numpy as np


class Workspace:
    """Named scratch arrays reused from step to step (one flat array per name and dtype, grown to
    the largest parameter and viewed in each parameter's shape).

    Why: a fresh multi-megabyte temporary costs page faults on every step (measured: a 1M-element
    float32 ``add`` took ~8 ms with ``astype`` temporaries, ~1 ms writing into reused arrays).
    A view is valid until the next ``get`` of the same name; the primitives below use names
    starting with ``_``, so a kernel's own names never clash with them."""

    def __init__(self):
        self._flat: dict = {}
        self._views: dict = {}  # (name, dtype, shape) -> view: a step asks for the same views every time

    def get(self, name: str, like: np.ndarray, dtype=None) -> np.ndarray:
        """The array ``name`` in ``like``'s shape and in ``dtype`` (default ``like``'s)."""
        return self.array(name, like.shape, like.dtype if dtype is None else dtype)

    def array(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """The array ``name`` in ``shape`` and ``dtype`` (contents left from its last use)."""
        key = (name, dtype, shape)
        view = self._views.get(key)
        if view is None:  # (the lookup above saves ~1 us a call: a kernel makes ~10 calls per step)
            dt = np.dtype(dtype)
            size = int(np.prod(shape))
            flat = self._flat.get((name, dt))
            if flat is None or flat.size < size:
                flat = self._flat[(name, dt)] = np.empty(size, dtype=dt)
                self._views = {k: v for k, v in self._views.items() if k[0] != name}  # views of the old array
            view = self._views[key] = flat[:size].reshape(shape)
        return view
