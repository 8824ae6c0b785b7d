"""Figures of notebooks 02 and 03: KROSS Figure 1, detection statistics, sizes."""
from __future__ import annotations

import numpy as np
import astropy.units as u
import matplotlib.pyplot as plt
from astropy.table import Table

from .. import constants as C
from ..kmos.linefit import model_spectra
from ..kmos.spectra import strong_sky_lines_um


def _unit_label(unit) -> str:
    """A unit as axis-label text ("erg s⁻¹ cm⁻² µm⁻¹"); "unknown unit" when there is none."""
    if unit is None or str(unit).strip() in ("", "unknown"):
        return "unknown unit"
    try:
        return u.Unit(unit).to_string("unicode")
    except (ValueError, TypeError):
        return str(unit)


def line_flux_unit(spectra: Table) -> str:
    """The unit of the integrated line fluxes of a ``kmos_spectra`` table (its ``flux_unit``).

    Parameters
    ----------
    spectra : astropy.table.Table
        ``kmos_spectra`` (notebook 02).

    Returns
    -------
    str
        The first non-empty ``flux_unit``; ``""`` if none.
    """
    units = [str(x) for x in np.asarray(spectra["flux_unit"]) if str(x)] if "flux_unit" in spectra.colnames else []
    return units[0] if units else ""


def plot_figure1(examples: list[dict], flux_unit: str = "") -> plt.Figure:
    """KROSS Figure 1: Hα maps and rest-frame spectra of galaxies below, on and above the MS.

    Strong sky lines are shaded with the width of the resolution FWHM; the fit is overlaid;
    cyan lines mark [NII]6548, Hα, [NII]6583.

    Parameters
    ----------
    examples : list of dict
        Each: id, label, z, map (2D), spectrum (lam µm, flux, err, fit params), psf_fwhm,
        pixel_scale (:func:`figure1_examples`).
    flux_unit : str, optional
        Unit of the integrated line fluxes (:func:`line_flux_unit`); the spectra are in that
        unit per µm.

    Returns
    -------
    matplotlib.figure.Figure
        One row per example.
    """
    try:
        density = _unit_label(u.Unit(flux_unit) / u.um) if flux_unit else "unknown unit"
    except (ValueError, TypeError):
        density = "unknown unit"
    fig, axes = plt.subplots(len(examples), 2, figsize=(11, 3.0 * len(examples)),
                             gridspec_kw={"width_ratios": [1, 2.6]}, squeeze=False)
    sky = strong_sky_lines_um()
    for (a_map, a_sp), ex in zip(axes, examples):
        nb = ex["map"]
        peak = np.nanmax(np.abs(nb)) if np.isfinite(nb).any() else 0.0
        exp10 = int(np.floor(np.log10(peak))) if peak > 0 else 0
        im = a_map.imshow(nb / 10.0 ** exp10, origin="lower", cmap="magma")
        scale = f"10^{{{exp10}}} " if exp10 else ""
        fig.colorbar(im, ax=a_map, fraction=0.046, pad=0.03).set_label(
            f"Hα [${scale}$" + _unit_label(flux_unit) + "]" if exp10 else f"Hα [{_unit_label(flux_unit)}]", fontsize=7)
        circ = plt.Circle((1.5, 1.5), ex["psf_fwhm"] / 2 / ex["pixel_scale"], color="0.7", fill=False, lw=1.5)
        a_map.add_patch(circ)
        a_map.set_title(f"{ex['id']}  ({ex['label']})", fontsize=9)
        a_map.set_xticks([]), a_map.set_yticks([])
        lam, flux, err, p = ex["spectrum"]
        z = p[0]
        win = np.abs(lam / (1 + z) - C.HALPHA.to_value(u.um)) < 0.0065
        rest = lam[win] / (1 + z) * 1e4
        d = np.median(np.diff(lam))
        model = model_spectra(p[None], (lam[win] - d / 2)[None], (lam[win] + d / 2)[None], C.KMOS_RESOLUTION)[0]
        a_sp.step(rest, flux[win], where="mid", color="k", lw=0.8)
        a_sp.plot(rest, model, color="#D55E00", lw=1.2, label="fit")
        fwhm = (lam[win].mean() / C.KMOS_RESOLUTION) / (1 + z) * 1e4
        for s in sky[(sky > lam[win][0]) & (sky < lam[win][-1])]:
            a_sp.axvspan(s / (1 + z) * 1e4 - fwhm / 2, s / (1 + z) * 1e4 + fwhm / 2, color="0.8", lw=0)
        for w in (C.NII_6548, C.HALPHA, C.NII_6583):
            a_sp.axvline(w.to_value(u.AA), color="tab:cyan", lw=0.8)
        a_sp.set_ylabel(f"flux density\n[{density}]", fontsize=8)
        a_sp.text(0.01, 0.85, f"z = {z:.4f}", transform=a_sp.transAxes, fontsize=9)
    axes[-1, 1].set_xlabel("rest-frame vacuum wavelength [Å]")
    fig.tight_layout()
    return fig


