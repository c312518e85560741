"""``assert_matches_torch``: the verifier inside a user's own pytest suite.

    from reference.testing import assert_matches_torch
    import my_layers

    def test_affine_matches_torch():
        assert_matches_torch("linear", my_layers.affine_forward, style="cs231n")

It runs what ``python -m reference.verify`` runs and raises ``AssertionError`` with the same
report: every failing quantity, the minimal case, the known variants it matches and a snippet
that reproduces it.
"""

from __future__ import annotations

from reference.compare import describe_failure
from reference.diagnose import failing_quantities
from reference.fileio import hypothesis_storage_in_user_cache
from reference.verify import DEFAULT_TIMEOUT, verify


def assert_matches_torch(kind: str, candidate, style: str | None = None, fix: dict | None = None,
                         examples: int | None = None, accept: str | None = None, dtype: str = "float64",
                         device: str = "cpu", seed: int = 0, timeout: float | None = DEFAULT_TIMEOUT) -> dict:
    """Raise AssertionError unless ``candidate`` (a class of the kind's protocol, or with
    ``style="cs231n"`` a course function) matches torch on every generated case. ``fix``: torch
    options pinned by hand ({"amsgrad": False}); ``accept``: a known variant to check against.
    Returns verify's result (records, what was not checked) when it matches."""
    with hypothesis_storage_in_user_cache():
        result = verify(kind, candidate, examples=examples, dtype=dtype, device=device, seed=seed,
                        timeout=timeout, style=style, fix=fix, accept=accept)
    if "failed_records" in result:
        raise AssertionError(_report(kind, candidate, result))
    return result


def _report(kind: str, candidate, result: dict) -> str:
    name = getattr(candidate, "__name__", repr(candidate))
    lines = [f"{name} does not match {result['spec'].twin_name} ({kind}):"]
    if "case" in result:
        lines.append(f"  minimal case: {result['case'].as_code()}")
    lines += ["  " + describe_failure(r).replace("\n", "\n    ") for r in failing_quantities(result["failed_records"])]
    lines += [f"  Matches known variant: {v.name}: {v.explanation}" for v in result.get("variants", ())]
    if result.get("not_checked"):
        lines.append("  not checked: " + "; ".join(result["not_checked"]))
    if "repro" in result:
        lines.append("Reproduce with:\n" + result["repro"])
    return "\n".join(lines)
