"""Figures of notebook 08 ([OII] line detection): one function per figure, each returning a
Figure. Figure numbers in the docstrings are those of Gilbank et al. (2010).
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import Table
from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

from . import OKABE_ITO, no_data_message

C_ADOPT = OKABE_ITO[6]    # vermillion: the adoption threshold
C_MAIN = OKABE_ITO[5]     # blue

__all__ = ["plot_sensitivity", "plot_detection_gallery", "plot_repeat_reliability", "plot_multiline",
           "plot_flux_repeatability"]


def _log_sigma_axis(ax, hi: float) -> None:
    """A log significance axis from 2.8σ with plain labels that do not overlap."""
    ax.set_xscale("log")
    ax.set_xlim(2.8, max(60.0, hi))
    ticks = [t for t in (3, 4, 5, 7, 10, 20, 40, 70, 100, 200, 400) if t <= max(60.0, hi)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_sensitivity(sens):
    """Flux calibration from the standard star: response and the telluric A band.

    Parameters
    ----------
    sens : redshift1.ldss3.standard_star.Sensitivity
        The sensitivity function.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(sens.wave, sens.response, lw=0.8, label="observed (star / known spectrum)")
    axes[0].plot(sens.wave, sens.smooth, lw=1.2, label="smooth (A band interpolated)")
    axes[0].set(xlabel="vacuum wavelength [Å]", ylabel="e⁻ s⁻¹ per erg s⁻¹ cm⁻²",
                title=f"{sens.star} through {sens.mask} slit {sens.slit_id} (airmass {sens.airmass:.2f})")
    axes[0].legend(fontsize=8)
    sel = (sens.wave > 7500) & (sens.wave < 7750)
    axes[1].plot(sens.wave[sel], (sens.response / sens.smooth)[sel], lw=0.8, label="observed / smooth")
    axes[1].plot(sens.wave[sel], sens.telluric[sel], lw=1.2, label="adopted A-band transmission")
    axes[1].set(xlabel="vacuum wavelength [Å]", ylabel="transmission", title="telluric O₂ A band")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_detection_gallery(red, maps, lines: Table, n: int = 8, adopt_sigma: float = 4.0):
    """ROLES Fig. 4: smoothed 1-D spectra around detections (decreasing significance), with the
    continuum, its ±1σ band and the 4σ level, and the smoothed/unsmoothed 2-D spectra.

    Parameters
    ----------
    red : redshift1.ldss3.reduce.ReducedMask
        The reduced mask.
    maps : dict
        Its :func:`~redshift1.ldss3.detect.significance` maps (``S``, ``b``, ``N_conv``, ...).
    lines : astropy.table.Table
        The line catalogue.
    n : int, optional
        Detections shown (spread over the significance range).
    adopt_sigma : float, optional
        Adoption threshold drawn.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    sel = lines[(np.asarray(lines["mask"]) == red.name) & (np.asarray(lines["status"]) == "adopted")]
    sel.sort("sigma", reverse=True)
    if len(sel) > n:  # spread over the significance range
        idx = np.unique(np.round(np.linspace(0, len(sel) - 1, n)).astype(int))
        sel = sel[idx]
    ncol = 2
    nrow = max(1, int(np.ceil(len(sel) / ncol)))
    height = 3.2 * nrow + 0.6
    fig = plt.figure(figsize=(11, height))
    outer = fig.add_gridspec(nrow, ncol, hspace=0.42, wspace=0.2, top=1 - 0.5 / height)
    if len(sel) == 0:
        no_data_message(fig.add_subplot(outer[0, :]), f"no adopted line on {red.name}")
        return fig
    sid = np.asarray(red.slits["slit_id"])
    for k, r in enumerate(sel):
        i = int(np.flatnonzero(sid == r["slit_id"])[0])
        row, col = int(r["row"]), int(r["col"])
        c0, c1 = max(col - 60, 0), min(col + 61, red.sci.shape[2])
        wv = red.wave[i, c0:c1]
        gr, gc = divmod(k, ncol)
        inner = outer[gr, gc].subgridspec(4, 1, hspace=0.08)
        ax = fig.add_subplot(inner[0:2])
        S = maps["S"][i, row, c0:c1]
        b = maps["b"][i, row, c0:c1]
        nc = maps["N_conv"][i, row, c0:c1]
        ax.plot(wv, S, color="k", lw=1.5, label="smoothed spectrum")
        ax.plot(wv, b, color=C_MAIN, lw=1, label="continuum")
        ax.plot(wv, b + nc, "--", color=C_MAIN, lw=0.7, label="continuum ± 1σ")
        ax.plot(wv, b - nc, "--", color=C_MAIN, lw=0.7)
        ax.plot(wv, b + adopt_sigma * nc, ":", color=C_ADOPT, lw=1, label=f"{adopt_sigma:g}σ level")
        ax.set_title(f"{r['mask']} slit {r['slit_id']}: {r['sigma']:.1f}σ at {r['wavelength']:.1f} Å", fontsize=8,
                     loc="left")
        ax.set_xlim(wv[0], wv[-1])
        ax.tick_params(labelsize=7, labelbottom=False)
        if gc == 0:
            ax.set_ylabel("signal [e⁻]", fontsize=7)
        if k == 0:
            fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncol=4, fontsize=8, frameon=False,
                       bbox_to_anchor=(0.5, 1.0))
        for j, (img, lab) in enumerate(((maps["S"][i, :, c0:c1], "smoothed"), (red.sci[i, :, c0:c1], "unsmoothed"))):
            a2 = fig.add_subplot(inner[2 + j], sharex=ax)
            good = red.good[i, :, c0:c1]
            im = np.where(good, img, np.nan)
            fin = im[np.isfinite(im)]
            v = np.percentile(np.abs(fin), 98) if fin.size else 1
            a2.imshow(np.ma.masked_invalid(im), origin="lower", aspect="auto", cmap="gray", vmin=-v, vmax=v,
                      extent=(wv[0], wv[-1], -0.5, img.shape[0] - 0.5), interpolation="nearest")
            a2.set_yticks([])
            a2.tick_params(labelsize=7, labelbottom=(j == 1))
            a2.text(0.01, 0.88, lab, transform=a2.transAxes, fontsize=7, color="k", va="top",
                    bbox=dict(fc="w", ec="none", alpha=0.85, pad=1.0))
        a2.set_xlabel("vacuum wavelength [Å]", fontsize=7)
    return fig


def _cumulative(ax, sig, **kw):
    s = np.sort(np.asarray(sig, float))
    if s.size:
        ax.step(s, np.arange(1, s.size + 1) / s.size, where="post", **kw)


def plot_repeat_reliability(rep: Table, adopt_sigma: float = 4.0):
    """ROLES Fig. 5: significance of lines reproduced (solid) or not (dashed) on repeated slits.

    Parameters
    ----------
    rep : astropy.table.Table
        :func:`~redshift1.ldss3.reliability.repeat_matches` result.
    adopt_sigma : float, optional
        Adoption threshold drawn.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    if len(rep) == 0:
        no_data_message(ax, "No repeated slits in this survey:\nno object has slits on more than one mask,\n"
                            "so reproducibility cannot be measured here\n(the paper preset has repeats).")
        ax.set_title("ROLES Fig. 5: reproducibility of lines on repeated slits", fontsize=10)
        return fig
    ok = np.asarray(rep["reproduced"], bool)
    sig = np.asarray(rep["sigma"], float)
    _cumulative(ax, sig[ok], color="k", label=f"reproduced ({ok.sum()})")
    _cumulative(ax, sig[~ok], color="k", ls="--", label=f"not reproduced ({(~ok).sum()})")
    ax.axvline(adopt_sigma, color=C_ADOPT, lw=1, label=f"adopted threshold ({adopt_sigma:g}σ)")
    _log_sigma_axis(ax, sig.max())
    ax.set(xlabel="significance [σ]", ylabel="cumulative fraction")
    ax.legend(loc="lower right", fontsize=8)
    ins = ax.inset_axes([0.55, 0.38, 0.4, 0.33])
    bins = np.arange(3, 10.5, 0.5)
    ins.hist(sig[ok], bins, histtype="step", color="k")
    ins.hist(sig[~ok], bins, histtype="step", color="k", ls="--")
    ins.tick_params(labelsize=7)
    ins.set_xlabel("significance [σ]", fontsize=7)
    ins.set_ylabel("lines", fontsize=7)
    return fig


