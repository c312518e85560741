"""What every experiment receives: the command-line options, a progress bar, and a
parallel map for sweeps (joblib, so the backend is an option, not code).

Sweeps (optimizer x lr x seed grids) call ``ctx.map(fn, tasks)``. Each task is
seeded by its own arguments, so results do not depend on the backend or on the
order in which workers finish. Backends:
- ``loky`` (default): local worker processes; ``--jobs`` of them (default 2).
- ``threading``, ``multiprocessing``: joblib's other local backends.
- ``sequential``: in this process (what the tests and ``--jobs 1`` use).
- ``dask``: a Dask cluster; the scheduler address is read from
  ``DASK_SCHEDULER_ADDRESS`` (``dask.distributed.Client(address)``), and without it
  a local cluster is started. Needs ``pip install "dask[distributed]"``.
- ``ray``: a Ray cluster (``ray.init(address="auto")`` when ``RAY_ADDRESS`` is
  set, else a local one), through ``ray.util.joblib.register_ray``. Needs ``pip install ray``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("loky", "threading", "multiprocessing", "sequential", "dask", "ray")


@dataclass
class Context:
    device: str = "cpu"
    dtypes: list = field(default_factory=lambda: ["float64", "float32"])
    quick: bool = False
    out: Path = Path("reports")
    seed: int = 0
    backend: str = "loky"
    jobs: int = 2
    mnist: Path | None = None
    progress_stream: object = sys.stderr

    def progress(self, iterable, desc: str, total: int | None = None):
        """A tqdm progress bar on stderr (quiet when stderr is not a terminal)."""
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, total=total, file=self.progress_stream, leave=False,
                    disable=None, mininterval=0.5)

    def map(self, fn, tasks: list[tuple], desc: str = "sweep") -> list:
        """[fn(*task) for task in tasks], through the configured joblib backend, in task order."""
        tasks = list(tasks)
        if self.backend == "sequential" or self.jobs == 1:
            return [fn(*t) for t in self.progress(tasks, desc)]
        import joblib

        with _connect(self.backend) as backend, \
                joblib.parallel_config(backend=backend, n_jobs=self.jobs if backend in ("loky", "threading",
                                                                                        "multiprocessing") else -1):
            return joblib.Parallel(return_as="list")(joblib.delayed(fn)(*t) for t in tasks)


@functools.lru_cache(maxsize=1)
def _threadpools():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finds the BLAS/OpenMP libraries once per process (slow: reads /proc)


@contextlib.contextmanager
def single_threaded(threads: int = 1):
    """``threads`` intra-op threads for torch and for NumPy's BLAS while a task runs, then the
    old settings. Why one: the experiments' problems are small, so a second thread only adds
    hand-offs (on a busy 2-core machine a spinning OpenMP thread waiting for a descheduled one
    cost ~10 ms per small op), and a reduction's rounding depends on how it is split over
    threads, so float32 results stay the same under every sweep backend and core count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with _threadpools().limit(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _connect(backend: str):
    """Register a cluster backend with joblib where one is asked for; yield joblib's backend name.
    dask: the caller's current client if there is one (``distributed.get_client``-style default,
    e.g. ``with Client(cluster):`` around the run), else a client to ``DASK_SCHEDULER_ADDRESS``
    (or to a local cluster it starts when that is unset), closed when the sweep ends."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if backend == "dask":
        from dask.distributed import Client, default_client  # registers joblib's "dask" backend

        try:
            default_client()
            own = None
        except ValueError:  # no client yet
            own = Client(os.environ.get("DASK_SCHEDULER_ADDRESS"))
        try:
            yield backend
        finally:
            if own is not None:
                own.close()  # also closes the local cluster it started, if any
        return
    if backend == "ray":
        import ray
        from ray.util.joblib import register_ray

        ray.init(address="auto" if os.environ.get("RAY_ADDRESS") else None, ignore_reinit_error=True)
        register_ray()
    yield backend
