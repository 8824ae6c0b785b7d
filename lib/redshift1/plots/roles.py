"""Figures of the ROLES science notebooks 09 (redshifts, completeness) and 10 (LF, SFR
density): one function per figure, each returning a Figure. Notebook 07's figures are in
:mod:`redshift1.plots.ldss3_reduce`, notebook 08's in :mod:`redshift1.plots.ldss3_detect`.

Figure numbers in the docstrings are those of Gilbank et al. (2010).
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import Table

from . import OKABE_ITO, no_data_message

C_MAIN = OKABE_ITO[5]     # blue

__all__ = ["plot_pdf_examples", "plot_summed_nz", "plot_completeness", "plot_flux_limit", "plot_lf",
           "plot_sfrd", "plot_sfrd_best", "no_data_message"]


PDF_CASES = ((1.0, "highest P([OII])"), (0.0, "lowest P([OII])"), (0.5, "P([OII]) nearest 0.5"))
_WINDOW_NAMES = {"OII": "[OII]", "Hbeta": "Hβ", "OIII": "[OIII]", "Halpha": "Hα"}


def pdf_example_picks(poii: Table) -> list[tuple[int, str]]:
    """Rows of ``poii`` for the three cases of ROLES Fig. 8.

    Among the detections with P from the photo-z: the galaxy whose raw P([OII]) is nearest 1,
    nearest 0 and nearest 0.5, each galaxy at most once.

    Parameters
    ----------
    poii : astropy.table.Table
        ``roles_poii`` (notebook 09).

    Returns
    -------
    list of tuple
        ``(row, label)`` per case found.
    """
    det = np.flatnonzero((np.asarray(poii["status"]) == "detected") & (np.asarray(poii["p_source"]) == "photoz"))
    raw = np.asarray(poii["p_oii_photoz_raw"], float)
    picks, used = [], set()
    for target, label in PDF_CASES:
        cand = [i for i in det if poii["id"][i] not in used and np.isfinite(raw[i])]
        if not cand:
            break
        i = min(cand, key=lambda j: abs(raw[j] - target))
        used.add(poii["id"][i])
        picks.append((int(i), label))
    return picks


def plot_pdf_examples(poii: Table, pdfs: dict, windows: dict):
    """ROLES Fig. 8: photo-z PDFs of three different detected galaxies (:func:`pdf_example_picks`),
    raw → after the clamps.

    Parameters
    ----------
    poii : astropy.table.Table
        ``roles_poii`` (notebook 09).
    pdfs : dict
        ``{field: (zgrid, pdf, ids)}``.
    windows : dict
        ``{line: (z_lo, z_hi)}`` shaded.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    picks = pdf_example_picks(poii)
    fig, axes = plt.subplots(3, 1, figsize=(6.5, 6.8), sharex=True)
    z_hi = 1.6
    for ax, (i, label) in zip(axes, picks):
        r = poii[i]
        z, pdf, ids = pdfs[r["field"]]
        j = int(np.flatnonzero(np.asarray(ids["id"]) == r["id"])[0])
        row = int(ids["pdf_row"][j])
        others = ", ".join(_WINDOW_NAMES.get(n, n) for n in windows if n != "OII")
        for name, (a, b) in windows.items():
            is_oii = name == "OII"
            ax.axvspan(a, b, color=OKABE_ITO[2] if is_oii else "0.8", alpha=0.5 if is_oii else 0.6, lw=0,
                       label="[OII] window" if is_oii else f"{others} windows")
        ax.plot(z, pdf[row], color="k", lw=1.2, label="photo-z PDF")
        p = float(r["p_oii"])
        verdict = "the line is [OII]" if p >= 1 else "the line is not [OII]" if p <= 0 else "weighted by P"
        ax.set_title(f"{label}: {r['id']}, P = {r['p_oii_photoz_raw']:.2f} → {p:.2f} after the clamps ({verdict})",
                     fontsize=8.5, loc="left")
        cum = np.cumsum(pdf[row]) / max(np.sum(pdf[row]), 1e-300)
        z_hi = max(z_hi, float(z[min(np.searchsorted(cum, 0.995), len(z) - 1)]))
        ax.set_ylabel("p(z)")
    for ax in axes[len(picks):]:
        no_data_message(ax, "no further detected galaxy with a photo-z PDF")
    if picks:
        handles, labels = axes[0].get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        axes[0].legend(uniq.values(), uniq.keys(), fontsize=7, loc="upper left", ncol=2)
    axes[-1].set(xlabel="z", xlim=(0, z_hi))
    fig.tight_layout()
    return fig


