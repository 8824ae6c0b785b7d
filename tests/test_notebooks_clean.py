"""The source notebooks are committed clean and honour the parameter contract.

Executed copies live in ``build/``; the sources in ``notebooks/`` must carry no
outputs or execution counts, and each must have a cell tagged ``parameters``
declaring ``preset``, ``data_dir``, ``products_dir`` and ``figures_dir``.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from redshift1.runner import CONTRACT, notebook_parameters

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_notebooks_folder_exists():
    assert NOTEBOOKS_DIR.is_dir(), f"{NOTEBOOKS_DIR} is missing"


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return request.param


def _read(path):
    return path, nbformat.read(str(path), as_version=4)


def test_valid_nbformat(notebook):
    path, nb = _read(notebook)
    nbformat.validate(nb)  # raises ValidationError naming the problem


def test_has_parameters_cell(notebook):
    path, nb = _read(notebook)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    assert tagged[0].cell_type == "code", f"{path.name}: the 'parameters' cell is not a code cell"


def test_no_outputs_or_execution_counts(notebook):
    path, nb = _read(notebook)
    dirty = [
        i for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or an execution count"
    assert not any("injected-parameters" in c.get("metadata", {}).get("tags", [])
                   for c in nb.cells), f"{path.name}: holds papermill's injected parameters"


def test_parameters_cell_declares_contract(notebook):
    path = notebook
    declared = notebook_parameters(path)
    missing = [name for name in CONTRACT if name not in declared]
    assert not missing, f"{path.name}: parameters cell does not declare {missing}"


def test_every_parameter_line_is_readable_by_papermill(notebook):
    """papermill skips (with a warning) a parameter line holding a second '=' (say, in its help
    comment), and then neither `-p` nor `run_all.py --list` can reach that parameter."""
    path, nb = _read(notebook)
    cell = next(c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", []))
    for line in cell.source.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            assert line.count("=") <= 1, f"{path.name}: papermill cannot parse {line!r}"
