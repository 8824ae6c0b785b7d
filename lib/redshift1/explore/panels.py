"""The explorer's figures: the five live panels, drawn fast, and the static summary figure.

Live figures are drawn at the PNG's dpi with fixed margins (no ``tight_layout`` pass) and a
coarser KDE grid for the density contours (:func:`live_drawing`); the notebooks' own figures
keep the defaults.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from functools import partial

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import Table

from ..plots import kross_science as kplots
from ..plots import roles as rplots
from ..validation.paper import ROLES_TABLE2
from .choices import MS_LABELS, PANEL_TITLES, PANELS, Choices

__all__ = ["MARGINS", "absent_panel", "draw_panel", "limits_to_points", "live_drawing", "panel_png",
           "plot_sfrd_panel", "static_summary_figure"]

MARGINS = dict(left=0.12, right=0.975, bottom=0.115, top=0.93)


def plot_sfrd_panel(sfrd: Table, estimator: str = "nominal", paper=ROLES_TABLE2, tight: bool = True) -> plt.Figure:
    """ROLES Fig. 15, one panel: ρ_SFR per mass bin for the chosen [OII]-SFR estimator
    (grey crosses: ROLES Table 2, nominal SFRs, for comparison)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    style = {"CDFS": ("o", "k", "k", "CDFS"), "FIRES": ("s", "none", "k", "FIRES"),
             "HIGHMASS": ("D", "none", "C0", "higher-mass sample")}
    fld = np.asarray(sfrd["field"]).astype(str)
    for f, (fmt, mfc, col, label) in style.items():
        rplots.sfrd_points(ax, sfrd[fld == f], fmt, label, mfc, col)
    if estimator == "nominal" and paper is not None:
        rplots.paper_table2_points(ax, paper)
    title = "[OII] SFR (eq. 9)" if estimator == "nominal" else "[OII] SFR / G10 mass-dependent correction"
    ax.set(xlabel="log M* [M☉]", ylabel="ρ_SFR [M☉ yr⁻¹ Mpc⁻³ dex⁻¹]", title=title, yscale="log",
           xlim=(8.3, 11.5))
    ax.legend(fontsize=7, loc="lower left")
    if tight:
        fig.tight_layout()
    else:
        fig.subplots_adjust(**MARGINS)
    return fig



@contextmanager
def live_drawing(gridsize: int, dpi: int):
    """Settings of the live figures, for speed.

    Figures are created at the PNG's dpi (so the text laid out by ``tight_layout`` is
    reused when the PNG is drawn), and density contours use a ``gridsize``² KDE grid
    instead of seaborn's 200² (the notebooks' own figures keep the default; at screen
    resolution the contours look the same, at a fraction of the cost).
    """
    original = kplots._density
    kplots._density = partial(original, gridsize=gridsize)
    try:
        with plt.rc_context({"figure.dpi": dpi}):
            yield
    finally:
        kplots._density = original


