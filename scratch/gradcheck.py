"""Numerical gradient checking with centered differences: a check that does not trust torch.

    D(h)_i = (L(x + h e_i) - L(x - h e_i)) / (2h)           error O(h^2) + O(eps L / h)
    dL/dx_i ~ (4 D(h/2)_i - D(h)_i) / 3                    (Richardson: error O(h^4) + O(eps L / h))

The Richardson step matters where the function is strongly curved: a batch norm over a
nearly flat channel has third derivatives of order 1/std^3, and plain D(h) was off by 5e-6.

Compared to the analytic gradient a with the relative error

    rel_i = |a_i - n_i| / max(|a_i|, |n_i|, tiny)

Thresholds users rely on (float64, h = 1e-5): rel < 1e-7 is typical for smooth
functions and anything above THRESHOLD = 1e-6 fails (batch norm over a batch of
two, nearly flat, reaches 4e-7); kinked functions (ReLU, max) may reach 1e-4 when a probe straddles a
kink, so points within h of a known kink are *skipped and reported*, never
silently passed (KINK_THRESHOLD is for checks that cannot skip them); every
point that is checked is held to THRESHOLD. ``tiny`` = noise / THRESHOLD, where noise = 100 * eps * sum|y * G| / h
is the rounding floor of the difference quotient itself: an entry then passes when
|a - n| <= THRESHOLD * max(|a|, |n|) or when |a - n| is within that noise, so an
entry whose true gradient is zero (the bias before a batch norm) is not judged
as noise divided by noise. Use float64: in float32 the rounding term eps * L / h
swamps everything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 1e-6
KINK_THRESHOLD = 1e-4


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
    if not np.shares_memory(flat, x):
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


@dataclass
class GradcheckResult:
    """One checked quantity: ``input`` or a parameter name."""

    quantity: str
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    checked: int
    skipped_near_kink: int
    threshold: float

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= self.threshold


def check_module(module, x: np.ndarray, grad_output: np.ndarray | None = None, h: float = 1e-5,
                 kinks=(), prepare=None, seed: int = 0, tiny: float | None = None) -> list[GradcheckResult]:
    """Check ``module.backward`` against centered differences of L = sum(module(x) * G).

    G is a random Gaussian upstream gradient (never all ones: with a sum() loss the
    true input gradient of softmax and batch norm is zero). ``prepare(module)`` runs
    before every forward (e.g. to inject a fixed dropout mask). Input elements within
    ``h`` of a value in ``kinks`` are skipped and counted. ``tiny`` defaults to the
    difference quotient's rounding floor (module docstring).
    """
    x = np.array(x, dtype=np.float64)
    if prepare:
        prepare(module)
    y = module(x)
    if grad_output is None:
        grad_output = np.random.default_rng(seed).standard_normal(np.shape(y))

    def loss():
        if prepare:
            prepare(module)
        return np.sum(module(x) * grad_output)

    module.zero_grad()
    if prepare:
        prepare(module)
    y = module(x)
    if tiny is None:
        # 100: operation counts and conditioning up to ~50 (a batch norm over a nearly flat channel)
        noise = 100 * np.finfo(np.float64).eps * float(np.abs(y * grad_output).sum()) / h
        tiny = max(noise / THRESHOLD, np.finfo(np.float64).tiny)
    analytic = {"input": module.backward(grad_output)}
    analytic.update({name: p.grad for name, p in module.named_parameters()})
    numeric = {"input": numerical_gradient(loss, x, h)}
    for name, p in module.named_parameters():
        numeric[name] = numerical_gradient(loss, p.data, h)

    near = np.zeros(x.shape, dtype=bool)
    for k in kinks:
        near |= np.abs(x - k) <= h
    results = []
    for name in analytic:
        a = np.zeros_like(numeric[name]) if analytic[name] is None else np.asarray(analytic[name])
        rel = relative_error(a, numeric[name], tiny)
        skip = near if name == "input" else np.zeros(rel.shape, dtype=bool)
        rel = np.where(skip, 0.0, rel)
        worst = np.unravel_index(int(np.argmax(rel)), rel.shape) if rel.size else ()
        results.append(GradcheckResult(
            quantity=name, max_rel_error=float(rel.max(initial=0.0)), worst_index=tuple(int(i) for i in worst),
            analytic=float(a[worst]) if rel.size else 0.0, numeric=float(numeric[name][worst]) if rel.size else 0.0,
            checked=int(rel.size - skip.sum()), skipped_near_kink=int(skip.sum()),
            threshold=THRESHOLD))
    return results
