"""``Parameter``: an array the optimizer updates, plus the gradient backward accumulates.

Twin: ``torch.nn.Parameter``. ``data`` may be replaced wholesale (the harness
assigns new arrays when it transfers weights), so modules always read their
weights through the Parameter object, never through a cached alias.
"""

from __future__ import annotations

import numpy as np


class Parameter:
    """A learnable array. ``grad`` is None until a backward pass writes it."""

    def __init__(self, data: np.ndarray):
        if not isinstance(data, np.ndarray):
            raise TypeError(f"Parameter: expected a numpy.ndarray, got {type(data).__name__}")
        self.data = data
        self.grad: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def accumulate_grad(self, g: np.ndarray, owned: bool = False) -> None:
        """torch's rule: the first backward sets ``grad``; later ones add to it.
        ``owned=True`` says ``g`` is a fresh array nobody else holds (a GEMM's result), so the
        first backward may keep it instead of copying it."""
        g = np.asarray(g, dtype=self.data.dtype)
        if g.shape != self.data.shape:
            g = g.reshape(self.data.shape)
        if self.grad is None:
            self.grad = g if owned else g.copy()
        else:
            self.grad += g

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
