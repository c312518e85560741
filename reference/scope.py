"""What a candidate can express, and so what it is checked on.

A user's class rarely takes every option torch's twin takes (amsgrad, nesterov, label_smoothing,
class weights, ...), and a course-style function takes fewer still. Cases that use an option the
candidate cannot express would fail for a reason that is not a numerical difference, so the
option is *pinned*: every drawn case uses one value for it (torch's default, or ``--fix
NAME=VALUE``), and the report lists what was pinned as not checked. Input forms the candidate
cannot take (probability targets for a function that indexes classes) are left out the same way.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Callable

from reference.spec import Case, Spec


@dataclass
class Scope:
    pins: dict = field(default_factory=dict)      # option -> the value every case uses
    reasons: dict = field(default_factory=dict)   # option -> why it is pinned
    accepts: Callable[[Case], bool] | None = None  # None: every case form
    not_checked: list = field(default_factory=list)  # lines for the report beyond the pins
    drop: tuple = ()                              # options the candidate's constructor does not take

    def notes(self) -> list[str]:
        """One line per thing the run did not check."""
        pinned = [f"option {k}={v!r} only ({self.reasons[k]})" for k, v in self.pins.items()]
        return pinned + list(self.not_checked)


def twin_options(spec: Spec) -> dict:
    """The twin's keyword options and their defaults (required ones and device/dtype left out)."""
    try:
        params = inspect.signature(spec.twin).parameters
    except (TypeError, ValueError):
        return {}
    skip = ("params", "device", "dtype", "foreach", "capturable", "differentiable", "fused")
    return {n: p.default for n, p in params.items()
            if n not in skip and p.default is not inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def constructor_scope(spec: Spec, candidate) -> Scope:
    """Options of the twin that ``candidate``'s constructor does not take: pinned to torch's
    default and dropped from the arguments it is built with (a ``**kwargs`` takes them all)."""
    try:
        params = inspect.signature(candidate).parameters
    except (TypeError, ValueError):
        return Scope()
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return Scope()
    name = getattr(candidate, "__name__", "the candidate")
    missing = {k: v for k, v in twin_options(spec).items() if k not in params}
    return Scope(pins=missing, reasons={k: f"{name} does not take it; torch's default" for k in missing},
                 drop=tuple(missing))


def parse_fix(items) -> dict:
    """``NAME=VALUE`` strings (``--fix``) -> {NAME: value}, VALUE a Python literal (or a bare word)."""
    import ast

    out = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--fix: expected NAME=VALUE (e.g. amsgrad=False), got {item!r}")
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def with_fixes(scope: Scope, spec: Spec, fixes: dict) -> Scope:
    """``scope`` plus options pinned by hand; an option the twin does not take is a usage error."""
    options = twin_options(spec)
    unknown = [k for k in fixes if k not in options]
    if unknown:
        raise ValueError(f"--fix: {spec.twin_name} has no option {', '.join(map(repr, unknown))}; "
                         f"its options: {', '.join(options)}")
    return dataclasses.replace(scope, pins={**scope.pins, **fixes},
                               reasons={**scope.reasons, **{k: "--fix" for k in fixes}})


def pin(case: Case, pins: dict) -> Case:
    """The case with every pinned option set, in its config and in every parameter group."""
    if not pins:
        return case
    config = {**case.config, **pins}
    groups = case.extra.get("groups")
    if groups:
        groups = [{**g, **{k: v for k, v in pins.items() if k in g}} for g in groups]
        return dataclasses.replace(case, config=config, extra=dict(case.extra, groups=groups))
    return dataclasses.replace(case, config=config)


def scoped_cases(spec: Spec, scope: Scope):
    """The spec's strategy with the scope's pins applied and the forms it cannot take left out."""
    cases = spec.cases(n_calls=len(spec.calls))
    if scope.pins:
        cases = cases.map(lambda c: pin(c, scope.pins))
    return cases.filter(scope.accepts) if scope.accepts else cases


def without_options(candidate, names: tuple):
    """A factory that builds ``candidate`` without the keyword arguments ``names`` (pinned to
    torch's defaults, which it does not take)."""
    if not names:
        return candidate

    def build(*args, **kwargs):
        return candidate(*args, **{k: v for k, v in kwargs.items() if k not in names})
    build.__name__ = getattr(candidate, "__name__", "candidate")
    return build
