"""Initializers with torch's names (twin ``torch.nn.init``); each fills an array in place.

Every function takes ``generator``: a ``numpy.random.Generator``, an int seed, or
None (a fresh unseeded generator), so initialization is reproducible.
A ``Parameter`` may be passed instead of an array: its ``data`` is filled.

Fans (torch's rule): for a weight of shape (out, in, *receptive), with
r = prod(receptive), fan_in = in * r and fan_out = out * r.
    xavier_uniform_: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal_:  N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_: U(-b, b), b = sqrt(3) * gain / sqrt(fan)
    kaiming_normal_:  N(0, std^2), std = gain / sqrt(fan)   (not truncated)
"""

from __future__ import annotations

import math

import numpy as np


def _rng(generator) -> np.random.Generator:
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is None or isinstance(generator, (int, np.integer)):
        return np.random.default_rng(generator)
    raise TypeError(f"generator: expected a numpy.random.Generator, an int seed or None, got {type(generator).__name__}")


def _array(tensor) -> np.ndarray:
    arr = getattr(tensor, "data", tensor)
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"expected a float numpy.ndarray or a Parameter, got {type(tensor).__name__}")
    return arr


def calculate_gain(nonlinearity: str, param=None) -> float:
    """torch's recommended gain per nonlinearity."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    arr = _array(tensor)
    if arr.ndim < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got shape {arr.shape})"
        )
    receptive = int(np.prod(arr.shape[2:])) if arr.ndim > 2 else 1
    return arr.shape[1] * receptive, arr.shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    arr = _array(tensor)
    arr[...] = _rng(generator).uniform(a, b, size=arr.shape)
    return tensor


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    arr = _array(tensor)
    arr[...] = _rng(generator).normal(mean, std, size=arr.shape)
    return tensor


def constant_(tensor, val):
    _array(tensor)[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)
