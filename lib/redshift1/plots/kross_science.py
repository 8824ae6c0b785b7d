"""Figures of notebooks 04–06: KROSS Figs. 2, 3 and 4 rebuilt from the measured products.

Paper relations are drawn only as grey comparison lines, labelled "paper".
"""
from __future__ import annotations

import warnings

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import Table

from ..science.kross_sfr import ms_log_sfr
from ..columns import flags, strings, values
from ..validation.paper import KROSS_PAPER
from . import OKABE_ITO

# colour-blind-safe (Okabe & Ito): blue density contours and MS band, vermillion bin means,
# reddish-purple limits, sky-blue upper limits, orange least squares -- never red on green
C_DENS = OKABE_ITO[5]
C_POINT = "0.35"
C_LIMIT = OKABE_ITO[7]
C_UPPER = OKABE_ITO[2]
C_OLS = OKABE_ITO[1]
C_FIT = "k"
C_BIN = OKABE_ITO[6]
C_BAND = OKABE_ITO[4]
C_PAPER = "0.55"


def _density(ax, x, y, min_points: int = 15, **kw):
    """Seaborn KDE contours of the number density (skipped for too few points)."""
    good = np.isfinite(x) & np.isfinite(y)
    if good.sum() < min_points:
        return
    import seaborn as sns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sns.kdeplot(x=x[good], y=y[good], ax=ax, levels=5, color=C_DENS, linewidths=1.0, **kw)
        except Exception:          # singular covariance etc.: the points still show the data
            pass


def _censored_and_ols(ax, fit, ols, ols_sample: str, xs=np.linspace(-1.6, 1.2, 50)) -> None:
    """The censored fit with its band, and the least-squares line beside it, over log Δ(sSFR)."""
    if fit is not None:
        _fit_band(ax, fit, xs, label=f"{fit.method} (limits censored): slope {fit.slope.median:.2f}")
    if ols is not None:
        ax.plot(xs, ols.intercept.median + ols.slope.median * xs, color=C_OLS, lw=1.2, ls="-.",
                label=f"least squares, {ols_sample}: slope {ols.slope.median:.2f}")


def _fit_band(ax, fit, x, color=C_FIT, label=None, ls="-"):
    if fit is None:
        return
    q = fit.predict(x, (16, 50, 84))
    ax.plot(x, q[1], color=color, ls=ls, lw=1.6, label=label)
    ax.fill_between(x, q[0], q[2], color=color, alpha=0.15, lw=0)


def _bins(ax, bins, xcol, ycol, label):
    ok = np.asarray(bins["n"]) > 0
    xm = np.log10(np.asarray(bins[xcol], float)[ok])
    lo = np.log10(np.asarray(bins["delta_lo"], float)[ok])
    hi = np.log10(np.asarray(bins["delta_hi"], float)[ok])
    y = np.asarray(bins[ycol], float)[ok]
    e = np.nan_to_num(np.asarray(bins["err"], float)[ok])
    ax.errorbar(xm, y, xerr=[xm - lo, hi - xm], yerr=e, fmt="s", ms=8, mfc="none", mec=C_BIN, color=C_BIN,
                mew=2, capsize=0, zorder=5, label=label)


