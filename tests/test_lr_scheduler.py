"""Learning-rate schedulers: every registry case's lr sequence (and OneCycleLR's momentum/betas
and the final state_dict) equals torch's exactly, plus behaviour the generic engine does not
see: the 1/t helper and warm-restart boundaries by hand, state after construction, torch's
quirks, errors that change nothing, and the call-order warning."""

from __future__ import annotations

import math
import pickle
import warnings

import pytest
import torch
from hypothesis import given, settings

from reference.hypothesis_profiles import scaled
from reference.specs.schedulers import SPECS
from scratch.optim import lr_scheduler as S
from scratch.optim.lr_scheduler import inverse_time_decay


class Groups:
    """What a scheduler reads of a scratch optimizer: param_groups (dicts with "lr"), defaults, step()."""

    def __init__(self, lr=0.1, n_groups=1, **defaults):
        self.defaults = {"lr": lr, **defaults}
        self.param_groups = [dict(self.defaults) for _ in range(n_groups)]

    def step(self):
        pass


def _torch_opt(name="SGD", lr=0.1, n_groups=1, **kw):
    params = [torch.nn.Parameter(torch.zeros(2)) for _ in range(n_groups)]
    return getattr(torch.optim, name)([{"params": [p]} for p in params], lr=lr, **kw)


def _pair(case):
    """torch's optimizer for a registry case, and a stand-in with the same groups and defaults."""
    name, kwargs = case.extra["optimizer"]
    groups = case.extra.get("groups") or [{"params": list(range(len(case.inputs)))}]
    params = [torch.nn.Parameter(torch.tensor(x)) for x in case.inputs]
    topt = getattr(torch.optim, name)([{**g, "params": [params[i] for i in g["params"]]} for g in groups], **kwargs)
    sopt = Groups()
    sopt.defaults = dict(topt.defaults)
    sopt.param_groups = [{k: v for k, v in g.items() if k != "params"} for g in topt.param_groups]
    return topt, sopt


def _assert_same_groups(topt, sopt, where):
    for tg, sg in zip(topt.param_groups, sopt.param_groups, strict=True):
        for key in ("lr", "momentum", "betas", "initial_lr"):
            assert tg.get(key) == sg.get(key), f"{where}: group[{key!r}] {sg.get(key)!r}, torch {tg.get(key)!r}"


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_lr_sequence_equals_torch_exactly(spec):
    @settings(max_examples=scaled(15))
    @given(spec.cases())
    def prop(case):
        topt, sopt = _pair(case)
        tsched = spec.twin(topt, **case.config)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a correct loop draws no warning from scratch
            ssched = spec.component(sopt, **case.config)
            assert ssched.get_last_lr() == tsched.get_last_lr(), "after construction"
            _assert_same_groups(topt, sopt, "after construction")
            for t in range(1, len(case.steps) + 1):
                topt.step(), tsched.step()
                sopt.step(), ssched.step()
                assert ssched.get_last_lr() == tsched.get_last_lr(), f"step {t}"
                _assert_same_groups(topt, sopt, f"step {t}")
        assert ssched.state_dict() == tsched.state_dict()

    prop()


def test_inverse_time_decay_by_hand():
    f = inverse_time_decay(0.25)
    assert [f(t) for t in (0, 4, 12)] == [1.0, 0.5, 0.25]
    opt = Groups(lr=0.1)
    sched = S.LambdaLR(opt, lr_lambda=inverse_time_decay(0.5))
    lrs = [sched.get_last_lr()[0]]
    for _ in range(4):
        opt.step(), sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([0.1, 0.1 / 1.5, 0.05, 0.1 / 2.5, 0.1 / 3], rel=1e-15)
    assert repr(f) == "inverse_time_decay(0.25)" and eval(repr(f)) == f
    assert pickle.loads(pickle.dumps(f)) == f
    assert sched.state_dict()["lr_lambdas"] == [{"k": 0.5}]  # torch saves a callable object's __dict__
    tsched = torch.optim.lr_scheduler.LambdaLR(_torch_opt(lr=0.1), lr_lambda=inverse_time_decay(0.5))
    assert tsched.state_dict()["lr_lambdas"] == [{"k": 0.5}]
    other = S.LambdaLR(Groups(), lr_lambda=inverse_time_decay(9.0))
    other.load_state_dict(sched.state_dict())
    assert other.lr_lambdas[0].k == 0.5
    with pytest.raises(ValueError, match="k >= 0"):
        inverse_time_decay(-1.0)


