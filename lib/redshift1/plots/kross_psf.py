"""Figures of notebook 01 (KMOS PSF): a collapsed star with its fit, the PSF per spectrograph."""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.patches import Ellipse
from matplotlib.transforms import blended_transform_factory
from astropy.table import Table
from astropy.visualization import AsinhStretch, ImageNormalize

from ..validation.paper import KROSS_PSF

SPEC_COLORS = {1: "#0072B2", 2: "#E69F00", 3: "#009E73"}   # Okabe & Ito: colour-blind safe


def _ellipse(fit, **kw) -> Ellipse:
    """The FWHM ellipse of a :class:`~redshift1.kmos.psf.PSFFit`, in spaxel coordinates."""
    pix = fit.pixel_scale
    return Ellipse((fit.x0, fit.y0), width=fit.fwhm_major / pix, height=fit.fwhm_minor / pix,
                   angle=fit.pa, fill=False, **kw)


def plot_psf_star(image: np.ndarray, fit, noise: np.ndarray | None = None, title: str = "") -> plt.Figure:
    """Collapsed star, fitted model and normalised residual, with the FWHM ellipse.

    Parameters
    ----------
    image, noise : ndarray (ny, nx)
        The σ-clipped collapse of the star cube and its 1σ noise.
    fit : PSFFit
        The fit of ``image`` (:func:`redshift1.kmos.psf.fit_psf`).
    title : str
        Figure title (e.g. pointing and spectrograph).
    """
    model = fit.model_image(image.shape)
    panels = 3 if model is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(3.6 * panels + 0.6, 3.6), squeeze=False)
    axes = axes[0]
    vmax = np.nanmax(image)
    if not np.isfinite(vmax) or vmax <= 0:
        vmax = 1.0
    image = image / vmax                       # show in units of the peak
    model = None if model is None else model / vmax
    noise = None if noise is None else noise / vmax
    norm = ImageNormalize(vmin=-0.02, vmax=1.0, stretch=AsinhStretch(0.05))
    im = axes[0].imshow(image, origin="lower", cmap="magma", norm=norm)
    axes[0].set_title("collapsed star / peak", fontsize=10)
    fig.colorbar(im, ax=axes[0], fraction=0.046, pad=0.03)
    if fit.ok or np.isfinite(fit.fwhm):
        axes[0].add_patch(_ellipse(fit, color="cyan", lw=1.5))
        axes[0].plot(fit.x0, fit.y0, "+", color="cyan", ms=10)
        axes[0].text(0.03, 0.03, f"FWHM {fit.fwhm:.3f}″  HWHM {fit.hwhm:.3f}″\n"
                                 f"e = {fit.ellipticity:.3f}  PA {fit.pa:.0f}°",
                     transform=axes[0].transAxes, color="w", fontsize=8, va="bottom")
    if model is not None:
        im = axes[1].imshow(model, origin="lower", cmap="magma", norm=norm)
        axes[1].add_patch(_ellipse(fit, color="cyan", lw=1.5))
        axes[1].set_title("elliptical Gaussian fit", fontsize=10)
        fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.03)
        resid = (image - model) / (noise if noise is not None else np.nanstd(image - model))
        lim = max(3.0, np.nanpercentile(np.abs(resid), 99))
        im = axes[2].imshow(resid, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[2].set_title("(data − model) / noise", fontsize=10)
        fig.colorbar(im, ax=axes[2], fraction=0.046, pad=0.03)
    for ax in axes:
        ax.set_xlabel("x [spaxel]")
    axes[0].set_ylabel("y [spaxel]")
    if title:
        fig.suptitle(f"{title} — status: {fit.status}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_psf_per_spectrograph(table: Table, per_spectrograph: Table | None = None) -> plt.Figure:
    """HWHM and ellipticity of every PSF star, per pointing, coloured by spectrograph.

    Horizontal dashed lines: the mean of each spectrograph; shaded: the ranges KROSS reports
    (HWHM 0.23–0.42″ with mean 0.31″, §2; ellipticity 0.05–0.1 for spectrographs 1–2 and
    0.1–0.2 for 3, §3.2). Stars whose fit failed are marked at the bottom with ×.

    Parameters
    ----------
    table : astropy.table.Table
        The PSF-star table (notebook 01).
    per_spectrograph : astropy.table.Table, optional
        :func:`~redshift1.kmos.psf_stars.psf_per_spectrograph` result; default from the ok rows of ``table``.

    Returns
    -------
    matplotlib.figure.Figure
        The two-panel figure.
    """
    pointings = list(dict.fromkeys(np.asarray(table["pointing"]).astype(str)))
    ix = {p: i for i, p in enumerate(pointings)}
    ok = np.asarray(table["status"]) == "ok"
    spec = np.asarray(table["spectrograph"])
    xpos = np.array([ix[p] for p in np.asarray(table["pointing"]).astype(str)], dtype=float)
    width = max(6.0, min(16.0, 0.35 * len(pointings) + 4))
    fig, axes = plt.subplots(2, 1, figsize=(width, 6.4), sharex=True)
    for ax, name, label in ((axes[0], "hwhm", "PSF HWHM [arcsec]"), (axes[1], "ellipticity", "ellipticity 1 − b/a")):
        vals = np.asarray(table[name], dtype=float)
        errs = np.asarray(table[f"{name}_err"], dtype=float) if f"{name}_err" in table.colnames else None
        for k in sorted(set(spec.tolist())):
            m = ok & (spec == k)
            off = (k - 2) * 0.18
            ax.errorbar(xpos[m] + off, vals[m], yerr=None if errs is None else errs[m], fmt="o", ms=4,
                        color=SPEC_COLORS.get(k, "k"), label=f"spectrograph {k} (n={m.sum()})")
            mean = np.mean(vals[m]) if m.any() else np.nan
            if per_spectrograph is not None and f"{name}_mean" in per_spectrograph.colnames:
                row = np.asarray(per_spectrograph["spectrograph"]) == k
                mean = float(per_spectrograph[f"{name}_mean"][row][0]) if row.any() else np.nan
            if np.isfinite(mean):
                ax.axhline(mean, color=SPEC_COLORS.get(k, "k"), lw=1, ls="--")
            bad = (~ok) & (spec == k)
            if bad.any():   # failed stars: × at the bottom of the panel
                ax.plot(xpos[bad] + off, np.full(bad.sum(), 0.03), "x", color=SPEC_COLORS.get(k, "k"), ms=7,
                        transform=blended_transform_factory(ax.transData, ax.transAxes),
                        label=f"spectrograph {k}: fit failed ({bad.sum()})")
        ax.set_ylabel(label)
    axes[0].axhspan(*KROSS_PSF["hwhm_range"], color="0.85", zorder=0, label="KROSS range (§2)")
    axes[0].axhline(KROSS_PSF["hwhm_mean"], color="0.4", lw=1, zorder=0, label=f"KROSS mean {KROSS_PSF['hwhm_mean']:g}″")
    for k, (lo, hi) in KROSS_PSF["ellipticity"].items():
        axes[1].axhspan(lo, hi, color=SPEC_COLORS[k], alpha=0.08, zorder=0)
    axes[1].text(1.005, 0.075, "KROSS 1–2", transform=axes[1].get_yaxis_transform(), fontsize=7, va="center")
    axes[1].text(1.005, 0.15, "KROSS 3", transform=axes[1].get_yaxis_transform(), fontsize=7, va="center")
    axes[1].set_ylim(bottom=0)
    axes[0].legend(fontsize=7, ncol=3, loc="upper left", bbox_to_anchor=(0, 1.22))
    axes[1].set_xticks(range(len(pointings)))
    axes[1].set_xticklabels(pointings, rotation=60 if len(pointings) > 4 else 0, ha="right" if len(pointings) > 4 else "center",
                            fontsize=7)
    axes[1].set_xlabel("pointing")
    fig.tight_layout()
    return fig
