"""Hypothesis profiles, registered once: ``dev`` (quick), ``ci`` (the default; derandomized
so CI is repeatable; the whole suite stays under 5 minutes on 2 cores) and
``thorough`` (10x ci's examples). Select with HYPOTHESIS_PROFILE=NAME."""

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
    return name


def scaled(n: int) -> int:
    """``n`` examples in ci, scaled like the active profile (for tests that need fewer)."""
    return max(1, round(n * settings.default.max_examples / CI_EXAMPLES))