def test_warm_restarts_cycle_boundaries_by_hand():
    sched = S.CosineAnnealingWarmRestarts(Groups(lr=1.0), T_0=2, T_mult=2)
    c = [0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(4)]
    expected = [1.0, 0.5, 1.0, c[1], c[2], c[3], 1.0]  # restarts at epochs 2 and 6 (T_i 2, 4, then 8)
    got = [sched.get_last_lr()[0]]
    for _ in range(6):
        sched.step()
        got.append(sched.get_last_lr()[0])
    assert got == pytest.approx(expected, abs=1e-15)
    assert (sched.T_cur, sched.T_i) == (0, 8)
    sched.step(2.5)  # a fractional epoch: cycle 2 starts at epoch 2 with T_i = 4
    assert (sched.T_cur, sched.T_i, sched.last_epoch) == (0.5, 4, 2)
    assert sched.get_last_lr()[0] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5 / 4)), abs=1e-15)
    flat = S.CosineAnnealingWarmRestarts(Groups(lr=1.0), T_0=3, eta_min=0.2)
    flat.step(7.5)  # T_mult 1: T_cur = 7.5 mod 3 = 1.5, half way down
    assert flat.get_last_lr()[0] == pytest.approx(0.2 + 0.8 * 0.5, abs=1e-15)


def test_state_after_construction():
    opt = Groups(lr=0.1, n_groups=2)
    opt.param_groups[1]["lr"] = 0.3
    sched = S.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.3] == sched.base_lrs == sched.get_last_lr()
    assert (sched.last_epoch, sched._step_count) == (0, 1)
    S.ExponentialLR(opt, gamma=0.5)  # a second scheduler keeps the first one's initial_lr (setdefault)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.3]
    # quirks, each checked against torch: a milestone 0 decays at once; OneCycleLR ignores the
    # optimizer's lr and switches SGD momentum on even when it was built with momentum=0
    pairs = [(S.MultiStepLR, dict(milestones=[0, 0, 3], gamma=0.5), "SGD", {}),
             (S.OneCycleLR, dict(max_lr=1.0, total_steps=10), "SGD", {"momentum": 0.0}),
             (S.OneCycleLR, dict(max_lr=1.0, total_steps=10, three_phase=True), "Adam", {})]
    for cls, cfg, name, kw in pairs:
        topt = _torch_opt(name, lr=0.1, **kw)
        sopt = Groups(lr=0.1, **{k: v for k, v in topt.defaults.items() if k != "lr"})
        s, t = cls(sopt, **cfg), getattr(torch.optim.lr_scheduler, cls.__name__)(topt, **cfg)
        assert s.state_dict() == t.state_dict()
        _assert_same_groups(topt, sopt, cls.__name__)
    assert sopt.param_groups[0]["betas"][0] == 0.95
    assert S.MultiStepLR(Groups(lr=1.0), milestones=[0, 0], gamma=0.5).get_last_lr() == [0.25]


def test_quirks_over_time():
    lin = S.LinearLR(Groups(lr=0.3), start_factor=0.5, total_iters=0)  # never reaches end_factor
    cos = S.CosineAnnealingLR(Groups(lr=1.0), T_max=4)  # periodic with period 2 T_max, not clamped
    got_lin, got_cos = [], []
    for _ in range(8):
        lin.optimizer.step(), lin.step(), cos.optimizer.step(), cos.step()
        got_lin.append(lin.get_last_lr()[0]), got_cos.append(cos.get_last_lr()[0])
    assert got_lin == [0.15] * 8
    assert got_cos[3] == pytest.approx(0.0, abs=1e-15) and got_cos[7] == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("cls,cfg", [(S.StepLR, dict(step_size=3, gamma=0.5)),
                                     (S.MultiStepLR, dict(milestones=[2, 5, 5])),
                                     (S.ExponentialLR, dict(gamma=0.9)),
                                     (S.LinearLR, dict(total_iters=4)),
                                     (S.CosineAnnealingLR, dict(T_max=6, eta_min=0.01))])
def test_deprecated_step_epoch_and_resume_match_torch(cls, cfg):
    tcls = getattr(torch.optim.lr_scheduler, cls.__name__)
    sopt, topt = Groups(lr=0.2), _torch_opt(lr=0.2)
    s, t = cls(sopt, **cfg), tcls(topt, **cfg)
    sopt.step(), topt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        s.step(7)
    with pytest.warns(UserWarning):
        t.step(7)
    assert s.get_last_lr() == t.get_last_lr()
    # resuming: a new scheduler with last_epoch=7 continues from the groups' initial_lr
    s2, t2 = cls(sopt, last_epoch=7, **cfg), tcls(topt, last_epoch=7, **cfg)
    for _ in range(3):
        sopt.step(), topt.step()
        s2.step(), t2.step()
        assert s2.get_last_lr() == t2.get_last_lr()


