"""Rules over the project's source, checked by reading it: scratch reads like the formulas (no
bit-level tricks, no benchmark timings in comments, NumPy and scipy.special only), functions
stay under 60 lines and files under 300, no import cycles, reference/ never imports experiments/.
Each rule's scanner is shown to find a violation planted in a temporary file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scratch", "reference", "experiments", "tests")
BIT_TRICKS = re.compile(r"bitwise_|\.view\(\s*np\.u?int|_bits\(|SIGN_BIT|np\.frexp|np\.ldexp")
TIMING_COMMENT = re.compile(r"#.*\b[0-9]+(\.[0-9]+)?\s?(us|µs|ms|ns)\b")
MAX_FUNCTION, MAX_FILE = 60, 300


def _sources(*packages):
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = ROOT, known=frozenset()) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports too), absolute names.
    ``from pkg import name`` is ``pkg.name`` where that is one of the ``known`` modules (a
    submodule), else ``pkg``."""
    here = _module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names |= {f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names}
    return names


def _dependencies(name: str, path: Path, modules: dict, root: Path) -> list[str]:
    """The project modules ``name`` needs loaded; its own ancestor packages are initialized
    before it in any case, so they are no dependency."""
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return sorted(n for n in imports(path, root, frozenset(modules)) if n in modules and n not in ancestors | {name})


def import_cycles(paths, root: Path = ROOT) -> list[list[str]]:
    """Cycles in the graph module -> project module it needs loaded (``_dependencies``). Each
    cycle once, as the list of modules around it."""
    modules = {_module_name(p, root): p for p in paths}
    graph = {m: _dependencies(m, p, modules, root) for m, p in modules.items()}
    cycles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for n in graph[m]:
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return cycles


def long_functions(path: Path) -> list[str]:
    return [f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION]


def matching_lines(paths, pattern) -> list[str]:
    return [f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p.name}:{i}: {line.strip()}"
            for p in paths for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]


def test_scratch_has_no_bit_tricks_or_timing_comments():
    assert matching_lines(_sources("scratch"), BIT_TRICKS) == []
    assert matching_lines(_sources("scratch"), TIMING_COMMENT) == []


def _top_level_imports(path: Path) -> set[str]:
    """The modules imported by statements at module level (what importing ``path`` loads)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add(node.module)
    return names


def _outside(names, allowed):
    import sys

    return sorted(n for n in names if n.split(".")[0] not in sys.stdlib_module_names
                  and not any(n == a or n.startswith(a + ".") for a in allowed))


def test_scratch_imports_only_numpy_scipy_special_and_the_standard_library():
    """Importing scratch loads NumPy and scipy.special only. Inside a function, pandas and tqdm
    may present results (fit's history table, its progress bar, gradcheck's tables); torch never."""
    core = {"numpy", "scipy.special", "scratch", "__future__"}
    top = {str(p.relative_to(ROOT)): _outside(_top_level_imports(p), core) for p in _sources("scratch")}
    anywhere = {str(p.relative_to(ROOT)): _outside(imports(p), core | {"pandas", "tqdm"}) for p in _sources("scratch")}
    assert {k: v for k, v in top.items() if v} == {}
    assert {k: v for k, v in anywhere.items() if v} == {}


def test_functions_and_files_are_short():
    paths = _sources(*PACKAGES)
    assert [f for p in paths for f in long_functions(p)] == []
    assert [f"{p.relative_to(ROOT)} ({n} lines)" for p in paths
            if (n := p.read_text().count("\n")) > MAX_FILE] == []


def test_no_import_cycles():
    assert import_cycles(_sources(*PACKAGES)) == []


def test_reference_never_imports_experiments():
    bad = {str(p.relative_to(ROOT)): sorted(n for n in imports(p) if n.split(".")[0] == "experiments")
           for p in _sources("reference")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_each_scanner_finds_a_planted_violation(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg.b import g\n    return g\n")
    (pkg / "b.py").write_text("from pkg import a\n\ndef g():\n" + "    x = 1\n" * 60 + "    return a\n")
    (pkg / "c.py").write_text("import numpy as np\nx = np.ones(2).view(np.int64)  # 3.5 us\n")
    assert import_cycles(sorted(pkg.rglob("*.py")), tmp_path) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert "experiments.report" in imports(_plant(tmp_path, "def f():\n    from experiments.report import x\n"),
                                           tmp_path)
    assert long_functions(pkg / "b.py") and not long_functions(pkg / "a.py")
    assert matching_lines([pkg / "c.py"], BIT_TRICKS) and matching_lines([pkg / "c.py"], TIMING_COMMENT)
    lazy_torch = _plant(tmp_path, "import numpy as np\ndef f():\n    import torch\n    import pandas\n")
    assert _outside(_top_level_imports(lazy_torch), {"numpy"}) == []
    assert _outside(imports(lazy_torch, tmp_path), {"numpy", "pandas"}) == ["torch"]


def _plant(tmp_path, text):
    path = tmp_path / "planted.py"
    path.write_text(text)
    return path


@pytest.mark.parametrize("line", ["y = np.where(x > 0, x, 0)  # relu", "# 3 passes over the data"])
def test_plain_lines_are_not_flagged(tmp_path, line):
    assert matching_lines([_plant(tmp_path, line + "\n")], BIT_TRICKS) == []
    assert matching_lines([_plant(tmp_path, line + "\n")], TIMING_COMMENT) == []
