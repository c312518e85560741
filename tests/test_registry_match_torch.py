"""The generic property tests for every non-module family in the registry: losses,
optimizers, learning-rate schedulers and initializers against their torch twins,
in float64 and float32 (and on cuda when present). Modules have their own
per-quantity test (test_modules_match_torch.py)."""

from __future__ import annotations

import pytest
from hypothesis import given

from reference.compare import assert_records
from reference.engine import repro_snippet, run_case
from reference.registry import specs
from tests.conftest import DEVICES, DTYPES

KINDS = ("loss", "optimizer", "scheduler", "init")
CASES = [pytest.param(s, dt, dev, id=f"{s.kind}-{s.name}-{dt}-{dev}")
         for kind in KINDS for s in specs(kind) for dt in DTYPES for dev in DEVICES]


@pytest.mark.parametrize("spec,dtype,device", CASES)
def test_matches_torch(spec, dtype, device):
    compared = []

    @given(spec.cases(n_calls=len(spec.calls)))
    def prop(case):
        records = run_case(spec, case, dtype, device)
        compared.extend(records)
        assert_records(records, repro=repro_snippet(spec, case, dtype, device))

    prop()
    assert compared, "no quantity was ever compared"


@pytest.mark.parametrize("spec,dtype,device", CASES)
def test_default_case_matches_torch(spec, dtype, device):
    case = spec.default_case()
    records = run_case(spec, case, dtype, device)
    assert records
    assert_records(records, repro=repro_snippet(spec, case, dtype, device))
