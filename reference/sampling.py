"""Draw cases from a registry strategy outside a test (reports, the verifier), reproducibly."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed


def sample_cases(strategy, n: int, seed: int = 0) -> list:
    """``n`` examples of ``strategy``, the same ones for the same seed."""
    out = []

    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(case):
        out.append(case)

    collect()
    return out[:n]
