"""Inverted dropout (twin ``torch.nn.functional.dropout``).

Train: y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) (1 keeps an element),
so E[y] = x and eval needs no rescaling. Eval: y = x. p = 1 gives zeros.
dL/dx = g * mask / (1 - p) (the multiply gate: the gradient is scaled by the other factor).
"""

from __future__ import annotations

import numpy as np


def dropout_mask(shape, p, rng: np.random.Generator):
    """A keep-mask (bool) with P(keep) = 1 - p."""
    return rng.random(shape) >= p


def dropout(x, p, mask):
    """Apply a given keep-mask with inverted scaling."""
    if p == 1:
        return np.zeros_like(x)
    return x * mask * (1 / (1 - p))


def dropout_backward(grad_output, p, mask):
    if p == 1:
        return np.zeros_like(grad_output)
    return grad_output * mask * (1 / (1 - p))
