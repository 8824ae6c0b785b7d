"""The emission-line catalogue of reduced masks (ROLES §2.4-§2.5.1): detection, cleaning, fluxes.

:func:`detect_mask` turns one :class:`~redshift1.ldss3.reduce.ReducedMask` into the raw
catalogue (every group of connected pixels >= ``raw_sigma``) with flags, wavelengths,
counts and -- given a :class:`~redshift1.ldss3.standard_star.Sensitivity` -- calibrated fluxes.
:func:`detect_survey` runs it over all reduced masks of a survey and derives the spectral
aperture correction from the brightest lines. The ``status`` column says what happens to
each detection: ``adopted`` (>= ``adopt_sigma`` and clean), ``below_threshold``,
``edge``, ``sky_leak``, ``broad`` (ROLES' two artefact classes), later possibly
``multiline_rejected`` (:mod:`~redshift1.ldss3.reliability`).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table, vstack

from ..progress import progress_bar
from .detect import (DETECTION_FLAGS, clean_flags, find_lines, line_kernel, significance, spectral_width,
                     continuum_throughput)
from .continuum_profile import continuum_profiles
from .errormodel import blank_box_noise_factor
from .fluxes import box_flux, calibrate, line_continuum, profile_fwhm
from .flux_corrections import finalise_fluxes
from .line_params import FLUX_UNIT, LINE_STATUS, DetectParams
from .reduced import ReducedMask, read_reduced
from .standard_star import Sensitivity
from .registration import parabolic_peak

__all__ = ["DetectParams", "detect_mask", "detect_survey", "finalise_fluxes", "slit_throughput", "extraction_region",
           "LINE_STATUS", "FLUX_UNIT"]


def slit_throughput(red: ReducedMask, sens: Sensitivity | None, floor: float = 0.2):
    """Relative throughput (sensitivity x telluric at the mask's airmass) at every column of every slit.

    Parameters
    ----------
    red : ReducedMask
        The reduced mask (its wavelength map and airmass).
    sens : Sensitivity or None
        The flux calibration.
    floor : float
        Throughputs below this fraction of the maximum are NaN.

    Returns
    -------
    ndarray or None
        ``(n_slit, n_col)`` normalised to 1, NaN where below ``floor`` or unknown; None without ``sens``.
    """
    if sens is None:
        return None
    r = sens.response_at(red.wave, red.meta["airmass"])
    with np.errstate(invalid="ignore"):
        t = r / np.nanmax(r)
    return np.where(t >= floor, t, np.nan)


def extraction_region(red: ReducedMask) -> np.ndarray:
    """Where a line may lie: the extraction box of every slit (its rows) over the columns from its
    first to its last good pixel, masked pixels (bad columns, traps, rejected cosmic rays)
    included. Its border is the 'edge' of ROLES §2.4.1; masked pixels inside it are not.

    Parameters
    ----------
    red : ReducedMask
        The reduced mask.

    Returns
    -------
    ndarray of bool
        Same shape as ``red.good``.
    """
    good = np.asarray(red.good, bool)
    region = np.zeros_like(good)
    lo, hi = np.asarray(red.slits["box_lo"], int), np.asarray(red.slits["box_hi"], int)
    for i in range(good.shape[0]):
        cols = np.flatnonzero(good[i].any(axis=0))
        if cols.size:
            region[i, lo[i]:hi[i], cols[0]:cols[-1] + 1] = True
    return region


def _signal_peak(sb, valid, slit, row, col, half: int = 2):
    """Position of the maximum of ``sb`` within ``half`` pixels of each (row, col), valid pixels only."""
    ns, ny, nx = sb.shape
    d = np.arange(-half, half + 1)
    yy = np.clip(row[:, None, None] + d[None, :, None], 0, ny - 1)
    xx = np.clip(col[:, None, None] + d[None, None, :], 0, nx - 1)
    yy, xx = np.broadcast_arrays(yy, xx)
    vals = np.where(valid[slit[:, None, None], yy, xx], sb[slit[:, None, None], yy, xx], -np.inf)
    k = np.argmax(vals.reshape(len(slit), -1), axis=1)
    return yy.reshape(len(slit), -1)[np.arange(len(slit)), k], xx.reshape(len(slit), -1)[np.arange(len(slit)), k]


def _subpixel_col(S, b, slit, row, col):
    """Parabolic peak of ``S - b`` along x around each detection."""
    if len(slit) == 0:
        return np.zeros(0)
    prof = (S - b)[slit, row, :]
    return parabolic_peak(prof, np.asarray(col, int))


def detect_mask(red: ReducedMask, sens: Sensitivity | None = None, params: DetectParams | None = None,
                apcorr: float = 1.0, keep_maps: bool = False):
    """Raw line catalogue of one reduced mask (one row per group >= ``raw_sigma``).

    The detection never depends on the flux calibration (issue 12): without ``sens`` the
    catalogue's positions, significances and statuses are the same, and the fluxes are NaN
    (``flux_calibrated`` False).

    Parameters
    ----------
    red : ReducedMask
        One reduced mask (:func:`~redshift1.ldss3.reduced.read_reduced`).
    sens : Sensitivity, optional
        Flux calibration from the standard star; None leaves the fluxes uncalibrated.
    params : DetectParams, optional
        The detection's choices (ROLES' by default).
    apcorr : float
        Spectral aperture correction the fluxes are divided by (1 before it is measured).
    keep_maps : bool
        Also return the significance cube and friends (for figures).

    Returns
    -------
    catalogue : `~astropy.table.Table`
        One row per detection: position, wavelength, significance, box counts, flags,
        fluxes and ``status``.
    maps : dict or None
        ``S``, ``N_conv``, ``b``, ``sigma``, ``valid`` and ``throughput`` (only with ``keep_maps``).
    """
    p = params or DetectParams()
    det, thr = _significance_of_mask(red, p)
    cat = find_lines(det["sigma"], det["valid"], p.raw_sigma, p.connectivity, region=extraction_region(red))
    slit, row, col = (np.asarray(cat[k], int) for k in ("slit", "row", "col"))
    if p.centre_on_signal and len(cat):
        # the line's centre: the peak of the filtered signal S - b near the significance peak
        # (the significance peak is pulled towards the quieter pixels between sky lines)
        row, col = _signal_peak(det["S"] - det["b"], det["valid"], slit, row, col, p.centre_search)
        cat["row"], cat["col"] = row, col
    width = spectral_width(det["S"], det["b"], slit, row, col)
    xsub = _subpixel_col(det["S"], det["b"], slit, row, col)
    ncol = red.wave.shape[1]
    wave = np.array([np.interp(xx, np.arange(ncol), red.wave[i]) for i, xx in zip(slit, xsub)]) if len(slit) \
        else np.zeros(0)
    box = _box_counts(red, det, thr, slit, row, col, p)
    flags = clean_flags(cat, det, red.sky, red.box_rows, p.leak_rows, p.leak_sky_factor, p.broad_fwhm,
                        red.wave, box["counts"] / (2 * p.box_half + 1) ** 2, p.telluric_band, p.telluric_contrast,
                        leak_nsigma=p.adopt_sigma)
    out = _line_table(red, cat, slit, row, col, xsub, wave, width, flags, box, det["b"])
    fwhm_y, fwhm_y_err, box5_fraction = _line_profiles(red, box["sci"], box["continuum"], np.asarray(out["sigma"]),
                                                      slit, row, col, p)
    out["fwhm_y"] = fwhm_y * u.arcsec
    out["fwhm_y_err"] = fwhm_y_err * u.arcsec
    out["box5_fraction"] = box5_fraction
    fwhm_c, fwhm_c_err, box5_c = continuum_profiles(red, slit, row, p)
    out["fwhm_y_cont"] = fwhm_c * u.arcsec
    out["fwhm_y_cont_err"] = fwhm_c_err * u.arcsec
    out["box5_fraction_cont"] = box5_c
    if sens is not None and len(cat):
        airmass, nodtime = red.meta["airmass"], red.meta["nodtime"]
        out["flux"] = calibrate(box["counts"], wave, sens, airmass, nodtime, apcorr) * FLUX_UNIT
        out["flux_err"] = calibrate(box["counts_err"], wave, sens, airmass, nodtime, apcorr) * FLUX_UNIT
    else:
        out["flux"] = np.full(len(cat), np.nan) * FLUX_UNIT
        out["flux_err"] = np.full(len(cat), np.nan) * FLUX_UNIT
    out["flux_calibrated"] = np.full(len(cat), sens is not None)
    out["slit_registered"] = (np.asarray(red.slits["status"])[slit] != "no_sky_registration") if len(cat) \
        else np.zeros(0, bool)
    status = np.where(out["sigma"] >= p.adopt_sigma, "adopted", "below_threshold").astype("U20")
    for name in ("telluric", "broad", "sky_leak", "edge"):   # the last assignment wins: edge is the strongest
        status[(flags & DETECTION_FLAGS[name]) > 0] = name
    out["status"] = status
    maps = None
    if keep_maps:
        maps = {k: det[k] for k in ("S", "N_conv", "b", "sigma", "valid")}
        maps["throughput"] = thr
    return out, maps


def _significance_of_mask(red: ReducedMask, p: DetectParams):
    """The optimal-filter significance cube (ROLES eqs. 4-8) and the measured throughput.

    The detection never depends on the flux calibration (issue 12): the side bands follow the
    throughput measured on the mask's own galaxy continua, with or without a flux standard."""
    thr = continuum_throughput(red.sci, red.good, red.wave, red.noise, floor=0.2) if p.follow_throughput else None
    kern = line_kernel(p.fwhm_x, p.fwhm_y)
    thr_conv = None
    if thr is not None:   # the convolved frame sees the throughput through the kernel's spectral profile
        from scipy.ndimage import convolve1d
        kx = kern.sum(axis=0)
        fin = np.isfinite(thr)
        num = convolve1d(np.where(fin, thr, 0.0), kx, axis=1, mode="nearest")
        den = convolve1d(fin.astype(float), kx, axis=1, mode="nearest")
        with np.errstate(invalid="ignore", divide="ignore"):
            thr_conv = np.where(fin, num / den, np.nan)
    det = significance(np.nan_to_num(red.sci), np.nan_to_num(red.noise, nan=1.0), red.good, kern, p.sideband_inner,
                       p.sideband_outer, p.remask_sigma, p.continuum_noise, throughput=thr_conv)
    return det, thr


