"""scratch.train: fit on both sides (scratch vs torch, same batches), update ratios, early
stopping, snapshot and seed ensembles. Expected values are hand-derived or come from torch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import softmax as scipy_softmax

import scratch.nn as snn
import scratch.optim as so
import scratch.train as st
from reference.train import TorchLoss, TorchModel, torch_twin
from scratch.data import DataLoader, ReplayLoader, StandardScaler, load_digits, train_test_split


# ---------------------------------------------------------------- stand-ins with hand-known behaviour
class _Squared:
    """L = mean((y - t)^2), dL/dy = 2 (y - t) / numel."""

    def forward(self, y, t):
        self._d = y - t
        return np.mean(self._d ** 2)

    def backward(self, grad=None):
        return 2 * self._d / self._d.size


class _Scripted:
    """An 'optimizer' that sets the parameter to the next value of a script at each step."""

    def __init__(self, param, values, lr=0.1):
        self.param, self.values, self.k = param, list(values), 0
        self.param_groups = [{"params": [param], "lr": lr}]

    def zero_grad(self):
        self.param.grad = None

    def step(self):
        self.param.data[...] = self.values[self.k]
        self.k += 1


class _Scale:
    """Multiplies every parameter by (1 + c_k) at step k: the update-to-weight ratio is |c_k|."""

    def __init__(self, params, factors):
        self.params, self.factors, self.k = list(params), list(factors), 0
        self.param_groups = [{"params": self.params, "lr": 1.0}]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p in self.params:
            p.data = p.data * (1 + self.factors[self.k])
        self.k += 1


def _scalar_model(w0=3.0):
    m = snn.Linear(1, 1, bias=False, dtype=np.float64)
    m.weight.data[...] = w0
    return m


ONE = (np.ones((1, 1)), np.zeros((1, 1)))  # y = w, target 0: the loss is w^2


# ---------------------------------------------------------------- scratch vs torch, same batches
def _digits(n=240):
    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X[:n], y[:n], test_size=0.25, stratify=y[:n], generator=0)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), ytr, sc.transform(Xva), yva


def _mlp(seed, sizes=(64, 16, 10)):
    rng = np.random.default_rng(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [snn.Linear(a, b, dtype=np.float64, generator=rng), snn.ReLU()]
    return snn.Sequential(*layers[:-1])


def _torch_fit(twin, data, order, kw):
    opt = torch.optim.Adam(twin.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5)
    return st.fit(TorchModel(twin), TorchLoss(torch.nn.CrossEntropyLoss()), opt, ReplayLoader(data, order),
                  scheduler=sched, **kw)


@pytest.fixture(scope="module")
def side_by_side():
    """A 64-16-10 MLP in float64 trained 2 epochs by fit on both sides from the same initial
    weights (Adam, warm restarts every 5 steps); the torch side once with the scratch side's
    batches and once with other batches."""
    return _train_both_sides()  # one torch thread: tests/conftest.py sets it for the session


def _train_both_sides():
    Xtr, ytr, Xva, yva = _digits()
    model = _mlp(0)
    twin, twin_other = torch_twin(model), torch_twin(model)     # initial weights, copied
    kw = dict(epochs=2, val_data=(Xva, yva), metrics=["accuracy"], scheduler_interval="step", progress=False)
    loader = DataLoader((Xtr, ytr), batch_size=16, shuffle=True, generator=1)
    opt = so.Adam(list(model.parameters()), lr=1e-2)
    sched = so.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5)
    h_scratch = st.fit(model, snn.CrossEntropyLoss(), opt, loader, scheduler=sched, **kw)
    h_torch = _torch_fit(twin, (Xtr, ytr), loader.export_order(), kw)
    other = DataLoader(Xtr, batch_size=16, shuffle=True, generator=2)
    list(other), list(other)
    h_other = _torch_fit(twin_other, (Xtr, ytr), other.export_order(), kw)
    return model, twin, h_scratch, h_torch, h_other


def test_fit_drives_scratch_and_torch_to_the_same_history(side_by_side):
    model, twin, hs, ht, _ = side_by_side
    assert list(hs.columns) == list(ht.columns) == [
        "epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
        "update_ratio/0.weight", "update_ratio/0.bias", "update_ratio/2.weight", "update_ratio/2.bias"]
    assert len(hs) == 2 and hs["train_loss"].iloc[1] < hs["train_loss"].iloc[0]
    np.testing.assert_allclose(hs.to_numpy(), ht.to_numpy(), rtol=1e-10, atol=1e-14)
    for name, w in model.state_dict().items():
        np.testing.assert_allclose(w, twin.state_dict()[name].numpy(), rtol=1e-10, atol=1e-13)


def test_side_by_side_comparison_notices_different_batches(side_by_side):
    _, _, hs, _, h_other = side_by_side
    assert np.max(np.abs(hs["train_loss"].to_numpy() - h_other["train_loss"].to_numpy())) > 1e-6


# ---------------------------------------------------------------- update-to-weight ratio
def test_update_ratio_is_the_relative_step_per_parameter():
    m = snn.Linear(2, 1, dtype=np.float64)
    m.weight.data[...] = [[3.0, -4.0]]
    m.bias.data[...] = 0.0                           # ||w|| = 0: the ratio is undefined (NaN)
    X, y = np.ones((4, 2)), np.zeros((4, 1))
    loader = DataLoader((X, y), batch_size=2)        # 2 steps per epoch
    hist = st.fit(m, _Squared(), _Scale(m.parameters(), [0.1, -0.3, 0.5, 0.5]), loader, epochs=2,
                  metrics=(), progress=False)
    np.testing.assert_allclose(hist["update_ratio/weight"], [0.2, 0.5], rtol=1e-12)  # mean(|0.1|, |-0.3|)
    assert hist["update_ratio/bias"].isna().all()
    assert st.update_ratio(np.array([3.0, 4.0]), np.array([3.0, 4.5])) == pytest.approx(0.1)  # 0.5 / 5


# ---------------------------------------------------------------- early stopping
def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    m = _scalar_model()
    # weights after epochs 1..: val loss w^2 = 4, 1, 2.25, 4, 6.25: best at epoch 2
    es = st.EarlyStopping(patience=2)
    hist = st.fit(m, _Squared(), _Scripted(m.weight, [2, 1, 1.5, 2, 2.5, 0.1]), [ONE], epochs=6,
                  val_data=ONE, metrics=(), early_stopping=es, progress=False)
    np.testing.assert_allclose(hist["val_loss"], [4, 1, 2.25, 4])
    assert (hist.attrs["best_epoch"], hist.attrs["stopped_epoch"]) == (2, 4)
    assert m.weight.data[0, 0] == 1.0


def test_early_stopping_min_delta_and_no_restore():
    m = _scalar_model()
    es = st.EarlyStopping(patience=2, min_delta=0.5, restore_best_weights=False)
    # val losses 4, 3.61, 3.8025: the first improves on inf, the next two are within 0.5 of 4: stop at 3
    hist = st.fit(m, _Squared(), _Scripted(m.weight, [2, 1.9, 1.95, 0.0]), [ONE], epochs=4,
                  val_data=ONE, metrics=(), early_stopping=es, progress=False)
    assert len(hist) == 3 and es.best_epoch == 1 and m.weight.data[0, 0] == 1.95


def test_full_run_restores_best_even_without_a_stop():
    m = _scalar_model()
    es = st.EarlyStopping(patience=5)
    st.fit(m, _Squared(), _Scripted(m.weight, [1, 2, 3]), [ONE], epochs=3, val_data=ONE, metrics=(),
           callbacks=[es], progress=False)
    assert es.stopped_epoch == 0 and m.weight.data[0, 0] == 1.0


# ---------------------------------------------------------------- snapshot and seed ensembles
def test_cycle_ends_are_torchs_warm_restarts():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    restarts = []
    for s in range(1, 31):
        opt.step()
        sched.step()
        if sched.get_last_lr()[0] == 1.0:          # back at the base lr: a cycle just ended
            restarts.append(s)
    assert restarts == st.cycle_ends(2, 2, 30) == [2, 6, 14, 30]


@pytest.mark.parametrize("interval, T_0, batches, epochs, expected", [
    ("epoch", 2, 1, 7, [2, 6]),       # T_mult=2: cycles of 2 and 4 epochs
    ("step", 4, 3, 3, [4, 8]),        # T_mult=1 (below): steps 4 and 8 of 9
])
def test_snapshots_are_taken_exactly_at_cycle_ends(interval, T_0, batches, epochs, expected):
    m = _scalar_model(0.0)
    opt = _Scripted(m.weight, range(1, 100))        # after step s the weight is s
    T_mult = 2 if interval == "epoch" else 1
    sched = so.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult)
    snap = st.SnapshotEnsemble.from_scheduler(sched, interval=interval)
    st.fit(m, _Squared(), opt, [ONE] * batches, epochs=epochs, scheduler=sched, scheduler_interval=interval,
           metrics=(), callbacks=[snap], progress=False)
    assert [pos for pos, _ in snap.snapshots] == expected
    steps = [pos * (batches if interval == "epoch" else 1) for pos in expected]
    assert [s["weight"][0, 0] for _, s in snap.snapshots] == steps


def test_snapshot_average_of_probabilities_by_hand():
    m = snn.Linear(2, 2, bias=False, dtype=np.float64)
    m.weight.data[...] = 7.0
    ln3 = math.log(3.0)
    # with X = I the outputs are W^T: row n of the output is column n of W
    w1, w2 = np.array([[0.0, 0.0], [ln3, 0.0]]), np.array([[ln3, 0.0], [0.0, ln3]])
    p = st.snapshot_predict_proba(m, [(1, {"weight": w1}), (2, {"weight": w2})], np.eye(2))
    # member 1: softmax([0, ln3]) = [1/4, 3/4], softmax([0, 0]) = [1/2, 1/2]
    # member 2: softmax([ln3, 0]) = [3/4, 1/4], softmax([0, ln3]) = [1/4, 3/4]
    np.testing.assert_allclose(p, [[1 / 2, 1 / 2], [3 / 8, 5 / 8]], rtol=1e-14)
    assert np.all(m.weight.data == 7.0)             # the model's own weights are back
    np.testing.assert_allclose(st.softmax(np.array([[1000.0, 1000.0 + ln3]])), [[0.25, 0.75]], rtol=1e-12)  # no overflow


def test_seed_ensemble_averages_independent_models():
    X, y = np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2

    def train_one(seed):
        m = snn.Linear(3, 2, dtype=np.float64, generator=np.random.default_rng(seed))
        st.fit(m, snn.CrossEntropyLoss(), so.SGD(list(m.parameters()), lr=0.1),
               DataLoader((X, y), batch_size=5, shuffle=True, generator=seed), epochs=1, progress=False)
        return m

    models = st.seed_ensemble(train_one, [0, 1, 2])
    assert not np.allclose(models[0].weight.data, models[1].weight.data)
    expected = np.mean([scipy_softmax(X @ m.weight.data.T + m.bias.data, axis=1) for m in models], axis=0)
    np.testing.assert_allclose(st.ensemble_predict_proba(models, X), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="distinct seeds"):
        st.seed_ensemble(train_one, [1, 1])


# ---------------------------------------------------------------- progress bar and bad input
def test_progress_bar_does_not_change_the_history(capsys):
    runs = []
    for progress in (False, True):
        m = _scalar_model()
        runs.append(st.fit(m, _Squared(), _Scripted(m.weight, [2, 1]), [ONE], epochs=2, val_data=ONE,
                           metrics=[("neg", lambda t, y: -float(y.sum()))], progress=progress))
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert list(runs[0]["train_neg"]) == [-3.0, -2.0] and list(runs[0]["val_neg"]) == [-2.0, -1.0]
    assert "fit" in capsys.readouterr().err


def test_fit_bad_input_changes_nothing():
    m = _scalar_model()
    opt = _Scripted(m.weight, [1.0])
    with pytest.raises(ValueError, match="epochs: expected an int >= 1, got 0"):
        st.fit(m, _Squared(), opt, [ONE], epochs=0, progress=False)
    with pytest.raises(ValueError, match="EarlyStopping monitors 'val_loss' but fit got no val_data"):
        st.fit(m, _Squared(), opt, [ONE], epochs=1, early_stopping=st.EarlyStopping(), progress=False)
    with pytest.raises(ValueError, match="metrics: expected a name from"):
        st.fit(m, _Squared(), opt, [ONE], epochs=1, metrics=["acuracy"], progress=False)
    with pytest.raises(ValueError, match="same non-zero number of samples, got 1 and 2"):
        st.fit(m, _Squared(), opt, [ONE], epochs=1, val_data=(np.ones((1, 1)), np.ones((2, 1))), progress=False)
    with pytest.raises(TypeError, match=r"train_data: expected batches \(x, y\), got ndarray"):
        st.fit(m, _Squared(), opt, DataLoader(np.ones((2, 1))), epochs=1, progress=False)
    assert m.weight.data[0, 0] == 3.0 and opt.k == 0
    with pytest.raises(ValueError, match="patience: expected an int >= 1"):
        st.EarlyStopping(patience=0)
    with pytest.raises(RuntimeError, match="expected a training-mode forward first"):
        TorchModel(torch.nn.Linear(1, 1)).backward(np.ones((1, 1)))


def test_chunked_validation_and_plateau_scheduler_get_the_monitored_value():
    class ReduceLROnPlateau:  # torch's name: fit passes it the epoch's val_loss
        def __init__(self):
            self.seen = []

        def step(self, value):
            self.seen.append(value)

    m = _scalar_model(2.0)
    val = (np.array([[1.0], [3.0]]), np.zeros((2, 1)))   # outputs w, 3w: loss (w^2 + 9 w^2) / 2 = 5 w^2
    sched = ReduceLROnPlateau()
    hist = st.fit(m, _Squared(), _Scripted(m.weight, [1.0, 0.5]), [ONE], epochs=2, val_data=val, metrics=(),
                  scheduler=sched, val_batch_size=1, progress=False)
    np.testing.assert_allclose(hist["val_loss"], [5.0, 1.25], rtol=1e-15)
    assert sched.seen == list(hist["val_loss"])


def test_train_loss_weights_batches_by_their_size():
    m = _scalar_model(1.0)
    X, y = np.array([[1.0], [2.0], [4.0]]), np.zeros((3, 1))   # per-sample losses 1, 4, 16
    hist = st.fit(m, _Squared(), _Scale(m.parameters(), [0.0, 0.0]), DataLoader((X, y), batch_size=2), epochs=1,
                  progress=False)
    assert hist["train_loss"].iloc[0] == 7.0                   # (2 * 2.5 + 1 * 16) / 3, not (2.5 + 16) / 2
