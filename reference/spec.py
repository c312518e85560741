"""What a registry entry is: a ``Spec`` pairs a scratch component with its torch twin,
a hypothesis strategy of ``Case``s, tolerances per dtype and capability tags.

A ``Case`` is everything one comparison needs, as plain float64 NumPy data, so it
can be printed as a snippet that reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from reference.compare import DEFAULT_TOLERANCES, Tolerance

# capability tags
STOCHASTIC = "stochastic"      # draws randomness in forward (the engine syncs it with torch)
TRAIN_EVAL = "train_eval"      # behaves differently in train and eval mode
BUFFERS = "buffers"            # has state that is not learned (running statistics)
PARAMS = "params"              # has learnable parameters
FIXED_INIT = "fixed_init"      # parameters start at fixed values (PReLU 0.25, BatchNorm 1 and 0): compared


@dataclass
class Case:
    """One generated comparison: constructor kwargs, one input per call, a seed for
    the upstream gradients (and parameter values), and optional parameter overrides."""

    config: dict
    inputs: list
    seed: int = 0
    params: dict = field(default_factory=dict)

    def as_code(self) -> str:
        def arr(a):
            return f"np.array({np.asarray(a).tolist()!r})"
        inputs = ", ".join(arr(a) for a in self.inputs)
        params = ", ".join(f"{k!r}: {arr(v)}" for k, v in self.params.items())
        return f"Case(config={self.config!r}, inputs=[{inputs}], seed={self.seed}, params={{{params}}})"


@dataclass(frozen=True)
class Spec:
    name: str                          # torch class name in snake_case: linear, batch_norm1d
    component: type                    # the exported scratch class this spec covers
    twin: Callable[..., Any]           # twin(**config) -> torch.nn.Module (moved to device/dtype by the engine)
    twin_name: str                     # e.g. "torch.nn.Linear"
    cases: Callable[..., Any]          # cases(**kw) -> hypothesis strategy of Case
    default_config: dict = field(default_factory=dict)
    default_shape: tuple = (4, 3)      # input shape of the default case
    build: Callable[..., Any] | None = None  # scratch builder; defaults to ``component``
    kind: str = "module"
    calls: tuple = ("train", "train", "eval")  # the mode of each forward/backward call, in order
    tags: frozenset = frozenset()
    tolerances: dict = field(default_factory=lambda: dict(DEFAULT_TOLERANCES))
    kinks: tuple = ()                  # inputs where the function has no derivative (gradcheck skips near them)
    sync_twin: Callable | None = None  # sync_twin(twin, x_torch, seed) -> data: fix the twin's randomness for a call
    sync_candidate: Callable | None = None  # sync_candidate(candidate, data): give the candidate the same randomness
    draws: str = ""                    # what the strategy draws, for --list and reports

    def make(self, config: dict, candidate=None):
        """Construct the scratch side (or a user's candidate) from ``config``."""
        factory = candidate or self.build or self.component
        return factory(**config)

    def tolerance(self, dtype: str) -> Tolerance:
        return self.tolerances[dtype]

    def default_case(self) -> Case:
        rng = np.random.default_rng(0)
        return Case(config=dict(self.default_config),
                    inputs=[rng.standard_normal(self.default_shape) for _ in self.calls], seed=0)
