"""The comparison engines: ``run_case(spec, case, dtype, device, candidate)`` runs a candidate
(scratch's component by default) and its torch twin on one case and returns one ``Record``
per compared quantity; ``repro_snippet`` prints Python that reruns it.

One module per family: ``modules`` (layers and activations), ``losses``, ``trajectories``
(optimizers and learning-rate schedulers), ``initializers`` (statistical checks); the trace
and the measured rounding allowance they share live in ``measure``.
"""

from __future__ import annotations

from reference.compare import Record
from reference.engine.initializers import run_init_case
from reference.engine.losses import run_loss_case
from reference.engine.measure import EXACT, Trace
from reference.engine.modules import ERROR_QUANTITIES, run_module_case
from reference.engine.trajectories import run_trajectory_case
from reference.spec import Case, Spec

__all__ = ["run_case", "repro_snippet", "EXACT", "ERROR_QUANTITIES", "Trace"]

_ENGINES = {"module": run_module_case, "loss": run_loss_case, "optimizer": run_trajectory_case,
            "scheduler": run_trajectory_case, "init": run_init_case}


def run_case(spec: Spec, case: Case, dtype: str = "float64", device: str = "cpu", candidate=None,
             lenient: bool = False) -> list[Record]:
    """Compare ``candidate`` (default: the spec's scratch component) with the torch twin on
    ``case``, with the engine of the spec's family. ``lenient``: buffers and optimizer state the
    candidate does not expose under torch's names are reported as not compared, not as failures
    (a user's batch norm need not keep ``num_batches_tracked``); scratch is held to all of them."""
    if spec.kind not in _ENGINES:
        raise ValueError(f"spec {spec.name!r}: unknown kind {spec.kind!r}; expected one of {sorted(_ENGINES)}")
    if spec.kind in ("module", "optimizer"):
        return _ENGINES[spec.kind](spec, case, dtype, device, candidate, lenient=lenient)
    return _ENGINES[spec.kind](spec, case, dtype, device, candidate)


def repro_snippet(spec: Spec, case: Case, dtype: str, device: str, candidate_ref: str | None = None,
                  candidate_code: str | None = None, spec_code: str | None = None) -> str:
    """Python that reruns exactly this comparison and prints the failing records.
    ``candidate_code``/``spec_code``: expressions (with their imports as leading lines) that
    rebuild a prepared candidate or an amended spec (``reference.candidates``)."""
    lines = [
        "import numpy as np",
        "from numpy import nan, inf",
        *spec.snippet_imports,
        "from reference.registry import get_spec",
        "from reference.spec import Case",
        "from reference.engine import run_case",
        "from reference.compare import to_frame",
    ]
    cand, lenient, get = "", "", f"get_spec({spec.name!r})"
    if candidate_code:
        *imports, expr = candidate_code.split("\n")
        lines += imports
        cand, lenient = f", candidate={expr}", ", lenient=True"
    elif candidate_ref:
        lines.append("from reference.verify import load_candidate")
        cand = f", candidate=load_candidate({candidate_ref!r})"
    if spec_code:
        *imports, get = spec_code.split("\n")
        lines += imports
    lines += [
        f"case = {case.as_code()}",
        f"records = run_case({get}, case, dtype={dtype!r}, device={device!r}{cand}{lenient})",
        "print(to_frame([r for r in records if not r.passed]).T)",
    ]
    return "\n".join(lines)
