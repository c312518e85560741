"""``--backend dask`` on a real (local) Dask cluster: the quick lr_sweep writes the same CSVs,
byte for byte, as ``--backend sequential``.

The cluster is a ``distributed.LocalCluster`` with two single-threaded worker *processes*: the
tasks and their results are pickled to and from separate interpreters, each with its own torch,
as with a ``dask scheduler`` and ``dask worker`` processes on other machines (in-process workers
would run the tasks in threads of this process and skip that path). The experiment reaches the
cluster the way a user's run does, through ``DASK_SCHEDULER_ADDRESS``.
"""

from __future__ import annotations

import os
import threading
from unittest import mock

import pytest

distributed = pytest.importorskip("distributed", reason='needs the dev extra: pip install "dask[distributed]"')

from experiments.__main__ import main  # noqa: E402


def _csvs(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def _same_csvs(a, b):
    """[] when folders a and b hold the same CSV names with the same bytes, else what differs."""
    ca, cb = _csvs(a), _csvs(b)
    if set(ca) != set(cb):
        return [f"names: {sorted(ca)} vs {sorted(cb)}"]
    return [name for name in ca if ca[name] != cb[name]]


@pytest.fixture
def dask_cluster(monkeypatch):
    """A 2-worker LocalCluster, its address in DASK_SCHEDULER_ADDRESS; afterwards every client made
    during the test is closed, the cluster is shut down and the environment restored, leaving no
    worker process and no client thread behind."""
    import psutil

    def children():  # multiprocessing's resource tracker, started by the first spawn, lives on by design
        return {p.pid for p in psutil.Process().children(recursive=True)
                if p.is_running() and "resource_tracker" not in " ".join(p.cmdline())}

    before = children(), set(distributed.Client._instances), set(threading.enumerate())
    # the nannies write OMP/MKL/OPENBLAS_NUM_THREADS=1, PYTHONHASHSEED, ... (dask's
    # distributed.nanny.pre-spawn-environ) into this process' os.environ and leave them there
    with mock.patch.dict(os.environ):
        # no dashboard; the scheduler's HTTP server on a free port (its default, 8787, is taken
        # when another cluster runs, and then it warns)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster:
            monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
            try:
                yield cluster
            finally:
                # experiments.context._connect makes a Client per ctx.map call and leaves it open;
                # close those before the scheduler goes, or they log reconnection errors forever
                for client in set(distributed.Client._instances) - before[1]:
                    client.close()
    assert children() <= before[0], "worker processes left running"
    shared = ("Dask-Offload", "tqdm_monitor")  # process-wide pools of distributed and tqdm, kept by design
    left = [t.name for t in set(threading.enumerate()) - before[2] if t.is_alive() and not t.name.startswith(shared)]
    assert not left, f"threads left running: {left}"


def test_lr_sweep_on_a_local_cluster_writes_the_same_csvs_as_sequential(dask_cluster, tmp_path):
    common = ["lr_sweep", "--quick"]
    assert main([*common, "--backend", "dask", "--out", str(tmp_path / "dask")]) == 0
    assert len(dask_cluster.scheduler_info["workers"]) == 2
    ran = " ".join(dask_cluster.scheduler.task_prefixes)  # e.g. batch_of_train_mlp_2_calls (joblib's names)
    assert "threshold_row" in ran and "train_mlp" in ran, ran  # both sweeps went through the scheduler
    assert main([*common, "--backend", "sequential", "--out", str(tmp_path / "sequential")]) == 0
    names = set(_csvs(tmp_path / "sequential"))
    assert {"lr_sweep.csv", "lr_sweep_threshold.csv", "lr_sweep_budget.csv"} <= names
    assert _same_csvs(tmp_path / "dask", tmp_path / "sequential") == []


def test_the_comparison_sees_one_changed_byte(tmp_path):
    """The check above can fail: a CSV that differs in one digit, or a missing one, is reported."""
    for side in ("a", "b"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "t.csv").write_text("lr,val_loss\n0.1,2.302585\n")
        (tmp_path / side / "u.csv").write_text("x\n1\n")
    assert _same_csvs(tmp_path / "a", tmp_path / "b") == []
    (tmp_path / "b" / "t.csv").write_text("lr,val_loss\n0.1,2.302586\n")
    assert _same_csvs(tmp_path / "a", tmp_path / "b") == ["t.csv"]
    (tmp_path / "b" / "u.csv").unlink()
    assert _same_csvs(tmp_path / "a", tmp_path / "b") == ["names: ['t.csv', 'u.csv'] vs ['t.csv']"]
