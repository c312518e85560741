"""One convention for what forward keeps for backward: every module and loss of the registry
saves it in one ``scratch.autograd.Context`` (``_ctx``), made afresh by each forward, and keeps
no other per-call arrays; backward reads ``saved_tensors``."""

from __future__ import annotations

import numpy as np
import pytest

from reference.engine.losses import config_for
from reference.registry import specs
from scratch.autograd.function import Context

STATELESS = {"identity", "sequential"}  # Identity keeps nothing; Sequential's children keep theirs


def _run_forward(spec):
    case = spec.default_case()
    if spec.kind == "loss":
        m = spec.make(config_for(case.config, "float64"))
        m.forward(case.inputs[0], case.inputs[1])
    else:
        m = spec.make(case.config).to(np.float64)
        m(case.inputs[0])
    return m


@pytest.mark.parametrize("spec", [s for s in specs("module") + specs("loss") if s.name not in STATELESS],
                         ids=lambda s: s.name)
def test_forward_saves_one_context_and_nothing_else(spec):
    m = _run_forward(spec)
    first = m._ctx
    assert isinstance(first, Context)
    assert all(isinstance(a, np.ndarray) for a in first.saved_tensors)
    per_call = [k for k, v in vars(m).items() if isinstance(v, np.ndarray)]
    assert not per_call, f"{spec.name} keeps arrays outside its Context: {per_call}"
    case = spec.default_case()
    if spec.kind == "loss":
        m.forward(case.inputs[0], case.inputs[1])
    else:
        m(case.inputs[0])
    assert m._ctx is not first  # a fresh Context per forward
