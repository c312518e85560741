"""Diagnosis of a failing candidate: which known variant of its kind does it match?

Each spec lists known variants (``Spec.variants``, from ``reference.variants``): the catalog's
bugs and the course's conventions (biased running variance, eps inside the square root, no bias
correction, relu'(0) = 1, softmax without the max shift, ...), each a torch twin that differs
from torch's in that one respect. The failing case is rerun with each variant in place of the
twin; a variant matches when every quantity then passes within the same tolerances.
"""

from __future__ import annotations

import dataclasses

from reference.guard import run_guarded


def diagnose(prep, case, dtype: str, device: str, timeout) -> list:
    """The known variants of ``prep.spec`` that the candidate matches on ``case``."""
    matches = []
    for variant in prep.spec.variants:
        spec = dataclasses.replace(prep.spec, twin=variant.twin)
        try:
            records, aborted = run_guarded(spec, case, dtype, device, prep.candidate, timeout, lenient=True)
        except Exception:  # the variant's twin cannot run this case: not a match
            continue
        if not aborted and records and all(r.passed for r in records):
            matches.append(variant)
    return matches


def failing_quantities(records) -> list:
    """The worst failing record of each quantity (output, grad:weight, state:0:exp_avg, ...), in
    the order they first failed: every quantity that fails is listed, not only the first."""
    worst = {}
    for r in records:
        if r.passed:
            continue
        key = r.quantity
        if key not in worst or r.margin > worst[key].margin:
            worst[key] = r
    return list(worst.values())
