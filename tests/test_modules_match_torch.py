"""The generic property tests: every module in the registry against its torch twin,
in float64 and float32 (and on cuda when present), one test per compared quantity."""

from __future__ import annotations

import pytest
from hypothesis import given

from reference.compare import assert_records
from reference.engine import ERROR_QUANTITIES, repro_snippet, run_case
from reference.registry import specs
from tests.conftest import DEVICES, DTYPES

MODULES = specs("module")
# failures to build, run or line up with the twin are reported by every per-quantity test
ALWAYS = (*ERROR_QUANTITIES, "parameter names", "buffer names", "layout")
# the record kinds each test judges
QUANTITIES = {
    "output": ("output", "input unchanged"),
    "grad_input": ("grad_input",),
    "param_grads": ("grad", "init", "layout", "parameter names"),
    "buffers": ("buffer", "buffer names"),
}


def _applies(spec, quantity):
    if quantity == "param_grads":
        return "params" in spec.tags
    if quantity == "buffers":
        return "buffers" in spec.tags
    return True


CASES = [pytest.param(s, q, dt, dev, id=f"{s.name}-{q}-{dt}-{dev}")
         for s in MODULES for q in QUANTITIES if _applies(s, q) for dt in DTYPES for dev in DEVICES]


@pytest.mark.parametrize("spec,quantity,dtype,device", CASES)
def test_matches_torch(spec, quantity, dtype, device):
    compared = []

    @given(spec.cases(n_calls=len(spec.calls)))
    def prop(case):
        records = run_case(spec, case, dtype, device)
        selected = [r for r in records if r.kind in QUANTITIES[quantity] or r.kind in ALWAYS]
        compared.extend(selected)
        assert_records(selected, repro=repro_snippet(spec, case, dtype, device))

    prop()
    # some cases have no such quantity (affine=False has no parameters), but not all may lack it
    assert any(r.kind in QUANTITIES[quantity] for r in compared), f"no {quantity} was ever compared"