def limits_to_points(ax, table: Table, xcol: str, ycol: str, pad: float = 0.4):
    """Axis limits around the plotted values (a few galaxies have error bars of many dex:
    barely resolved sizes, whose PSF-corrected radius is uncertain by more than itself)."""
    x = np.asarray(table[xcol], float)
    y = np.asarray(table[ycol], float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() >= 2:
        ax.set_xlim(x[ok].min() - pad, x[ok].max() + pad)
        ax.set_ylim(y[ok].min() - pad, y[ok].max() + pad)


def absent_panel(title: str, why: str, dpi: int) -> plt.Figure:
    """A placeholder for a panel whose half of the survey is absent: says so instead of a plot."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=dpi)
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"{title}\nnot drawn: {why}", ha="center", va="center", wrap=True, fontsize=10)
    return fig


def _fits_of(results: dict, regression: str) -> dict:
    """What each KROSS panel draws: emcee -- its band and the least-squares line beside;
    least squares -- the line alone, drawn (and labelled) as the notebooks draw the papers'."""
    names = ("resolved_ms", "sigma_delta", "z_delta")
    if regression == "emcee":
        return {n: (results[f"fit_{n}"], results[f"ols_{n}"]) for n in names}
    return {n: (None, results[f"fit_{n}"]) for n in names}


def _draw_kross_panel(panel: str, r: dict, ch: Choices, ms_band_dex: float) -> plt.Figure:
    fits = _fits_of(r, ch.regression)
    if panel == "resolved_ms":
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        kplots.plot_resolved_ms(ax, r["resolved"], *fits["resolved_ms"])
        limits_to_points(ax, r["resolved"], "log_sigma_star", "log_sigma_sfr")
        fig.subplots_adjust(**MARGINS)
    elif panel == "sigma_delta":
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        kplots.plot_sigma_delta(ax, r["resolved"], fits["sigma_delta"][0], r["sigma_delta_stats"]["bins"],
                                ms_band_dex, fits["sigma_delta"][1])
        ax.set_title(ax.get_title() + f" ({MS_LABELS.get(ch.ms_prescription, ch.ms_prescription)})")
        fig.subplots_adjust(**MARGINS)
    else:
        fig = kplots.plot_metallicity_delta(r["metallicity"], fits["z_delta"][0], r["z_delta_bins"],
                                            ch.z_mass_range[0], ch.z_mass_range[1], ms_band_dex,
                                            fits["z_delta"][1])
    return fig


def _draw_roles_panel(panel: str, r: dict, ch: Choices, lf_fit_range) -> plt.Figure:
    if panel == "lf":
        fig = rplots.plot_lf(r["lf"], r["slopes"], lf_fit_range)
        fig.axes[0].set_title(f"≥ {ch.detect_sigma:g}σ, P([OII]) clamps {ch.p_clamps[0]:g} / "
                              f"{ch.p_clamps[1]:g}", fontsize=10)
        fig.subplots_adjust(top=0.93)
        return fig
    return plot_sfrd_panel(r["sfrd"], ch.sfr_estimator, tight=False)


def draw_panel(panel: str, results: dict, ch: Choices, *, missing: dict, lf_fit_range, ms_band_dex: float,
               dpi: int, kde_gridsize: int) -> plt.Figure:
    """A new matplotlib figure of one live panel.

    Parameters
    ----------
    panel : str
        One of :data:`~redshift1.explore.choices.PANELS`.
    results : dict
        From :meth:`redshift1.explore.compute.LiveComputation.compute`.
    ch : Choices
        The choices they were computed for.
    missing : dict
        ``{"kross" or "roles": why}`` for an absent half of the survey (a placeholder is drawn).
    lf_fit_range : tuple
        The walk's fit range of the luminosity function.
    ms_band_dex : float
        Half-width of the main-sequence band.
    dpi, kde_gridsize : int
        Resolution and KDE grid of the live drawing.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if panel not in PANELS:
        raise ValueError(f"unknown panel {panel!r}")
    half = "roles" if panel in ("lf", "sfrd") else "kross"
    if half in missing:
        return absent_panel(PANEL_TITLES.get(panel, panel), missing[half], dpi)
    with live_drawing(kde_gridsize, dpi):
        if half == "kross":
            return _draw_kross_panel(panel, results, ch, ms_band_dex)
        return _draw_roles_panel(panel, results, ch, lf_fit_range)


def panel_png(fig: plt.Figure, fast: bool = False) -> bytes:
    """A panel as PNG bytes at its own dpi (``fast``: light compression, for live updates); closes it."""
    buf = io.BytesIO()
    extra = {"pil_kwargs": {"compress_level": 1}} if fast else {}
    fig.savefig(buf, format="png", dpi="figure", metadata={"Software": None}, **extra)
    plt.close(fig)
    return buf.getvalue()


def static_summary_figure(pngs: dict, lines: list) -> plt.Figure:
    """The five panels (PNG bytes by panel) and a text of the settings and numbers in one figure.

    Parameters
    ----------
    pngs : dict of str to bytes
        One PNG per panel of :data:`~redshift1.explore.choices.PANELS`.
    lines : list of str
        The text of the sixth cell.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.image as mpimg

    fig, axes = plt.subplots(2, 3, figsize=(19, 10.5))
    for ax, p in zip(axes.flat, PANELS):
        img = mpimg.imread(io.BytesIO(pngs[p]), format="png")
        ax.imshow(img)
        ax.set_axis_off()
    ax = axes.flat[-1]
    ax.set_axis_off()
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=8.5,
            transform=ax.transAxes)
    fig.suptitle("notebook 11: the analysis choices and what they do (current settings)")
    fig.tight_layout()
    return fig
