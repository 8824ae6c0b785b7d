"""Every path of the compendium in one place.

Relative paths given to notebooks and to ``run_all.py`` are anchored at the project
root: the folder holding ``run_all.py`` (found from the current directory upwards,
or from the ``REDSHIFT1_ROOT`` environment variable), so a notebook executed by
papermill from ``notebooks/`` and a reader in JupyterLab resolve them alike.

A run of preset ``P`` writes only below ``build/P/`` (:class:`RunLayout`); the committed
``figures/`` at the top is updated only by a successful ``run_all.py --preset paper``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
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


def default_data_dir(preset: str, root: Path | None = None) -> Path:
    """Where the mock survey of a preset is written and read by default (``data/<preset>``)."""
    return (root or project_root()) / "data" / preset


def default_build_dir(root: Path | None = None) -> Path:
    """The build folder: executed notebooks, HTML and products."""
    return (root or project_root()) / "build"


@dataclass(frozen=True)
class RunLayout:
    """The folders and files of one run of a preset: everything below ``<build>/<preset>/``.

    Attributes
    ----------
    run : Path
        ``<build>/<preset>``.
    """

    run: Path

    @property
    def notebooks(self) -> Path:
        """Executed copies of the notebooks."""
        return self.run / "notebooks"

    @property
    def products(self) -> Path:
        """Tables and FITS products one notebook writes for the next."""
        return self.run / "products"

    @property
    def figures(self) -> Path:
        """Every figure of the run."""
        return self.run / "figures"

    @property
    def site(self) -> Path:
        """The walk published as a static site."""
        return self.run / "site"

    @property
    def cache_file(self) -> Path:
        """The runner's record of what each notebook ran on and wrote (:mod:`redshift1.cache`)."""
        return self.run / "cache.json"

    @property
    def summary_file(self) -> Path:
        """A machine-readable account of the last run."""
        return self.run / "run_summary.json"


def run_layout(preset: str, build: Path | None = None, root: Path | None = None) -> RunLayout:
    """The folders of a run of ``preset`` below the build folder ``build`` (default ``build/``).

    Parameters
    ----------
    preset : str
        The run's preset.
    build : Path, optional
        The build folder (absolute); default :func:`default_build_dir`.
    root : Path, optional
        The project root (default :func:`project_root`).

    Returns
    -------
    RunLayout
    """
    return RunLayout((build or default_build_dir(root)) / preset)


def default_products_dir(preset: str) -> Path:
    """Tables and FITS products one notebook writes for the next."""
    return run_layout(preset).products


def default_figures_dir(preset: str) -> Path:
    """Every figure a run of ``preset`` produces."""
    return run_layout(preset).figures


def figures_dir(root: Path | None = None) -> Path:
    """The committed results of the paper preset the README shows (written only by ``run_all.py --preset paper``)."""
    return (root or project_root()) / "figures"


def notebooks_dir(root: Path | None = None) -> Path:
    """The numbered source notebooks."""
    return (root or project_root()) / "notebooks"