def plot_detections(spectra: Table, snr_min: float = 3.0) -> plt.Figure:
    """S/N of Hα and [NII]6583, and the [NII] classes.

    Parameters
    ----------
    spectra : astropy.table.Table
        ``kmos_spectra`` (notebook 02).
    snr_min : float, optional
        Detection threshold drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
        The two-panel figure.
    """
    ok = spectra["status"] == "ok"
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    bins = np.logspace(-1, 3, 41)
    for col, lab in (("snr_halpha", "Hα"), ("snr_nii6583", "[NII]6583")):
        v = np.asarray(spectra[col][ok], float)
        ax[0].hist(np.clip(v[np.isfinite(v)], 0.1, 999), bins=bins, histtype="step", lw=1.5, label=lab)
    ax[0].axvline(snr_min, color="k", ls="--", lw=0.8)
    ax[0].set(xscale="log", xlabel="S/N of the integrated line", ylabel="galaxies")
    ax[0].legend()
    classes, counts = np.unique(np.asarray(spectra["nii_class"]), return_counts=True)
    ax[1].barh(classes, counts, color="#0072B2")
    ax[1].set(xlabel="galaxies", title="[NII]6583")
    fig.tight_layout()
    return fig


def size_check_ratios(sizes: Table) -> dict:
    """Median ratio of each cross-check size to the dynamical-centre r½ (galaxies with all three).

    Parameters
    ----------
    sizes : astropy.table.Table
        ``kmos_sizes`` (notebook 03).

    Returns
    -------
    dict
        ``{column: (median ratio, n)}`` for ``r_half_centroid_arcsec`` and ``r_half_model_arcsec``.
    """
    ok = (np.asarray(sizes["status"]) == "ok")
    r = np.asarray(sizes["r_half_arcsec"], float)
    out = {}
    for col in ("r_half_centroid_arcsec", "r_half_model_arcsec"):
        v = np.asarray(sizes[col], float)
        m = ok & np.isfinite(v) & np.isfinite(r) & (r > 0)
        out[col] = (float(np.median(v[m] / r[m])) if m.any() else np.nan, int(m.sum()))
    return out


def plot_size_checks(sizes: Table, spectra_ids=None) -> plt.Figure:
    """r½(Hα) from the dynamical centre vs the two cross-checks, and the r′½ distribution.

    Parameters
    ----------
    sizes : astropy.table.Table
        ``kmos_sizes`` (notebook 03).
    spectra_ids : optional
        Not used (kept for the callers).

    Returns
    -------
    matplotlib.figure.Figure
        The three-panel figure.
    """
    ok = (sizes["status"] == "ok") & np.isfinite(np.asarray(sizes["r_half_arcsec"], float))
    r = np.asarray(sizes["r_half_arcsec"][ok], float)
    ratios = size_check_ratios(sizes)
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.9))
    for a, col, lab in ((ax[0], "r_half_centroid_arcsec", "light-centroid centre"),
                        (ax[1], "r_half_model_arcsec", "2D Gaussian profile fit")):
        a.scatter(r, np.asarray(sizes[col][ok], float), s=10, color="#0072B2")
        lim = [0, np.nanpercentile(r, 99) * 1.2 if r.size else 2]
        a.plot(lim, lim, "k-", lw=0.8, label="1:1")
        med, n = ratios[col]
        if np.isfinite(med):
            a.plot(lim, [med * x for x in lim], "--", color="0.4", lw=0.8, label=f"median ratio {med:.3f} (n={n})")
        a.set(xlabel="r½(Hα), dynamical centre [arcsec]", ylabel=f"r½(Hα), {lab} [arcsec]", xlim=lim, ylim=lim)
        a.legend(fontsize=8, loc="upper left")
    res = ok & np.asarray(sizes["resolved"], bool)
    kpc = np.asarray(sizes["r_half_corr_kpc"], float)
    ax[2].hist(kpc[res], bins=np.linspace(0, 16, 33), histtype="stepfilled", alpha=0.6, color="#0072B2",
               label=f"resolved r′½ ({res.sum()})")
    ax[2].hist(kpc[ok & ~res], bins=np.linspace(0, 16, 33), histtype="step", lw=1.5, color="#D55E00",
               label=f"unresolved, upper limit ({(ok & ~res).sum()})")
    ax[2].set(xlabel="intrinsic r′½ [kpc]", ylabel="galaxies")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


#: how each ``extrapolation`` of notebook 03 recovers the flux beyond the IFU (legend text)
EXTRAPOLATION_LABELS = {"disc": "total of the PSF-convolved disc model",
                        "exponential": "exponential-tail extrapolation",
                        "gaussian": "Gaussian extrapolation (KROSS)"}


