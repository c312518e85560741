"""The optimizer protocol against torch.optim: constructor names and defaults, parameter groups,
grads that are None, zero_grad, validation, state_dict, and each registry spec's default case
(the course's momentum form: ``test_optim_course.py``).

Expected values come from torch (run side by side) or are derived by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scratch.optim as sopt
from reference.engine import run_case
from reference.spec import Case
from reference.specs.optim import SPECS, trajectory_tolerance
from scratch.nn import Parameter
from scratch.optim.adam import adam_step, adam_init_state

# every registry optimizer by class name, and the config in which all its state entries exist
NAMES = [spec.component.__name__ for spec in SPECS]
RICH = {spec.component.__name__: spec.rich_config for spec in SPECS}


def _pair(values, dtype=np.float64):
    """The same initial values as torch leaves and scratch Parameters."""
    t = [torch.tensor(np.array(v, dtype=dtype), requires_grad=True) for v in values]
    s = [Parameter(np.array(v, dtype=dtype)) for v in values]
    return t, s


def _rich_pair(name, rng):
    """Two parameters (3 and 2 elements) on each side and optimizer ``name`` over them, each side,
    in the config that makes every state entry exist."""
    t, s = _pair([rng.standard_normal(3), rng.standard_normal(2)])
    cfg = RICH.get(name, {})
    return t, s, getattr(torch.optim, name)(t, **cfg), getattr(sopt, name)(s, **cfg)


def _set_grads(t, s, grads):
    for tp, sp, g in zip(t, s, grads):
        tp.grad = None if g is None else torch.tensor(g)
        sp.grad = None if g is None else np.array(g)


def _step_both(t_opt, s_opt, t, s, grads):
    _set_grads(t, s, grads)
    t_opt.step()
    s_opt.step()


def _assert_same_state(t_opt, s_opt, t, s, rtol=1e-12, atol=0.0):
    for tp, sp in zip(t, s):
        np.testing.assert_allclose(sp.data, tp.detach().numpy(), rtol=rtol, atol=atol)
        assert (tp in t_opt.state) == (sp in s_opt.state)
        if tp in t_opt.state:
            ts, ss = t_opt.state[tp], s_opt.state[sp]
            assert sorted(ts) == sorted(ss)
            for k in ts:
                np.testing.assert_allclose(np.asarray(ss[k], dtype=np.float64),
                                           ts[k].detach().numpy().astype(np.float64), rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_hold_torchs_keys_and_defaults(name):
    t, s = _pair([np.zeros(2)])
    tg = getattr(torch.optim, name)(t).param_groups[0]
    sg = getattr(sopt, name)(s).param_groups[0]
    assert sorted(tg) == sorted(sg)
    for k in tg:
        if k != "params":
            assert tg[k] == sg[k], k
    assert getattr(torch.optim, name)(t).defaults.keys() == getattr(sopt, name)(s).defaults.keys()


@pytest.mark.parametrize("name", NAMES)
def test_groups_with_own_lr_and_weight_decay_match_torch(name):
    rng = np.random.default_rng(1)
    t, s = _pair([rng.standard_normal((3, 2)), rng.standard_normal(4), rng.standard_normal(())])

    def groups(ps):
        return [{"params": [ps[0], ps[2]], "lr": 0.05, "weight_decay": 0.1}, {"params": [ps[1]]}]
    cfg = RICH.get(name, {})
    t_opt, s_opt = getattr(torch.optim, name)(groups(t), **cfg), getattr(sopt, name)(groups(s), **cfg)
    for _ in range(4):
        _step_both(t_opt, s_opt, t, s, [rng.standard_normal(p.shape) for p in s])
        _assert_same_state(t_opt, s_opt, t, s)
    # the override holds for its group only; the other group keeps the constructor's values
    assert (s_opt.param_groups[0]["lr"], s_opt.param_groups[0]["weight_decay"]) == (0.05, 0.1)
    assert s_opt.param_groups[1]["lr"] == s_opt.defaults["lr"] == t_opt.param_groups[1]["lr"]


@pytest.mark.parametrize("name", NAMES)
def test_grad_none_skips_the_parameter_like_torch(name):
    rng = np.random.default_rng(2)
    t, s, t_opt, s_opt = _rich_pair(name, rng)
    before = s[1].data.copy()
    for k in range(3):  # param 1 gets a grad only at the last step: its step counter lags
        _step_both(t_opt, s_opt, t, s, [rng.standard_normal(3), None if k < 2 else rng.standard_normal(2)])
        _assert_same_state(t_opt, s_opt, t, s)
        if k < 2:
            np.testing.assert_array_equal(s[1].data, before)
            # torch creates no state for it, except Adagrad, which creates all state eagerly
            assert (s[1] in s_opt.state) == (name == "Adagrad")
    if "step" in t_opt.state[t[0]]:  # torch decides whether there is a step counter
        assert float(s_opt.state[s[0]]["step"]) == 3.0 and float(s_opt.state[s[1]]["step"]) == 1.0


@pytest.mark.parametrize("name", ["NAdam", "Adagrad"])
def test_state_dtypes_follow_torch(name):  # float32 params; step (and NAdam's mu_product) float32 too
    t, s = _pair([np.ones(2)], np.float32)
    t_opt, s_opt = getattr(torch.optim, name)(t), getattr(sopt, name)(s)
    _step_both(t_opt, s_opt, t, s, [np.ones(2, np.float32)])
    assert {k: (str(v.dtype)[6:], tuple(v.shape)) for k, v in t_opt.state[t[0]].items()} == \
        {k: (str(v.dtype), v.shape) for k, v in s_opt.state[s[0]].items()}


def test_zero_grad_sets_none_by_default_and_zeros_in_place_otherwise():
    _, s = _pair([np.ones(3), np.ones(2)])
    opt = sopt.SGD(s, lr=0.1)
    s[0].grad = np.ones(3)
    kept = s[0].grad
    opt.zero_grad(set_to_none=False)
    assert s[0].grad is kept and not s[0].grad.any() and s[1].grad is None
    opt.zero_grad()
    assert s[0].grad is None


def test_step_returns_the_closure_loss():
    _, s = _pair([np.ones(1)])
    assert sopt.Adam(s).step(lambda: 3.5) == 3.5


BAD = [  # (optimizer, kwargs torch refuses)
    ("SGD", dict(lr=-0.1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1.0)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adagrad", dict(lr_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-1.0)), ("Adagrad", dict(eps=-1.0)),
    ("RMSprop", dict(alpha=-0.1)), ("RMSprop", dict(eps=-1.0)), ("RMSprop", dict(momentum=-1.0)),
    ("Adam", dict(betas=(1.0, 0.999))), ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(eps=-1.0)),
    ("Adam", dict(betas=(0, 0.999))),  # torch: "betas must be either both floats or both Tensors"
    ("AdamW", dict(weight_decay=-0.1)), ("Adamax", dict(betas=(0.9, 1.0))), ("NAdam", dict(momentum_decay=-1.0)),
    ("RAdam", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(lr=-1.0)),
]


@pytest.mark.parametrize("name,kwargs", BAD, ids=[f"{n}-{sorted(k.items())}" for n, k in BAD])
def test_bad_hyperparameters_raise_torchs_exception(name, kwargs):
    t, s = _pair([np.ones(2)])
    with pytest.raises(Exception) as t_err:
        getattr(torch.optim, name)(t, **kwargs)
    with pytest.raises(type(t_err.value)) as s_err:
        getattr(sopt, name)(s, **kwargs)
    assert str(s_err.value) == str(t_err.value)


@pytest.mark.parametrize("make_params", [lambda ps: [], lambda ps: ps[0],
                                         lambda ps: [{"params": [ps[0]]}, {"params": [ps[0], ps[1]]}]],
                         ids=["empty", "single-param", "param-in-two-groups"])
def test_bad_params_raise_torchs_exception(make_params):
    t, s = _pair([np.ones(2), np.ones(3)])
    with pytest.raises(Exception) as t_err:
        torch.optim.SGD(make_params(t), lr=0.1)
    with pytest.raises(type(t_err.value)):
        sopt.SGD(make_params(s), lr=0.1)


def test_bad_group_and_bad_grad_change_nothing():
    _, s = _pair([np.ones(2), np.ones(3), np.ones(1)])
    opt = sopt.Adam(s[:2], lr=0.1)
    groups_before = [dict(g) for g in opt.param_groups]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [s[0]]})
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group({"params": [s[2]], "lr": -1.0})
    assert opt.param_groups == groups_before
    s[0].grad, s[1].grad = np.ones(2), np.ones(2)  # the second has the wrong shape
    with pytest.raises(ValueError, match=r"expected shape \(3,\)"):
        opt.step()
    s[1].grad = np.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match="expected dtype float64"):
        opt.step()
    np.testing.assert_array_equal(s[0].data, np.ones(2))  # the valid first parameter did not move either
    assert opt.state == {}
    with pytest.raises(ValueError, match="fused=True"):
        sopt.Adam(s, fused=True)
    with pytest.raises(TypeError, match="float32 or float64"):
        sopt.SGD([Parameter(np.ones(2, dtype=np.int64))])


def test_add_param_group_fills_defaults_and_steps_like_torch():
    t, s = _pair([np.ones(2), np.full(3, 2.0)])
    t_opt, s_opt = torch.optim.Adam([t[0]], lr=0.1), sopt.Adam([s[0]], lr=0.1)
    t_opt.add_param_group({"params": [t[1]], "lr": 0.01})
    s_opt.add_param_group({"params": [s[1]], "lr": 0.01})
    assert sorted(s_opt.param_groups[1]) == sorted(t_opt.param_groups[1])
    _step_both(t_opt, s_opt, t, s, [np.array([1.0, -2.0]), np.array([0.5, 0.0, -3.0])])
    _assert_same_state(t_opt, s_opt, t, s)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_layout_matches_torch_and_round_trips(name):
    rng = np.random.default_rng(3)
    t, s, t_opt, s_opt = _rich_pair(name, rng)
    grads = [[rng.standard_normal(3), rng.standard_normal(2)] for _ in range(4)]
    for g in grads[:2]:
        _step_both(t_opt, s_opt, t, s, g)
    t_sd, s_sd = t_opt.state_dict(), s_opt.state_dict()
    assert [g["params"] for g in s_sd["param_groups"]] == [g["params"] for g in t_sd["param_groups"]]
    assert {i: sorted(v) for i, v in s_sd["state"].items()} == {i: sorted(v) for i, v in t_sd["state"].items()}
    # both resume in fresh optimizers on fresh parameters (loading casts state to the parameter's
    # dtype, except ``step``: NAdam's float32 mu_product becomes float64 on both sides)
    t2, s2 = _pair([p.data for p in s])
    cfg = RICH.get(name, {})
    t_res, s_res = getattr(torch.optim, name)(t2, **cfg), getattr(sopt, name)(s2, **cfg)
    t_res.load_state_dict(t_sd)
    s_res.load_state_dict(s_sd)
    for g in grads[2:]:
        _step_both(t_res, s_res, t2, s2, g)
    _assert_same_state(t_res, s_res, t2, s2)


def test_kernels_update_param_and_state_in_place_and_leave_grad_alone():
    # like torch's _single_tensor_adam: the same arrays hold the new values; grad is only read
    p, g = np.ones(3), np.array([1.0, -2.0, 0.5])
    state = adam_init_state(p, amsgrad=True)
    arrays = {k: v for k, v in state.items() if k != "step"}
    g_before = g.copy()
    assert adam_step(p, g, state, lr=0.1, amsgrad=True, weight_decay=0.1, maximize=True) is None
    assert all(state[k] is v for k, v in arrays.items()) and float(state["step"]) == 1.0
    np.testing.assert_array_equal(g, g_before)
    tp = torch.ones(3, dtype=torch.float64, requires_grad=True)
    tp.grad = torch.tensor(g_before)
    opt = torch.optim.Adam([tp], lr=0.1, amsgrad=True, weight_decay=0.1, maximize=True)
    opt.step()
    np.testing.assert_array_equal(p, tp.detach().numpy())
    for k in arrays:
        np.testing.assert_array_equal(state[k], opt.state[tp][k].numpy(), err_msg=k)


def test_optimizer_keeps_read_only_params_working():
    rng = np.random.default_rng(3)
    t, s = _pair([rng.standard_normal((4, 3)), rng.standard_normal(5)], dtype=np.float32)
    s[1].data.flags.writeable = False  # a read-only parameter is replaced by a writable copy, as before
    t_opt, s_opt = torch.optim.Adam(t, lr=0.1), sopt.Adam(s, lr=0.1)
    for _ in range(3):
        _step_both(t_opt, s_opt, t, s, [rng.standard_normal((4, 3)).astype(np.float32),
                                         rng.standard_normal(5).astype(np.float32)])
    tol = trajectory_tolerance("float32", 3)  # the spec's stated float32 allowance after 3 steps
    _assert_same_state(t_opt, s_opt, t, s, rtol=tol.rtol, atol=tol.atol)
    assert s[1].data.flags.writeable


# ---- the registry specs run through the engine ----

@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_default_case_of_each_spec_matches_torch(spec, dtype):
    bad = [r for r in run_case(spec, spec.default_case(), dtype) if not r.passed]
    assert not bad, bad[0]


def test_spec_tolerance_catches_a_one_in_a_million_change_at_step_30():
    class Off(sopt.SGD):  # every update 1e-6 too large
        def _update(self, p, group):
            super()._update(p, dict(group, lr=group["lr"] * (1 + 1e-6)))
    spec, rng = SPECS[0], np.random.default_rng(4)
    case = Case(config=dict(lr=0.1, momentum=0.9), inputs=[rng.standard_normal(5)],
                steps=[[rng.standard_normal(5)] for _ in range(30)])
    assert all(r.passed for r in run_case(spec, case, "float64"))
    assert any(not r.passed and r.step == 30 for r in run_case(spec, case, "float64", candidate=Off))


def test_spec_catches_l2_decay_implemented_as_decoupled():
    spec = next(s for s in SPECS if s.name == "adam")
    case = Case(config=dict(lr=0.01, weight_decay=0.1), inputs=[np.ones(3)], steps=[[np.array([1.0, -1.0, 0.5])]] * 3)
    assert all(r.passed for r in run_case(spec, case, "float64"))
    assert not all(r.passed for r in run_case(spec, case, "float64", candidate=sopt.AdamW))
