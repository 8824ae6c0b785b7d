"""Figures of the walk: one function per figure, each returning a matplotlib Figure."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from ..io import atomic_path


def save_figure(fig: plt.Figure, name: str, figures_dir: str | Path, dpi: int = 130) -> Path:
    """Save ``fig`` as ``<figures_dir>/<name>.png`` (atomically) and return the path."""
    path = Path(figures_dir) / f"{name}.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png", metadata={"Software": None})
    return path
