"""Candidate styles: code written another way than the harness protocol, adapted to it.

``cs231n``: the course's functions (``affine_forward(x, w, b) -> (out, cache)``,
``svm_loss(x, y) -> (loss, dx)``, ``adam(w, dw, config) -> (next_w, config)``). A style maps
layouts, names and conventions, and says what it cannot express (a ``reference.scope.Scope``).
Each spec names its course form (``Spec.styles``); ``adapt`` builds the candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference.scope import Scope

STYLES = ("cs231n",)


class StyleError(ValueError):
    """The style cannot take this kind or this function: the message says what it expects."""


@dataclass
class Adapted:
    candidate: object                   # what the engine runs (a class or factory of the protocol)
    scope: Scope = field(default_factory=Scope)
    check: object = None                # a whole-run check replacing the engine's (dropout's statistics)


def adapt(spec, style: str, module, function) -> Adapted:
    """The candidate of ``spec``'s kind built from the course ``function`` (and its partners,
    found by name in ``module``)."""
    if style not in STYLES:
        raise StyleError(f"--style: expected one of {', '.join(STYLES)}, got {style!r}")
    form = spec.styles.get(style)
    if form is None:
        known = ", ".join(sorted(_kinds_with(style)))
        raise StyleError(f"--style {style}: no course form for kind {spec.name!r}; kinds it covers: {known}")
    return form(module, function)


def _kinds_with(style: str) -> list:
    from reference.registry import REGISTRY

    return [name for name, s in REGISTRY.items() if style in s.styles]


def partner(module, function: str, suffix: str, replace: str) -> object:
    """The function named like ``function`` with ``suffix`` replaced (affine_forward -> affine_backward)."""
    if not function.endswith(suffix):
        raise StyleError(f"expected the forward function, named like 'affine_forward' (ending in {suffix!r}), "
                         f"got {function!r}")
    name = function[: -len(suffix)] + replace
    fn = getattr(module, name, None)
    if not callable(fn):
        raise StyleError(f"{function} needs its partner {name}(dout, cache) in the same file; none found")
    return fn

