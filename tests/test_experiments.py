"""The main job's quick path: what CI runs. Checks files, columns and atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.__main__ import main
from experiments.report import write_atomic


def test_all_quick_writes_every_table_and_the_index(tmp_path, capsys):
    assert main(["all", "--quick", "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "conformance.csv")
    assert {"component", "dtype", "device", "quantity", "max_abs_err", "max_rel_err", "rtol", "atol",
            "worst_margin", "passed"} <= set(df.columns)
    from reference.registry import REGISTRY
    assert set(df["component"]) == set(REGISTRY) and set(df["dtype"]) == {"float32", "float64"}
    assert df["passed"].all()
    page = (tmp_path / "index.html").read_text()
    assert "conformance" in page and "torch" in page and "git revision" in page and "seconds" in page
    assert (tmp_path / "conformance.md").read_text().startswith("# Conformance")


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
