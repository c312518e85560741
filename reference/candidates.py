"""A user's candidate, made ready for the engine: loaded by reference, checked against its kind's
protocol (or adapted from a course style), scoped to what it can express, and the spec amended
with an accepted known variant.

    prepare(kind, candidate, style=None, fix=None, accept=None) -> Prepared
    load_candidate("path/file.py:Name" or "package.module:Name", kind=None, style=None)
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from reference.guard import exc_line
from reference.registry import get_spec
from reference.scope import Scope, constructor_scope, with_fixes, without_options
from reference.spec import BUFFERS, STOCHASTIC, Spec
from reference.styles import Adapted, StyleError, adapt

# what each kind's candidate class must provide (attributes of the class)
PROTOCOL = {
    "module": ("forward", "backward", "named_parameters", "train", "eval"),
    "loss": ("forward", "backward"),
    "optimizer": ("step", "zero_grad"),
    "scheduler": ("step", "get_last_lr"),
    "init": (),
}


class UsageError(Exception):
    """A problem with the command line or the candidate's shape: exit status 2."""


def _import_path(path: Path):
    mod_spec = importlib.util.spec_from_file_location(f"_candidate_{path.stem}", path)
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[mod_spec.name] = module  # dataclasses, pickling and styles look their module up
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ beside the file
    try:
        mod_spec.loader.exec_module(module)
    except BaseException as e:  # a syntax error, a crash or sys.exit() at import: the file, not a pass
        raise UsageError(f"CANDIDATE: {path} failed to import: {exc_line(e)}") from None
    finally:
        sys.dont_write_bytecode = dont_write
    return module


def _import_module(where: str):
    try:
        return importlib.import_module(where)
    except ImportError as e:
        raise UsageError(f"CANDIDATE: cannot import module {where!r}: {e}") from None
    except BaseException as e:
        raise UsageError(f"CANDIDATE: module {where!r} failed to import: {exc_line(e)}") from None


def load_object(ref: str):
    """``path/to/file.py:Name`` or ``package.module:Name`` -> the object (a class or a function)."""
    if ":" not in ref:
        raise UsageError(f"CANDIDATE: expected 'path/to/file.py:Name' or 'package.module:Name', got {ref!r}")
    where, _, name = ref.rpartition(":")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise UsageError(f"CANDIDATE: file not found: {path}")
        module = _import_path(path)
    else:
        module = _import_module(where)
    if not hasattr(module, name):
        raise UsageError(f"CANDIDATE: {where} has no attribute {name!r}")
    return getattr(module, name)


def check_protocol(spec: Spec, cls) -> None:
    """Raise UsageError naming every method or attribute the kind's protocol needs and ``cls`` lacks."""
    if not callable(cls):
        raise UsageError(f"CANDIDATE: {cls!r} is not a class or callable")
    needed = list(PROTOCOL[spec.kind])
    if spec.kind == "module" and BUFFERS in spec.tags:
        needed.append("named_buffers")
    if spec.kind == "module" and STOCHASTIC in spec.tags:
        needed.append("inject_mask")
    missing = [n for n in needed if not hasattr(cls, n)]
    if missing:
        hint = " (a function? course-style code takes --style cs231n)" if not isinstance(cls, type) else ""
        raise UsageError(f"CANDIDATE: {getattr(cls, '__name__', cls)} does not follow the {spec.kind} protocol: "
                         f"missing {', '.join(missing)} (see README, 'The candidate protocol'){hint}")


@dataclass
class Prepared:
    spec: Spec                  # the kind's spec, its twin replaced by an accepted variant
    candidate: object           # what the engine builds (class or factory)
    scope: Scope
    check: object = None        # a whole-run check of its own (course dropout)
    accepted: str = ""          # the accepted variant's name
    candidate_code: str = ""    # Python (imports, then an expression) that rebuilds ``candidate``
    spec_code: str = ""         # the same for ``spec``


def _adapted(spec: Spec, obj, style: str | None) -> Adapted:
    if style is None:
        check_protocol(spec, obj)
        scope = constructor_scope(spec, obj)
        return Adapted(without_options(obj, scope.drop), scope)
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    if module is None or not callable(obj):
        raise UsageError(f"--style {style}: expected a function defined in a module, got {obj!r}")
    try:
        return adapt(spec, style, module, obj)
    except StyleError as e:
        raise UsageError(str(e)) from None


def accepted_spec(kind: str, accept: str | None) -> Spec:
    """The kind's spec, its twin replaced by the known variant ``accept`` (None: unchanged)."""
    spec = get_spec(kind)
    if not accept:
        return spec
    names = {v.name: v for v in spec.variants}
    if accept not in names:
        known = ", ".join(names) or "none"
        raise UsageError(f"--accept: {kind} has no known variant {accept!r}; known: {known}")
    return dataclasses.replace(spec, twin=names[accept].twin)


def prepare(kind: str, obj, style: str | None = None, fix: dict | None = None, accept: str | None = None,
            ref: str | None = None) -> Prepared:
    """Everything the engine needs to run ``obj`` (a class, or with ``style`` a course function)
    as a candidate of ``kind``. ``ref``: where it was loaded from, for the repro snippet."""
    spec = accepted_spec(kind, accept)
    adapted = _adapted(spec, obj, style)
    ref = ref or object_ref(obj)
    try:
        scope = with_fixes(adapted.scope, spec, fix or {})
    except ValueError as e:
        raise UsageError(str(e)) from None
    code = ""
    if ref:
        code = ("from reference.candidates import load_candidate\n"
                f"load_candidate({ref!r}, kind={kind!r}, style={style!r})")
    spec_code = f"from reference.candidates import accepted_spec\naccepted_spec({kind!r}, {accept!r})" if accept else ""
    return Prepared(spec, adapted.candidate, scope, adapted.check, accept or "", code, spec_code)


def object_ref(obj) -> str | None:
    """'path/file.py:Name' or 'package.module:Name' that loads ``obj`` again (None: it cannot)."""
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    qualname = getattr(obj, "__qualname__", "")
    if module is None or not qualname or "<" in qualname or getattr(module, qualname, None) is not obj:
        return None
    if module.__name__.startswith("_candidate_") and getattr(module, "__file__", None):
        return f"{module.__file__}:{qualname}"
    return f"{module.__name__}:{qualname}"


def load_candidate(ref: str, kind: str | None = None, style: str | None = None):
    """The object ``ref`` names; with ``kind``, the candidate the engine builds for it (adapted
    from ``style``, built without the options it does not take)."""
    obj = load_object(ref)
    return obj if kind is None else prepare(kind, obj, style).candidate
