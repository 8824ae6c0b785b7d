"""The executed walk as a small static site, ``build/<preset>/site/``.

One page per executed notebook, rendered by nbconvert's HTML exporter with its maintained
``lab`` template, extended (``site_template/redshift1_site``) so that code cells are folded
into ``<details>`` (prose and figures first) and no script is loaded from a CDN: the pages
read from ``file://`` without a server or a network. A landing page ``index.html`` says
what the compendium rebuilds, shows the paper-vs-compendium table of the run's products, a
thumbnail of every figure linked to the notebook cell that drew it, and the run's metadata
(preset, seeds, package versions, date, seconds and status per notebook).

Links are relative: the site points at ``../figures/`` and ``../products/`` of the same run.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

__all__ = ["PAPERS", "FigureLink", "build_site", "figure_links", "render_page", "write_landing_page"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "site_template"
TEMPLATE_NAME = "redshift1_site"
THUMB_WIDTH = 360  # px
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
FIGURE_NAME = re.compile(r"fig\d\d_[A-Za-z0-9_]+")
VERSIONED = ("redshift1", "numpy", "scipy", "astropy", "photutils", "matplotlib", "emcee",
             "papermill", "nbconvert", "ipykernel")

#: What the compendium rebuilds: one paragraph per paper (the landing page and the README).
PAPERS = (
    {
        "name": "KROSS",
        "cite": "Magdis et al. 2016, MNRAS 456, 4533",
        "title": "KROSS: mapping the Hα emission across the star-formation sequence at z≈1",
        "arxiv": "1601.04713",
        "text": "VLT/KMOS integral-field cubes of ~500 star-forming galaxies at z≈0.86: Hα and [NII] "
                "fits of the integrated spectra, PSF-corrected Hα half-light radii, SFRs and the "
                "distance from the main sequence Δ(sSFR), leading to the resolved main sequence "
                "(ΣSFR against Σ★), the ΣSFR–Δ(sSFR) trend and the metallicity–Δ(sSFR) anti-correlation.",
        "notebooks": "01–06",
    },
    {
        "name": "ROLES",
        "cite": "Gilbank et al. 2010, MNRAS 405, 2419",
        "title": "The Redshift One LDSS-3 Emission line Survey (ROLES) II: survey method and z≈1 "
                 "mass-dependent star-formation rate density",
        "arxiv": "1002.3170",
        "text": "Magellan/LDSS3 nod-and-shuffle multi-slit frames of K-selected dwarf galaxies at "
                "0.89 < z < 1.15 in CDFS and FIRES: reduction and noise model, optimal-filter [OII] "
                "line detection, P([OII]) from photometric-redshift PDFs, completeness, 1/Vmax, "
                "the [OII] luminosity function and the star-formation rate density per stellar-mass bin.",
        "notebooks": "07–10",
    },
)


@dataclass(frozen=True)
class FigureLink:
    """Where a figure of the run is shown: its file, the notebook and cell that drew it."""

    path: Path
    notebook: str | None      # stem of the notebook page, None if no page shows it
    anchor: str | None        # ``cell-id=...`` of the cell, None for the top of the page
    section: str              # the heading above that cell ('' if none)


# --------------------------------------------------------------------------- pages
def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATE_DIR)],
                        exclude_input_prompt=True, exclude_output_prompt=True)


def _widget_note(live_command: str) -> dict:
    """A display output replacing a widget view, which a page without a kernel cannot draw."""
    text = ("Interactive controls: they need a running Jupyter kernel, so this page cannot show them. "
            f"Open the notebook live with <code>{html.escape(live_command)}</code>; "
            "the static figures on this page show the walk's own choices.")
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": f'<div class="r1-note">{text}</div>', "text/plain": text}}


def _publishable(nb, notebook_path: str):
    """A copy of an executed notebook fit for the site: widget views become a note."""
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [nbformat.from_dict(_widget_note(f"jupyter lab {notebook_path}"))
                        if WIDGET_MIME in out.get("data", {}) else out for out in cell.outputs]
    return nb


def render_page(executed: Path, page: Path, nav_html: str = "", notebook_path: str | None = None) -> Path:
    """Render one executed notebook as a page of the site (written atomically).

    Parameters
    ----------
    executed : Path
        The executed notebook.
    page : Path
        The HTML file to write.
    nav_html : str, optional
        HTML of the navigation bar shown at the top of the page.
    notebook_path : str, optional
        The source notebook as a reader would open it (``notebooks/NN_name.ipynb``), named in
        the note that replaces interactive widgets.

    Returns
    -------
    Path
        ``page``.
    """
    import nbformat

    from .io import atomic_path

    nb = nbformat.read(str(executed), as_version=4)
    nb = _publishable(nb, notebook_path or f"notebooks/{executed.name}")
    body, _ = _exporter().from_notebook_node(nb, resources={"r1_nav": nav_html})
    with atomic_path(page) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(body)
    return page


# --------------------------------------------------------------------------- figures
def _cell_texts(cell) -> str:
    """The source and text outputs of a code cell, where a figure's name may appear."""
    parts = [cell.source]
    for out in cell.get("outputs", []):
        parts.append(out.get("text", "") if isinstance(out.get("text", ""), str) else "".join(out["text"]))
        parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _heading(source: str) -> str | None:
    """The last Markdown heading of a cell, without its #s (None if there is none)."""
    found = re.findall(r"^#{1,6}\s+(.+?)\s*$", source, flags=re.M)
    return found[-1] if found else None


