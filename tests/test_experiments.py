"""The main job's quick path: what CI runs. Checks files, columns and atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.__main__ import main
from experiments.report import write_atomic


def test_all_quick_writes_every_table_figure_and_the_index(tmp_path, capsys):
    """What CI runs: every experiment's main table has its columns, every figure exists,
    index.html embeds them, and the conformance table covers the whole registry and passes."""
    import importlib

    from experiments.__main__ import MODULES

    assert main(["all", "--quick", "--jobs", "1", "--out", str(tmp_path)]) == 0
    page = (tmp_path / "index.html").read_text()
    assert "git revision" in page and "seconds" in page and "torch" in page
    for name, path in MODULES.items():
        module = importlib.import_module(path)
        df = pd.read_csv(tmp_path / f"{name}.csv")
        assert len(df) and set(module.COLUMNS) <= set(df.columns), (name, set(module.COLUMNS) - set(df.columns))
        assert (tmp_path / f"{name}.md").read_text().startswith("# ")
        assert f"id='{name}'" in page
        for suffix in module.FIGURES:
            png = tmp_path / f"{name}_{suffix}.png"
            assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG", png
            assert f"alt='{name}_{suffix}'" in page
    df = pd.read_csv(tmp_path / "conformance.csv")
    from reference.registry import REGISTRY
    assert set(df["component"]) == set(REGISTRY) and set(df["dtype"]) == {"float32", "float64"}
    assert df["passed"].all()


def test_one_dtype_and_help(tmp_path, capsys):
    assert main(["conformance", "--quick", "--dtype", "float64", "--out", str(tmp_path)]) == 0
    assert set(pd.read_csv(tmp_path / "conformance.csv")["dtype"]) == {"float64"}
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "conformance" in capsys.readouterr().out


def test_unavailable_cuda_is_a_usage_error(tmp_path, capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present here; the error path needs a machine without one")
    assert main(["conformance", "--device", "cuda", "--out", str(tmp_path)]) == 2
    assert "torch sees no GPU" in capsys.readouterr().err


def test_atomic_write_leaves_the_old_file_when_interrupted(tmp_path):
    from experiments.report import _atomic

    target = tmp_path / "t.csv"
    write_atomic(target, "old\n")

    def half_then_interrupt(f):
        f.write(b"half a ta")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _atomic(target, half_then_interrupt)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary left behind


def test_sweeps_give_the_same_results_on_every_local_backend():
    from experiments.context import Context

    tasks = [(i, 10 * i) for i in range(5)]
    expected = [a + b for a, b in tasks]
    for backend, jobs in [("sequential", 1), ("loky", 2), ("threading", 2)]:
        assert Context(backend=backend, jobs=jobs).map(_add, tasks) == expected


def _add(a, b):
    return a + b


def test_unknown_backend_is_rejected():
    from experiments.context import Context

    with pytest.raises(ValueError, match="backend: expected one of"):
        Context(backend="nope", jobs=2).map(_add, [(1, 2)])


def test_train_mlp_on_mnist_idx_files_uses_784_128_40_10(tmp_path):
    """--mnist DIR: the 784-128-40-10 network on IDX files the test writes. It has
    784*128 + 128*40 + 40*10 weights and 128 + 40 + 10 biases = 106,050 parameters (the course
    material's 105,898 is off by 152)."""
    import numpy as np

    from experiments import train_mlp
    from tests.test_datasets import _write_mnist

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10, dtype=np.uint8), 30)
    images = rng.integers(0, 256, (300, 28, 28)).astype(np.uint8)
    images[np.arange(300), labels, :] = 255  # a learnable mark: the label's row is white
    _write_mnist(tmp_path / "mnist", "train", images, labels, gz=True)
    df = train_mlp.one_run("adam", "float64", 2, tmp_path / "mnist", True, 0)
    assert set(df["side"]) == {"scratch", "torch"} and df["max_param_dev"].max() < 1e-10
    assert (df["parameters"] == 784 * 128 + 128 * 40 + 40 * 10 + 128 + 40 + 10).all()
    digits = train_mlp.one_run("sgd", "float64", 1, None, True, 0)
    assert (digits["parameters"] == 64 * 128 + 128 * 40 + 40 * 10 + 128 + 40 + 10).all()


@pytest.mark.parametrize("argv,message", [
    (["train_mlp", "--mnist", "no_such_folder"], "train-images-idx3-ubyte"),
    (["conformance", "--jobs", "0"], "--jobs: expected a positive integer"),
])
def test_bad_options_fail_before_any_experiment_runs(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err and not list(tmp_path.iterdir())
