"""GELU and the normal CDF behind it (twin: torch.nn.GELU / F.gelu); erf is scipy.special's.

Exact: y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2;  dy/dx = Phi(x) + x phi(x),
       phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
tanh:  y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
       dy/dx = (1 + tanh(u)) / 2 + x/2 (1 - tanh(u)^2) du/dx, du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, in x's dtype (torch's order: x * (1 / sqrt 2))."""
    return 0.5 * (1 + erf(x * _SQRT1_2))


def gelu(x, approximate="none"):
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + np.tanh(u))
    return x * normal_cdf(x)


def gelu_backward(grad_output, x, approximate="none"):
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return grad_output * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return grad_output * (normal_cdf(x) + x * pdf)
