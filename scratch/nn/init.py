"""Initializers with torch's names (twin ``torch.nn.init``); each fills an array in place
and returns it.

Every random initializer takes ``generator``: a ``numpy.random.Generator``, an int seed,
or None (a fresh unseeded generator). The same seed gives the same array, and a float32
array gets exactly the float32 rounding of what a float64 array gets. A ``Parameter``
may be passed instead of an array: its ``data`` is filled and the Parameter returned.

Fans (torch's rule, ``_calculate_fan_in_and_fan_out``): a weight of shape
(out, in, *receptive) with r = prod(receptive) has fan_in = in * r, fan_out = out * r
(Linear (out, in): r = 1; Conv2d (out, in/groups, kH, kW): r = kH * kW). Fewer than 2
dims is an error.
    uniform_(a, b):   U(a, b)                  normal_(mean, std): N(mean, std^2)
    xavier_uniform_:  U(-b, b), b = sqrt(3) * gain * sqrt(2 / (fan_in + fan_out))
    xavier_normal_:   N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_: U(-b, b), b = sqrt(3) * gain / sqrt(fan)   (fan = fan_in or fan_out)
    kaiming_normal_:  N(0, std^2), std = gain / sqrt(fan)        (not truncated)
with gain = calculate_gain(nonlinearity, a). Bounds and stds are computed with torch's
own float expressions, so they agree with torch to the last bit.
Every check runs before the array is touched: a bad argument changes nothing.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


def _rng(generator) -> np.random.Generator:
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is None or (isinstance(generator, (int, np.integer)) and not isinstance(generator, bool)):
        return np.random.default_rng(generator)
    raise TypeError("generator: expected a numpy.random.Generator, an int seed or None, "
                    f"got {type(generator).__name__}")


def _array(tensor) -> np.ndarray:
    # an ndarray has a ``data`` attribute too (its raw buffer): only a Parameter is unwrapped
    arr = tensor if isinstance(tensor, np.ndarray) else getattr(tensor, "data", tensor)
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.floating):
        what = f"array of dtype {arr.dtype}" if isinstance(arr, np.ndarray) else type(tensor).__name__
        raise TypeError(f"expected a float numpy.ndarray or a Parameter holding one, got {what}")
    return arr


def calculate_gain(nonlinearity: str, param=None) -> float:
    """torch's recommended gain: 1 (linear, conv*, sigmoid), 5/3 (tanh), sqrt(2) (relu),
    sqrt(2 / (1 + slope^2)) (leaky_relu; slope 0.01 only when ``param`` is None), 3/4 (selu).
    ``param`` is read only for leaky_relu; a bool, a string or a NumPy float32 there is an error."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif (isinstance(param, int) and not isinstance(param, bool)) or isinstance(param, float):
            slope = param  # torch's test: True/False are ints, and np.float32 is not a float
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}; expected one of "
                     f"{', '.join(_LINEAR_FNS)}, sigmoid, tanh, relu, leaky_relu, selu")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shaped (out, in, *receptive), torch's private helper's name."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
                         f"(got shape {shape}; expected (out, in, *kernel))")
    receptive = math.prod(shape[2:])  # 1 for a 2-D weight
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode: str) -> int:
    mode = mode.lower() if isinstance(mode, str) else mode  # torch accepts "FAN_IN"
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values) -> object:
    _array(tensor)[...] = values  # cast to the array's dtype: the dtype is kept
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with U(a, b); a == b gives the constant a (torch allows it, and rejects a > b)."""
    arr = _array(tensor)
    if not (math.isfinite(a) and math.isfinite(b)) or a > b:
        raise ValueError(f"uniform_: expected finite bounds with a <= b, got a={a}, b={b}")
    rng = _rng(generator)
    return _fill(tensor, rng.uniform(a, b, size=arr.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with N(mean, std^2); std = 0 gives the constant mean."""
    arr = _array(tensor)
    if not std >= 0:  # also rejects NaN, like torch
        raise ValueError(f"normal_: expected std >= 0, got std={std}")
    rng = _rng(generator)
    return _fill(tensor, rng.normal(mean, std, size=arr.shape))


def constant_(tensor, val: float):
    """Fill with ``val`` (deterministic: no generator, like torch)."""
    arr = _array(tensor)
    if math.isfinite(val) and abs(val) > float(np.finfo(arr.dtype).max):
        raise ValueError(f"constant_: value {val} cannot be converted to {arr.dtype} without overflow")
    return _fill(tensor, val)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def _xavier_std(tensor, gain: float) -> float:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:  # torch dies with ZeroDivisionError here
        raise ValueError(f"xavier: fan_in + fan_out is 0 for shape {_array(tensor).shape}; expected a non-empty weight")
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot uniform: U(-b, b), b = sqrt(3) * gain * sqrt(2 / (fan_in + fan_out))."""
    bound = math.sqrt(3.0) * _xavier_std(tensor, gain)  # torch's order of operations
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    return normal_(tensor, 0.0, _xavier_std(tensor, gain), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    """std = gain / sqrt(fan), or None for a zero-element tensor (torch warns and does nothing)."""
    if 0 in _array(tensor).shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    """He uniform: U(-b, b), b = sqrt(3) * gain / sqrt(fan); a = the leaky_relu slope."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    """He normal: N(0, std^2), std = gain / sqrt(fan); a plain normal, not truncated."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)
