"""Figures of notebook 07 (LDSS3 nod-and-shuffle reduction): one function per figure, each
returning a Figure. Figure numbers in the docstrings are those of Gilbank et al. (2010).
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from astropy.table import Table

__all__ = ["plot_charge_traps", "plot_reduction_steps", "plot_registration"]


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
