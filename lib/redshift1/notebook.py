"""What every notebook does first: resolve its parameters into folders."""
from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from .errors import ParameterError, MissingInputError
from . import paths

KNOWN_PRESETS = paths.PRESETS


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


# ---------------------------------------------------------------------------- display
def _column_decimals(values: np.ndarray, significant: int) -> int | None:
    """Decimals that give ``significant`` digits to the column's typical value; None: use
    scientific notation (values below 10⁻³ or above 10⁶)."""
    fin = np.abs(values[np.isfinite(values) & (values != 0)])
    if fin.size == 0:
        return 2
    typical = float(np.median(fin))
    if typical < 1e-3 or typical >= 1e6:
        return None
    dec = int(np.clip(significant - 1 - np.floor(np.log10(typical)), 0, 6))
    # round numbers (bin edges such as 22.75) keep the decimals they have, up to three
    for exact in range(dec + 1, 4):
        if np.allclose(np.round(fin, dec), fin, rtol=0, atol=1e-9):
            break
        if np.allclose(np.round(fin, exact), fin, rtol=0, atol=1e-9):
            dec = exact
            break
    return dec


def _apply_format(fmt, v) -> str:
    """A value through an astropy column ``format`` (callable, "{:.2f}", "%.2f" or ".2f")."""
    if callable(fmt):
        return fmt(v)
    if "{" in fmt:
        return fmt.format(v)
    if fmt.startswith("%"):
        return fmt % v
    return format(v, fmt)


def _format_column(col, significant: int) -> list[str]:
    """Cells of one column as strings: masked or non-finite → "—", floats rounded to the
    column's precision (or its own ``format`` when it has one), booleans yes/no."""
    data = np.ma.asarray(col)
    mask = np.ma.getmaskarray(data)
    raw = np.asarray(data.data)
    kind = raw.dtype.kind
    if kind == "b":
        return ["—" if m else ("yes" if v else "no") for v, m in zip(raw, mask)]
    if kind in "iu":
        return ["—" if m else f"{int(v)}" for v, m in zip(raw, mask)]
    if kind == "f":
        fmt = getattr(col.info, "format", None) if hasattr(col, "info") else None
        dec = _column_decimals(np.where(mask, np.nan, raw), significant)
        out = []
        for v, m in zip(raw, mask):
            if m or not np.isfinite(v):
                out.append("—")
            elif fmt:
                out.append(_apply_format(fmt, v))
            elif dec is None:
                out.append(f"{v:.{significant}g}")
            else:
                out.append(f"{v:.{dec}f}")
        return out
    if raw.dtype == object:
        return ["—" if m else str(v) for v, m in zip(raw, mask)]
    return ["—" if m else str(v) for v, m in zip(raw, mask)]


def _header(col) -> str:
    unit = getattr(col, "unit", None)
    if unit is None or str(unit) == "":
        return col.info.name
    try:
        u_text = unit.to_string("unicode")
    except (ValueError, TypeError):
        u_text = str(unit)
    return f"{col.info.name} [{u_text}]"


def _link(path: Path) -> tuple[str, str]:
    """(text, href) of a product file: the text relative to the project root, the href relative
    to a sibling folder of the run's products (executed notebooks, the site), so the link
    resolves from ``build/<preset>/notebooks/`` and ``build/<preset>/html/`` alike."""
    path = Path(path).resolve()
    try:
        text = str(path.relative_to(paths.project_root()))
    except ValueError:
        text = str(path)
    href = os.path.relpath(path, path.parent.parent / "notebooks") if path.parent.name == "products" else path.as_uri()
    return text, href


