"""Regularization penalties (l1, l2 half/full, elastic net) against torch autograd, scikit-learn's
ElasticNet optimality condition, and SGD weight decay (= the half L2 penalty, in torch and scratch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import scratch.nn as snn
import scratch.nn.functional as F

T = torch.tensor


# -- regularization penalties -------------------------------------------------------------------------------

PENALTIES = [
    ("l1", lambda W: F.l1_penalty(W, 0.3), lambda W: F.l1_penalty_backward(W, 0.3),
     lambda ts: 0.3 * sum(t.abs().sum() for t in ts)),
    ("l2 half", lambda W: F.l2_penalty(W, 0.3), lambda W: F.l2_penalty_backward(W, 0.3),
     lambda ts: 0.3 / 2 * sum((t * t).sum() for t in ts)),
    ("l2 full", lambda W: F.l2_penalty(W, 0.3, "full"), lambda W: F.l2_penalty_backward(W, 0.3, "full"),
     lambda ts: 0.3 * sum((t * t).sum() for t in ts)),
    ("elastic net", lambda W: F.elastic_net(W, 0.3, 0.25), lambda W: F.elastic_net_backward(W, 0.3, 0.25),
     lambda ts: sum(0.3 * 0.25 * t.abs().sum() + 0.3 * 0.75 / 2 * (t * t).sum() for t in ts)),
]


@pytest.mark.parametrize("name,value,grad,torch_expr", PENALTIES, ids=[p[0] for p in PENALTIES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_penalties_match_torch_autograd(name, value, grad, torch_expr, dtype):
    rng = np.random.default_rng(2)
    ws = [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)]
    ws[0][0, 0] = 0.0  # abs'(0) = 0 in torch
    ts = [torch.from_numpy(w.copy()).requires_grad_() for w in ws]
    expected = torch_expr(ts)
    expected.backward()
    tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=2e-6, atol=1e-6)
    got = value(ws)
    assert got.dtype == dtype and got.shape == ()
    np.testing.assert_allclose(got, expected.item(), **tol)
    for g, t in zip(grad(ws), ts):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, t.grad.numpy(), **tol)
    np.testing.assert_allclose(grad(ws[0]), ts[0].grad.numpy(), **tol)  # a single array works too


def test_elastic_net_is_scikit_learns_penalty():
    """At scikit-learn's ElasticNet solution the gradient of its data term plus our penalty's
    gradient vanishes on the nonzero coefficients (the optimality condition)."""
    from sklearn.linear_model import ElasticNet

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6))
    y = X @ np.array([2.0, 0.0, -1.0, 0.5, 0.0, 3.0]) + 0.1 * rng.standard_normal(50)
    model = ElasticNet(alpha=0.2, l1_ratio=0.7, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y)
    w = model.coef_
    data_grad = -X.T @ (y - X @ w) / len(y)
    total = data_grad + F.elastic_net_backward(w, 0.2, 0.7)
    assert (w != 0).sum() >= 3 and np.abs(total[w != 0]).max() < 1e-8
    assert np.abs(total[w != 0]).max() < 1e-3 * np.abs(data_grad[w != 0]).max()
    wrong = data_grad + F.l2_penalty_backward(w, 0.2 * 0.3, "full") + F.l1_penalty_backward(w, 0.2 * 0.7)
    assert np.abs(wrong[w != 0]).max() > 1e-3  # the "full" L2 convention is not scikit-learn's


def test_bad_penalty_arguments():
    with pytest.raises(ValueError, match="convention expected 'half'"):
        F.l2_penalty(np.ones(2), 0.1, "double")
    with pytest.raises(ValueError, match="lambda_ expected >= 0, got -1"):
        F.l1_penalty(np.ones(2), -1)
    with pytest.raises(ValueError, match=r"l1_ratio expected a value in \[0, 1\]"):
        F.elastic_net(np.ones(2), 1.0, 1.5)
    with pytest.raises(TypeError, match=r"weights\[0\] expected a float32 or float64"):
        F.l1_penalty([np.ones(2, dtype=np.int64)], 0.1)
    assert float(F.l2_penalty(np.ones(2), 0.1)) == pytest.approx(0.1)


def _quadratic_problem():
    rng = np.random.default_rng(4)
    return rng.standard_normal((8, 3)), rng.standard_normal(8), rng.standard_normal(3)


def _torch_sgd_run(wd, penalty_grad, steps=6):
    X, y, w0 = _quadratic_problem()
    w = T(w0.copy(), requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.05, momentum=0.9, weight_decay=wd)
    for _ in range(steps):
        opt.zero_grad()
        TF.mse_loss(T(X) @ w, T(y)).backward()
        if penalty_grad is not None:
            w.grad += T(penalty_grad(w.detach().numpy().copy()))
        opt.step()
    return w.detach().numpy()


def test_sgd_weight_decay_equals_the_half_l2_penalty_in_torch():
    wd = 0.1
    decayed = _torch_sgd_run(wd, None)
    np.testing.assert_allclose(_torch_sgd_run(0.0, lambda w: F.l2_penalty_backward(w, wd)), decayed, rtol=1e-14)
    np.testing.assert_allclose(_torch_sgd_run(0.0, lambda w: F.l2_penalty_backward(w, wd / 2, "full")), decayed,
                               rtol=1e-14)
    off = _torch_sgd_run(0.0, lambda w: F.l2_penalty_backward(w, wd, "full"))  # lambda ||W||^2: twice the decay
    assert np.abs(off - decayed).max() > 1e-3


def test_sgd_weight_decay_equals_the_half_l2_penalty_in_scratch():
    from scratch.optim import SGD

    X, y, w0 = _quadratic_problem()

    def run(wd, lam):
        lin = snn.Linear(3, 1, bias=False).double()
        lin.weight.data = w0.reshape(1, 3).copy()
        opt, loss = SGD(lin.parameters(), lr=0.05, momentum=0.9, weight_decay=wd), snn.MSELoss()
        for _ in range(6):
            opt.zero_grad()
            loss(lin(X), y.reshape(8, 1))
            lin.backward(loss.backward())
            lin.weight.grad = lin.weight.grad + F.l2_penalty_backward(lin.weight.data, lam)
            opt.step()
        return lin.weight.data.reshape(3)

    decayed = run(0.1, 0.0)
    np.testing.assert_allclose(run(0.0, 0.1), decayed, rtol=1e-14)
    np.testing.assert_allclose(decayed, _torch_sgd_run(0.1, None), rtol=1e-12)
    assert np.abs(run(0.0, 0.2) - decayed).max() > 1e-3
