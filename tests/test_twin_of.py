"""``Spec.twin_of``: the torch twin of a scratch module is rebuilt from the arguments the
instance holds, for every module spec and every drawn configuration (what ``torch_twin`` needs
to put a scratch model's architecture into torch)."""

from __future__ import annotations

import pytest

from reference.registry import specs
from reference.sampling import sample_cases

MODULES = [s for s in specs("module") if s.name != "sequential"]  # a Sequential is rebuilt layer by layer


@pytest.mark.parametrize("spec", MODULES, ids=lambda s: s.name)
def test_twin_of_rebuilds_every_drawn_configuration(spec):
    for case in [spec.default_case(), *sample_cases(spec.cases(n_calls=len(spec.calls)), 20, seed=0)]:
        expected = spec.twin(**case.config)
        got = spec.twin_of(spec.make(case.config))
        assert type(got) is type(expected)
        assert got.extra_repr() == expected.extra_repr(), case.config
        assert [(n, tuple(p.shape)) for n, p in got.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in expected.named_parameters()]


def test_a_wrong_flag_would_show():
    linear = next(s for s in MODULES if s.name == "linear")
    got = linear.twin_of(linear.make(dict(in_features=3, out_features=2, bias=False)))
    assert got.extra_repr() != linear.twin(in_features=3, out_features=2, bias=True).extra_repr()
