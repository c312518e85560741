"""Numerical gradient checking with centered differences: a check that does not trust torch.

    D(h)_i = (L(x + h e_i) - L(x - h e_i)) / (2h)           error O(h^2) + O(eps L / h)
    dL/dx_i ~ (4 D(h/2)_i - D(h)_i) / 3                    (Richardson: error O(h^4) + O(eps L / h))

The Richardson step matters where the function is strongly curved: a batch norm over a
nearly flat channel has third derivatives of order 1/std^3, and plain D(h) was off by 5e-6.

Compared to the analytic gradient a with the relative error

    rel_i = |a_i - n_i| / max(|a_i|, |n_i|, tiny)

Thresholds users rely on (float64, h = 1e-5):

- rel < 1e-7: what smooth functions reach; the analytic gradient is right.
- rel > THRESHOLD = 1e-6: fails. Not 1e-7, because a batch norm over a batch of two, nearly
  flat, measures 4e-7 with a correct backward (its curvature, not a bug).
- up to KINK_THRESHOLD = 1e-4: what a correct gradient of a kinked function (ReLU, max) can show
  when a probe x +- h straddles the kink. Such points are therefore not judged: elements within
  h of a declared kink are *reported* (counted as near_kink, each with its analytic and numeric
  value and error, see ``near_kink_table``), never silently passed and never silently failed.
  Every other element is held to THRESHOLD.

``tiny`` = noise / THRESHOLD, where noise = 100 * eps * |L| / h is the rounding floor of the
difference quotient itself (|L| = sum|y * G| for a module): an entry then passes when
|a - n| <= THRESHOLD * max(|a|, |n|) or when |a - n| is within that noise, so an entry whose
true gradient is zero (the bias before a batch norm) is not judged as noise divided by noise.
Use float64: in float32 the rounding term eps * L / h swamps everything.

Entry points: ``check_module`` (a scratch module with a random upstream gradient G, L = sum(y*G)),
``check_function`` (any scalar function of several arrays; analytic gradients given, or taken
from ``scratch.autograd``), and ``gradcheck_table`` / ``function_gradcheck_table`` (pandas, one
row per checked quantity). Twin: ``torch.autograd.gradcheck`` (which compares whole Jacobians).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

THRESHOLD = 1e-6
KINK_THRESHOLD = 1e-4
NOISE_FACTOR = 100  # operation counts and conditioning up to ~50 (a batch norm over a nearly flat channel)


def relative_error(analytic, numeric, tiny: float = 1e-8) -> np.ndarray:
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5, richardson: bool = True) -> np.ndarray:
    """Centered-difference gradient of the scalar function ``f()`` w.r.t. ``x``, which ``f`` reads.

    ``x`` is perturbed in place one element at a time and restored exactly. With
    ``richardson`` the differences at h and h/2 are combined to cancel the h^2 term.
    """
    if richardson:
        return (4 * numerical_gradient(f, x, h / 2, False) - numerical_gradient(f, x, h, False)) / 3
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"numerical_gradient: expected a float64 numpy.ndarray, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x) and x.size:
        raise ValueError("numerical_gradient: x must be contiguous so it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = float(f())
        flat[i] = old - h
        minus = float(f())
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def numerical_gradients(f, inputs, h: float = 1e-5) -> list[np.ndarray]:
    """Gradients of the scalar ``f(*inputs)`` w.r.t. each input, by ``numerical_gradient``.

    The inputs must be float64; they are copied, so the caller's arrays are never perturbed.
    """
    arrays = _float64_copies(inputs, "numerical_gradients")
    return [numerical_gradient(lambda: f(*arrays), a, h) for a in arrays]


@dataclass
class GradcheckResult:
    """One checked quantity: ``input``, a parameter name, or a function's argument name.

    ``max_rel_error`` and ``worst_index`` cover the ``checked`` elements; the ``skipped_near_kink``
    elements within h of a kink are reported apart: their worst error and index, and in
    ``near_kink`` every one of them as (index, analytic, numeric, rel_error).
    """

    quantity: str
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    checked: int
    skipped_near_kink: int
    threshold: float
    near_kink_max_rel_error: float = 0.0
    near_kink_worst_index: tuple = ()
    near_kink: list = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= self.threshold

    @property
    def verdict(self) -> str:
        base = "pass" if self.passed else "FAIL"
        if self.skipped_near_kink:
            base += f" ({self.skipped_near_kink} near a kink, not judged, worst {self.near_kink_max_rel_error:.2g})"
        return base


def judge(quantity: str, analytic, numeric: np.ndarray, tiny: float, near=None) -> GradcheckResult:
    """Compare one analytic gradient (None means zero, like an unused parameter) with its numeric one."""
    numeric = np.asarray(numeric, dtype=np.float64)
    a = np.zeros_like(numeric) if analytic is None else np.asarray(analytic, dtype=np.float64)
    if a.shape != numeric.shape:
        raise ValueError(f"gradcheck {quantity}: analytic gradient has shape {a.shape}, expected {numeric.shape}")
    rel = relative_error(a, numeric, tiny)
    near = np.zeros(rel.shape, dtype=bool) if near is None else np.broadcast_to(near, rel.shape)
    judged, apart = np.where(near, 0.0, rel), np.where(near, rel, 0.0)

    def worst(r):
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(r)), r.shape)) if r.size else ()

    w = worst(judged)
    return GradcheckResult(
        quantity=quantity, max_rel_error=float(judged.max(initial=0.0)), worst_index=w,
        analytic=float(a[w]) if rel.size else 0.0, numeric=float(numeric[w]) if rel.size else 0.0,
        checked=int(rel.size - near.sum()), skipped_near_kink=int(near.sum()), threshold=THRESHOLD,
        near_kink_max_rel_error=float(apart.max(initial=0.0)), near_kink_worst_index=worst(apart) if near.any() else (),
        near_kink=[(tuple(int(j) for j in i), float(a[tuple(i)]), float(numeric[tuple(i)]), float(rel[tuple(i)]))
                   for i in np.argwhere(near)])


def noise_tiny(scale: float, h: float) -> float:
    """``tiny`` for a loss whose rounding scale is ``scale`` (module docstring)."""
    noise = NOISE_FACTOR * np.finfo(np.float64).eps * abs(float(scale)) / h
    return max(noise / THRESHOLD, np.finfo(np.float64).tiny)


def near_kinks(x: np.ndarray, kinks, h: float) -> np.ndarray:
    """Elements of ``x`` within ``h`` of any value in ``kinks`` (a probe x +- h may straddle it)."""
    near = np.zeros(np.shape(x), dtype=bool)
    for k in kinks:
        near |= np.abs(x - k) <= h
    return near


def check_module(module, x: np.ndarray, grad_output: np.ndarray | None = None, h: float = 1e-5,
                 kinks=(), prepare=None, seed: int = 0, tiny: float | None = None) -> list[GradcheckResult]:
    """Check ``module.backward`` against centered differences of L = sum(module(x) * G).

    G is a random Gaussian upstream gradient (never all ones: with a sum() loss the
    true input gradient of softmax and batch norm is zero). ``prepare(module)`` runs
    before every forward (e.g. to inject a fixed dropout mask). Input elements within
    ``h`` of a value in ``kinks`` are reported apart and counted. ``tiny`` defaults to the
    difference quotient's rounding floor (module docstring).
    """
    x = np.array(x, dtype=np.float64)
    if prepare:
        prepare(module)
    y = module(x)
    if grad_output is None:
        grad_output = np.random.default_rng(seed).standard_normal(np.shape(y))
    elif np.shape(grad_output) != np.shape(y):
        raise ValueError(f"check_module: grad_output has shape {np.shape(grad_output)}, the output {np.shape(y)}")

    def loss():
        if prepare:
            prepare(module)
        return np.sum(module(x) * grad_output)

    module.zero_grad()
    if prepare:
        prepare(module)
    y = module(x)
    if tiny is None:
        tiny = noise_tiny(np.abs(y * grad_output).sum(), h)
    analytic = {"input": module.backward(grad_output)}
    analytic.update({name: p.grad for name, p in module.named_parameters()})
    numeric = {"input": numerical_gradient(loss, x, h)}
    for name, p in module.named_parameters():
        numeric[name] = numerical_gradient(loss, p.data, h)
    near = near_kinks(x, kinks, h)
    return [judge(name, analytic[name], numeric[name], tiny, near if name == "input" else None) for name in analytic]


def check_function(f, inputs, analytic=None, kinks=(), h: float = 1e-5, tiny: float | None = None
                   ) -> list[GradcheckResult]:
    """Check the gradients of a scalar function of several arrays against centered differences.

    ``inputs``: a dict name -> float64 array, or a sequence (named input0, input1, ...).
    ``analytic``: the gradients (same order or names), a callable ``analytic(*inputs)`` returning
    them, or None to differentiate ``f`` with ``scratch.autograd`` (then ``f`` takes and returns
    ``scratch.autograd.Tensor``s). ``kinks``: values where f has no derivative, for every input, or
    a dict name -> values or a boolean mask (for a kink that is not at an input's own value).
    ``tiny`` defaults to the rounding floor at |f(inputs)|; pass it when that value is the result
    of heavy cancellation.
    """
    names = list(inputs) if isinstance(inputs, dict) else [f"input{i}" for i in range(len(inputs))]
    arrays = _float64_copies(list(inputs.values()) if isinstance(inputs, dict) else inputs, "check_function")
    if analytic is None:
        f, analytic = _autograd_pair(f)
    if callable(analytic):
        analytic = analytic(*[a.copy() for a in arrays])
    if isinstance(analytic, dict):
        analytic = [analytic[n] for n in names]
    if len(analytic) != len(arrays):
        raise ValueError(f"check_function: {len(analytic)} analytic gradients for {len(arrays)} inputs")
    if tiny is None:
        tiny = noise_tiny(f(*arrays), h)
    numeric = [numerical_gradient(lambda: f(*arrays), a, h) for a in arrays]
    results = []
    for name, x, a, n in zip(names, arrays, analytic, numeric):
        k = kinks.get(name, ()) if isinstance(kinks, dict) else kinks
        if isinstance(k, np.ndarray) and k.dtype == bool:
            if k.shape != x.shape:
                raise ValueError(f"check_function: the kink mask for {name} has shape {k.shape}, expected {x.shape}")
            near = k
        else:
            near = near_kinks(x, k, h)
        results.append(judge(name, a, n, tiny, near))
    return results


def _autograd_pair(f):
    """``f`` over scratch.autograd Tensors as (value of arrays, gradients of arrays by backward)."""
    from scratch.autograd import Tensor

    def value(*arrays):
        return float(np.asarray(f(*(Tensor(a) for a in arrays)).data))

    def grads(*arrays):
        leaves = [Tensor(a, requires_grad=True) for a in arrays]
        f(*leaves).backward()
        return [t.grad for t in leaves]

    return value, grads


def _float64_copies(inputs, who: str) -> list[np.ndarray]:
    arrays = [np.asarray(a) for a in inputs]
    bad = [str(a.dtype) for a in arrays if a.dtype != np.float64]
    if bad:
        raise TypeError(f"{who}: expected float64 inputs (float32 rounding swamps the differences), got {bad}")
    return [np.array(a, dtype=np.float64) for a in arrays]


COLUMNS = ["component", "quantity", "checked", "max_rel_error", "worst_index", "analytic", "numeric", "threshold",
           "near_kink", "near_kink_max_rel_error", "passed", "verdict"]


def results_table(results, component: str = ""):
    """One row per checked quantity (pandas is imported here, not at module import)."""
    import pandas as pd

    rows = [dict(component=component, quantity=r.quantity, checked=r.checked, max_rel_error=r.max_rel_error,
                 worst_index=r.worst_index, analytic=r.analytic, numeric=r.numeric, threshold=r.threshold,
                 near_kink=r.skipped_near_kink, near_kink_max_rel_error=r.near_kink_max_rel_error,
                 passed=r.passed, verdict=r.verdict) for r in results]
    return pd.DataFrame(rows, columns=COLUMNS)


def near_kink_table(results, component: str = ""):
    """Every element that was reported apart because it lies within h of a kink."""
    import pandas as pd

    rows = [dict(component=component, quantity=r.quantity, index=i, analytic=a, numeric=n, rel_error=e)
            for r in results for i, a, n, e in r.near_kink]
    return pd.DataFrame(rows, columns=["component", "quantity", "index", "analytic", "numeric", "rel_error"])


def gradcheck_table(module, x, grad_output=None, kinks=(), h: float = 1e-5, seed: int = 0, prepare=None,
                    component: str | None = None):
    """``check_module`` as a table: one row for the input and one per parameter, by name."""
    results = check_module(module, x, grad_output, h=h, kinks=kinks, prepare=prepare, seed=seed)
    return results_table(results, type(module).__name__ if component is None else component)


def function_gradcheck_table(f, inputs, analytic=None, kinks=(), h: float = 1e-5, component: str | None = None):
    """``check_function`` as a table: one row per input of ``f``."""
    results = check_function(f, inputs, analytic, kinks=kinks, h=h)
    return results_table(results, getattr(f, "__name__", "function") if component is None else component)
