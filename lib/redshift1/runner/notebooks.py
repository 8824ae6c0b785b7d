"""The notebooks of the walk: found, selected, and asked what they need from the survey.

The walk through the compendium is a sequence of notebooks ``notebooks/NN_name.ipynb``
(``NN`` two digits), run in order. A notebook may say in its metadata (``"redshift1"``) what it
needs from the survey folder: ``{"needs": ["kmos/"]}`` runs only when ``kmos/`` is there (any of
the listed folders will do), and ``{"writes": "data_dir"}`` marks the notebook that writes the
mock survey, which is skipped when the folder already holds real data (anything but a survey
the mock wrote), so that a user's files are never replaced. Each skip is said in one line and
recorded with status ``skipped``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..errors import MissingInputError, ParameterError
from ..survey_folder import foreign_files, mock_manifest

__all__ = ["DEFAULT_KERNEL", "NOTEBOOK_PATTERN", "discover_notebooks", "notebook_kernel", "notebook_needs",
           "select_notebooks", "skip_reason"]

NOTEBOOK_PATTERN = re.compile(r"^(\d\d)_(.+)\.ipynb$")
DEFAULT_KERNEL = "python3"


def notebook_kernel(nb: Mapping) -> str | None:
    """The kernel name recorded in a notebook's metadata, if any."""
    spec = nb.get("metadata", {}).get("kernelspec") or {}
    return spec.get("name") or None


def discover_notebooks(notebooks_dir: str | os.PathLike) -> list[Path]:
    """List the numbered notebooks ``NN_name.ipynb`` of a folder, sorted.

    Parameters
    ----------
    notebooks_dir : path-like
        The folder holding the notebooks.

    Returns
    -------
    list of Path
        Sorted by file name (hence by number); other files are ignored.

    Raises
    ------
    MissingInputError
        If the folder does not exist.
    """
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise MissingInputError(f"{folder}: notebooks folder not found")
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and NOTEBOOK_PATTERN.match(p.name)),
        key=lambda p: p.name,
    )


def _matches(path: Path, selector: str) -> bool:
    """Whether a notebook matches a selector (number prefix or name)."""
    sel = selector.strip()
    if sel.endswith(".ipynb"):
        sel = sel[: -len(".ipynb")]
    number, name = NOTEBOOK_PATTERN.match(path.name).groups()
    if sel.isdigit():
        return int(sel) == int(number)
    return sel in (path.stem, name)


def _resolve_selector(notebooks: Sequence[Path], selector: str) -> list[Path]:
    """Notebooks matching one selector; ParameterError listing the choices if none."""
    found = [p for p in notebooks if _matches(p, selector)]
    if not found:
        available = ", ".join(p.stem for p in notebooks) or "none"
        raise ParameterError(
            f"no notebook matches {selector!r} (available: {available})"
        )
    return found


def select_notebooks(
    notebooks: Sequence[Path],
    only: Iterable[str] | None = None,
    start: str | None = None,
) -> list[Path]:
    """Pick a subset of the notebooks, keeping their order.

    Parameters
    ----------
    notebooks : sequence of Path
        All notebooks, as from :func:`discover_notebooks`.
    only : iterable of str, optional
        Selectors of the notebooks to run: a number (``"3"``, ``"03"``), a
        full stem (``"03_kmos_sizes"``) or the name after the number
        (``"kmos_sizes"``).
    start : str, optional
        Run from the first notebook matching this selector to the end.

    Returns
    -------
    list of Path
        The selected notebooks, in the original order, without duplicates.

    Raises
    ------
    ParameterError
        If a selector matches no notebook (the message lists those available).
    """
    selected = list(notebooks)
    if start is not None:
        first = _resolve_selector(notebooks, start)[0]
        selected = selected[list(notebooks).index(first):]
    if only:
        wanted = {p for sel in only for p in _resolve_selector(notebooks, sel)}
        selected = [p for p in selected if p in wanted]
    return selected


# --------------------------------------------------------------------------- #
# Execution
# --------------------------------------------------------------------------- #
def notebook_needs(path: str | os.PathLike) -> dict:
    """The ``redshift1`` entry of a notebook's metadata (what it needs from the survey).

    Parameters
    ----------
    path : path-like
        The source notebook.

    Returns
    -------
    dict
        E.g. ``{"needs": ["ldss3/"]}`` or ``{"writes": "data_dir"}``; empty if none.
    """
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    entry = nb.metadata.get("redshift1", {})
    return dict(entry) if isinstance(entry, Mapping) else {}


def skip_reason(needs: Mapping, data: Path) -> str | None:
    """Why a notebook should not run on the survey folder ``data`` (``None``: run it).

    Parameters
    ----------
    needs : mapping
        From :func:`notebook_needs`.
    data : Path
        The survey folder of the run.

    Returns
    -------
    str or None
        One line for the user, e.g. ``"no ldss3/ in /data/survey"``.

    Raises
    ------
    MissingInputError
        If a notebook reads the survey and the folder holds neither ``kmos/`` nor ``ldss3/``.
    """
    if needs.get("writes") == "data_dir":
        if mock_manifest(data) is None and foreign_files(data):
            return (f"{data} holds data the mock did not write (no manifest.json of the mock observatory): "
                    "real data, left as it is and read by the walk")
        return None
    wanted = [str(f) for f in needs.get("needs", [])]
    if not wanted or any((data / f).is_dir() for f in wanted):
        return None
    if data.is_dir() and not any((data / f).is_dir() for f in ("kmos", "ldss3")):
        raise MissingInputError(f"{data}: holds neither kmos/ nor ldss3/, so it is not a survey "
                                "(see docs/data-format.md; a survey may hold one instrument or both)")
    return f"no {' or '.join(wanted)} in {data}"