def plot_multiline(lines: Table, adopt_sigma: float = 4.0):
    """ROLES Fig. 6: significance of lines in multi-line slits: consistent (solid) vs spurious
    (dashed; at most one per slit).

    Parameters
    ----------
    lines : astropy.table.Table
        The line catalogue (``multiline``, ``sigma``).
    adopt_sigma : float, optional
        Adoption threshold drawn.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ml = np.asarray(lines["multiline"]) if "multiline" in lines.colnames else np.zeros(len(lines), str)
    sig = np.asarray(lines["sigma"], float)
    cons = ml == "consistent"
    spur_idx, seen = [], set()
    for i in np.flatnonzero(ml == "spurious"):
        k = (lines["mask"][i], int(lines["slit_id"][i]))
        if k not in seen:
            seen.add(k)
            spur_idx.append(i)
    sp = sig[np.asarray(spur_idx, int)]
    if not (cons.any() or sp.size):
        no_data_message(ax, "No slit in this survey has more than one line:\nthe multi-line test has nothing to test.")
        return fig
    _cumulative(ax, sig[cons], color="k", label=f"consistent redshift ({cons.sum()})")
    _cumulative(ax, sp, color="k", ls="--", label=f"spurious, ≤1 per slit ({sp.size})")
    ax.axvline(adopt_sigma, color=C_ADOPT, lw=1, label=f"adopted threshold ({adopt_sigma:g}σ)")
    _log_sigma_axis(ax, sig.max() if sig.size else 60)
    ax.set(xlabel="significance [σ]", ylabel="cumulative fraction")
    ax.legend(loc="lower right", fontsize=8)
    ins = ax.inset_axes([0.55, 0.38, 0.4, 0.33])
    bins = np.arange(3, 10.5, 0.5)
    ins.hist(sig[cons], bins, histtype="step", color="k")
    ins.hist(sp, bins, histtype="step", color="k", ls="--")
    ins.tick_params(labelsize=7)
    ins.set_xlabel("significance [σ]", fontsize=7)
    ins.set_ylabel("lines", fontsize=7)
    return fig


def plot_flux_repeatability(rep: Table, pulls, width: float):
    """ROLES Fig. 10: flux differences of lines reproduced on different masks; inset: pulls.

    Parameters
    ----------
    rep : astropy.table.Table
        :func:`~redshift1.ldss3.reliability.repeat_matches` result.
    pulls : array_like
        :func:`~redshift1.ldss3.reliability.flux_pulls` pulls.
    width : float
        Their clipped width.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ok = np.asarray(rep["reproduced"], bool) & np.isfinite(np.asarray(rep["flux_other"], float)) if len(rep) else []
    if not (len(rep) and np.any(ok)):
        no_data_message(ax, "No line was reproduced on a second mask in this survey\n"
                            "(no repeated slits), so flux repeatability cannot be measured here.")
        ax.set_title("ROLES Fig. 10: flux repeatability", fontsize=10)
        return fig
    f1 = np.asarray(rep["flux"], float)[ok] / 1e-17
    f2 = np.asarray(rep["flux_other"], float)[ok] / 1e-17
    e = np.hypot(np.asarray(rep["flux_err"], float)[ok], np.asarray(rep["flux_err_other"], float)[ok]) / 1e-17
    ax.errorbar(0.5 * (f1 + f2), f1 - f2, yerr=e, fmt="o", ms=3, color="k", elinewidth=0.6)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set(xlabel="mean flux [10⁻¹⁷ erg s⁻¹ cm⁻²]", ylabel="flux difference [10⁻¹⁷ erg s⁻¹ cm⁻²]")
    ins = ax.inset_axes([0.6, 0.62, 0.37, 0.33])
    if len(pulls):
        bins = np.linspace(-5, 5, 21)
        ins.hist(pulls, bins, histtype="step", color="k")
        if np.isfinite(width):
            x = np.linspace(-5, 5, 200)
            ins.plot(x, len(pulls) * (bins[1] - bins[0]) * np.exp(-0.5 * (x / width) ** 2) / (np.sqrt(2 * np.pi) * width),
                     color=C_ADOPT, lw=1)
        ins.set_title(f"difference / error: width {width:.2f}", fontsize=7)
    ins.tick_params(labelsize=7)
    return fig


#: the three cases of ROLES Fig. 8: (target raw P([OII]), what it shows)
