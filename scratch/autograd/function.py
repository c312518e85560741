"""The op protocol of ``scratch.autograd``: a ``Function`` keeps its forward and its local
derivative side by side, like ``torch.autograd.Function``.

    forward(ctx, *inputs, **options) -> output array        (inputs are NumPy arrays or numbers)
    backward(ctx, grad_output) -> one gradient per input    (None where ctx.needs_input_grad is False)

``backward`` returns the gradient in the *output's broadcast shape*; the engine sums it back to
each input's shape with ``unbroadcast`` (the rule of NumPy and torch broadcasting: a dim that was
prepended or stretched from size 1 is summed over), so no op repeats that bookkeeping.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Context", "Function", "unbroadcast"]

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after "
          "they have already been freed). Saved intermediate values of the graph are freed when you call "
          ".backward(). Specify retain_graph=True if you need to backward through the graph a second time.")


class Context:
    """What one op application saves for its backward (torch's ``ctx``). ``scratch.nn``'s modules
    use it too: each forward makes one, saves arrays with ``save_for_backward`` (and settings such as
    a dim as attributes), and backward reads ``saved_tensors``."""

    def __init__(self, needs_input_grad: tuple[bool, ...] = ()):
        self.needs_input_grad = needs_input_grad
        self._saved: tuple | None = ()
        self._freed = False

    def save_for_backward(self, *values) -> None:
        self._saved = values

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_FREED)
        return self._saved

    def free(self) -> None:
        """Drop the saved arrays after a backward without ``retain_graph`` (torch frees them too)."""
        if self._saved:
            self._saved, self._freed = None, True


class Function:
    """Base class of the ops; subclasses define the two static methods and are applied through
    ``scratch.autograd.tensor.apply`` (Tensor methods and operators do that)."""

    @staticmethod
    def forward(ctx: Context, *inputs, **options) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad_output: np.ndarray) -> tuple:
        raise NotImplementedError


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` (of the broadcast output's shape) back to an input's ``shape``."""
    grad = np.asarray(grad)
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:  # dims NumPy prepended
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:  # dims stretched from size 1
        grad = grad.sum(axis=stretched, keepdims=True)
    return np.broadcast_to(grad, shape)
