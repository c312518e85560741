"""Hypothesis profiles, registered once: ``dev`` (quick), ``ci`` (the default; derandomized
so CI is repeatable; the whole suite stays under 5 minutes on 2 cores) and
``thorough`` (10x ci's examples). Select with HYPOTHESIS_PROFILE=NAME.

``ignore_source_constants()`` makes what a strategy draws independent of which modules a
process has imported (see its docstring); ``reference.strategies`` calls it on import, so the
suite, the verifier and the reports all draw the same cases on every machine and in every order.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 50
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
               print_blob=True)

settings.register_profile("dev", max_examples=10, **_COMMON)
settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=10 * CI_EXAMPLES, **_COMMON)


def load(default: str = "ci") -> str:
    name = os.environ.get("HYPOTHESIS_PROFILE", default)
    settings.load_profile(name)
    ignore_source_constants()
    return name


def scaled(n: int) -> int:
    """``n`` examples in ci, scaled like the active profile (for tests that need fewer)."""
    return max(1, round(n * settings.default.max_examples / CI_EXAMPLES))


SOURCE_CONSTANTS_LOOKUP = None  # hypothesis' own lookup, kept for the test that shows what it does


def ignore_source_constants() -> bool:
    """Stop hypothesis from drawing constants found in the source of the process's own modules.

    Hypothesis (since 6.131) draws, for a few percent of numbers, a literal from the source of
    every non-library module loaded in the process at that moment. Which modules are loaded
    depends on which tests ran before in the same pytest-xdist worker (and on what a user's
    candidate file holds), so a derandomized run drew different cases on different machines:
    a ``Linear`` with weights of ~2e4 in one worker, none in another. Hypothesis has no setting
    for it, so the lookup is replaced by an empty pool (its global pool of edge values, 0, inf,
    nan, ..., stays). Also keeps hypothesis from caching those constants under ``.hypothesis/``.
    Returns whether there was a lookup to replace (older hypothesis versions have none);
    ``tests/test_process_state.py`` fails if a new version draws source constants again.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the module has no such lookup
        return False
    global SOURCE_CONSTANTS_LOOKUP
    if not hasattr(providers, "_get_local_constants"):
        return False
    if SOURCE_CONSTANTS_LOOKUP is None:
        SOURCE_CONSTANTS_LOOKUP = providers._get_local_constants
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    return True
