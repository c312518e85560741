"""Test problems for the optimizer experiments: classic 2-D surfaces, and quadratics with known
Hessians (``hessians``) with the bisection of gradient descent's divergence threshold.

The surfaces are written twice from one formula:
``f``/``grad`` in NumPy (analytic gradient, for the scratch side) and ``f_torch`` in torch (the
torch side differentiates it with autograd; tests/test_exp_optimizers.py checks the two agree).

A point is a 2-vector v = (x, y); ``f`` and ``grad`` also take a stack of points of shape
(2, ...) (a contour grid in one call). Every function keeps the dtype of its input.

| surface | f(x, y) | stationary points |
|---|---|---|
| ill-conditioned quadratic | 1/2 v^T A v, A = R(30 deg) diag(1, 20) R^T | global min (0, 0) = 0 |
| Rosenbrock | (1 - x)^2 + 100 (y - x^2)^2 | global min (1, 1) = 0 |
| saddle | x^2/2 - y^2/2 + y^4/4 | saddle (0, 0) = 0; minima (0, +-1) = -1/4 |
| two-well | (x^2 - 1)^2 + 0.3 x + y^2/2 | global (-1.0356, 0) = -0.3054; local (0.9602, 0) = 0.2941 |

The saddle is x^2/2 - y^2/2 near the origin (Hessian diag(1, -1)), with a quartic that bounds it
below, so an escaping trajectory ends in a minimum instead of running off to infinity. The
two-well's x-roots solve f_x = 4x^3 - 4x + 0.3 = 0 (computed here, not typed in).

Gradient descent on 1/2 x^T H x is x <- (I - lr H) x: each eigencomponent is multiplied by
(1 - lr lambda_i) per step, so it converges from every start iff lr < 2 / lambda_max.
``gd_diverges`` judges one lr by running GD (no eigenvalues), ``bisect_threshold`` bisects on it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Surface", "SURFACES", "classify", "gd_diverges", "bisect_threshold", "hessians"]


@dataclass(frozen=True)
class Surface:
    name: str
    f: object            # ndarray (2, ...) -> ndarray (...), input's dtype
    grad: object         # ndarray (2, ...) -> ndarray (2, ...), input's dtype
    f_torch: object      # torch tensor (2,) -> 0-d tensor (same formula; autograd gives the gradient)
    start: tuple
    xlim: tuple
    ylim: tuple
    points: tuple        # ((label, (x, y)), ...): the stationary points a run may end at
    f_star: float        # the global minimum value

    def __post_init__(self):
        if len(self.start) != 2:
            raise ValueError(f"Surface {self.name}: expected a 2-vector start, got {self.start}")


def _check(v):
    v = np.asarray(v)
    if v.ndim < 1 or v.shape[0] != 2 or v.dtype not in (np.float32, np.float64):
        raise ValueError(f"surface: expected a float32/float64 array of shape (2,) or (2, ...), got {v.dtype} "
                         f"{v.shape}")
    return v


# ---- ill-conditioned quadratic: eigenvalues 1 and 20, eigenvectors rotated by 30 degrees -----------
_C, _S = math.cos(math.pi / 6), math.sin(math.pi / 6)
_L1, _L2 = 1.0, 20.0
_A11, _A12, _A22 = _L1 * _C * _C + _L2 * _S * _S, (_L1 - _L2) * _C * _S, _L1 * _S * _S + _L2 * _C * _C
QUADRATIC_EIGENVALUES = (_L1, _L2)


def _quad_f(v):
    x, y = _check(v)
    return 0.5 * (_A11 * x * x + 2 * _A12 * x * y + _A22 * y * y)


def _quad_grad(v):
    x, y = _check(v)
    return np.stack([_A11 * x + _A12 * y, _A12 * x + _A22 * y]).astype(v.dtype, copy=False)


def _quad_t(t):
    x, y = t[0], t[1]
    return 0.5 * (_A11 * x * x + 2 * _A12 * x * y + _A22 * y * y)


# ---- Rosenbrock --------------------------------------------------------------------------------------
def _rosen_f(v):
    x, y = _check(v)
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosen_grad(v):
    x, y = _check(v)
    r = y - x * x
    return np.stack([-2 * (1 - x) - 400 * x * r, 200 * r]).astype(v.dtype, copy=False)


def _rosen_t(t):
    x, y = t[0], t[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


# ---- saddle, bounded below ---------------------------------------------------------------------------
def _saddle_f(v):
    x, y = _check(v)
    return 0.5 * x * x - 0.5 * y * y + 0.25 * y ** 4


def _saddle_grad(v):
    x, y = _check(v)
    return np.stack([x, y ** 3 - y]).astype(v.dtype, copy=False)


def _saddle_t(t):
    x, y = t[0], t[1]
    return 0.5 * x * x - 0.5 * y * y + 0.25 * y ** 4


# ---- two wells: a deep global minimum at x < 0, a shallow local one at x > 0 ---------------------------
_TILT = 0.3


def _wells_f(v):
    x, y = _check(v)
    return (x * x - 1) ** 2 + _TILT * x + 0.5 * y * y


def _wells_grad(v):
    x, y = _check(v)
    return np.stack([4 * x * (x * x - 1) + _TILT, y]).astype(v.dtype, copy=False)


def _wells_t(t):
    x, y = t[0], t[1]
    return (x * x - 1) ** 2 + _TILT * x + 0.5 * y * y


def _wells_points():
    """(label, point) of the two minima and the barrier (the saddle between them) at y = 0."""
    roots = np.sort(np.roots([4.0, 0.0, -4.0, _TILT]).real)  # f_x = 0: three real roots
    glob, barrier, local = roots
    return (("global", (float(glob), 0.0)), ("local", (float(local), 0.0)), ("barrier", (float(barrier), 0.0)))


_WELLS = _wells_points()

SURFACES = (
    Surface("quadratic", _quad_f, _quad_grad, _quad_t, start=(-4.0, 2.5), xlim=(-5, 5), ylim=(-3, 3),
            points=(("global", (0.0, 0.0)),), f_star=0.0),
    Surface("rosenbrock", _rosen_f, _rosen_grad, _rosen_t, start=(-1.5, 2.0), xlim=(-2, 2), ylim=(-1, 3),
            points=(("global", (1.0, 1.0)),), f_star=0.0),
    Surface("saddle", _saddle_f, _saddle_grad, _saddle_t, start=(2.0, 1e-3), xlim=(-2.5, 2.5),
            ylim=(-1.6, 1.6), points=(("min (0,+1)", (0.0, 1.0)), ("min (0,-1)", (0.0, -1.0)),
                                      ("saddle (0,0)", (0.0, 0.0))), f_star=-0.25),
    Surface("two_well", _wells_f, _wells_grad, _wells_t, start=(2.0, 1.5), xlim=(-2, 2.3), ylim=(-1.8, 1.8),
            points=_WELLS, f_star=float(_wells_f(np.array(_WELLS[0][1])))),
)


def classify(surface: Surface, point, radius: float = 0.05) -> str:
    """The label of the stationary point within ``radius`` of ``point``; "none" if there is none,
    "diverged" if the point is not finite."""
    p = np.asarray(point, dtype=np.float64)
    if not np.all(np.isfinite(p)):
        return "diverged"
    for label, q in surface.points:
        if np.hypot(*(p - np.asarray(q))) <= radius:
            return label
    return "none"


# ---- quadratics 1/2 x^T H x with known Hessians: where gradient descent starts to diverge -----------
def gd_diverges(H: np.ndarray, x0: np.ndarray, lr: float, steps: int, check_every: int = 25) -> bool:
    """Run x <- x - lr H x for ``steps`` steps; True as soon as ||x|| rises over a block of
    ``check_every`` steps (or stops being finite).

    For a converging lr no eigencomponent grows, so the norm never rises; above the threshold
    the top component grows and eventually outweighs the decaying rest. GD is linear, so x is
    rescaled to norm 1 after every block: the verdict is unchanged and nothing under- or
    overflows (subnormal arithmetic would also be ~100x slower)."""
    x = x0 / np.linalg.norm(x0)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            x = x - lr * (H @ x)
            if k % check_every == 0 or k == steps:
                n = float(np.linalg.norm(x))
                if not n <= 1.0:  # NaN/inf count as divergent
                    return True
                if n == 0.0:      # lr * lambda = 1 for every component: x is exactly 0
                    return False
                x = x / n
    return False


def bisect_threshold(H: np.ndarray, x0: np.ndarray, steps: int, rel_tol: float = 1e-6) -> tuple[float, float, int]:
    """The lr where GD starts to diverge, by bisection: (estimate, bracket width / estimate, GD runs).

    H: a symmetric positive semi-definite (d, d) float matrix, not zero; x0: a nonzero (d,) start."""
    H, x0 = np.asarray(H), np.asarray(x0)
    # symmetric up to rounding relative to H's largest entry: Q diag Q^T from any BLAS differs
    # from its transpose by a few ulps, which an element-by-element test fails on near-zero entries
    if H.ndim != 2 or H.shape[0] != H.shape[1] or not np.issubdtype(H.dtype, np.floating) \
            or not np.all(np.abs(H - H.T) <= 1e-12 * np.abs(H).max()):
        raise ValueError(f"H: expected a symmetric square float matrix, got {H.dtype} {H.shape}")
    lam = np.linalg.eigvalsh(H)  # input validation only: the measurement below never reads them
    if lam[0] < -1e-12 * abs(lam[-1]) or lam[-1] <= 0:
        raise ValueError(f"H: expected positive semi-definite with a positive eigenvalue, got eigenvalues in "
                         f"[{lam[0]:.3g}, {lam[-1]:.3g}]")
    if x0.shape != (H.shape[0],) or not np.all(np.isfinite(x0)) or not np.any(x0):
        raise ValueError(f"x0: expected a finite nonzero vector of shape ({H.shape[0]},), got shape {x0.shape}")
    if steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps}")
    runs = 0

    def diverges(lr):
        nonlocal runs
        runs += 1
        return gd_diverges(H, x0, lr, steps)

    hi = 1.0
    while not diverges(hi):  # bracket: lo converges, hi diverges
        hi *= 2.0
        if hi > 2.0 ** 200:  # unreachable for a valid H; a guard against looping forever
            raise RuntimeError("GD converges at every lr up to 2^200")
    lo = hi / 2.0
    while diverges(lo):
        lo, hi = lo / 2.0, lo
        if lo < 2.0 ** -200:
            raise RuntimeError("GD diverges at every lr down to 2^-200")
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if diverges(mid) else (mid, hi)
    est = 0.5 * (lo + hi)
    return est, (hi - lo) / est, runs


def _rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))  # a uniformly random orthogonal matrix


@functools.lru_cache(maxsize=2)
def hessians(seed: int = 0) -> dict:
    """name -> H (symmetric positive definite, float64, read-only): a few spectra, seeded."""
    rng = np.random.default_rng(seed)
    out = {"diag(1, 10)": np.diag([1.0, 10.0])}
    q2 = SURFACES[0]  # the 2-D quadratic above (eigenvalues 1, 20, rotated 30 degrees)
    e = np.eye(2)
    out["optimizers_2d quadratic"] = np.column_stack([q2.grad(e[0]), q2.grad(e[1])])
    out["isotropic 3 I (3-d)"] = 3.0 * np.eye(3)
    q = _rotation(10, rng)
    out["logspace(-2, 2) rotated (10-d)"] = q @ np.diag(np.logspace(-2, 2, 10)) @ q.T
    a = rng.standard_normal((20, 20))
    out["Wishart A A^T / 20 + 0.1 I (20-d)"] = a @ a.T / 20 + 0.1 * np.eye(20)
    q = _rotation(100, rng)  # DeepOBS quadratic_deep's spectrum: 90% U(0, 1), 10% U(30, 60)
    lam = np.concatenate([rng.uniform(0, 1, 90), rng.uniform(30, 60, 10)])
    out["DeepOBS-like (100-d)"] = q @ np.diag(lam) @ q.T
    out = {k: 0.5 * (h + h.T) for k, h in out.items()}
    for h in out.values():
        h.setflags(write=False)  # cached: shared by every caller
    return out
