"""``Dropout`` (twin torch.nn.Dropout): inverted dropout, identity in eval mode.

NumPy's and torch's random streams differ, so a harness that compares the two
injects the keep-mask: ``layer.inject_mask(mask)`` makes the *next* training
forward use ``mask`` (1 keeps an element) instead of drawing one.
"""

from __future__ import annotations

import numpy as np

from scratch import _checks
from scratch.autograd.function import Context
from scratch.nn import functional as F
from scratch.nn.modules.module import Module


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False, generator=None):
        super().__init__()
        self.p = _checks.check_probability(p, "Dropout p")
        self.inplace = inplace
        self.generator = generator if isinstance(generator, np.random.Generator) else np.random.default_rng(generator)
        self._injected = None

    def inject_mask(self, mask) -> None:
        """Use ``mask`` (same shape as the next input; truthy keeps) in the next training forward."""
        self._injected = np.asarray(mask).astype(bool)

    def forward(self, x):
        x = _checks.as_float_array(x, "Dropout input")
        self._ctx = Context()
        if not self.training:
            return x
        if self._injected is not None:
            if self._injected.shape != x.shape:
                raise ValueError(f"Dropout: injected mask has shape {self._injected.shape}, input has {x.shape}")
            mask, self._injected = self._injected, None
        else:
            mask = F.dropout_mask(x.shape, self.p, self.generator)
        self._ctx.save_for_backward(mask)
        return F.dropout(x, self.p, mask)

    def backward(self, grad_output):
        if not self._ctx.saved_tensors:  # eval: y = x
            return grad_output
        (mask,) = self._ctx.saved_tensors
        return F.dropout_backward(grad_output, self.p, mask)

    def extra_repr(self):
        return f"p={self.p}"