def plot_velocity_example(gid: str, maps, extrapolation: str = "disc", pixel_scale: float = 0.2,
                          flux_unit: str = "") -> plt.Figure:
    """Hα map, velocity field and curve of growth of one galaxy.

    Parameters
    ----------
    gid : str
        Galaxy id (title).
    maps : tuple
        ``(nb, nb_err, velocity_field, size_measurement)``.
    extrapolation : str, optional
        The method that set the total flux (notebook 03's parameter; the legend says which).
    pixel_scale : float, optional
        Spaxel size [arcsec].
    flux_unit : str, optional
        Unit of the Hα map (:func:`line_flux_unit`).

    Returns
    -------
    matplotlib.figure.Figure
        The three-panel figure.
    """
    nb, nb_err, vf, sm = maps
    unit = _unit_label(flux_unit) if flux_unit else "map units"
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.9))
    ny, nx = np.shape(nb)
    ext = (-0.5 * nx * pixel_scale, 0.5 * nx * pixel_scale, -0.5 * ny * pixel_scale, 0.5 * ny * pixel_scale)
    im = ax[0].imshow(nb, origin="lower", cmap="magma", extent=ext)
    fig.colorbar(im, ax=ax[0], label=f"Hα per spaxel [{unit}]")
    ax[0].set(title=f"{gid}: Hα", xlabel="x [arcsec]", ylabel="y [arcsec]")
    v = np.where(vf.good, vf.velocity, np.nan)
    vmax = np.nanmax(np.abs(v)) if np.isfinite(v).any() else 1.0
    im = ax[1].imshow(v, origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax, extent=ext)
    fig.colorbar(im, ax=ax[1], label="line-of-sight velocity [km s⁻¹]")
    ax[1].set(title="velocity field (spaxels above the S/N threshold)", xlabel="x [arcsec]")
    ax[1].title.set_fontsize(10)
    ax[2].errorbar(sm.radii * pixel_scale, sm.cog, sm.cog_err, fmt="o", ms=3, color="k", label="curve of growth")
    label = EXTRAPOLATION_LABELS.get(extrapolation, extrapolation)
    if sm.total_model > sm.total_measured * (1 + 1e-9):
        ax[2].axhline(sm.total_model, color="#D55E00", ls="--", lw=1,
                      label=f"total flux: {label}\n({sm.total_measured / sm.total_model:.0%} of it inside the IFU)")
    else:
        ax[2].axhline(sm.total_model, color="#D55E00", ls="--", lw=1, label="total: the measured flux (no extrapolation)")
    ax[2].axvline(sm.r_half * pixel_scale, color="#0072B2", lw=1, label=f"r½ = {sm.r_half * pixel_scale:.2f}″")
    ax[2].set(xlabel="semi-major axis [arcsec]", ylabel=f"enclosed Hα flux [{unit}]", title="curve of growth")
    top = np.nanmax(np.r_[sm.cog + sm.cog_err, sm.total_model])
    ax[2].set_ylim(top=1.3 * top if np.isfinite(top) and top > 0 else None)
    ax[2].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def figure1_examples(sfr: Table, spectra: Table, arrays: dict, psf_fwhm: dict, snr_min: float = 10.0) -> list[dict]:
    """Three well-detected galaxies closest to log Δ(sSFR) = −0.4, 0 and +0.4 (below, on and
    above the main sequence) with what :func:`plot_figure1` draws.

    Parameters
    ----------
    sfr : astropy.table.Table
        ``kross_sfr`` (``log_delta_ssfr``, ``snr_halpha``).
    spectra : astropy.table.Table
        ``kmos_spectra``.
    arrays : dict
        ``{id: {"map", "spectrum", "pixel_scale"}}`` saved by notebook 02.
    psf_fwhm : dict
        ``{id: PSF FWHM [arcsec]}`` (0.6 where missing).
    snr_min : float, optional
        Hα S/N of a well-detected galaxy (any galaxy if none reaches it).

    Returns
    -------
    list of dict
        Up to three examples.
    """
    ld = np.asarray(sfr["log_delta_ssfr"], float)
    snr = np.asarray(sfr["snr_halpha"], float)
    ids = np.asarray(sfr["id"]).astype(str)
    ok = np.isfinite(ld) & (snr > snr_min) & np.isin(ids, list(arrays))
    if not ok.any():
        ok = np.isfinite(ld) & np.isin(ids, list(arrays))
    out, used = [], set()
    for target in (-0.4, 0.0, 0.4):
        cand = np.flatnonzero(ok & ~np.isin(ids, list(used)))
        if cand.size == 0:
            break
        i = cand[np.argmin(np.abs(ld[cand] - target))]
        gid = ids[i]
        used.add(gid)
        a = arrays[gid]
        # the label says where the galaxy found actually lies (halfway between the targets: ±0.2 dex)
        label = "below the MS" if ld[i] < -0.2 else "above the MS" if ld[i] > 0.2 else "on the MS"
        out.append({"id": gid, "label": f"{label}, log Δ = {ld[i]:+.2f}", "map": a["map"][0], "spectrum": a["spectrum"],
                    "psf_fwhm": psf_fwhm.get(gid, 0.6), "pixel_scale": a["pixel_scale"]})
    return out