def _box_counts(red: ReducedMask, det: dict, thr, slit, row, col, p: DetectParams) -> dict:
    """Counts of every line in the 5 x 5 box, the wide box (aperture correction) and a taller
    wide box (aperture loss), on the unsmoothed frame with the side-band continuum removed."""
    sci = np.nan_to_num(red.sci)
    noise = np.nan_to_num(red.noise, nan=1.0)
    linemask = det["sigma"] > p.remask_sigma
    cont = line_continuum(sci, red.good, linemask, thr, p.sideband_inner, p.sideband_outer)
    counts, counts_err, n_mirrored, n_missing = box_flux(sci, noise, red.good, slit, row, col, p.box_half,
                                                         p.box_half, cont)
    # the pixel noise of a box, scaled by how much blank-sky boxes of this mask scatter beyond it
    noise_factor, _ = blank_box_noise_factor(sci, noise, red.good, det["sigma"], red.slits["box_lo"],
                                             red.slits["box_hi"], cont, p.box_half, box_flux=box_flux)
    wide, wide_err, _, n_missing_wide = box_flux(sci, noise, red.good, slit, row, col, p.box_half, p.wide_half_x,
                                                 cont)
    # a taller wide box (short of the negative nod images): the part of each bright line's light
    # the 5 x 5 box holds, whose scatter is the per-line aperture-loss term of the flux error
    big, big_err, _, n_missing_big = box_flux(sci, noise, red.good, slit, row, col, p.box_half + 1, p.wide_half_x,
                                              cont)
    return {"sci": sci, "continuum": cont, "counts": counts, "counts_err": counts_err * noise_factor,
            "noise_factor": noise_factor, "n_mirrored": n_mirrored, "n_missing": n_missing,
            "counts_wide": np.where(n_missing_wide == 0, wide, np.nan),
            "counts_wide_err": np.where(n_missing_wide == 0, wide_err * noise_factor, np.nan),
            "counts_big": np.where(n_missing_big == 0, big, np.nan),
            "counts_big_err": np.where(n_missing_big == 0, big_err * noise_factor, np.nan)}


