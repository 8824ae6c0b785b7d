"""What a run reports: the printed table, ``run_summary.json``, the failure, the site, the
published results of the paper preset, and the ``--list`` of parameters."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from .execution import NotebookResult
from .parameters import NotebookParameter

if TYPE_CHECKING:  # only for annotations: the walk imports nothing from here
    from .walk import RunPlan

__all__ = ["FIGURE_SUFFIXES", "PUBLISHED_FIGURES", "PUBLISHED_PRODUCTS", "failure_report", "find_figures",
           "format_listing", "publish_paper_results", "publish_site", "render_html", "report_run", "summary_table",
           "write_summary"]

FIGURE_SUFFIXES = {".png", ".pdf", ".svg", ".jpg", ".jpeg", ".gif", ".eps", ".webp"}
#: The paper preset's results committed in the top-level ``figures/`` (the README shows them).
PUBLISHED_PRODUCTS = ("paper_vs_compendium.md", "paper_vs_compendium.ecsv")
#: Figures to publish with them: add a name here, to .gitignore's exceptions and to the README at once.
PUBLISHED_FIGURES: tuple[str, ...] = (
    "fig02_kross_figure1.png",
    "fig04_sfr_main_sequence.png",
    "fig05_resolved_ms.png",
    "fig06_metallicity_delta.png",
    "fig10_roles_fig14_oii_lf.png",
    "fig10_roles_fig15_sfrd.png",
    "fig12_paper_vs_compendium.png",
)


def _replace_atomically(path: Path, write) -> None:
    """Write a text file through :func:`redshift1.io.atomic_path` (temporary sibling, rename)."""
    from ..io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        write(fh)


def failure_report(result: NotebookResult) -> str:
    """A few lines saying where and how a notebook failed.

    Parameters
    ----------
    result : NotebookResult
        A failed result.

    Returns
    -------
    str
        Notebook, cell, error name and value, and the executed copy's path.
    """
    err = result.error or {}
    where = (
        f"cell In [{err['exec_count']}] (cell index {err['cell_index']})"
        if err.get("cell_index") is not None
        else "before any cell ran"
    )
    kind = "redshift1 error " if err.get("redshift1") else ""
    lines = [
        f"FAILED: notebook {result.name}, {where}",
        f"  {kind}{err.get('ename')}: {err.get('evalue')}",
    ]
    source = (err.get("source") or "").strip().splitlines()
    if source:
        lines.append("  cell source:")
        lines += [f"    {line}" for line in source[:6]]
        if len(source) > 6:
            lines.append("    ...")
    if result.executed is not None:
        lines.append(f"  executed copy: {result.executed}")
    return "\n".join(lines)


def render_html(executed: Path, html_path: Path) -> Path:
    """Render an executed notebook as a page of the site (see :func:`redshift1.site.render_page`).

    Parameters
    ----------
    executed : Path
        The executed notebook.
    html_path : Path
        Where the HTML goes (written atomically).

    Returns
    -------
    Path
        ``html_path``.
    """
    from ..site import render_page

    return render_page(executed, html_path)


def find_figures(figures_dir: Path) -> list[Path]:
    """Image files under the figures folder, sorted (hidden files skipped)."""
    if not figures_dir.is_dir():
        return []
    return sorted(
        p for p in figures_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in FIGURE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(figures_dir).parts)
    )


def publish_paper_results(figures_dir: Path, products_dir: Path, published: Path) -> list[Path]:
    """Copy the paper preset's results the README shows into the committed ``figures/``.

    Parameters
    ----------
    figures_dir, products_dir : Path
        The run's figures and products (``build/paper/figures``, ``build/paper/products``).
    published : Path
        The repository's top-level ``figures/``.

    Returns
    -------
    list of Path
        The files written (those the run produced; a missing one is left as committed).
    """
    from ..io import atomic_path

    written = []
    for src in [products_dir / n for n in PUBLISHED_PRODUCTS] + [figures_dir / n for n in PUBLISHED_FIGURES]:
        if not src.is_file():
            continue
        dst = published / src.name
        with atomic_path(dst) as tmp:
            Path(tmp).write_bytes(src.read_bytes())
        written.append(dst)
    return written


def write_summary(path: Path, preset: str, results: Sequence[NotebookResult]) -> Path:
    """Write ``run_summary.json`` (atomically).

    Parameters
    ----------
    path : Path
        The JSON file.
    preset : str
        The preset of the run.
    results : sequence of NotebookResult
        The run, in order.

    Returns
    -------
    Path
        ``path``.
    """
    summary = {
        "preset": preset,
        "notebooks": [
            {
                "name": r.name,
                "seconds": None if r.seconds is None else round(r.seconds, 3),
                "status": r.status,
                "executed": None if r.executed is None else str(r.executed),
                "html": None if r.html is None else str(r.html),
                "error": None if r.error is None else
                f"{r.error.get('ename')}: {r.error.get('evalue')}",
                "reason": r.reason or None,
            }
            for r in results
        ],
    }
    _replace_atomically(path, lambda fh: (json.dump(summary, fh, indent=2), fh.write("\n")))
    return path


def summary_table(results: Sequence[NotebookResult]) -> str:
    """A plain-text table: notebook, seconds, status."""
    width = max([len("notebook")] + [len(r.name) for r in results])
    lines = [f"{'notebook':<{width}}  {'seconds':>8}  status", "-" * (width + 20)]
    for r in results:
        secs = f"{r.seconds:8.1f}" if r.seconds is not None else f"{'-':>8}"
        lines.append(f"{r.name:<{width}}  {secs}  {r.status}")
    return "\n".join(lines)


def format_listing(declared: Mapping[Path, Mapping[str, NotebookParameter]], root: Path) -> str:
    """Text for ``--list``: each notebook with its parameters, defaults and help."""
    lines = []
    for path, params in declared.items():
        try:
            shown = path.relative_to(root).as_posix()
        except ValueError:
            shown = str(path)
        lines.append(f"{path.stem}  ({shown})")
        if not params:
            lines.append("    (no cell tagged 'parameters')")
        for p in params.values():
            definition = f"{p.name}: {p.type_name or 'any'} = {p.default}"
            lines.append(f"    {definition:<44}  # {p.help}" if p.help else f"    {definition}")
    return "\n".join(lines)


def publish_site(site_dir: Path, preset: str, notebooks: Sequence[Path], results: Sequence[NotebookResult],
                  cache: Mapping, executed_dir: Path, figures_dir: Path, products_dir: Path, data_dir: Path,
                  root: Path) -> Path:
    """Build the run's site: this run's notebooks, and the executed copies earlier runs left of the others."""
    from ..site import build_site

    mine = {r.name: r for r in results}
    runs = []
    for path in notebooks:
        r = mine.get(path.stem)
        executed = executed_dir / path.name
        if r is None and not executed.is_file():
            continue
        status = r.status if r is not None else "earlier run"
        seconds = r.seconds if r is not None and r.status != "cached" else cache.get(path.stem, {}).get("seconds")
        runs.append({"name": path.stem, "status": status, "seconds": seconds,
                     "executed": (r.executed if r is not None else executed)})
    try:
        index = build_site(site_dir, preset, runs, figures_dir, products_dir, data_dir, root)
    except Exception as exc:  # a publishing problem must not hide the run's outcome
        print(f"warning: could not build the site in {site_dir}: {exc}", file=sys.stderr)
        return site_dir / "index.html"
    for r in results:
        page = site_dir / f"{r.name}.html"
        r.html = page if r.executed is not None and page.is_file() else None
    return index


def report_run(plan: RunPlan, results: Sequence[NotebookResult], failed: NotebookResult | None,
               cache: Mapping, publish_to: Path | None = None) -> int:
    """Tell what the run did: the site, the published paper results, ``run_summary.json``, the
    printed table and, for a failure, where it happened.

    Parameters
    ----------
    plan : RunPlan
        The run.
    results : sequence of NotebookResult
        One per selected notebook.
    failed : NotebookResult or None
        The failure, if any.
    cache : mapping
        The cache as the run left it (timings of cached notebooks).
    publish_to : Path, optional
        The committed ``figures/`` to update after a successful run (only the paper preset's
        run with the default folders passes it).

    Returns
    -------
    int
        The exit status: 0, or 1 after a failure.
    """
    layout = plan.layout
    index = publish_site(layout.site, plan.preset, plan.walk.notebooks, results, cache, layout.notebooks,
                         plan.figures_dir, plan.products_dir, plan.data_dir, plan.walk.root)
    if failed is None and publish_to is not None:
        for path in publish_paper_results(plan.figures_dir, plan.products_dir, publish_to):
            print(f"published: {path}")
    write_summary(layout.summary_file, plan.preset, results)
    print(summary_table(results))
    print(f"report: {index}")
    if failed is not None:
        print(failure_report(failed), file=sys.stderr)
        return 1
    return 0
