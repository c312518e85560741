"""The verifier against the catalog of known bugs (tests/catalog): every deliberately wrong
implementation must be reported as a mismatch, every correct alternative must pass.

Each run is ``reference.verify.verify`` exactly as ``python -m reference.verify`` calls it,
with the entry's small example count and seed 0, minus hypothesis's shrink phase: whether a
mismatch exists is decided during generation, and shrinking a 30-step optimizer trajectory
alone takes longer than this whole file may (``python -m tests.catalog`` times full runs).
A bug the generated cases reach too rarely in some dtype (``Entry.misses``, with the measured
reason) is checked on its hand-made ``Entry.edge`` case instead: the engine must flag the
candidate there, and scratch's own component must pass the very same case.
"""

from __future__ import annotations

import inspect
import warnings

import pytest
from hypothesis.errors import HypothesisWarning

import reference.verify as V
from reference.engine import run_case
from reference.registry import REGISTRY
from tests.catalog import CATALOG, Entry


def _runs():
    for e in CATALOG:
        for dtype, caught in e.runs():
            if dtype not in e.misses:
                yield pytest.param(e, dtype, caught, id=f"{'wrong' if e.wrong else 'correct'}-{e.name}-{dtype}")


MISSES = [pytest.param(e, dt, id=f"{e.name}-{dt}") for e in CATALOG for dt in e.misses]


def _verify(entry: Entry, dtype: str, examples: int | None = None, shrink: bool = False) -> dict:
    """Shrinking is off by default: a failing optimizer trajectory takes seconds to shrink."""
    assert entry.kind in REGISTRY, f"catalog entry for unknown kind {entry.kind!r}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # naive candidates overflow on purpose
        warnings.filterwarnings("ignore", "Generating overly large repr", HypothesisWarning)  # 64x64 cases
        return V.verify(entry.kind, entry.cls, examples=examples or entry.examples, dtype=dtype,
                        candidate_ref=entry.ref, shrink=shrink)


@pytest.mark.parametrize("entry,dtype,caught", list(_runs()))
def test_verifier_verdict(entry, dtype, caught):
    result = _verify(entry, dtype)
    if caught:
        assert "case" in result, f"{entry.ref} was not caught in {dtype} ({entry.examples} cases): {entry.doc}"
    else:
        bad = result.get("failed_records", [])
        assert "case" not in result, (f"{entry.ref} must pass in {dtype} but: "
                                      + "; ".join(V.describe_failure(r) for r in bad[:3]) + f"\n{result.get('repro')}")


@pytest.mark.parametrize("entry,dtype", MISSES)
def test_known_miss_is_caught_at_its_edge(entry, dtype):
    spec = REGISTRY[entry.kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        bad = [r for r in run_case(spec, entry.edge, dtype, candidate=entry.cls) if not r.passed]
        scratch_bad = [r for r in run_case(spec, entry.edge, dtype) if not r.passed]
    assert bad, f"{entry.name}: the engine does not flag it even on its edge case in {dtype}"
    assert not scratch_bad, f"the edge case is unfair: scratch fails it too ({V.describe_failure(scratch_bad[0])})"


def _is_scratch(cls) -> bool:
    return any(c.__module__.split(".")[0] == "scratch" for c in inspect.getmro(cls))


def test_catalog_size_and_mix():
    wrong = [e for e in CATALOG if e.wrong]
    right = [e for e in CATALOG if not e.wrong]
    assert len(wrong) >= 25 and len(right) >= 6
    for family in ("module", "loss", "optimizer"):  # bugs and alternatives in every family
        kinds = {e.kind for e in CATALOG if e.kind in REGISTRY and REGISTRY[e.kind].kind == family}
        assert {e.wrong for e in CATALOG if e.kind in kinds} == {True, False}, family
    standalone = [e for e in wrong if not _is_scratch(e.cls)]
    assert len(standalone) * 3 >= len(wrong), "at least a third of the wrong ones must not build on scratch"
    assert not [e.name for e in right if _is_scratch(e.cls)], "correct alternatives must be written independently"


def test_entries_are_documented_and_unique():
    names = [e.name for e in CATALOG]
    assert len(names) == len(set(names))
    for e in CATALOG:
        assert len(e.doc) > 30, f"{e.name}: the docstring must state the bug or the difference"
        assert set(e.dtypes).isdisjoint(e.misses) and e.dtypes + e.misses, e.name
        assert not e.misses or (e.wrong and e.why_missed and e.edge is not None), e.name


def test_command_line_on_catalog_entries(capsys):
    """The refs work as CANDIDATE on the command line: exit 1 (with a shrunk case) and exit 0."""
    from tests.catalog.correct_losses import HuberFromSmoothL1
    from tests.catalog.losses import NoClassMeanMultiMargin

    for cls, kind, code in ((NoClassMeanMultiMargin, "multi_margin", 1), (HuberFromSmoothL1, "huber", 0)):
        ref = f"{cls.__module__}:{cls.__name__}"
        assert V.main([kind, ref, "--examples", "5"]) == code, capsys.readouterr().out
        out = capsys.readouterr().out
        assert ("MISMATCH" in out and "load_candidate(" in out) if code else "OK" in out
