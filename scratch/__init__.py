"""From-scratch NumPy implementations of neural-network components.

Namespaces mirror PyTorch's so a user finds things where torch keeps them:
``scratch.nn`` (modules), ``scratch.nn.functional`` (pure kernels),
``scratch.nn.init``, ``scratch.optim`` and ``scratch.optim.lr_scheduler``.
This package imports NumPy, and scipy.special for GELU's erf (a test asserts it never imports torch).
"""

__version__ = "0.1.0"

from scratch import nn, optim  # noqa: E402,F401