def _line_table(red: ReducedMask, cat, slit, row, col, xsub, wave, width, flags, box: dict, background) -> Table:
    """The catalogue's columns of position, significance, flags, counts and continuum (``background``)."""
    sl = red.slits
    n = len(cat)
    out = Table()
    out["mask"] = np.full(n, red.name)
    out["field"] = np.full(n, red.field)
    out["slit_id"] = np.asarray(sl["slit_id"])[slit] if n else np.zeros(0, int)
    out["object_id"] = np.asarray(sl["object_id"])[slit] if n else np.zeros(0, str)
    for c in ("is_roles_target", "is_repeat", "is_filler"):
        out[c] = np.asarray(sl[c], bool)[slit] if n else np.zeros(0, bool)
    out["row"] = row
    out["col"] = col
    out["y_det"] = (np.asarray(sl["row0"], int)[slit] + row) * u.pix if n else np.zeros(0) * u.pix
    out["x_det"] = (np.asarray(sl["x_lo"], int)[slit] + xsub) * u.pix if n else np.zeros(0) * u.pix
    out["wavelength"] = wave * u.AA
    out["sigma"] = np.asarray(cat["sigma"], float)
    out["npix"] = np.asarray(cat["npix"], int)
    out["width"] = width * u.pix
    out["flags"] = flags
    out["counts"] = box["counts"] * u.electron
    out["counts_err"] = box["counts_err"] * u.electron
    out["box_noise_factor"] = np.full(n, box["noise_factor"])
    for c in ("counts_wide", "counts_wide_err", "counts_big", "counts_big_err"):
        out[c] = box[c] * u.electron
    out["n_mirrored"] = box["n_mirrored"]
    out["n_missing"] = box["n_missing"]
    out["continuum"] = (background[slit, row, col] if n else np.zeros(0)) * u.electron
    return out


