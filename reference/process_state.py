"""Process-wide settings that change numerical results, read in one place.

A comparison's verdict must not depend on what ran before it in the same process. These are
the settings a test (or a candidate) could leave changed: torch's and the BLAS libraries'
thread counts (a reduction's order, hence its rounding, follows the split), torch's default
dtype and precision flags, NumPy's floating-point error handling,
and hypothesis' active profile and its source-constant lookup (which decide the drawn cases).
``tests/conftest.py`` checks that each test module leaves them as it found them.
"""

from __future__ import annotations

import numpy as np
import torch

from reference.convert import precision_settings


def _blas_threads() -> dict:
    """Thread count per loaded BLAS/OpenMP library (keyed by its file: scipy brings its own)."""
    from threadpoolctl import threadpool_info

    return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()}


def _hypothesis_state() -> dict:
    from hypothesis import settings
    from hypothesis.internal.conjecture import providers

    lookup = getattr(providers, "_get_local_constants", None)
    active = settings.default
    return {"hypothesis.profile": (active.max_examples, active.derandomize, active.database is None),
            "hypothesis.source_constants": getattr(lookup, "__module__", None)}


def snapshot() -> dict:
    """The current value of every process-wide setting listed in the module docstring."""
    state = {
        "torch.num_threads": torch.get_num_threads(),
        "torch.num_interop_threads": torch.get_num_interop_threads(),
        "torch.default_dtype": torch.get_default_dtype(),
        "torch.grad_enabled": torch.is_grad_enabled(),
        "blas.threads": _blas_threads(),
        "numpy.errstate": tuple(sorted(np.geterr().items())),
    }
    state.update({f"torch.{k}": v for k, v in precision_settings().items()})
    state.update(_hypothesis_state())
    return state


def changes(before: dict, after: dict) -> list[str]:
    """One line per setting that differs between two snapshots: 'name: before -> after'. For a
    per-library setting only the libraries loaded at both times count: loading one (scipy's
    OpenBLAS on a first ``import scipy.linalg``) changes no setting of those already there."""
    out = []
    for k in sorted(set(before) | set(after)):
        b, a = before.get(k), after.get(k)
        if isinstance(b, dict) and isinstance(a, dict):
            b, a = ({lib: v for lib, v in d.items() if lib in b and lib in a} for d in (b, a))
        if b != a:
            out.append(f"{k}: {b!r} -> {a!r}")
    return out
