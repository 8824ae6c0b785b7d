"""Figures of the ROLES walk (notebooks 07-10): one function per figure, each returning a Figure.

Figure numbers in the docstrings are those of Gilbank et al. (2010).
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import Table
from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

from . import OKABE_ITO

C_ADOPT = OKABE_ITO[6]    # vermillion: the adoption threshold
C_MAIN = OKABE_ITO[5]     # blue

__all__ = ["plot_charge_traps", "plot_reduction_steps", "plot_registration", "plot_sensitivity",
           "plot_detection_gallery", "plot_repeat_reliability", "plot_multiline", "plot_flux_repeatability",
           "plot_pdf_examples", "plot_summed_nz", "plot_completeness", "plot_flux_limit", "plot_lf",
           "plot_sfrd", "plot_sfrd_best"]


def no_data_message(ax, text: str) -> None:
    """Turn ``ax`` into a framed message (a figure whose data do not exist in this run).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to replace.
    text : str
        The message.

    Returns
    -------
    None
        Draws on ``ax``.
    """
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_color("0.7")
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10, wrap=True,
            bbox=dict(boxstyle="round,pad=0.6", fc="0.95", ec="0.6"))


def _log_sigma_axis(ax, hi: float) -> None:
    """A log significance axis from 2.8σ with plain labels that do not overlap."""
    ax.set_xscale("log")
    ax.set_xlim(2.8, max(60.0, hi))
    ticks = [t for t in (3, 4, 5, 7, 10, 20, 40, 70, 100, 200, 400) if t <= max(60.0, hi)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _imshow(ax, img, title, cmap="gray", vmin=None, vmax=None, extent=None):
    a = np.asarray(img, float)
    if vmin is None or vmax is None:
        fin = a[np.isfinite(a)]
        lo, hi = (np.percentile(fin, [2, 98]) if fin.size else (0, 1))
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    cm = plt.get_cmap(cmap).copy()
    cm.set_bad("#d9d9ff")
    im = ax.imshow(np.ma.masked_invalid(a), origin="lower", cmap=cm, vmin=vmin, vmax=vmax, aspect="auto",
                   interpolation="nearest", extent=extent)
    ax.set_title(title, fontsize=9)
    return im


def plot_charge_traps(traps, bpm, dark=None, half: int = 12):
    """The charge-trap mask (ROLES §2.3.2): where the traps are, and the N&S dark around the
    strongest streak with the flagged pixels outlined.

    Parameters
    ----------
    traps : numpy.ndarray
        bool charge-trap mask.
    bpm : numpy.ndarray
        bool bad-pixel mask.
    dark : numpy.ndarray, optional
        The combined N&S dark (right panel; a message without it).
    half : int, optional
        Half-size of the cut-out around the streak [pixel].

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [2, 1]})
    ny, nx = traps.shape
    ys, xs = np.nonzero(traps)
    by, bx = np.nonzero(bpm)
    axes[0].scatter(bx, by, s=0.2, c="0.7", label="bad-pixel mask", rasterized=True)
    axes[0].scatter(xs, ys, s=2, c="C3", label="charge traps (from the N&S darks)")
    axes[0].set(xlim=(0, nx), ylim=(0, ny), xlabel="x [px]", ylabel="y [px] (shuffle direction)")
    axes[0].legend(loc="upper right", fontsize=8, markerscale=4)
    if dark is not None and xs.size:
        d = np.asarray(dark, float)
        vals = np.where(traps, d, -np.inf)
        y0, x0 = np.unravel_index(np.argmax(vals), vals.shape)
        ya, yb = max(y0 - half, 0), min(y0 + 2 * half, ny)
        xa, xb = max(x0 - half, 0), min(x0 + half + 1, nx)
        ext = (xa - 0.5, xb - 0.5, ya - 0.5, yb - 0.5)
        im = _imshow(axes[1], d[ya:yb, xa:xb], "N&S dark around the strongest trap", "gray", -10, 60, ext)
        fig.colorbar(im, ax=axes[1], label="dark [e⁻]")
        axes[1].contour(np.arange(xa, xb), np.arange(ya, yb), traps[ya:yb, xa:xb].astype(float), [0.5],
                        colors="C3", linewidths=0.8)
        axes[1].set(xlabel="x [px]", ylabel="y [px]")
    else:
        axes[1].set_visible(False)
    fig.suptitle(f"{int(traps.sum())} charge-trap pixels in {np.unique(xs).size} columns; "
                 f"{int(bpm.sum())} pixels in the bad-pixel mask", fontsize=10)
    fig.tight_layout()
    return fig