def _line_profiles(red: ReducedMask, sci, cont, sigma, slit, row, col, p: DetectParams):
    """Spatial FWHM (arcsec, with its error) of the bright lines (seeing + size + registration)
    and the fraction of each profile inside the 5-row box, for the slit-loss correction."""
    n = len(slit)
    fwhm_y, fwhm_y_err, box5_fraction = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    nod = int(red.meta.get("nod", 6))
    for k in np.flatnonzero(sigma >= p.apcorr_min_sigma):
        cols = slice(max(col[k] - p.wide_half_x, 0), col[k] + p.wide_half_x + 1)
        prof = np.where(red.good[slit[k], :, cols], sci[slit[k], :, cols] - cont[slit[k], :, cols], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pr = np.nanmean(prof, axis=1) * prof.shape[1]
        rr = np.flatnonzero(np.isfinite(pr))
        if rr.size < 4:
            continue
        fwhm_px, amp, _, fwhm_px_err = profile_fwhm(pr[rr], rows=rr, nod=nod, full=True, with_error=True)
        fwhm_y[k] = fwhm_px * red.meta["pixscale"]
        fwhm_y_err[k] = fwhm_px_err * red.meta["pixscale"]
        lo = int(np.clip(row[k] - p.box_half, 0, pr.size))
        if amp > 0 and np.isfinite(pr[lo:row[k] + p.box_half + 1]).sum() == 2 * p.box_half + 1:
            box5_fraction[k] = float(np.sum(pr[lo:row[k] + p.box_half + 1]) / amp)
    return fwhm_y, fwhm_y_err, box5_fraction


def detect_survey(products_dir, masks, sens: Sensitivity | None, params: DetectParams | None = None,
                  progress: bool | None = None, keep_maps_for=(), apcorr_objects=None):
    """Detect lines in every reduced mask (``<products>/ldss3/<mask>_reduced.fits``).

    Two passes: the first measures the spectral aperture correction (5 of ``2 wide_half_x + 1``
    columns) on the brightest clean lines of all masks, the second calibrates with it.
    ``apcorr_objects``: object ids whose bright lines define the aperture correction (e.g.
    galaxies whose photo-z makes the line [OII], so that the correction is that of the [OII]
    doublet); all bright lines if None or too few.

    Parameters
    ----------
    products_dir : path-like
        Products folder holding ``ldss3/<mask>_reduced.fits``.
    masks : list of str
        Masks, in catalogue order.
    sens : Sensitivity or None
        Flux calibration (None: fluxes NaN, flagged ``uncalibrated``; detection unchanged).
    params : DetectParams, optional
        The detection's choices.
    progress : bool, optional
        Progress bar over the masks.
    keep_maps_for : tuple of str
        Masks whose significance maps are returned.
    apcorr_objects : set of str, optional
        Objects whose bright lines define the aperture correction.

    Returns
    -------
    catalogue : `~astropy.table.Table`
        Every detection of every mask (see :func:`detect_mask` and :func:`finalise_fluxes`).
    apcorr_info : dict
        The aperture correction, its source and scatter, the per-mask ``seeing`` table and
        the flux systematic (:func:`finalise_fluxes`).
    maps : dict
        ``{mask: (ReducedMask, maps)}`` for ``keep_maps_for``.
    """
    p = params or DetectParams()
    base = Path(products_dir) / "ldss3"
    cats, maps, median_loss = [], {}, {}
    for name in progress_bar(masks, desc="detect", disable=None if progress is None else not progress):
        red = read_reduced(base / f"{name}_reduced.fits")
        median_loss[name] = red.meta.get("median_loss", 1.0)
        cat, m = detect_mask(red, sens, p, 1.0, keep_maps=name in keep_maps_for)
        if m is not None:
            maps[name] = (red, m)
        cats.append(cat)
    cat = vstack(cats, metadata_conflicts="silent") if cats else Table()
    cat, info = finalise_fluxes(cat, sens, p, apcorr_objects, median_loss)
    return cat, info, maps