def show_table(table: Table, n: int = 15, caption: str = "", path: str | os.PathLike | None = None,
               columns=None, significant: int = 3):
    """An HTML view of ``table`` for a notebook: at most ``n`` rows, units in the headers,
    floats rounded to ``significant`` digits (per column), missing values as "—", and a line
    saying how many rows there are and where the full table lies.

    Parameters
    ----------
    table : astropy.table.Table
        The table (not modified).
    n : int
        Rows shown (the first ``n``).
    caption : str
        One sentence above the table.
    path : path-like, optional
        The ECSV file holding the full table (linked below it).
    columns : sequence of str, optional
        Columns shown (default: all).
    significant : int
        Significant digits of a column's typical value.

    Returns
    -------
    IPython.display.HTML
    """
    from IPython.display import HTML

    t = Table(table, copy=False)
    if columns is not None:
        t = t[list(columns)]
    shown = t[:n]
    cells = [_format_column(shown[c], significant) for c in shown.colnames]
    head = "".join(f"<th>{html.escape(_header(t[c]))}</th>" for c in t.colnames)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cells[j][i])}</td>" for j in range(len(cells))) + "</tr>"
                   for i in range(len(shown)))
    foot = [f"{len(t)} row{'s' if len(t) != 1 else ''}" + (f", the first {len(shown)} shown" if len(t) > len(shown) else "")]
    if path is not None:
        text, href = _link(path)
        foot.append(f'full table: <a href="{html.escape(href)}"><code>{html.escape(text)}</code></a>')
    cap = f"<caption style='caption-side: top; text-align: left'>{html.escape(caption)}</caption>" if caption else ""
    return HTML(f"<table class='redshift1-table'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p style='font-size: smaller'>{'; '.join(foot)}.</p>")


def show_result(rows, notes=(), title: str = "Result"):
    """The **Result** section that ends a notebook, as Markdown built from the run's values.

    Parameters
    ----------
    rows : sequence of (str, str, str)
        ``(quantity, this run, paper)``, already formatted (use "—" where the paper has no
        number).
    notes : sequence of str
        Sentences under the table: what a reader would question, explained.
    title : str
        Heading of the section.

    Returns
    -------
    IPython.display.Markdown
    """
    from IPython.display import Markdown

    parts = [f"## {title}"]
    if rows:
        parts.append("\n".join(["| quantity | this run | paper |", "|---|---|---|",
                                 *(f"| {q} | {v} | {p} |" for q, v, p in rows)]))
    parts += [str(s) for s in notes]
    return Markdown("\n\n".join(parts))


def count_table(table: Table, columns) -> Table:
    """How many rows of ``table`` share each combination of ``columns`` (one row per
    combination, sorted, with a column ``n``): a readable stand-in for a Counter."""
    cols = list(columns)
    keys = list(zip(*(np.asarray(table[c]).astype(str).tolist() for c in cols))) if len(table) else []
    uniq = sorted(set(keys))
    out = Table(rows=[(*k, keys.count(k)) for k in uniq], names=(*cols, "n"),
                dtype=[str] * len(cols) + [int]) if uniq else Table(names=(*cols, "n"), dtype=[str] * len(cols) + [int])
    return out


def dict_table(d: dict, key_name: str = "", value_name: str = "value") -> Table:
    """A dict of dicts as a table: one row per outer key, one column per (flattened) inner
    key, e.g. ``{"CDFS": {"slits": 39, "artefacts": {"edge": 15}}}`` → columns ``slits``,
    ``artefacts: edge``; a flat dict gives one column ``value_name``."""
    def flat(x, prefix=""):
        out = {}
        for k, v in x.items():
            name = f"{prefix}{k}"
            if isinstance(v, dict):
                out.update(flat(v, f"{name}: "))
            else:
                out[name] = v
        return out

    rows = {k: flat(v) if isinstance(v, dict) else {value_name: v} for k, v in d.items()}
    cols = list(dict.fromkeys(c for r in rows.values() for c in r))
    t = Table()
    t[key_name or "name"] = [str(k) for k in rows]
    for c in cols:
        vals = [r.get(c, np.nan) for r in rows.values()]
        t[c] = [v.item() if hasattr(v, "item") else v for v in vals]
    return t
