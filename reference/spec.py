"""What a registry entry is: a ``Spec`` pairs a scratch component with its torch twin,
a hypothesis strategy of ``Case``s, tolerances per dtype and capability tags.

A ``Case`` is everything one comparison needs, as plain float64 NumPy data, so it
can be printed as a snippet that reproduces it.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
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


def _code(v) -> str:
    """Python source for plain data that may hold NumPy arrays (dtype kept when not float64)."""
    if isinstance(v, np.ndarray):
        dt = "" if v.dtype == np.float64 else f", dtype=np.{v.dtype}"
        return f"np.array({v.tolist()!r}{dt})"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {_code(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        body = ", ".join(_code(x) for x in v)
        return f"[{body}]" if isinstance(v, list) else f"({body}{',' if len(v) == 1 else ''})"
    return repr(v)


def constructor_config(instance, cls) -> dict:
    """The keyword arguments ``instance`` was built with, read back from its attributes of the
    same names (torch's modules and scratch's keep them: in_features, eps, dim, ...). A flag
    whose attribute holds a parameter or None (Linear's ``bias``) becomes ``is not None``;
    arguments not kept as attributes, and device/dtype/generator, keep their defaults."""
    out = {}
    for name, param in inspect.signature(cls).parameters.items():
        if name in ("device", "dtype", "generator") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) \
                or not hasattr(instance, name):
            continue
        value = getattr(instance, name)
        out[name] = value is not None if isinstance(param.default, bool) and not isinstance(value, bool) else value
    return out


@dataclass
class Case:
    """One generated comparison, as plain data.

    modules:    config = constructor kwargs; inputs = one input per call; seed = upstream
                gradients and parameter values; params = parameter overrides.
    losses:     config = constructor kwargs (``weight``/``pos_weight`` as arrays);
                inputs = [input, target] (class-index targets are int64 arrays).
    optimizers: config = constructor kwargs; inputs = initial parameter values;
                steps = per step, one gradient (or None: no grad this step) per parameter;
                extra["groups"] = optional [{"params": [indices], **overrides}, ...].
    schedulers: config = scheduler kwargs; inputs/steps as for optimizers;
                extra["optimizer"] = (name, kwargs) of the optimizer it drives.
    """

    config: dict
    inputs: list
    seed: int = 0
    params: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def as_code(self) -> str:
        parts = [f"config={_code(self.config)}", f"inputs={_code(list(self.inputs))}", f"seed={self.seed}"]
        for name in ("params", "steps", "extra"):
            if getattr(self, name):
                parts.append(f"{name}={_code(getattr(self, name))}")
        return f"Case({', '.join(parts)})"


@dataclass(frozen=True)
class ErrorInput:
    """A bad use of a component and the error it must raise, naming what was expected, before
    it changes anything (PyTorch's ModuleInfo has the same idea). ``input`` None: building the
    component from ``config`` raises."""

    config: dict
    input: Any
    error: type
    match: str                  # a regex the message must contain
    mode: str = "train"


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
    default: Callable[[], Case] | None = None  # the default case, where default_shape cannot describe it
    # optimizers/schedulers: step_tolerance(dtype, t) -> Tolerance after step t (1-based); rounding
    # errors of a trajectory accumulate, so the allowance may grow with t (stated per spec)
    step_tolerance: Callable[[str, int], Tolerance] | None = None
    # twin warnings the strategy triggers on purpose (message regexes), e.g. softmax's dim=None
    ignore_warnings: tuple = ()
    # extra import lines a repro snippet needs to rebuild the case (a LambdaLR's lr_lambda)
    snippet_imports: tuple = ()
    # quantities that are sums of products, and how many terms each has at most:
    # sum_terms(case) -> {quantity: n} (e.g. Linear's output: in_features + 1). Their allowance
    # includes the a-priori rounding bound of any summation order (``reference.engine.sum_bounds``)
    sum_terms: Callable[[Case], dict] | None = None
    # the sign of the inputs in that bound's run on absolute values, chosen so every term of each
    # sum counts: PReLU sums its weight gradient over x <= 0, so it runs on -|x|
    sum_input_sign: float = 1.0
    # a composition: bound the sums of every nn.Linear inside the twin locally
    # (``reference.engine.local_bounds``)
    local_sums: bool = False
    error_inputs: tuple = ()           # ErrorInputs beyond the ones every module gets (tests/test_bad_input.py)
    bench: Callable[[], Case] | None = None  # the mid-size case ``bench`` times (reference/specs/bench_data.py)
    rich_config: dict = field(default_factory=dict)  # optimizers: a config in which every state entry exists
    # optimizers: fused_scalars(config) -> {name: complement} for every scalar that multiplies a
    # product torch rounds once (add's alpha, addcmul's value, lerp's weight): the factor is the
    # config value, or 1 - value when complement ("beta1"/"beta2" name the entries of betas); the
    # engine adds the effect of one more rounding of those products to the measured rounding
    # (``reference.engine.fused``)
    fused_scalars: Callable[[dict], dict] | None = None
    # optimizers: fused_states(config) -> {state name: the group's decay of it} for a state whose
    # fused product cancels (RMSprop's centered variance): the engine moves that state instead
    fused_states: Callable[[dict], dict] | None = None
    # course forms: style name -> form(module, function) -> reference.styles.Adapted
    styles: dict = field(default_factory=dict)
    # known variants (reference.variants.Variant): conventions and bugs a failing candidate is
    # tried against, each a drop-in replacement for ``twin``
    variants: tuple = ()

    @contextlib.contextmanager
    def expected_warnings(self):
        """Silence the twin warnings this spec triggers on purpose (and only those)."""
        with warnings.catch_warnings():
            for message in self.ignore_warnings:
                warnings.filterwarnings("ignore", message=message)
            yield

    def twin_of(self, instance):
        """The torch twin of a scratch ``instance`` of this spec's component, built with the
        constructor arguments the instance holds (``constructor_config``); weights are not copied."""
        return self.twin(**constructor_config(instance, self.component))

    def make(self, config: dict, candidate=None):
        """Construct the scratch side (or a user's candidate) from ``config``."""
        factory = candidate or self.build or self.component
        return factory(**config)

    def tolerance(self, dtype: str, step: int | None = None) -> Tolerance:
        if step is not None and self.step_tolerance is not None:
            return self.step_tolerance(dtype, step)
        return self.tolerances[dtype]

    def default_case(self) -> Case:
        if self.default is not None:
            return self.default()
        rng = np.random.default_rng(0)
        return Case(config=dict(self.default_config),
                    inputs=[rng.standard_normal(self.default_shape) for _ in self.calls], seed=0)
