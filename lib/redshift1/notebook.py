"""What every notebook does first: resolve its parameters into folders."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ParameterError, MissingInputError
from . import paths

KNOWN_PRESETS = ("tiny", "quick", "paper")


@dataclass(frozen=True)
class RunPaths:
    """The folders of one run: raw survey, products, figures."""

    preset: str
    data: Path
    products: Path
    figures: Path

    @property
    def truth(self) -> Path:
        """The mock's truth: only the observe and validation notebooks may open it."""
        return self.data / "truth"


def run_paths(preset: str, data_dir: str = "", products_dir: str = "", figures_dir: str = "",
              require_data: bool = False) -> RunPaths:
    """Turn a notebook's parameters into absolute folders (creating products and figures).

    Empty ``data_dir``/``products_dir``/``figures_dir`` mean the defaults ``data/<preset>``,
    ``build/<preset>/products`` and ``build/<preset>/figures``; relative paths are anchored at
    the project root.
    """
    if preset not in KNOWN_PRESETS:
        raise ParameterError(f"preset {preset!r} is not one of {KNOWN_PRESETS}")
    data = paths.resolve(data_dir) if data_dir else paths.default_data_dir(preset)
    products = paths.resolve(products_dir) if products_dir else paths.default_products_dir(preset)
    figures = paths.resolve(figures_dir) if figures_dir else paths.default_figures_dir(preset)
    if require_data and not data.is_dir():
        raise MissingInputError(f"{data}: data directory does not exist (run 00_observe or point data_dir at a survey)")
    products.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    return RunPaths(preset, data, products, figures)
