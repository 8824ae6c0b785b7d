"""Figures of the walk: one function per figure, each returning a matplotlib Figure."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from ..io import atomic_path

#: the lowest resolution a saved PNG may have (fit to print at column width)
MIN_DPI = 150

#: colour-blind-safe palette (Okabe & Ito 2008): black, orange, sky blue, bluish green, yellow,
#: blue, vermillion, reddish purple
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")


def figure_paths(name: str, figures_dir: str | Path) -> tuple[Path, Path]:
    """The PNG and the PDF twin :func:`save_figure` writes for ``name``.

    Parameters
    ----------
    name : str
        Figure name (no suffix).
    figures_dir : str or pathlib.Path
        The run's figures folder.

    Returns
    -------
    png, pdf : pathlib.Path
        The two paths.
    """
    base = Path(figures_dir) / name
    return base.with_suffix(".png"), base.with_suffix(".pdf")


def save_figure(fig: plt.Figure, name: str, figures_dir: str | Path, dpi: int = MIN_DPI) -> None:
    """Save ``fig`` as ``<figures_dir>/<name>.png`` (at least :data:`MIN_DPI`) and a vector
    ``<name>.pdf`` beside it, both atomically, and show it once.

    Returns nothing, so that a notebook cell ending in this call prints nothing; the paths
    are :func:`figure_paths`. Metadata that would change from run to run (dates, software
    versions) are left out, so the same figure gives the same bytes.

    Drawing is most of a figure's cost (text layout above all), so the figure is laid out
    once: the tight bounding box is computed once and given to both files, and inside a
    Jupyter kernel the PNG just written is what the cell shows (the figure is then closed, so
    the inline backend does not draw it a fourth time).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    name : str
        Figure name (no suffix).
    figures_dir : str or pathlib.Path
        The run's figures folder.
    dpi : int, optional
        Resolution of the PNG (at least :data:`MIN_DPI`).
    """
    png, pdf = figure_paths(name, figures_dir)
    fig.draw_without_rendering()
    bbox = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=max(int(dpi), MIN_DPI), bbox_inches=bbox, format="png", metadata={"Software": None})
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, bbox_inches=bbox, format="pdf",
                    metadata={"Creator": None, "Producer": None, "CreationDate": None})
    if _in_kernel():
        from IPython.display import Image, display

        # the inline backend's size: the figure at rcParams' dpi, the pixels at the saved dpi
        display(Image(filename=str(png), width=round(bbox.width * plt.rcParams["figure.dpi"])))
        plt.close(fig)


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where a cell shows what it displays)."""
    import sys

    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def no_data_message(ax, text: str) -> None:
    """Turn ``ax`` into a framed message (a figure whose data do not exist in this run).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to replace.
    text : str
        The message.

    Returns
    -------
    None
        Draws on ``ax``.
    """
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_color("0.7")
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10, wrap=True,
            bbox=dict(boxstyle="round,pad=0.6", fc="0.95", ec="0.6"))