def figure_links(figures: Sequence[Path], executed: Mapping[str, Path]) -> list[FigureLink]:
    """Match every figure to the notebook cell that drew it.

    A figure ``figNN_name.png`` is matched to the first code cell whose source or text output
    names it; failing that, to the top of notebook ``NN``'s page (figures saved inside a
    library call); failing that, to no page.

    Parameters
    ----------
    figures : sequence of Path
        The figure files.
    executed : mapping of str to Path
        ``{notebook stem: executed notebook}`` of the pages of the site.

    Returns
    -------
    list of FigureLink
        In the order of ``figures``.
    """
    import nbformat

    cells: list[tuple[str, str, str, str]] = []     # (stem, cell id, section, texts)
    for stem, path in executed.items():
        section = ""
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type == "markdown":
                section = _heading(cell.source) or section
            elif cell.cell_type == "code":
                cells.append((stem, cell.get("id", ""), section, _cell_texts(cell)))
    links = []
    for fig in figures:
        hit = next((c for c in cells if fig.stem in c[3]), None)
        if hit is not None:
            links.append(FigureLink(fig, hit[0], f"cell-id={hit[1]}" if hit[1] else None, hit[2]))
            continue
        number = re.match(r"[a-z]+(\d\d)_", fig.stem)
        stem = next((s for s in executed if number and s.startswith(number.group(1) + "_")), None)
        links.append(FigureLink(fig, stem, None, ""))
    return links


def _thumbnail(src: Path, dst: Path) -> bool:
    """A small PNG of a figure; False if the file is not a readable image."""
    from PIL import Image

    try:
        with Image.open(src) as im:
            im = im.convert("RGBA") if im.mode not in ("RGB", "RGBA") else im
            im.thumbnail((THUMB_WIDTH, 4 * THUMB_WIDTH))
            dst.parent.mkdir(parents=True, exist_ok=True)
            im.save(dst, format="PNG", optimize=True)
        return True
    except (OSError, ValueError, SyntaxError):
        return False


# --------------------------------------------------------------------------- landing page
def _href(target: Path, base: Path) -> str:
    """A link from a page in ``base`` to ``target``: relative when possible."""
    try:
        rel = os.path.relpath(target, base)
    except ValueError:  # another drive on Windows
        return Path(target).resolve().as_uri()
    return html.escape(Path(rel).as_posix(), quote=True)