def plot_sfr_figure(sfr: Table, z_ms: float = 0.86, ms_band_dex: float = 0.3, prescription: str = "speagle14",
                    unresolved: np.ndarray | None = None) -> plt.Figure:
    """KROSS Fig. 2: SFR(Hα) vs SFR(SED) with density contours; SFR–M★ with the MS.

    Parameters
    ----------
    sfr : astropy.table.Table
        ``kross_sfr`` (notebook 04).
    z_ms : float, optional
        Redshift at which the main sequence is drawn.
    ms_band_dex : float, optional
        Half-width of the shaded main-sequence band [dex].
    prescription : str, optional
        Main-sequence prescription.
    unresolved : numpy.ndarray, optional
        bool per row: marks unresolved Hα galaxies in the right panel.

    Returns
    -------
    matplotlib.figure.Figure
        The two-panel figure.
    """
    det = flags(sfr, "halpha_detected")
    lsfr = values(sfr, "log_sfr")
    lsed = np.log10(values(sfr, "sfr_sed"))
    logm = values(sfr, "logmstar")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.8))

    a1.scatter(lsed[det], lsfr[det], s=8, color=C_POINT, alpha=0.6, lw=0, label=f"Hα detected ({det.sum()})")
    _density(a1, lsed[det], lsfr[det])
    lim = np.array([-1.2, 3.0])
    a1.plot(lim, lim, color="k", lw=1.2, label="1:1")
    a1.set(xlim=lim, ylim=lim, xlabel=r"log SFR$_{\rm SED}$ [M$_\odot$ yr$^{-1}$]",
           ylabel=r"log SFR$_{\rm H\alpha}$ [M$_\odot$ yr$^{-1}$]", title="SFR(Hα, dust-corrected) vs SFR(SED)")
    a1.legend(loc="upper left", fontsize=8)

    unres = np.zeros(len(sfr), bool) if unresolved is None else det & np.asarray(unresolved, bool)
    a2.scatter(logm[det & ~unres], lsfr[det & ~unres], s=8, color=C_POINT, alpha=0.6, lw=0, label="Hα detected")
    if unres.any():
        a2.scatter(logm[unres], lsfr[unres], s=14, marker="D", facecolor="none", edgecolor=C_LIMIT, lw=0.8,
                   label="Hα unresolved")
    ul = np.log10(values(sfr, "sfr_ul"))
    und = ~det & np.isfinite(ul) & np.isfinite(logm)
    if und.any():
        a2.errorbar(logm[und], ul[und], yerr=0.2, uplims=True, fmt="none", ecolor=C_UPPER, alpha=0.8, lw=0.8,
                    label="Hα undetected (S/N·σ limit)")
    _density(a2, logm[det], lsfr[det])
    m = np.linspace(8.8, 11.6, 50)
    ms = ms_log_sfr(m, z_ms, prescription)
    a2.plot(m, ms, color="k", lw=1.5, label=f"{prescription} MS at z={z_ms:g}")
    a2.plot(m, ms + ms_band_dex, "k--", lw=1)
    a2.plot(m, ms - ms_band_dex, "k--", lw=1, label=f"±{ms_band_dex:g} dex")
    a2.set(xlim=(8.8, 11.6), ylim=(-1.2, 3.0), xlabel=r"log M$_\star$ [M$_\odot$]",
           ylabel=r"log SFR$_{\rm H\alpha}$ [M$_\odot$ yr$^{-1}$]", title="SFR–M★ plane")
    a2.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_resolved_ms(ax, res: Table, fit=None, ols=None, show_paper: bool = True):
    """KROSS Fig. 3 (left): log ΣSFR vs log Σ★ with the MCMC fit, least squares and paper line.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    res : astropy.table.Table
        ``kross_resolved`` (notebook 05).
    fit : LinearRelationFit, optional
        The censored fit.
    ols : LinearRelationFit, optional
        The paper's least squares.
    show_paper : bool, optional
        Draw the paper's relation (comparison only).

    Returns
    -------
    None
        Draws on ``ax``.
    """
    ok = (strings(res, "status") == "ok") & (strings(res, "sigma_star_status") == "ok")
    x, y = values(res, "log_sigma_star"), values(res, "log_sigma_sfr")
    ax.errorbar(x[ok], y[ok], xerr=values(res, "log_sigma_star_err")[ok], yerr=values(res, "log_sigma_sfr_err")[ok],
                fmt="o", ms=3, color=C_POINT, ecolor="0.8", elinewidth=0.6, label=f"resolved, HST ({ok.sum()})")
    lim = (strings(res, "sigma_star_status") == "lower_limit")
    if lim.any():
        ax.scatter(x[lim], y[lim], marker="D", s=12, facecolor="none", edgecolor=C_LIMIT, lw=0.8,
                   label=f"unresolved (limits, not fitted; {lim.sum()})")
    xs = np.linspace(6.6, 10.0, 50) if not ok.any() else np.linspace(np.nanmin(x[ok]) - 0.3, np.nanmax(x[ok]) + 0.3, 50)
    if fit is not None:
        _fit_band(ax, fit, xs, label=f"{fit.method}: slope {fit.slope.median:.2f}, σ {fit.scatter.median:.2f}")
        mid = fit.predict(xs, (50,))[0]
        s = fit.scatter.median
        ax.plot(xs, mid + s, "k:", lw=1)
        ax.plot(xs, mid - s, "k:", lw=1)
    if ols is not None:
        ax.plot(xs, ols.intercept.median + ols.slope.median * xs, color=C_OLS, lw=1.2, ls="-.",
                label=f"least squares: slope {ols.slope.median:.2f}")
    if show_paper:
        ax.plot(xs, KROSS_PAPER["resolved_ms_intercept"] + KROSS_PAPER["resolved_ms_slope"] * xs, color=C_PAPER, lw=1.2, ls="--",
                label="paper eq. 5 (comparison)")
    ax.set(xlabel=r"log $\Sigma_\star$ [M$_\odot$ kpc$^{-2}$]", ylabel=r"log $\Sigma_{\rm SFR}$ [M$_\odot$ yr$^{-1}$ kpc$^{-2}$]",
           title="resolved main sequence")
    # frame the points, not the error bars of the few barely resolved galaxies (±several dex)
    pts = ok | lim
    if pts.sum() >= 2:
        for setlim, v in ((ax.set_xlim, x[pts]), (ax.set_ylim, y[pts])):
            lo, hi = np.nanmin(v), np.nanmax(v)
            pad = 0.15 * (hi - lo) + 0.3
            setlim(lo - pad, hi + pad)
    ax.legend(loc="upper left", fontsize=7)


