"""The component registry: every spec, by name. Tests, the verifier and the
conformance report all iterate it; adding a component is one scratch file plus
one spec entry in ``reference/specs``."""

from __future__ import annotations

import importlib

from reference.spec import Spec

# families of specs; each module has SPECS (families land with their issues)
_FAMILIES = ["reference.specs.modules", "reference.specs.losses", "reference.specs.optim",
             "reference.specs.schedulers", "reference.specs.init"]


def _load() -> dict[str, Spec]:
    out: dict[str, Spec] = {}
    for mod in _FAMILIES:
        for spec in importlib.import_module(mod).SPECS:
            if spec.name in out:
                raise RuntimeError(f"duplicate spec name {spec.name!r}")
            out[spec.name] = spec
    return out


REGISTRY: dict[str, Spec] = _load()


def get_spec(name: str) -> Spec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown component {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def specs(kind: str | None = None) -> list[Spec]:
    return [s for s in REGISTRY.values() if kind is None or s.kind == kind]