def _versions() -> dict[str, str]:
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _paper_table_html(ecsv: Path, site: Path) -> str:
    """The paper-vs-compendium table of the run, or a sentence saying why there is none."""
    if not ecsv.is_file():
        return ("<p>No paper-vs-compendium table in this run's products (notebook "
                "<code>12_validation</code> writes it; it needs the mock's truth).</p>")
    from astropy.table import Table

    from .validation.paper import format_interval

    def cell(r, name) -> str:  # 3.00×10^-19 → 3.00×10<sup>-19</sup>; value [lo, hi]
        lo, hi = (r[f"{name}_lo"], r[f"{name}_hi"]) if f"{name}_lo" in r.colnames else (r[name], r[name])
        return re.sub(r"×10\^(-?\d+)", r"×10<sup>\1</sup>", html.escape(format_interval(r[name], lo, hi)))

    def verdict(r, name) -> str:
        return ("yes" if r[name] else "no") if name in r.colnames else "—"

    t = Table.read(ecsv)
    sources = t.meta.get("sources", {})
    keys = t.meta.get("keys", [""] * len(t))
    rows = "\n".join(
        f"<tr><td>{html.escape(str(r['quantity']))}</td><td>{cell(r, 'paper')}</td>"
        f"<td>{cell(r, 'compendium')}</td><td>{cell(r, 'truth')}</td>"
        f"<td>{verdict(r, 'agrees')}</td><td>{verdict(r, 'agrees_truth')}</td>"
        f"<td class='src'>{html.escape(str(sources.get(k, '')))}</td></tr>"
        for r, k in zip(t, keys))
    md = ecsv.with_suffix(".md")
    links = f'<a href="{_href(ecsv, site)}">ECSV</a>' + (
        f', <a href="{_href(md, site)}">Markdown</a>' if md.is_file() else "")
    summary = html.escape(str(t.meta.get("summary", "")))
    return (f"<p><strong>{summary}</strong></p>\n" if summary else "") + (
            f"<p>Preset <code>{html.escape(str(t.meta.get('preset', '')))}</code>, "
            f"{html.escape(str(t.meta.get('seed', '')))}; values with their 95 % intervals (the paper's: its quoted "
            "uncertainty); <em>agrees</em>: the paper's and the compendium's intervals overlap; <em>truth</em>: the "
            "compendium's interval contains the true value; — where a value does not exist (a count of "
            f"detections has no truth). Full table, with a note per row: {links}.</p>\n"
            "<table class='pvc'><tr><th>quantity</th><th>paper</th><th>compendium</th><th>truth</th>"
            f"<th>agrees</th><th>truth</th><th>paper §</th></tr>\n{rows}\n</table>")


LANDING_CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; color: #1f2328;
  max-width: 1100px; margin: 0 auto; padding: 1em 1.5em 4em; line-height: 1.5; }