def plot_sigma_delta(ax, res: Table, fit=None, bins: Table | None = None, ms_band_dex: float = 0.3,
                     ols=None):
    """KROSS Fig. 3 (right): log ΣSFR vs log Δ(sSFR), lower limits as arrows, bin means.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    res : astropy.table.Table
        ``kross_resolved`` (notebook 05).
    fit : LinearRelationFit, optional
        The censored fit.
    bins : astropy.table.Table, optional
        Bin means (``sigma_delta_statistics(...)["bins"]``).
    ms_band_dex : float, optional
        Half-width of the main-sequence band [dex].
    ols : LinearRelationFit, optional
        The paper's least squares.

    Returns
    -------
    None
        Draws on ``ax``.
    """
    st = strings(res, "status")
    ok = st == "ok"
    lim = np.array([s.startswith("lower_limit") for s in st])
    x, y = values(res, "log_delta_ssfr"), values(res, "log_sigma_sfr")
    ax.scatter(x[ok], y[ok], s=8, color=C_POINT, alpha=0.6, lw=0, label=f"resolved ({ok.sum()})")
    if lim.any():
        ax.errorbar(x[lim], y[lim], yerr=0.25, lolims=True, fmt="none", ecolor=C_LIMIT, lw=0.9,
                    label=f"unresolved: lower limits ({lim.sum()})")
    _density(ax, x[ok], y[ok])
    _censored_and_ols(ax, fit, ols, "resolved only")
    if bins is not None:
        _bins(ax, bins, "delta_mean", "log_sigma_sfr_mean", "mean in Δ bins")
    for v in (-ms_band_dex, ms_band_dex):
        ax.axvline(v, color="k", ls="--", lw=0.9)
    ax.set(xlim=(-1.6, 1.2), xlabel=r"log $\Delta$(sSFR)", ylabel=r"log $\Sigma_{\rm SFR}$ [M$_\odot$ yr$^{-1}$ kpc$^{-2}$]",
           title=r"$\Sigma_{\rm SFR}$ along the main sequence")
    ax.legend(loc="upper left", fontsize=7)


def plot_figure3(res: Table, ms_fit=None, ms_ols=None, sd_fit=None, sd_bins=None, ms_band_dex: float = 0.3,
                 sd_ols=None) -> plt.Figure:
    """Both panels of KROSS Fig. 3 (:func:`plot_resolved_ms`, :func:`plot_sigma_delta`).

    Parameters
    ----------
    res : astropy.table.Table
        ``kross_resolved`` (notebook 05).
    ms_fit, ms_ols : LinearRelationFit, optional
        Resolved-MS fits (censored and least squares).
    sd_fit, sd_ols : LinearRelationFit, optional
        ΣSFR–Δ(sSFR) fits.
    sd_bins : astropy.table.Table, optional
        ΣSFR–Δ(sSFR) bin means.
    ms_band_dex : float, optional
        Half-width of the main-sequence band [dex].

    Returns
    -------
    matplotlib.figure.Figure
        The two-panel figure.
    """
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5))
    plot_resolved_ms(a1, res, ms_fit, ms_ols)
    plot_sigma_delta(a2, res, sd_fit, sd_bins, ms_band_dex, sd_ols)
    fig.tight_layout()
    return fig