def plot_summed_nz(phot: dict, pdfs: dict, targeted, window, k_range=(22.5, 24.0)):
    """ROLES Fig. 11: summed photo-z PDFs of all K-selected galaxies and of those with slits.

    Parameters
    ----------
    phot : dict
        ``{field: photometric catalogue}``.
    pdfs : dict
        ``{field: (zgrid, pdf, ids)}``.
    targeted : iterable
        Ids of the galaxies with a good slit.
    window : tuple of float
        The [OII] window drawn.
    k_range : tuple of float, optional
        K selection [mag].

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fields = list(phot)
    fig, axes = plt.subplots(len(fields), 1, figsize=(6.5, 3 * len(fields)), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, f in zip(axes, fields):
        t = phot[f]
        z, pdf, _ = pdfs[f]
        k = np.asarray(t["K"], float)
        sel = (k > k_range[0]) & (k <= k_range[1])
        rows = np.asarray(t["pdf_row"], int)
        tg = sel & np.isin(np.asarray(t["id"]), list(targeted))
        ax.plot(z, pdf[rows[sel]].sum(0), color="k", lw=1, label=f"all {k_range[0]}<K≤{k_range[1]} ({sel.sum()})")
        ax.plot(z, pdf[rows[tg]].sum(0), color=C_MAIN, lw=2, label=f"with slits ({tg.sum()})")
        for k, w in enumerate(window):
            ax.axvline(w, color="0.4", lw=0.8, ls="--", label="[OII] window" if k == 0 else None)
        ax.set(ylabel="Σ p(z) [galaxies per unit z]", title=f, yscale="log")
        ax.set_ylim(bottom=max(ax.get_ylim()[0], 1e-1))
        ax.legend(fontsize=8)
    axes[-1].set(xlabel="z", xlim=(0, 2.5))
    fig.tight_layout()
    return fig


def plot_completeness(comp: Table):
    """ROLES Fig. 12: spectroscopic completeness per 0.25-mag K bin and field.

    Parameters
    ----------
    comp : astropy.table.Table
        The completeness table (notebook 09).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, f in enumerate(sorted(set(np.asarray(comp["field"]).tolist()))):
        c = comp[(np.asarray(comp["field"]) == f) & (np.asarray(comp["bin"]) != "all")]
        x = 0.5 * (np.asarray(c["K_lo"], float) + np.asarray(c["K_hi"], float))
        ax.plot(x, c["W"], "o-" if k == 0 else "s--", label=f"{f} (all: "
                f"{float(comp[(np.asarray(comp['field']) == f) & (np.asarray(comp['bin']) == 'all')]['W'][0]):.2f})")
    w = np.asarray(comp["W"], float)
    top = float(np.nanmax(w)) if np.isfinite(w).any() else 1.0
    ax.set(xlabel="K (AB) [mag]", ylabel="completeness W", ylim=(0, 1.05 if top > 0.5 else max(0.05, 1.3 * top)))
    if top <= 0.5:
        ax.set_title(f"W ≤ {top:.2f} here: few masks cover the field (y axis zoomed)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_flux_limit(gal: Table, limits: Table, limit_mask: str, nsigma: float = 4.0):
    """ROLES Fig. 13: [OII] candidate fluxes against wavelength with the limit of every mask (thin)
    and of the shallowest (thick, adopted); points under it are rejected.

    Parameters
    ----------
    gal : astropy.table.Table
        Candidates (``field``, ``wavelength``, ``flux``, ``p_oii``, ``status``).
    limits : astropy.table.Table
        ``wavelength`` and one limit column per mask.
    limit_mask : str
        The adopted (shallowest) mask's column.
    nsigma : float, optional
        Significance of the limit (legend).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    wl = np.asarray(limits["wavelength"], float)
    for c in limits.colnames[1:]:
        ax.plot(wl, np.asarray(limits[c], float), color="0.75", lw=0.5)
    ax.plot(wl, np.asarray(limits[limit_mask], float), color="k", lw=1.5, label=f"{nsigma:g}σ limit, {limit_mask} (shallowest)")
    for f, mk in (("CDFS", "o"), ("FIRES", "s")):
        s = np.asarray(gal["field"]) == f
        hi = s & (np.asarray(gal["p_oii"], float) >= 0.5)
        lo = s & (np.asarray(gal["p_oii"], float) < 0.5)
        ax.plot(np.asarray(gal["wavelength"], float)[hi], np.asarray(gal["flux"], float)[hi], mk, color="k", ms=4,
                label=f"{f}, P([OII]) ≥ 0.5")
        ax.plot(np.asarray(gal["wavelength"], float)[lo], np.asarray(gal["flux"], float)[lo], mk, mfc="none",
                color="k", ms=4, label=f"{f}, P([OII]) < 0.5")
    rej = np.asarray(gal["status"]) == "below_flux_limit"
    ax.plot(np.asarray(gal["wavelength"], float)[rej], np.asarray(gal["flux"], float)[rej], "x", color="C3", ms=7,
            label="rejected (under the limit)")
    ax.set(yscale="log", xlabel="vacuum wavelength [Å]", ylabel="flux [erg s⁻¹ cm⁻²]", xlim=(7000, 8050),
           ylim=(5e-19, 3e-16))
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def upper_limit_markers(ax, x, upper, label: str = "", color="k") -> None:
    """Empty bins drawn as downward arrows from their (finite) upper limit.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    x : array_like
        Bin centres.
    upper : array_like
        Upper limits (non-finite or non-positive ones skipped).
    label : str, optional
        Legend label.
    color : optional
        Matplotlib colour.

    Returns
    -------
    None
        Draws on ``ax``.
    """
    x, upper = np.asarray(x, float), np.asarray(upper, float)
    ok = np.isfinite(x) & np.isfinite(upper) & (upper > 0)
    if ok.any():
        ax.errorbar(x[ok], upper[ok], yerr=0.4 * upper[ok], uplims=True, fmt="v", color=color, mfc="none", ms=5,
                    elinewidth=0.8, label=label or None)


def plot_lf(lf: Table, slopes: dict, fit_range=(40.6, 42.0)):
    """ROLES Fig. 14 (left): the [OII] luminosity function per field with the faint-end fit.

    Parameters
    ----------
    lf : astropy.table.Table
        ``roles_lf`` (notebook 10).
    slopes : dict
        Faint-end fits; ``slopes["both_fields"]`` (``alpha``, ``alpha_err``, ``log_phi_41``) is drawn.
    fit_range : tuple of float, optional
        log L range of the fit line.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for k, f in enumerate(sorted(set(np.asarray(lf["field"]).tolist()))):
        t = lf[(np.asarray(lf["field"]) == f) & (np.asarray(lf["n_gal"]) > 0)]
        x = np.asarray(t["logl"], float) + (0.02 if k else 0)
        y = np.asarray(t["phi"], float)
        lo = np.asarray(t["phi_lo"], float)
        hi = np.asarray(t["phi_hi"], float)
        ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="o" if k == 0 else "s", mfc="k" if k == 0 else "none",
                    color="k", ms=5, label=f)
        e = lf[(np.asarray(lf["field"]) == f) & (np.asarray(lf["n_gal"]) == 0)]
        upper_limit_markers(ax, np.asarray(e["logl"], float) + (0.02 if k else 0), np.asarray(e["phi_hi"], float),
                            f"{f}: empty bin, 1σ upper limit")
    s = slopes.get("both_fields", {})
    if np.isfinite(s.get("alpha", np.nan)):
        xx = np.linspace(fit_range[0], min(fit_range[1], 42.5), 50)
        ax.plot(xx, 10 ** (s["log_phi_41"] + (s["alpha"] + 1) * (xx - 41.0)), "k-", lw=2,
                label=f"fit: α = {s['alpha']:.2f} ± {s['alpha_err']:.2f}")
    ax.set(yscale="log", xlabel="log L[OII] [erg s⁻¹]", ylabel="φ [Mpc⁻³ dex⁻¹]")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def paper_table2_points(ax, paper) -> None:
    """The paper's Table 2 (comparison only) as grey crosses, ρ in M☉ yr⁻¹ Mpc⁻³ dex⁻¹.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    paper : iterable of tuple
        Rows ``(field, lo, hi, median log M, rho, rho_lo, rho_hi, n)`` (ρ in 10⁻³ units).

    Returns
    -------
    None
        Draws on ``ax``.
    """
    for f, lo, hi, med, r, rl, rh, n in paper:
        if f in ("CDFS", "FIRES", "FORS2"):
            ax.errorbar(med, r * 1e-3, yerr=[[max(r - rl, 0) * 1e-3], [(rh - r) * 1e-3]], fmt="x", color="0.6",
                        ms=5, elinewidth=0.6)
    ax.plot([], [], "x", color="0.6", label="ROLES Table 2 (paper)")


