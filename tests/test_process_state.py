"""The guards against order-dependent verdicts: the process-state snapshot that
``conftest.process_state_unchanged`` compares around every test module, and the pinning of
hypothesis' draws against the source constants of whatever modules a process has loaded."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers

from reference import hypothesis_profiles, process_state
from reference.sampling import sample_cases

MAGIC = 987654.321


@pytest.mark.parametrize("leak, key", [("torch threads", "torch.num_threads"), ("numpy errstate", "numpy.errstate"),
                                       ("default dtype", "torch.default_dtype"), ("blas threads", "blas.threads"),
                                       ("grad mode", "torch.grad_enabled")])
def test_snapshot_sees_each_kind_of_leak(leak, key):
    before = process_state.snapshot()
    if leak == "torch threads":
        old = torch.get_num_threads()
        torch.set_num_threads(old + 1)
        after = process_state.snapshot()
        torch.set_num_threads(old)
    elif leak == "numpy errstate":
        with np.errstate(over="raise"):
            after = process_state.snapshot()
    elif leak == "default dtype":
        torch.set_default_dtype(torch.float64)
        after = process_state.snapshot()
        torch.set_default_dtype(torch.float32)
    elif leak == "blas threads":
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=3, user_api="blas"):
            after = process_state.snapshot()
    else:
        with torch.no_grad():
            after = process_state.snapshot()
    assert any(line.startswith(key + ":") for line in process_state.changes(before, after))
    assert process_state.changes(before, process_state.snapshot()) == []


def _load_module_with_constant(tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(f"VALUE = {MAGIC!r}\n")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _draws():
    return sample_cases(st.floats(allow_nan=False), 300, seed=1)


def test_draws_do_not_depend_on_loaded_modules(tmp_path, monkeypatch):
    assert hypothesis_profiles.ignore_source_constants()  # this hypothesis has the lookup to replace
    first = _draws()
    monkeypatch.setitem(sys.modules, "_const_a", None)
    _load_module_with_constant(tmp_path, "_const_a")
    assert _draws() == first
    assert MAGIC not in first
    assert not providers._get_local_constants().floats


def test_without_the_pinning_a_loaded_module_changes_the_draws(tmp_path, monkeypatch):
    """What ``ignore_source_constants`` prevents, shown with hypothesis' own lookup put back."""
    pinned = _draws()
    monkeypatch.setattr(providers, "_get_local_constants", hypothesis_profiles.SOURCE_CONSTANTS_LOOKUP)
    monkeypatch.setitem(sys.modules, "_const_b", None)
    _load_module_with_constant(tmp_path, "_const_b")
    assert MAGIC in providers._get_local_constants().floats
    assert _draws() != pinned


def test_a_newly_loaded_library_is_not_a_change():
    before = {"blas.threads": {"/lib/a.so": 2}}
    assert process_state.changes(before, {"blas.threads": {"/lib/a.so": 2, "/lib/scipy_b.so": 2}}) == []
    assert process_state.changes(before, {"blas.threads": {"/lib/a.so": 1, "/lib/scipy_b.so": 2}}) == [
        "blas.threads: {'/lib/a.so': 2} -> {'/lib/a.so': 1}"]