def plot_reduction_steps(cut: dict):
    """ROLES Fig. 3: a) raw exposure, b) N&S sky-subtracted, c) combined, d) A'-B', e) noise, f) S/N.

    Parameters
    ----------
    cut : dict
        Cut-outs of the reduction stages with their origin ``x0``, ``y0``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, axes = plt.subplots(2, 3, figsize=(11, 7.5), sharex=True, sharey=True)
    x0, y0 = cut["x0"], cut["y0"]
    h, w = np.shape(cut["combined"])
    ext = (x0 - 0.5, x0 + w - 0.5, y0 - 0.5, y0 + h - 0.5)
    comb = np.asarray(cut["combined"], float)
    fin = comb[np.isfinite(comb)]
    s = np.percentile(np.abs(fin), 95) if fin.size else 1.0
    panels = [("a) raw exposure", cut["raw"], None, None, "gray", "e⁻"),
              ("b) sky-subtracted (shift by SHUFFLE, subtract)", cut["sky_subtracted"], -2 * s, 2 * s, "gray", "e⁻"),
              ("c) median of the exposures, 5σ rejection", comb, -s, s, "gray", "e⁻"),
              ("d) A' − B' (shift by the nod, subtract)", cut["nod_combined"], -s, 1.5 * s, "gray", "e⁻"),
              ("e) noise (sky + 2R², combined)", cut["noise"], None, None, "viridis", "e⁻"),
              ("f) significance (3σ black → 7σ white)", cut["significance"], 3, 7, "gray", "σ")]
    for ax, (t, img, lo, hi, cm, unit) in zip(axes.ravel(), panels):
        if img is None:
            ax.set_visible(False)
            continue
        im = _imshow(ax, img, t, cm, lo, hi, ext)
        fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02).set_label(unit, fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("x [px]")
    for ax in axes[:, 0]:
        ax.set_ylabel("y [px]")
    wv = cut.get("wave")
    sub = f"; {wv[0]:.0f}–{wv[-1]:.0f} Å" if wv is not None and len(wv) else ""
    fig.suptitle(f"{cut['mask']}: slits {', '.join(map(str, cut['slit_ids']))}{sub}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_registration(exposures: Table):
    """Measured flexure (sky lines in x, slit edges in y) and galaxy drift, per exposure.

    Parameters
    ----------
    exposures : astropy.table.Table
        Per-exposure registration (``flex_dx``, ``flex_dy``, ``drift_dy``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    fig, ax = plt.subplots(figsize=(9, 3.5))
    n = np.arange(len(exposures))
    ax.plot(n, exposures["flex_dx"], "o", ms=3, label="flexure x (sky lines)")
    ax.plot(n, exposures["flex_dy"], "s", ms=3, label="flexure y (slit tracing)")
    ax.plot(n, exposures["drift_dy"], "^", ms=3, label="galaxy drift y (bright lines)")
    masks = np.asarray(exposures["mask"])
    for i in np.flatnonzero(np.r_[True, masks[1:] != masks[:-1]]):
        ax.axvline(i - 0.5, color="0.85", lw=0.8)
        ax.text(i, 1.5, masks[i], fontsize=7, rotation=90, va="top")
    ax.axhline(0.5, color="0.6", ls=":", lw=0.8)
    ax.axhline(-0.5, color="0.6", ls=":", lw=0.8)
    ax.set(xlabel="exposure", ylabel="shift [px]", ylim=(-1.6, 1.6))
    ax.legend(fontsize=7, ncol=3, loc="lower right")
    fig.tight_layout()
    return fig


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


def _sfrd_points(ax, t, fmt, label, mfc="k", color="k", offset=0.0):
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
            _sfrd_points(ax, t[np.asarray(t["field"]) == f], fmt, f if f != "HIGHMASS" else "higher-mass sample",
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
    _sfrd_points(ax, t[np.asarray(t["field"]) == "CDFS"], "o", "CDFS (G10-corrected [OII])")
    _sfrd_points(ax, t[np.asarray(t["field"]) == "FIRES"], "s", "FIRES", mfc="none")
    _sfrd_points(ax, t[np.asarray(t["field"]) == "HIGHMASS"], "D", "higher-mass sample", mfc="none", color="C0")
    ax.set(xlabel="log M* [M☉]", ylabel="ρ_SFR [M☉ yr⁻¹ Mpc⁻³ dex⁻¹]", yscale="log", xlim=(8.3, 11.5))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
