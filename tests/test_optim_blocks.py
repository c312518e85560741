"""Optimizer steps run in blocks (scratch.optim._blocks, used for large parameters) give the
bits of one whole call, for every registry optimizer and every configuration its strategy draws.

The registry's own cases use small parameters that never reach the real block size, so here
the block size is shrunk to a few elements: every parameter is then cut into several blocks,
the last one partial."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import scratch.optim._blocks as blocks
from reference.compare import assert_records
from reference.engine import repro_snippet, run_case
from reference.engine.trajectories import _groups
from reference.registry import specs
from scratch.nn import Parameter

OPTIMIZERS = specs("optimizer")


def _run(spec, case, dtype, block, monkeypatch):
    """Parameters and state arrays after every step of the case, at this block size."""
    monkeypatch.setattr(blocks, "BLOCK", block)
    params = [Parameter(np.array(x, dtype=dtype)) for x in case.inputs]
    opt = spec.component(_groups(case, params), **case.config)
    seen = []
    for grads in case.steps:
        for p, g in zip(params, grads):
            p.grad = None if g is None else np.array(g, dtype=dtype)
        opt.step()
        seen += [p.data.copy() for p in params]
        seen += [np.array(v) for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray)]
    return seen


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", OPTIMIZERS, ids=[s.name for s in OPTIMIZERS])
def test_blocked_steps_equal_one_call_bitwise(spec, dtype, monkeypatch):
    blocked_somewhere = []

    @settings(max_examples=15)
    @given(spec.cases(n_calls=1))
    def prop(case):
        whole = _run(spec, case, dtype, 10**9, monkeypatch)
        cut = _run(spec, case, dtype, 3, monkeypatch)
        assert len(whole) == len(cut)
        for i, (a, b) in enumerate(zip(whole, cut)):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), f"array {i} differs"
        blocked_somewhere.append(any(np.size(x) > 3 for x in case.inputs))

    prop()
    assert any(blocked_somewhere), "no case had a parameter larger than one block"


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=[s.name for s in OPTIMIZERS])
def test_blocked_steps_match_torch(spec, monkeypatch):
    """The engine's comparison with torch, with every parameter cut into blocks of 2."""
    monkeypatch.setattr(blocks, "BLOCK", 2)
    case = spec.default_case()
    assert any(np.size(x) > 2 for x in case.inputs)
    assert_records(run_case(spec, case, "float32"), repro=repro_snippet(spec, case, "float32", "cpu"))