def _snapshot(opt):
    return [dict(g) for g in opt.param_groups]


@pytest.mark.parametrize("make,error,match", [
    (lambda o: S.StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: S.MultiStepLR(o, milestones=[2.5]), ValueError, "milestones"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: S.LinearLR(o, start_factor=0.0), ValueError, "Starting multiplicative factor"),
    (lambda o: S.LinearLR(o, end_factor=1.5), ValueError, "Ending multiplicative factor"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "T_mult"),
    (lambda o: S.LambdaLR(o, lr_lambda=[inverse_time_decay(1.0)] * 2), ValueError, "Expected 1 lr_lambdas"),
    (lambda o: S.LambdaLR(o, lr_lambda=0.5), TypeError, "callable"),
    (lambda o: S.StepLR(o, step_size=2, last_epoch=3), KeyError, "initial_lr"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1), ValueError, "pct_start"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
    (lambda o: S.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=10), ValueError, "max_lr must have the same length"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.1), ZeroDivisionError, "zero steps long"),
])
def test_bad_arguments_raise_and_change_nothing(make, error, match):
    opt = Groups(lr=0.1)
    before = _snapshot(opt)
    with pytest.raises(error, match=match):
        make(opt)
    assert _snapshot(opt) == before


def test_one_cycle_needs_momentum_and_leaves_the_optimizer_alone():
    opt = Groups(lr=0.1, weight_decay=0.0)  # neither momentum nor betas (torch's Adagrad, say)
    before = _snapshot(opt)
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert _snapshot(opt) == before  # torch has written initial_lr, max_lr, min_lr by then
    S.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)  # fine without cycling
    with pytest.raises(TypeError, match="param_groups"):
        S.StepLR(object(), step_size=1)


def test_one_cycle_stops_after_total_steps_like_torch():
    s = S.OneCycleLR(Groups(lr=0.1, momentum=0.0), max_lr=1.0, total_steps=3)
    t = torch.optim.lr_scheduler.OneCycleLR(_torch_opt(momentum=0.0), max_lr=1.0, total_steps=3)
    for _ in range(3):
        s.optimizer.step(), s.step(), t.optimizer.step(), t.step()
    assert s.get_last_lr() == t.get_last_lr()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        t.step()


def test_scheduler_before_optimizer_warns_like_torch():
    opt = Groups()
    sched = S.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = Groups()
    sched2 = S.StepLR(opt2, step_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched2.get_lr()


def test_strategies_reach_their_edges():
    from reference.sampling import sample_cases

    seen = {spec.name: sample_cases(spec.cases(), 60, seed=0) for spec in SPECS}
    every = [c for cases in seen.values() for c in cases]
    assert {1, 500} <= {len(c.steps) for c in every} and any("groups" in c.extra for c in every)
    assert {c.extra["optimizer"][1].get("momentum") for c in every} >= {0.0, 0.9}
    assert any(c.config["step_size"] == 1 for c in seen["step_lr"])
    assert any(c.config["gamma"] == 1.0 for c in seen["step_lr"])
    ms = [c.config["milestones"] for c in seen["multi_step_lr"]]
    assert any(0 in m for m in ms) and any(len(set(m)) < len(m) for m in ms) and any(m != sorted(m) for m in ms)
    assert {0, 1} <= {c.config["total_iters"] for c in seen["linear_lr"]}
    cos = seen["cosine_annealing_lr"]
    assert any(c.config["T_max"] == 1 for c in cos) and any(c.config["eta_min"] > 0 for c in cos)
    assert any(len(c.steps) > 2 * c.config["T_max"] for c in cos)  # past the trough and back up
    assert {1, 2, 3} <= {c.config["T_mult"] for c in seen["cosine_annealing_warm_restarts"]}
    oc = seen["one_cycle_lr"]
    assert {"cos", "linear"} <= {c.config["anneal_strategy"] for c in oc}
    for flag in ("three_phase", "cycle_momentum"):
        assert {True, False} <= {c.config[flag] for c in oc}
    assert any(c.extra["optimizer"][0] == "Adam" and c.config["cycle_momentum"] for c in oc)
    assert any(c.extra["optimizer"][1].get("momentum") == 0.0 and c.config["cycle_momentum"] for c in oc)
    assert any(len(c.steps) == c.config.get("total_steps") for c in oc) and any("epochs" in c.config for c in oc)
    assert any(isinstance(c.config["max_lr"], list) for c in oc)
    assert any(isinstance(c.config["lr_lambda"], list) for c in seen["lambda_lr"])
