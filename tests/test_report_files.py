"""Files the project writes: the atomic writer (reference.fileio, re-exported by
experiments.report) gives new files the umask's mode, not mkstemp's 0600, and keeps an existing
file's mode; hypothesis' storage goes to the user's cache."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from reference import fileio

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def umask():
    """Set the process umask for one test; the old one is put back after."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_a_plain_open_would_give(tmp_path, umask, mask, expected):
    umask(mask)
    path = fileio.write_atomic(tmp_path / "index.html", "<html></html>")
    assert path.read_text() == "<html></html>" and _mode(path) == expected
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # the rule the writer follows, checked on the platform itself
    assert _mode(plain) == expected


def test_an_existing_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "t.csv"
    path.write_text("old\n")
    path.chmod(0o640)
    fileio.write_atomic(path, "new\n")
    assert path.read_text() == "new\n" and _mode(path) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_experiment_tables_are_readable_by_others(tmp_path, umask):
    from experiments import report

    assert report.write_atomic is fileio.write_atomic and report._atomic is fileio._atomic
    umask(0o022)
    paths = report.write_table(pd.DataFrame({"a": [1.0]}), tmp_path, "t", "T")
    assert [_mode(p) for p in paths] == [0o644, 0o644]


@pytest.mark.parametrize("environ, expected", [
    ({"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/scratch-vs-torch/hypothesis"),
    ({"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}, "/home/u/.cache/scratch-vs-torch/hypothesis"),
    ({"HOME": "/home/u"}, "/home/u/.cache/scratch-vs-torch/hypothesis"),
])
def test_user_cache_dir_follows_xdg(environ, expected):
    assert fileio.user_cache_dir("hypothesis", environ=environ) == Path(expected)


def test_hypothesis_storage_moves_to_the_cache_and_back(tmp_path):
    from hypothesis.configuration import storage_directory

    before = storage_directory("x", intent_to_write=False).path
    environ = {"XDG_CACHE_HOME": str(tmp_path)}
    with fileio.hypothesis_storage_in_user_cache(environ) as path:
        inside = storage_directory("x", intent_to_write=False).path
    assert path == tmp_path / "scratch-vs-torch" / "hypothesis" and inside == path / "x"
    assert storage_directory("x", intent_to_write=False).path == before
    with fileio.hypothesis_storage_in_user_cache({"HYPOTHESIS_STORAGE_DIRECTORY": "/mine"}) as path:
        assert path is None and storage_directory("x", intent_to_write=False).path == before
