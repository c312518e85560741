"""The README's minimal candidates (one per kind) pass reference.verify, and its two
set-up commands are the ones CI and a newcomer run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reference.verify import load_candidate, verify

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n# verify: (\w+)\n(.*?)```", README, flags=re.S)

# buggy candidates overflow on purpose (softmax without the max shift)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:_candidate_")



def test_readme_has_a_candidate_per_kind():
    assert {kind for kind, _ in BLOCKS} >= {"relu", "mse", "sgd"}


@pytest.mark.parametrize("kind,code", BLOCKS, ids=[k for k, _ in BLOCKS])
def test_readme_candidate_passes_verify(tmp_path, kind, code):
    path = tmp_path / f"readme_{kind}.py"
    path.write_text(code)
    name = re.findall(r"^class (\w+)", code, flags=re.M)[0]
    result = verify(kind, load_candidate(f"{path}:{name}"), examples=25)
    assert "case" not in result, result.get("failed_records")


def test_readme_set_up_commands():
    commands = re.findall(r"^    (python -m .*)$", README.split("## Set up", 1)[1].split("\n## ", 1)[0], flags=re.M)
    assert commands[0].endswith("python -m experiments all") and "-c constraints.txt" in commands[0]
    assert commands[1] == "python -m pytest"
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "-c constraints.txt" in ci and "python3 -m pytest" in ci


# every `$ python -m reference.verify ...` the README shows, with the lines it shows after it
COMMANDS = re.findall(r"^\$ python -m reference\.verify ([^\n]+)\n(.*?)(?=^\$ |^```)", README, flags=re.M | re.S)
SHOWN = ("Matches known variant:", "p read as", "Not checked:", "OK:", "MISMATCH", "  relu [float64")


def test_readme_shows_the_course_style_commands():
    assert sum("--style cs231n" in argv for argv, _ in COMMANDS) >= 3
    assert any("--accept" in argv for argv, _ in COMMANDS)


@pytest.mark.parametrize("argv,shown", COMMANDS, ids=[a for a, _ in COMMANDS])
def test_readme_verify_command_prints_what_the_readme_shows(capsys, argv, shown):
    from reference.verify import main

    code = main(argv.split())
    out = capsys.readouterr().out
    assert code == (1 if "MISMATCH" in shown else 0), out
    for line in shown.splitlines():
        if line.startswith(SHOWN):
            assert line.split(". ")[0] in out, line


def test_readme_assert_matches_torch_example_runs(tmp_path, monkeypatch):
    """The README's pytest example, with the course layers of tests/candidates as my_layers."""
    block = re.findall(r"```python\n(import my_layers.*?)```", README, flags=re.S)[0]
    layers = Path(__file__).resolve().parent / "candidates" / "cs231n_layers.py"
    (tmp_path / "my_layers.py").write_text(layers.read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {}
    exec(block, namespace)
    namespace["test_affine_matches_torch"]()
