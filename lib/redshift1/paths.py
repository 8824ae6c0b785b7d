"""Every path of the compendium in one place.

Relative paths given to notebooks and to ``run_all.py`` are anchored at the project
root: the folder holding ``run_all.py`` (found from the current directory upwards,
or from the ``REDSHIFT1_ROOT`` environment variable), so a notebook executed by
papermill from ``notebooks/`` and a reader in JupyterLab resolve them alike.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
#: Every preset of the compendium, smallest first (tiny: a few objects, for tests). The one home
#: of the list: the runner, the notebooks' parameters and the mock observatory reuse it.
PRESETS = ("tiny", "quick", "paper")


def project_root() -> Path:
    """Return the compendium's root folder (holding ``run_all.py``)."""
    env = os.environ.get("REDSHIFT1_ROOT")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "run_all.py").is_file() and (folder / "notebooks").is_dir():
                return folder
    return Path.cwd().resolve()


def resolve(path: str | os.PathLike, root: Path | None = None) -> Path:
    """Anchor a relative path at the project root; absolute paths pass through."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else ((root or project_root()) / p).resolve()


def default_data_dir(preset: str) -> Path:
    """Where the mock survey of a preset is written and read by default."""
    return project_root() / "data" / preset


def default_build_dir() -> Path:
    """The build folder: executed notebooks, HTML and products."""
    return project_root() / "build"


def default_products_dir(preset: str) -> Path:
    """Tables and FITS products one notebook writes for the next."""
    return default_build_dir() / preset / "products"


def default_figures_dir(preset: str) -> Path:
    """Every figure a run of ``preset`` produces."""
    return default_build_dir() / preset / "figures"


def figures_dir() -> Path:
    """The committed results of the paper preset the README shows (written only by ``run_all.py --preset paper``)."""
    return project_root() / "figures"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"
