"""Meta-tests: the registry covers every export, scratch stays NumPy (+ scipy.special), and the
engine catches what it must (a one-part-in-1e6 perturbation, a gradient scaled by 2)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import scratch.nn as snn
from reference.compare import DEFAULT_TOLERANCES, Tolerance, assert_records, compare
from reference.engine import repro_snippet, run_case
from reference.registry import REGISTRY, get_spec


def exported_components() -> list:
    """Every component scratch exports: modules and losses (scratch.nn), optimizers
    (scratch.optim), learning-rate schedulers (scratch.optim.lr_scheduler) and initializers
    (scratch.nn.init's in-place fills), base classes left out."""
    import scratch.nn.init as sinit
    import scratch.optim as sopt
    from scratch.optim import lr_scheduler

    def subclasses(pkg, base):
        return [c for c in (getattr(pkg, n) for n in pkg.__all__)
                if isinstance(c, type) and issubclass(c, base) and c is not base]
    return (subclasses(snn, snn.Module) + subclasses(sopt, sopt.Optimizer)
            + subclasses(lr_scheduler, lr_scheduler.LRScheduler)
            + [getattr(sinit, n) for n in sinit.__all__ if n.endswith("_")])


def test_every_exported_component_has_a_spec():
    covered = {spec.component for spec in REGISTRY.values()}
    components = exported_components()
    missing = [c.__name__ for c in components if c not in covered]
    assert not missing, f"exported from scratch without a registry spec: {missing}"
    kinds = {REGISTRY_KIND[c] for c in components if c in REGISTRY_KIND}
    assert kinds == {"module", "loss", "optimizer", "scheduler", "init"}  # every package was reached


REGISTRY_KIND = {spec.component: spec.kind for spec in REGISTRY.values()}


def _snake(name: str) -> str:
    """CrossEntropy -> cross_entropy, BCEWithLogits -> bce_with_logits, SmoothL1 -> smooth_l1,
    OneCycleLR -> one_cycle_lr (acronyms stay whole)."""
    import re

    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _module_snake(name: str) -> str:
    """Module rule: split only before a capital that starts a word (LeakyReLU -> leaky_relu)."""
    import re

    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", name).lower()


def test_spec_names_are_torch_class_names_in_snake_case():
    """modules: snake case; losses: without "Loss"; optimizers: the class name lowercased
    (rmsprop, nadam); schedulers: snake case (step_lr); initializers: torch's function name
    without the trailing underscore."""
    for name, spec in REGISTRY.items():
        twin = spec.twin_name.split()[0].rsplit(".", 1)[-1]
        if spec.kind == "module":
            cls = spec.component.__name__ if twin.startswith("Torch") else twin  # built from torch ops
            expected = _module_snake(cls)
        elif spec.kind == "loss":
            assert twin.endswith("Loss"), twin
            expected = _snake(twin[: -len("Loss")])
        elif spec.kind == "optimizer":
            expected = twin.lower()
        elif spec.kind == "scheduler":
            expected = _snake(twin)
        else:  # init: torch.nn.init.xavier_uniform_ -> xavier_uniform; Linear's default init is named for it
            expected = "linear_default" if twin == "Linear" else twin.rstrip("_")
        assert name == expected, (spec.kind, name, expected)


def test_scratch_never_imports_torch():
    """The import rule: scratch may import NumPy and scipy.special (GELU's erf), never torch."""
    code = ("import sys, pkgutil, importlib, scratch\n"
            "for m in pkgutil.walk_packages(scratch.__path__, 'scratch.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
            "assert not bad, bad\n"
            "assert 'scipy.special' in sys.modules  # allowed, and used: exact GELU takes erf from it\n")
    subprocess.run([sys.executable, "-c", code], check=True)


class _Perturbed(snn.Linear):
    """Correct Linear except one output value off by one part in 1e6."""

    def forward(self, x):
        y = super().forward(x).copy()
        y.flat[int(np.argmax(np.abs(y)))] *= 1 + 1e-6
        return y


class _DoubledGrad(snn.Linear):
    """Correct Linear except the input gradient is scaled by 2."""

    def backward(self, grad_output):
        return 2 * super().backward(grad_output)


def _default_records(candidate, dtype="float64"):
    spec = get_spec("linear")
    return run_case(spec, spec.default_case(), dtype, candidate=candidate)


def test_engine_passes_the_correct_implementation():
    records = _default_records(None)
    assert records and all(r.passed for r in records)


def test_engine_catches_one_part_in_a_million_in_float64():
    bad = [r for r in _default_records(_Perturbed) if not r.passed]
    assert [r.quantity for r in bad] == ["output"] * 3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_engine_catches_a_gradient_scaled_by_two(dtype):
    bad = {r.quantity for r in _default_records(_DoubledGrad, dtype) if not r.passed}
    assert bad == {"grad_input"}


def test_engine_reports_a_candidate_exception_as_a_failure():
    class Broken(snn.Linear):
        def backward(self, grad_output):
            raise RuntimeError("boom")

    records = _default_records(Broken)
    assert records[-1].quantity == "backward" and not records[-1].passed and "boom" in records[-1].note


def test_engine_reports_wrong_layout():
    class Transposed(snn.Linear):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            self.weight.data = self.weight.data.T.copy()

    (rec,) = [r for r in _default_records(Transposed) if not r.passed]
    assert rec.quantity == "layout:weight" and "(2, 3)" in rec.note


def test_failure_message_names_quantity_index_values_and_repro():
    spec = get_spec("linear")
    case = spec.default_case()
    records = run_case(spec, case, "float64", candidate=_DoubledGrad)
    with pytest.raises(AssertionError) as err:
        assert_records(records, repro=repro_snippet(spec, case, "float64", "cpu"))
    msg = str(err.value)
    assert "grad_input" in msg and "got" in msg and "expected" in msg and "at index" in msg
    assert "Reproduce with:" in msg and "run_case(get_spec('linear')" in msg


def test_repro_snippet_reruns_the_case():
    spec = get_spec("linear")
    snippet = repro_snippet(spec, spec.default_case(), "float64", "cpu")
    namespace = {}
    exec(snippet.replace("print(", "result = ("), namespace)
    assert len(namespace["records"]) == len(run_case(spec, spec.default_case()))


def test_compare_rules():
    tol = DEFAULT_TOLERANCES["float64"]
    e = np.array([1.0, -2.0, 3.0])
    assert compare("q", e.copy(), e, tol).passed
    r = compare("q", e * np.array([1, 1 + 1e-6, 1]), e, tol)
    assert not r.passed and r.worst_index == (1,) and r.expected == -2.0
    assert not compare("q", e[:2], e, tol).passed                          # shape
    assert not compare("q", e.astype(np.float32), e, tol).passed           # dtype
    assert not compare("q", np.array([np.nan, -2, 3]), e, tol).passed     # NaN where a number is due
    assert compare("q", np.array([np.nan, np.inf]), np.array([np.nan, np.inf]), tol).passed
    assert not compare("q", np.array([np.inf]), np.array([-np.inf]), tol).passed
    assert not compare("q", None, e, tol).passed
    # atol is absolute per element: one large element does not loosen the others
    assert not compare("q", np.array([1e6, 2e-12]), np.array([1e6, 0.0]), Tolerance(0, 1e-12)).passed
    # the measured rounding allowance is per element too
    noise = np.array([0.0, 1e-3])
    assert compare("q", np.array([1.0, 2.0005]), np.array([1.0, 2.0]), tol, noise=noise).passed
    assert not compare("q", np.array([1.0005, 2.0]), np.array([1.0, 2.0]), tol, noise=noise).passed


class _SoftmaxOffByOnePerMille(snn.Softmax):
    def forward(self, x):
        return (super().forward(x) * 1.001).astype(x.dtype)


class _LogSoftmaxShifted(snn.LogSoftmax):
    """Every ordinary entry off by 0.02; the -1e4 entries untouched."""

    def forward(self, x):
        y = super().forward(x)
        return np.where(np.abs(y) < 100, y + 0.02, y).astype(y.dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_measured_rounding_does_not_hide_errors_at_huge_magnitudes(dtype):
    """A large entry must not loosen the others, and an offset input (1e4 + noise) must
    not buy slack from input sensitivity: both wrong candidates are caught in float32 too."""
    from reference.spec import Case

    rng = np.random.default_rng(0)
    x = 1e4 + rng.standard_normal((4, 5))
    bad = [r for r in run_case(get_spec("softmax"), Case({"dim": 1}, [x, x], seed=1), dtype,
                               candidate=_SoftmaxOffByOnePerMille) if not r.passed]
    assert "output" in {r.quantity for r in bad}
    logits = np.array([[[0.5, -1.0, 2.0], [0.3, 0.1, -1e4]]])
    bad = [r for r in run_case(get_spec("log_softmax"), Case({"dim": 2}, [logits, logits], seed=1), dtype,
                               candidate=_LogSoftmaxShifted) if not r.passed]
    assert "output" in {r.quantity for r in bad}
    ok = run_case(get_spec("softmax"), Case({"dim": 1}, [x, x], seed=1), dtype)
    assert all(r.passed for r in ok)


def test_engine_catches_a_backward_that_writes_into_its_input():
    class ScribblingReLU(snn.ReLU):
        def backward(self, grad_output):
            gx = super().backward(grad_output)
            x, _ = self._ctx.saved_tensors
            x[...] = 0.0  # the saved input is the caller's array
            return gx

    from reference.spec import Case

    x = np.array([[1.0, -2.0, 3.0]])
    bad = [r for r in run_case(get_spec("relu"), Case({}, [x, x], seed=1), candidate=ScribblingReLU) if not r.passed]
    assert {r.quantity for r in bad} == {"input unchanged"}


def test_engine_reports_parameters_that_are_plain_arrays():
    class RawParams(snn.Linear):
        def named_parameters(self, prefix="", recurse=True):
            return iter([("weight", self.weight.data), ("bias", self.bias.data)])

    (rec,) = [r for r in _default_records(RawParams) if not r.passed]
    assert rec.quantity.startswith("layout:") and "writable .data and .grad" in rec.note


class ListReLU(snn.ReLU):
    """Right values, wrong type: a Python list where torch returns a tensor."""

    def forward(self, x):
        return super().forward(x).tolist()


def test_engine_reports_a_list_output_as_the_failure_in_every_dtype():
    for dtype in ("float64", "float32"):
        bad = [r for r in run_case(get_spec("relu"), get_spec("relu").default_case(), dtype, candidate=ListReLU)
               if not r.passed]
        assert bad and bad[0].quantity == "output" and "returned a list, expected a numpy.ndarray" in bad[0].note
