"""Modules with torch's class names: ``from scratch.nn import Linear`` like ``from torch.nn import Linear``."""

from scratch.nn import functional, init  # noqa: F401
from scratch.nn.modules import *  # noqa: F401,F403
from scratch.nn.modules import __all__ as _module_names
from scratch.nn.parameter import Parameter

__all__ = ["Parameter", *_module_names]