h1 { font-size: 1.8em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 14px; margin: 0.5em 0 1em; }
td, th { border: 1px solid #d0d7de; padding: 0.25em 0.7em; text-align: left; }
th { background: #f5f7fa; }
table.pvc td:nth-child(2), table.pvc td:nth-child(3), table.pvc td:nth-child(4) { text-align: right;
  font-variant-numeric: tabular-nums; }
td.src { color: #57606a; font-size: 12px; }
tr.failed td { background: #ffebe9; } tr.not-run td { color: #8c959f; }
.papers { display: flex; gap: 2em; flex-wrap: wrap; } .papers > div { flex: 1 1 400px; }
.gallery { display: flex; flex-wrap: wrap; gap: 1em; }
.gallery figure { margin: 0; width: 240px; } .gallery img { width: 240px; height: auto;
  border: 1px solid #d0d7de; background: white; }
.gallery figcaption { font-size: 12px; color: #57606a; }
code { background: #f5f7fa; padding: 0 0.2em; }
"""


def write_landing_page(site: Path, preset: str, runs: Sequence[Mapping], links: Sequence[FigureLink],
                       products: Path, metadata: Mapping[str, str]) -> Path:
    """Write the site's ``index.html``.

    Parameters
    ----------
    site : Path
        The site folder.
    preset : str
        The run's preset.
    runs : sequence of mapping
        One per notebook of the walk: ``name``, ``page`` (Path or None), ``seconds`` (float or
        None), ``status``.
    links : sequence of FigureLink
        The figures, with the notebook cells that drew them.
    products : Path
        The run's products folder (holding ``paper_vs_compendium.ecsv`` when notebook 12 ran).
    metadata : mapping of str to str
        Extra run metadata shown as a table (seeds, date, data folder...).

    Returns
    -------
    Path
        The landing page.
    """
    from .io import atomic_path

    papers = "\n".join(
        f"<div><h3>{p['name']} &mdash; {html.escape(p['cite'])}</h3>"
        f"<p><i>{html.escape(p['title'])}</i> "
        f"(<a href=\"https://arxiv.org/abs/{p['arxiv']}\">arXiv:{p['arxiv']}</a>). "
        f"{html.escape(p['text'])} Notebooks {p['notebooks']}.</p></div>" for p in PAPERS)
    rows = []
    for r in runs:
        name = html.escape(r["name"])
        link = f'<a href="{_href(r["page"], site)}">{name}</a>' if r.get("page") else name
        secs = f"{r['seconds']:.1f}" if r.get("seconds") is not None else "&ndash;"
        rows.append(f'<tr class="{html.escape(r["status"].replace(" ", "-"))}"><td>{link}</td>'
                    f"<td>{secs}</td><td>{html.escape(r['status'])}</td></tr>")
    total = sum(r["seconds"] or 0.0 for r in runs if r.get("seconds") is not None)
    gallery = []
    for fl in links:
        thumb = site / "thumbs" / f"{fl.path.stem}.png"
        page = next((r["page"] for r in runs if r["name"] == fl.notebook and r.get("page")), None)
        target = (_href(page, site) + (f"#{html.escape(fl.anchor, quote=True)}" if fl.anchor else "")
                  if page else _href(fl.path, site))
        where = f"{fl.notebook or ''}{' · ' + fl.section if fl.section else ''}"
        img = (f'<img src="{_href(thumb, site)}" alt="{html.escape(fl.path.stem, quote=True)}" loading="lazy">'
               if thumb.is_file() else "")
        gallery.append(f'<figure><a href="{target}">{img}</a><figcaption><a href="{target}">'
                       f"{html.escape(fl.path.name)}</a><br>{html.escape(where)} "
                       f'(<a href="{_href(fl.path, site)}">full size</a>)</figcaption></figure>')
    meta_rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                          for k, v in metadata.items())
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>redshift-one: the walk ({html.escape(preset)} preset)</title>
<style>{LANDING_CSS}</style>
</head>
<body>
<h1>redshift-one</h1>
<p>A research compendium that rebuilds two z≈1 star-formation papers from raw instrument pixels.
This is the executed walk of the <code>{html.escape(preset)}</code> preset: one page per notebook,
prose and figures first, the code folded under <i>code</i>. The raw data come from the compendium's
mock observatory (notebook <code>00_observe</code>), which keeps the truth apart; only
<code>00_observe</code> and <code>12_validation</code> read it.</p>
<h2>What the compendium rebuilds</h2>
<div class="papers">
{papers}
</div>
<h2>Paper vs compendium</h2>
{_paper_table_html(products / "paper_vs_compendium.ecsv", site)}
<h2>Figures</h2>
<p>Each thumbnail opens the notebook page at the cell that draws it.</p>
<div class="gallery">
{chr(10).join(gallery) or "<p>No figures in this run.</p>"}
</div>
<h2>The run</h2>
<table>
<tr><th>preset</th><td>{html.escape(preset)}</td></tr>
{meta_rows}
</table>
<table>
<tr><th>notebook</th><th>seconds</th><th>status</th></tr>
{chr(10).join(rows)}
<tr><th>total</th><th>{total:.1f}</th><th></th></tr>
</table>
<p>Notebook <code>11_explore</code> turns the analysis choices into widgets, which need a running
kernel: open it live with <code>jupyter lab notebooks/11_explore.ipynb</code>.</p>
</body>
</html>
"""
    index = site / "index.html"
    with atomic_path(index) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(page)
    return index


def _nav(pages: Sequence[tuple[str, Path]], i: int, site: Path) -> str:
    parts = ['<a href="index.html">&larr; redshift-one: the walk</a>']
    if i > 0:
        parts.append(f'<a href="{_href(pages[i - 1][1], site)}">previous: {html.escape(pages[i - 1][0])}</a>')
    if i + 1 < len(pages):
        parts.append(f'<a href="{_href(pages[i + 1][1], site)}">next: {html.escape(pages[i + 1][0])}</a>')
    return '<nav class="r1-nav">' + " ".join(parts) + "</nav>"


#: the notebook parameters that seed random numbers
SEED_PARAMETERS = ("survey_seed", "noise_seed", "mcmc_seed")


def _seeds(executed: Mapping[str, Path], data: Path) -> str:
    """The seeds of the run: the survey's (its manifest) and those passed to or declared by notebooks."""
    import nbformat

    from .runner import notebook_parameters

    found: dict[tuple[str, str], list[str]] = {}
    for stem, path in executed.items():
        nb = nbformat.read(str(path), as_version=4)
        injected = nb.metadata.get("papermill", {}).get("parameters", {})
        declared = notebook_parameters(path)
        for name in SEED_PARAMETERS:
            if name in injected or name in declared:
                value = injected.get(name, declared[name].default if name in declared else None)
                found.setdefault((name, str(value)), []).append(stem[:2])
    survey = ""
    manifest = data / "manifest.json"
    if manifest.is_file():
        try:
            m = json.loads(manifest.read_text())
            survey = f"survey_seed {m['survey_seed']}, noise_seed {m['noise_seed']}; "
        except (ValueError, KeyError):
            survey = ""
    return survey + "; ".join(f"{name} {v} (notebooks {', '.join(n)})" for (name, v), n in found.items()
                              if name not in ("survey_seed", "noise_seed"))


def _code_mtime() -> float:
    """Last change of the code that renders pages (this module and its template)."""
    return max(p.stat().st_mtime for p in [Path(__file__), *TEMPLATE_DIR.rglob("*")] if p.is_file())


def build_site(site: Path, preset: str, runs: Sequence[Mapping], figures: Path, products: Path,
               data: Path, root: Path | None = None) -> Path:
    """Publish the executed walk as a static site (pages, thumbnails, landing page).

    Parameters
    ----------
    site : Path
        The site folder (created). A page already rendered from the same executed copy (and
        by the same code) is kept; thumbnails are redrawn.
    preset : str
        The run's preset.
    runs : sequence of mapping
        One per notebook: ``name``, ``executed`` (Path or None), ``seconds``, ``status``. A page
        is made for every notebook with an executed copy.
    figures, products, data : Path
        The run's figures, products and raw-data folders.
    root : Path, optional
        The project root (for the notebook paths named on the pages).

    Returns
    -------
    Path
        The landing page.
    """
    import sys

    site.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(site / "thumbs", ignore_errors=True)
    runs = [dict(r) for r in runs]
    with_pages = [r for r in runs if r.get("executed") and Path(r["executed"]).is_file()]
    pages = [(r["name"], site / f"{r['name']}.html") for r in with_pages]
    for i, r in enumerate(with_pages):
        page = pages[i][1]
        if page.is_file() and page.stat().st_mtime >= max(Path(r["executed"]).stat().st_mtime, _code_mtime()):
            r["page"] = page          # rendered from this very executed copy by an earlier build
            continue
        try:
            r["page"] = render_page(Path(r["executed"]), pages[i][1], _nav(pages, i, site),
                                    f"notebooks/{r['name']}.ipynb")
        except Exception as exc:  # one unrenderable page must not hide the run's outcome
            print(f"warning: could not render {r['executed']} for the site: {exc}", file=sys.stderr)
            r["page"] = None
    executed = {r["name"]: Path(r["executed"]) for r in with_pages if r["page"] is not None}
    from .runner import find_figures

    figs = [f for f in find_figures(figures) if f.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".webp")]
    links = figure_links(figs, executed)
    for fl in links:
        _thumbnail(fl.path, site / "thumbs" / f"{fl.path.stem}.png")
    metadata = {
        "seeds": _seeds(executed, data) or "—",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "raw data": str(data),
        "package versions": ", ".join(f"{k} {v}" for k, v in _versions().items()),
    }
    return write_landing_page(site, preset, runs, links, products, metadata)
