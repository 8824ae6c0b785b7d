"""Every figure the walk writes is fit to print: not blank, at least 150 dpi, with a vector PDF twin.

The checks themselves are tested on hand-built images first (a blank one must fail, a drawn
one must pass), then applied to every PNG of the tiny walk (session fixture ``tiny_walk``).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from redshift1.plots import MIN_DPI, figure_paths, save_figure  # noqa: E402
from redshift1.plots import no_data_message  # noqa: E402

#: grey-level standard deviation (0-255) below which an image counts as blank; a figure with
#: only a framed one-line message has ~20, a white canvas 0, a flat grey canvas 0
MIN_PIXEL_STD = 3.0


def figure_problems(png: Path) -> list[str]:
    """What makes ``png`` unfit to print (empty list: nothing)."""
    problems = []
    with Image.open(png) as im:
        dpi = im.info.get("dpi")
        grey = np.asarray(im.convert("L"), float)
        n_colours = len(im.convert("RGB").getcolors(maxcolors=4) or [0] * 5)
    if dpi is None or min(dpi) < MIN_DPI - 0.5:
        problems.append(f"{png.name}: {dpi and round(min(dpi))} dpi < {MIN_DPI}")
    if n_colours <= 1 or grey.std() < MIN_PIXEL_STD:
        problems.append(f"{png.name}: blank (grey-level std {grey.std():.2f}, {n_colours} colour(s))")
    if not png.with_suffix(".pdf").is_file():
        problems.append(f"{png.name}: no PDF twin")
    elif not png.with_suffix(".pdf").read_bytes().startswith(b"%PDF"):
        problems.append(f"{png.name}: PDF twin is not a PDF")
    return problems


# ----------------------------------------------------------------------------- the checks
def test_blank_figure_is_caught(tmp_path):
    fig, ax = plt.subplots()
    ax.set_axis_off()
    save_figure(fig, "blank", tmp_path)
    plt.close(fig)
    assert any("blank" in p for p in figure_problems(tmp_path / "blank.png"))


def test_low_dpi_and_missing_pdf_are_caught(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "low.png", dpi=72)
    plt.close(fig)
    problems = figure_problems(tmp_path / "low.png")
    assert any("dpi" in p for p in problems)
    assert any("PDF" in p for p in problems)


def test_save_figure_writes_png_and_pdf_and_returns_nothing(tmp_path):
    fig, ax = plt.subplots()
    ax.plot(np.arange(10), np.arange(10) ** 2)
    assert save_figure(fig, "curve", tmp_path, dpi=72) is None      # a low dpi is raised to the minimum
    plt.close(fig)
    png, pdf = figure_paths("curve", tmp_path)
    assert png.is_file() and pdf.is_file()
    assert figure_problems(png) == []


def test_save_figure_is_deterministic(tmp_path):
    for d in ("a", "b"):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [2, 0, 1], label="x")
        ax.legend()
        save_figure(fig, "f", tmp_path / d)
        plt.close(fig)
    for ext in ("png", "pdf"):
        assert (tmp_path / "a" / f"f.{ext}").read_bytes() == (tmp_path / "b" / f"f.{ext}").read_bytes()


def test_message_figure_is_not_blank(tmp_path):
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    no_data_message(ax, "No repeated slits in this survey")
    save_figure(fig, "message", tmp_path)
    plt.close(fig)
    assert figure_problems(tmp_path / "message.png") == []


# ----------------------------------------------------------------------------- the walk
def test_every_walk_figure_is_fit_to_print(tiny_walk):
    _, _, figures = tiny_walk
    pngs = sorted(Path(figures).rglob("*.png"))
    assert len(pngs) >= 20, f"only {len(pngs)} PNGs in {figures}"
    problems = [p for png in pngs for p in figure_problems(png)]
    assert problems == [], "\n".join(problems)


def test_in_a_kernel_the_cell_shows_the_saved_png_once(tmp_path, monkeypatch):
    """Inside Jupyter the cell shows the PNG just written, at the figure's size, and the figure is
    closed so that the inline backend does not draw it again."""
    import IPython.display

    import redshift1.plots as plots

    shown = []
    monkeypatch.setattr(plots, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [1, 0])
    save_figure(fig, "shown", tmp_path)
    assert not plt.fignum_exists(fig.number)
    assert len(shown) == 1
    png, _ = figure_paths("shown", tmp_path)
    assert shown[0].data == png.read_bytes()
    # tight bounding box of a 4-inch figure, at the inline dpi
    assert 0.8 * 4 * plt.rcParams["figure.dpi"] < shown[0].width < 1.1 * 4 * plt.rcParams["figure.dpi"]


def test_outside_a_kernel_the_figure_stays_open(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_figure(fig, "open", tmp_path)
    assert plt.fignum_exists(fig.number)
    plt.close(fig)