def plot_sizes_by_class(sizes: Table, paper: bool = True) -> plt.Figure:
    """Mean r′½ of starbursts, MS and below-MS galaxies (KROSS §4.2), paper values beside.

    Parameters
    ----------
    sizes : astropy.table.Table
        :func:`~redshift1.science.resolved.size_by_ms_position` result.
    paper : bool, optional
        Draw the paper's values (comparison only).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(5, 3.6))
    x = np.arange(len(sizes))
    ax.errorbar(x, sizes["mean_r_half_kpc"], yerr=np.nan_to_num(np.asarray(sizes["err_kpc"], float)), fmt="o",
                color="k", capsize=3, label="this work (resolved)")
    if paper:
        pv = {"starburst": KROSS_PAPER["size_starburst_kpc"], "main sequence": KROSS_PAPER["size_ms_kpc"]}
        for i, c in enumerate(sizes["class"]):
            if c in pv:
                ax.errorbar(i + 0.15, pv[c][0], yerr=pv[c][1], fmt="s", mfc="none", color=C_PAPER, capsize=3,
                            label="paper (comparison)" if c == "starburst" else None)
    ax.set_xticks(x, [f"{c}\n(n={n})" for c, n in zip(sizes["class"], sizes["n"])])
    ax.set(ylabel=r"mean r$'_{1/2}$ [kpc]", xlim=(-0.5, len(sizes) - 0.5))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_metallicity_delta(met: Table, fit=None, bins: Table | None = None, mass_min: float = 9.5,
                           mass_max: float = 10.5, ms_band_dex: float = 0.3, ols=None) -> plt.Figure:
    """KROSS Fig. 4: 12+log(O/H) vs log Δ(sSFR) at fixed mass, upper limits as arrows.

    Parameters
    ----------
    met : astropy.table.Table
        ``kross_metallicity`` (notebook 06).
    fit : LinearRelationFit, optional
        The censored fit.
    bins : astropy.table.Table, optional
        Bin means (:func:`~redshift1.science.kross_metallicity.oh_delta_bins`).
    mass_min, mass_max : float, optional
        Stellar-mass range [log Msun].
    ms_band_dex : float, optional
        Half-width of the main-sequence band [dex].
    ols : LinearRelationFit, optional
        The paper's least squares.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    logm = values(met, "logmstar")
    inm = (logm > mass_min) & (logm < mass_max)
    cls = strings(met, "nii_class")
    det, lim = inm & (cls == "detected"), inm & (cls == "upper_limit")
    x, y = values(met, "log_delta_ssfr"), values(met, "oh12")
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.axvspan(-ms_band_dex, ms_band_dex, color=C_BAND, alpha=0.35, lw=0, label=f"MS (±{ms_band_dex:g} dex)")
    ax.errorbar(x[det], y[det], yerr=values(met, "oh12_err")[det], fmt="o", ms=3, color=C_POINT, ecolor="0.8",
                elinewidth=0.6, label=f"[NII] detected ({det.sum()})")
    if lim.any():
        ax.errorbar(x[lim], y[lim], yerr=0.05, uplims=True, fmt="none", ecolor=C_UPPER, lw=0.9, alpha=0.9,
                    label=f"5σ upper limits ({lim.sum()})")
    _censored_and_ols(ax, fit, ols, "detections")
    if bins is not None:
        _bins(ax, bins, "delta_mean", "oh12_mean", "mean of detections in Δ bins")
    ax.set(xlim=(-1.6, 1.2), xlabel=r"log $\Delta$(sSFR)", ylabel="12 + log(O/H)  [PP04 N2]",
           title=f"metallicity vs distance from the MS, {mass_min:g} < log M★ < {mass_max:g}")
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    return fig


def plot_metallicity_size(met: Table, mass_edges=(9.0, 9.75, 10.25, 11.5)) -> plt.Figure:
    """12+log(O/H) vs r′½ in stellar-mass bins (KROSS §4.3), resolved [NII] detections.

    Parameters
    ----------
    met : astropy.table.Table
        ``kross_metallicity`` (notebook 06).
    mass_edges : sequence of float, optional
        Stellar-mass bin edges [log Msun].

    Returns
    -------
    matplotlib.figure.Figure
        One panel per bin.
    """
    nb = len(mass_edges) - 1
    fig, axes = plt.subplots(1, nb, figsize=(3.6 * nb, 3.4), sharey=True, squeeze=False)
    det = (strings(met, "nii_class") == "detected") & flags(met, "resolved")
    logm, r, oh = values(met, "logmstar"), values(met, "r_half_kpc"), values(met, "oh12")
    for ax, lo, hi in zip(axes[0], mass_edges[:-1], mass_edges[1:]):
        m = det & (logm >= lo) & (logm < hi)
        ax.scatter(r[m], oh[m], s=10, color=C_POINT)
        ax.set(xlabel=r"r$'_{1/2}$ [kpc]", title=f"{lo:g} ≤ log M★ < {hi:g} (n={m.sum()})")
    axes[0][0].set_ylabel("12 + log(O/H)")
    fig.tight_layout()
    return fig
