"""The Module protocol: names, modes, accumulation, state, and torch-like defaults."""

from __future__ import annotations

import math

import numpy as np
import torch

import scratch.nn as snn


def test_from_scratch_nn_import_works_like_torch():
    from scratch.nn import Linear  # noqa: F401
    from scratch.nn.functional import relu  # noqa: F401
    from scratch.nn.init import kaiming_uniform_  # noqa: F401
    import scratch.optim.lr_scheduler  # noqa: F401


def test_names_and_layouts_match_torch_for_a_nested_model():
    s = snn.Sequential(snn.Linear(4, 5), snn.BatchNorm1d(5), snn.PReLU(5), snn.Linear(5, 2, bias=False))
    t = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.PReLU(5),
                            torch.nn.Linear(5, 2, bias=False))
    assert [(n, p.shape) for n, p in s.named_parameters()] == [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert [n for n, _ in s.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(s.state_dict()) == list(t.state_dict())


def test_weight_transfer_is_a_loop():
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    s = snn.Sequential(snn.Linear(3, 4), snn.Tanh(), snn.Linear(4, 2)).double()
    s.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(s(x), t(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_grad_accumulates_until_zero_grad():
    lin = snn.Linear(2, 1).double()
    x, g = np.ones((1, 2)), np.ones((1, 1))
    lin(x)
    lin.backward(g)
    first = lin.weight.grad.copy()
    lin(x)
    lin.backward(g)
    np.testing.assert_array_equal(lin.weight.grad, 2 * first)
    lin.zero_grad()
    assert lin.weight.grad is None
    lin(x)
    lin.backward(g)
    lin.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(lin.weight.grad, np.zeros((1, 2)))


def test_train_eval_propagates_to_children():
    s = snn.Sequential(snn.Dropout(0.5), snn.BatchNorm1d(2))
    s.eval()
    assert not any(m.training for _, m in s.named_modules())
    x = np.ones((3, 2), dtype=np.float32)
    np.testing.assert_array_equal(s[0](x), x)  # dropout is the identity in eval
    s.train()
    assert all(m.training for _, m in s.named_modules())


def test_linear_default_init_bounds_like_torch():
    lin = snn.Linear(400, 30, generator=0)
    bound = 1 / math.sqrt(400)
    assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.bias.data).max() <= bound
    assert np.abs(lin.weight.data).max() > 0.95 * bound  # fills the range, not a narrower one
    assert lin.weight.data.dtype == np.float32
    np.testing.assert_array_equal(snn.Linear(4, 3, generator=7).weight.data, snn.Linear(4, 3, generator=7).weight.data)


def test_dropout_scales_kept_elements_and_keeps_expectation():
    d = snn.Dropout(0.25, generator=0)
    x = np.ones((200, 200))
    y = d(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.01
    assert abs(y.mean() - 1.0) < 0.02


def test_batchnorm_momentum_none_is_a_cumulative_average():
    bn = snn.BatchNorm1d(1, momentum=None).double()
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((4, 1)) + i for i in range(3)]
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean, np.mean([b.mean() for b in batches]), rtol=1e-12)
    assert int(bn.num_batches_tracked) == 3