def sfrd_points(ax, t, fmt, label, mfc="k", color="k", offset=0.0):
    """Draw one sample's ρ_SFR per mass bin with its error bars, and upper limits for empty bins.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on.
    t : `~astropy.table.Table`
        Rows of ``table2_sfrd.ecsv`` for one sample (``logm_median``, ``rho_sfr`` and its limits).
    fmt, label, mfc, color : str
        Marker format, legend label, marker face and edge colour.
    offset : float
        Shift in log M★ so that overlapping samples stay legible.

    Returns
    -------
    None
        Draws on ``ax``; nothing for an empty table.
    """
    if len(t) == 0:
        return
    x = np.asarray(t["logm_median"], float) + offset
    y = np.asarray(t["rho_sfr"], float)
    lo = np.asarray(t["rho_sfr_lo"], float)
    hi = np.asarray(t["rho_sfr_hi"], float)
    xl = x - np.asarray(t["logm_lo"], float)
    xh = np.asarray(t["logm_hi"], float) - x
    ok = y > 0
    ax.errorbar(x[ok], y[ok], yerr=[np.clip(y - lo, 0, None)[ok], np.nan_to_num(hi - y)[ok]],
                xerr=[xl[ok], xh[ok]], fmt=fmt, mfc=mfc, color=color, ms=5, label=label, elinewidth=0.8)
    empty = (np.asarray(t["n_gal"]) == 0) if "n_gal" in t.colnames else ~ok
    xe = 0.5 * (np.asarray(t["logm_lo"], float) + np.asarray(t["logm_hi"], float)) + offset
    upper_limit_markers(ax, xe[empty], hi[empty], f"{label}: empty bin, 1σ upper limit", color=color)


