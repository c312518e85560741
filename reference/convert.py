"""NumPy <-> torch conversion, dtype and device handling, strict precision.

Strict comparison needs IEEE float32 on the GPU: cuDNN convolutions default to
TF32 on Ampere and newer (about 1e-3 relative error), so ``strict_precision``
turns TF32 off for matmul and cuDNN while a comparison runs.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

DTYPES = {"float64": (np.float64, torch.float64), "float32": (np.float32, torch.float32)}


def np_dtype(name: str):
    return DTYPES[name][0]


def torch_dtype(name: str):
    return DTYPES[name][1]


def check_dtype_name(name: str) -> str:
    if name not in DTYPES:
        raise ValueError(f"dtype: expected one of {sorted(DTYPES)}, got {name!r}")
    return name


def available_devices() -> list[str]:
    """``cpu`` always, ``cuda`` when a GPU is visible."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def check_device(name: str) -> str:
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but torch sees no GPU (torch.cuda.is_available() is False)")
    return name


@contextlib.contextmanager
def strict_precision():
    """Turn TF32 off for matmul and cuDNN, restoring the previous settings afterwards."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def precision_settings() -> dict:
    """The settings a report should state next to its numbers."""
    return {
        "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }


def to_torch(a, dtype: str, device: str = "cpu", requires_grad: bool = False) -> torch.Tensor:
    """A float array becomes a tensor of ``dtype``; integer arrays keep their integer type."""
    arr = np.asarray(a)
    if np.issubdtype(arr.dtype, np.floating):
        t = torch.tensor(arr, dtype=torch_dtype(dtype), device=device)
    else:
        t = torch.tensor(arr, device=device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def to_numpy(t) -> np.ndarray | None:
    if t is None:
        return None
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def cast(a: np.ndarray, dtype: str) -> np.ndarray:
    """Cast float arrays to ``dtype``; leave integer arrays (counters, targets) alone."""
    a = np.asarray(a)
    return a.astype(np_dtype(dtype)) if np.issubdtype(a.dtype, np.floating) else a.copy()
