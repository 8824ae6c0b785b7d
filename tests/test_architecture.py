"""Guards of the package's layout (docs/architecture.md), read from the source with ``ast``.

* The pipeline never depends on the simulator: outside ``mock/`` and ``validation/`` no module
  imports :mod:`redshift1.mock`.
* No ``_private`` name is imported from one module of the package into another (nor into a
  test: a test of a private helper belongs beside a public function that uses it).
* No module of ``lib/redshift1`` passes :data:`MAX_LINES` lines.
* Each notebook imports the ``steps`` module that serves it (the map in
  ``redshift1/steps/__init__.py``).

Nothing is imported or executed: the files are parsed, so the whole module takes well under a
second.
"""
from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "redshift1"
NOTEBOOKS = ROOT / "notebooks"
#: the packages allowed to import the mock observatory: the mock itself, and the validation
#: that compares the walk's measurements with the mock's truth
MAY_IMPORT_MOCK = ("mock", "validation")
MAX_LINES = 600


def _modules(folder: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    """``lib/redshift1/kmos/cube.py`` -> ``redshift1.kmos.cube`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """Every import of a file as ``(line, absolute module, imported names)``; relative imports
    are resolved against the file's package, ``import a.b`` gives ``("a.b", ())``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if PACKAGE not in path.parents:
        package = ""          # a test: no relative imports into the package
    elif path.name == "__init__.py":
        package = _dotted(path)
    else:
        package = _dotted(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module, tuple(a.name for a in node.names)


def _is_mock(module: str, names) -> bool:
    if module == "redshift1.mock" or module.startswith("redshift1.mock."):
        return True
    return module == "redshift1" and "mock" in names


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_resolver_reads_relative_and_absolute_imports(tmp_path, monkeypatch):
    """The import reader itself: relative levels, ``from pkg import module``, plain imports."""
    pkg = tmp_path / "lib" / "redshift1"
    (pkg / "kmos").mkdir(parents=True)
    f = pkg / "kmos" / "x.py"
    f.write_text("from ..mock.sky import load_table\nfrom .. import mock\nimport redshift1.mock.kmos\n"
                 "from . import _hidden\nfrom .cube import read, _private\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    found = list(_imports(f))
    assert [m for _, m, _ in found] == ["redshift1.mock.sky", "redshift1", "redshift1.mock.kmos",
                                        "redshift1.kmos", "redshift1.kmos.cube"]
    assert [_is_mock(m, n) for _, m, n in found] == [True, True, True, False, False]
    assert [n for _, m, names in found for n in names if _is_private(n)] == ["_hidden", "_private"]


def test_nothing_outside_mock_and_validation_imports_the_mock():
    offenders = []
    for path in _modules():
        top = path.relative_to(PACKAGE).parts[0]
        if top in MAY_IMPORT_MOCK:
            continue
        offenders += [f"{_shown(path)}:{line} imports {module}" + (f" ({', '.join(names)})" if names else "")
                      for line, module, names in _imports(path) if _is_mock(module, names)]
    assert not offenders, ("the pipeline must not depend on the mock observatory (move what it needs to a "
                           "neutral module, as redshift1.skytables and redshift1.survey_folder):\n"
                           + "\n".join(offenders))


def test_no_private_name_is_imported_across_modules():
    offenders = []
    for path in _modules() + sorted((ROOT / "tests").glob("*.py")):
        for line, module, names in _imports(path):
            if module.split(".")[0] != "redshift1":
                continue      # the tests share their own helpers between test files: not the package's API
            offenders += [f"{_shown(path)}:{line} imports {module}.{n}" for n in names if _is_private(n)]
    assert not offenders, ("a private name is imported from another module (make it public, with a "
                           "docstring, or keep its users in its module):\n" + "\n".join(offenders))


def test_no_module_passes_the_line_limit():
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in _modules()}
    offenders = [f"{_shown(p)}: {n} lines" for p, n in sorted(sizes.items(), key=lambda kv: -kv[1])
                 if n > MAX_LINES]
    assert not offenders, f"modules over {MAX_LINES} lines (split them on their seams):\n" + "\n".join(offenders)


def _steps_map() -> dict[str, str]:
    """``{notebook stem: steps module}`` from the table in ``steps/__init__.py``."""
    doc = ast.get_docstring(ast.parse((PACKAGE / "steps" / "__init__.py").read_text(encoding="utf-8"))) or ""
    return dict(re.findall(r"^(\d\d_\w+)\s+:mod:`\.(\w+)`", doc, flags=re.M))


STEPS = _steps_map()


def test_the_steps_map_names_existing_notebooks():
    assert len(STEPS) >= 10, "the notebook/steps table in redshift1/steps/__init__.py was not read"
    missing = [nb for nb in STEPS if not (NOTEBOOKS / f"{nb}.ipynb").is_file()]
    assert not missing, f"steps/__init__.py maps notebooks that do not exist: {missing}"


def _notebook_imports(path: Path) -> set[str]:
    """Modules a notebook's code cells import (``from a import b`` gives ``a`` and ``a.b``)."""
    found = set()
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


@pytest.mark.parametrize("notebook, module", sorted(STEPS.items()))
def test_each_notebook_imports_its_steps_module(notebook, module):
    if not (PACKAGE / "steps" / f"{module}.py").is_file():
        pytest.skip(f"redshift1/steps/{module}.py does not exist yet (notebook {notebook})")
    imported = _notebook_imports(NOTEBOOKS / f"{notebook}.ipynb")
    assert f"redshift1.steps.{module}" in imported, (
        f"notebooks/{notebook}.ipynb does not import redshift1.steps.{module}, the steps module that serves it")