def plot_sfrd(sfrd: Table, paper=None):
    """ROLES Fig. 15 (the two [OII] panels): SFR density per mass bin, nominal and G10-corrected;
    open grey symbols: ROLES Table 2 (comparison only).

    Parameters
    ----------
    sfrd : astropy.table.Table
        ``roles_sfrd`` (notebook 10).
    paper : iterable of tuple, optional
        The paper's Table 2 rows (:func:`paper_table2_points`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    style = {"CDFS": ("o", "k", "k"), "FIRES": ("s", "none", "k"), "HIGHMASS": ("D", "none", "C0")}
    for ax, kind, title in zip(axes, ("nominal", "g10"), ("[OII] SFR (eq. 9)", "[OII] SFR, G10-corrected")):
        t = sfrd[np.asarray(sfrd["sfr_estimator"]) == kind]
        for f in ("CDFS", "FIRES", "HIGHMASS"):
            fmt, mfc, col = style[f]
            sfrd_points(ax, t[np.asarray(t["field"]) == f], fmt, f if f != "HIGHMASS" else "higher-mass sample",
                         mfc, col)
        if kind == "nominal" and paper is not None:
            paper_table2_points(ax, paper)
        ax.set(xlabel="log M* [M☉]", title=title, yscale="log", xlim=(8.3, 11.5))
        ax.legend(fontsize=7)
    axes[0].set_ylabel("ρ_SFR [M☉ yr⁻¹ Mpc⁻³ dex⁻¹]")
    fig.tight_layout()
    return fig


def plot_sfrd_best(sfrd: Table):
    """ROLES Fig. 16 as far as these data allow: the G10-corrected [OII] SFR density of ROLES and
    of the higher-mass sample (no SED or UV SFRs in the data contract).

    Parameters
    ----------
    sfrd : astropy.table.Table
        ``roles_sfrd`` (notebook 10).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    t = sfrd[np.asarray(sfrd["sfr_estimator"]) == "g10"]
    sfrd_points(ax, t[np.asarray(t["field"]) == "CDFS"], "o", "CDFS (G10-corrected [OII])")
    sfrd_points(ax, t[np.asarray(t["field"]) == "FIRES"], "s", "FIRES", mfc="none")
    sfrd_points(ax, t[np.asarray(t["field"]) == "HIGHMASS"], "D", "higher-mass sample", mfc="none", color="C0")
    ax.set(xlabel="log M* [M☉]", ylabel="ρ_SFR [M☉ yr⁻¹ Mpc⁻³ dex⁻¹]", yscale="log", xlim=(8.3, 11.5))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
