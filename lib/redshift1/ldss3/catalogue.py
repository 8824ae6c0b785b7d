"""The emission-line catalogue of reduced masks (ROLES §2.4-§2.5.1): detection, cleaning, fluxes.

:func:`detect_mask` turns one :class:`~redshift1.ldss3.reduce.ReducedMask` into the raw
catalogue (every group of connected pixels >= ``raw_sigma``) with flags, wavelengths,
counts and -- given a :class:`~redshift1.ldss3.fluxes.Sensitivity` -- calibrated fluxes.
:func:`detect_survey` runs it over all reduced masks of a survey and derives the spectral
aperture correction from the brightest lines. The ``status`` column says what happens to
each detection: ``adopted`` (>= ``adopt_sigma`` and clean), ``below_threshold``,
``edge``, ``sky_leak``, ``broad`` (ROLES' two artefact classes), later possibly
``multiline_rejected`` (:mod:`~redshift1.ldss3.reliability`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table, vstack

from ..constants import MAD_TO_SIGMA
from ..progress import progress_bar
from .detect import (DETECTION_FLAGS, clean_flags, find_lines, line_kernel, significance, spectral_width,
                     continuum_throughput)
from .errormodel import blank_box_noise_factor, total_flux_error
from .fluxes import (Sensitivity, analytic_aperture_correction, aperture_correction, box_flux, calibrate,
                     line_continuum, profile_fwhm)
from .reduce import ReducedMask, read_reduced
from .registration import parabolic_peak

__all__ = ["DetectParams", "detect_mask", "detect_survey", "finalise_fluxes", "seeing_correction", "slit_throughput",
           "extraction_region", "line_doubts", "LINE_STATUS", "FLUX_UNIT"]

FLUX_UNIT = u.erg / u.s / u.cm**2

#: meaning of the ``status`` values of the line catalogue
LINE_STATUS = {
    "adopted": "significance >= adopt_sigma, no artefact flag",
    "below_threshold": "raw catalogue only: raw_sigma <= significance < adopt_sigma",
    "edge": "peak on the edge of the extraction box (ROLES §2.4.1)",
    "sky_leak": "sky line leaking in at the slit end, explained by that end's sky-line residual model "
                "(artefact class 1 of ROLES §2.4.2)",
    "broad": "broad 'line' from continuum the side bands do not follow (artefact class 2)",
    "telluric": "residual of a bright continuum in the telluric A band (artefact class 2)",
    "multiline_rejected": "fainter line in a slit whose lines fit no common redshift (ROLES §2.4.3)",
}


@dataclass
class DetectParams:
    """Choices of the line detection (ROLES §2.4); defaults are the paper's."""

    fwhm_x: float = 5.0            # px, kernel FWHM along the dispersion
    fwhm_y: float = 3.5            # px, kernel FWHM along the slit
    sideband_inner: int = 10       # px, continuum side bands i +- inner ... outer
    sideband_outer: int = 50
    remask_sigma: float = 6.0      # pixels above this are masked in the continuum re-estimate
    continuum_noise: bool = True   # Poisson term of the continuum (ROLES eq. 8)
    follow_throughput: bool = True  # continuum side bands follow the measured throughput
    raw_sigma: float = 3.0         # raw catalogue
    adopt_sigma: float = 4.0       # adopted catalogue
    connectivity: int = 2          # 8-connected groups
    leak_rows: int = 1             # sky_leak: within this many rows of the box edge ...
    leak_sky_factor: float = 3.0   # ... on sky brighter than this x the slit's median sky
    broad_fwhm: float = 16.0       # px, 'lines' wider than this are continuum
    telluric_band: tuple = (7582.0, 7620.0)   # Å, head of the O2 A band: continuum residuals here ...
    telluric_contrast: float = 5.0  # ... for 'lines' (per pixel) fainter than the continuum / this
    box_half: int = 2              # 5 x 5 flux box
    centre_on_signal: bool = True  # centre the box on the filtered signal's peak, not the significance's
    centre_search: int = 2         # ... searched within this many pixels of the significance peak
    wide_half_x: int = 10          # columns of the wide box used for the aperture correction
    apcorr_min_sigma: float = 10.0
    own_profile: bool = False      # slit/box-loss correction of bright lines from their own profile
    own_profile_sigma: float = 15.0


def slit_throughput(red: ReducedMask, sens: Sensitivity | None, floor: float = 0.2):
    """Relative throughput (sensitivity x telluric at the mask's airmass) at every column of
    every slit, normalised to 1; NaN where below ``floor`` or unknown."""
    if sens is None:
        return None
    r = sens.response_at(red.wave, red.meta["airmass"])
    with np.errstate(invalid="ignore"):
        t = r / np.nanmax(r)
    return np.where(t >= floor, t, np.nan)


def extraction_region(red: ReducedMask) -> np.ndarray:
    """The extraction box of every slit (its rows) over the columns from its first to its last good
    pixel: where a line may lie, masked pixels (bad columns, traps, rejected cosmic rays) included.
    Its border is the 'edge' of ROLES §2.4.1; masked pixels inside it are not."""
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

    Returns ``(catalogue, maps)``; ``maps`` (only with ``keep_maps``) holds the significance
    cube and friends for figures.
    """
    p = params or DetectParams()
    # the detection never depends on the flux calibration (issue 12): the side bands follow the
    # throughput measured on the mask's own galaxy continua, with or without a flux standard
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
    sci = np.nan_to_num(red.sci)
    noise = np.nan_to_num(red.noise, nan=1.0)
    det = significance(sci, noise, red.good, kern, p.sideband_inner, p.sideband_outer, p.remask_sigma,
                       p.continuum_noise, throughput=thr_conv)
    cat = find_lines(det["sigma"], det["valid"], p.raw_sigma, p.connectivity, region=extraction_region(red))
    s, r, c = (np.asarray(cat[k], int) for k in ("slit", "row", "col"))
    if p.centre_on_signal and len(cat):
        # the line's centre: the peak of the filtered signal S - b near the significance peak
        # (the significance peak is pulled towards the quieter pixels between sky lines)
        r, c = _signal_peak(det["S"] - det["b"], det["valid"], s, r, c, p.centre_search)
        cat["row"], cat["col"] = r, c
    width = spectral_width(det["S"], det["b"], s, r, c)
    xsub = _subpixel_col(det["S"], det["b"], s, r, c)
    ncol = red.wave.shape[1]
    wave = np.array([np.interp(xx, np.arange(ncol), red.wave[i]) for i, xx in zip(s, xsub)]) if len(s) else np.zeros(0)
    # fluxes on the unsmoothed frame, continuum from the side bands (lines masked)
    linemask = det["sigma"] > p.remask_sigma
    cont = line_continuum(sci, red.good, linemask, thr, p.sideband_inner, p.sideband_outer)
    f5, e5, nmir, nmis = box_flux(sci, noise, red.good, s, r, c, p.box_half, p.box_half, cont)
    # the pixel noise of a box, scaled by how much blank-sky boxes of this mask scatter beyond it
    nfac, nblank = blank_box_noise_factor(sci, noise, red.good, det["sigma"], red.slits["box_lo"],
                                          red.slits["box_hi"], cont, p.box_half, box_flux=box_flux)
    e5 = e5 * nfac
    fw, ew, _, nmisw = box_flux(sci, noise, red.good, s, r, c, p.box_half, p.wide_half_x, cont)
    # a taller wide box (short of the negative nod images): the part of each bright line's light
    # the 5 x 5 box holds, whose scatter is the per-line aperture-loss term of the flux error
    fb, eb, _, nmisb = box_flux(sci, noise, red.good, s, r, c, p.box_half + 1, p.wide_half_x, cont)
    flags = clean_flags(cat, det, red.sky, red.box_rows, p.leak_rows, p.leak_sky_factor, p.broad_fwhm,
                        red.wave, f5 / (2 * p.box_half + 1) ** 2, p.telluric_band, p.telluric_contrast,
                        leak_nsigma=p.adopt_sigma)
    sl = red.slits
    out = Table()
    out["mask"] = np.full(len(cat), red.name)
    out["field"] = np.full(len(cat), red.field)
    out["slit_id"] = np.asarray(sl["slit_id"])[s] if len(cat) else np.zeros(0, int)
    out["object_id"] = np.asarray(sl["object_id"])[s] if len(cat) else np.zeros(0, str)
    for col in ("is_roles_target", "is_repeat", "is_filler"):
        out[col] = np.asarray(sl[col], bool)[s] if len(cat) else np.zeros(0, bool)
    out["row"] = r
    out["col"] = c
    out["y_det"] = (np.asarray(sl["row0"], int)[s] + r) * u.pix if len(cat) else np.zeros(0) * u.pix
    out["x_det"] = (np.asarray(sl["x_lo"], int)[s] + xsub) * u.pix if len(cat) else np.zeros(0) * u.pix
    out["wavelength"] = wave * u.AA
    out["sigma"] = np.asarray(cat["sigma"], float)
    out["npix"] = np.asarray(cat["npix"], int)
    out["width"] = width * u.pix
    out["flags"] = flags
    out["counts"] = f5 * u.electron
    out["counts_err"] = e5 * u.electron
    out["box_noise_factor"] = np.full(len(cat), nfac)
    out["counts_wide"] = np.where(nmisw == 0, fw, np.nan) * u.electron
    out["counts_wide_err"] = np.where(nmisw == 0, ew * nfac, np.nan) * u.electron
    out["counts_big"] = np.where(nmisb == 0, fb, np.nan) * u.electron
    out["counts_big_err"] = np.where(nmisb == 0, eb * nfac, np.nan) * u.electron
    out["n_mirrored"] = nmir
    out["n_missing"] = nmis
    out["continuum"] = (det["b"][s, r, c] if len(cat) else np.zeros(0)) * u.electron
    # spatial FWHM of the bright lines (seeing + size + registration), for the slit-loss correction
    fw = np.full(len(cat), np.nan)
    fw_err = np.full(len(cat), np.nan)
    frac5 = np.full(len(cat), np.nan)
    nod = int(red.meta.get("nod", 6))
    for k in np.flatnonzero(np.asarray(out["sigma"]) >= p.apcorr_min_sigma):
        cols = slice(max(c[k] - p.wide_half_x, 0), c[k] + p.wide_half_x + 1)
        prof = np.where(red.good[s[k], :, cols], sci[s[k], :, cols] - cont[s[k], :, cols], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pr = np.nanmean(prof, axis=1) * prof.shape[1]
        rr = np.flatnonzero(np.isfinite(pr))
        if rr.size < 4:
            continue
        fwk, amp, _, fwe = profile_fwhm(pr[rr], rows=rr, nod=nod, full=True, with_error=True)
        fw[k] = fwk * red.meta["pixscale"]
        fw_err[k] = fwe * red.meta["pixscale"]
        lo = int(np.clip(r[k] - p.box_half, 0, pr.size))
        if amp > 0 and np.isfinite(pr[lo:r[k] + p.box_half + 1]).sum() == 2 * p.box_half + 1:
            frac5[k] = float(np.sum(pr[lo:r[k] + p.box_half + 1]) / amp)
    out["fwhm_y"] = fw * u.arcsec
    out["fwhm_y_err"] = fw_err * u.arcsec
    out["box5_fraction"] = frac5
    if sens is not None and len(cat):
        out["flux"] = calibrate(f5, wave, sens, red.meta["airmass"], red.meta["nodtime"], apcorr) * FLUX_UNIT
        out["flux_err"] = calibrate(e5, wave, sens, red.meta["airmass"], red.meta["nodtime"], apcorr) * FLUX_UNIT
    else:
        out["flux"] = np.full(len(cat), np.nan) * FLUX_UNIT
        out["flux_err"] = np.full(len(cat), np.nan) * FLUX_UNIT
    out["flux_calibrated"] = np.full(len(cat), sens is not None)
    out["slit_registered"] = (np.asarray(sl["status"])[s] != "no_sky_registration") if len(cat) else np.zeros(0, bool)
    status = np.where(out["sigma"] >= p.adopt_sigma, "adopted", "below_threshold").astype("U20")
    for name in ("telluric", "broad", "sky_leak", "edge"):   # the last assignment wins: edge is the strongest
        status[(flags & DETECTION_FLAGS[name]) > 0] = name
    out["status"] = status
    maps = None
    if keep_maps:
        maps = {k: det[k] for k in ("S", "N_conv", "b", "sigma", "valid")}
        maps["throughput"] = thr
    return out, maps


def detect_survey(products_dir, masks, sens: Sensitivity | None, params: DetectParams | None = None,
                  progress: bool | None = None, keep_maps_for=(), apcorr_objects=None):
    """Detect lines in every reduced mask (``<products>/ldss3/<mask>_reduced.fits``).

    Two passes: the first measures the spectral aperture correction (5 of ``2 wide_half_x + 1``
    columns) on the brightest clean lines of all masks, the second calibrates with it.
    ``apcorr_objects``: object ids whose bright lines define the aperture correction (e.g.
    galaxies whose photo-z makes the line [OII], so that the correction is that of the [OII]
    doublet); all bright lines if None or too few. Returns ``(catalogue, apcorr_info, maps)``.
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


def finalise_fluxes(cat: Table, sens: Sensitivity | None, params: DetectParams | None = None, apcorr_objects=None,
                    median_loss: dict | None = None):
    """Apply the spectral aperture correction (measured on bright lines, see :func:`detect_survey`)
    and the per-mask slit/box-loss correction (:func:`seeing_correction`) to the fluxes of a raw
    catalogue from :func:`detect_mask` (calibrated with ``apcorr = 1``). Returns ``(cat, info)``."""
    p = params or DetectParams()
    ok = (np.asarray(cat["status"]) == "adopted") & (np.asarray(cat["n_missing"]) == 0) if len(cat) else np.zeros(0, bool)
    specres = 11.4
    fallback = analytic_aperture_correction(specres, 2.7, p.box_half)
    which = "all bright lines"
    if apcorr_objects is not None and len(cat):
        sel = ok & np.isin(np.asarray(cat["object_id"]), list(apcorr_objects))
        if (sel & (np.asarray(cat["sigma"]) >= p.apcorr_min_sigma)).sum() >= 5:
            ok = sel
            which = "bright lines of likely [OII] emitters"
    werr = np.asarray(cat["counts_wide_err"])[ok] if "counts_wide_err" in cat.colnames else None
    apc, n_ap, scatter, apc_se = aperture_correction(
        np.asarray(cat["counts"])[ok], np.asarray(cat["counts_wide"])[ok], np.asarray(cat["sigma"])[ok],
        p.apcorr_min_sigma, 3, fallback, err5=np.asarray(cat["counts_err"])[ok] if werr is not None else None,
        err_wide=werr, return_error=True)
    seeing = seeing_correction(cat, sens, p, median_loss=median_loss) if len(cat) else Table()
    if len(cat) and sens is not None:
        corr = np.ones(len(cat))
        for row in seeing:
            corr[np.asarray(cat["mask"]) == row["mask"]] = row["correction"]
        if p.own_profile:   # bright lines: their own profile instead of their mask's median
            from .fluxes import slit_transmission
            fw = np.asarray(cat["fwhm_y"], float)
            f5 = np.asarray(cat["box5_fraction"], float)
            own = np.isfinite(fw) & np.isfinite(f5) & (np.asarray(cat["sigma"], float) >= p.own_profile_sigma) \
                & (fw > 0.3) & (fw < 2.0) & (f5 > 0.3) & (f5 < 1.1)
            if np.isfinite(sens.fwhm) and np.isfinite(sens.box5):
                med = np.array([float(seeing["median"][seeing["mask"] == m][0]) for m in np.asarray(cat["mask"])[own]])
                corr[own] = (sens.box5 / f5[own]) * (slit_transmission(sens.fwhm, sens.slit_width)
                                                      / slit_transmission(fw[own], sens.slit_width)) * med
        cat["slitloss_corr"] = corr
        cat["flux"] = cat["flux"] / apc * corr
        cat["flux_err"] = cat["flux_err"] / apc * corr
    f_sys = flux_systematic(cat, sens, p, apc, scatter)
    # per-mask calibration: what remains uncertain of the mask's slit/box correction, and of the
    # aperture correction (standard error of its median)
    mask_err = np.zeros(len(cat))
    for row in seeing:
        mask_err[np.asarray(cat["mask"]) == row["mask"]] = row["correction_err"]
    ap_err = apc_se / apc if n_ap and np.isfinite(apc_se) else 0.0
    if len(cat):
        cat["flux_err_stat"] = cat["flux_err"]
        cat["flux_err"] = total_flux_error(cat["flux"], cat["flux_err_stat"], f_sys, mask_err, ap_err) * FLUX_UNIT
        cat["flux_err_calib"] = np.hypot(mask_err, ap_err)
    if "n_missing" in cat.colnames:
        cat["doubt"] = line_doubts(cat, seeing, n_ap == 0)
    info = {"apcorr": apc, "n_lines": n_ap, "scatter": scatter, "analytic": fallback,
            "source": which if n_ap else "analytic (doublet, LSF, registration)", "seeing": seeing,
            "flux_systematic": f_sys, "apcorr_err": ap_err}
    return cat, info


def line_doubts(cat: Table, seeing: Table, apcorr_analytic: bool, min_lines: int = 3) -> np.ndarray:
    """The ``doubt`` cell of every line (:mod:`redshift1.ldss3.doubt`): uncalibrated flux, the
    analytic aperture correction or the survey-median slit-loss correction used for lack of
    bright lines, a flux box with mirrored or missing pixels, a slit without sky registration."""
    from .doubt import doubt_column
    n = len(cat)
    cal = np.asarray(cat["flux_calibrated"], bool) if "flux_calibrated" in cat.colnames else np.ones(n, bool)
    few = set()
    if len(seeing) and "n_lines" in seeing.colnames:
        few = {m for m, k in zip(np.asarray(seeing["mask"]), np.asarray(seeing["n_lines"])) if k < min_lines}
    reg = np.asarray(cat["slit_registered"], bool) if "slit_registered" in cat.colnames else np.ones(n, bool)
    rows = []
    for i in range(n):
        r = []
        if not cal[i]:
            r.append("uncalibrated")
        elif apcorr_analytic:
            r.append("apcorr_analytic")
        if cal[i] and cat["mask"][i] in few:
            r.append("seeing_survey_median")
        if int(cat["n_missing"][i]) > 0:
            r.append("box_incomplete")
        elif int(cat["n_mirrored"][i]) > 0:
            r.append("box_mirrored")
        if not reg[i]:
            r.append("slit_unregistered")
        rows.append(r)
    return doubt_column(rows)


def flux_systematic(cat: Table, sens: Sensitivity | None, params: DetectParams, apcorr: float, ap_scatter: float) -> float:
    """Fractional flux uncertainty that the pixel noise does not describe: the intrinsic scatter,
    about their mask's median, of the part of the bright clean lines' light that the 5 x 5 box
    holds out of a box of ``2 box_half + 3`` rows and ``2 wide_half_x + 1`` columns (sizes, centring,
    drift, line widths). The ratios' own noise (the small box is part of the big one) is
    subtracted in quadrature, so that noise is not counted twice. Without the big-box columns
    (older catalogues) the scatter of the spectral aperture fraction. A term of every line's
    ``flux_err``."""
    if not len(cat) or "counts_big" not in cat.colnames:
        return float(ap_scatter / apcorr) if np.isfinite(ap_scatter) and apcorr > 0 else 0.0
    f5 = np.asarray(cat["counts"], float)
    e5 = np.asarray(cat["counts_err"], float)
    fb = np.asarray(cat["counts_big"], float)
    eb = np.asarray(cat["counts_big_err"], float)
    ok = (np.asarray(cat["status"]) == "adopted") & (np.asarray(cat["sigma"], float) >= params.apcorr_min_sigma) \
        & np.isfinite(fb) & (fb > 0) & np.isfinite(f5) & (np.asarray(cat["n_missing"]) == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = f5 / fb
    ok &= (ratio > 0.3) & (ratio < 1.3)
    if ok.sum() < 5:
        return float(ap_scatter / apcorr) if np.isfinite(ap_scatter) and apcorr > 0 else 0.0
    masks = np.asarray(cat["mask"])
    rel = np.full(len(cat), np.nan)
    for m in np.unique(masks[ok]):
        s = ok & (masks == m)
        if s.sum() >= 3:
            rel[s] = ratio[s] / np.median(ratio[s])
    use = np.isfinite(rel)
    if use.sum() < 5:
        return float(ap_scatter / apcorr) if np.isfinite(ap_scatter) and apcorr > 0 else 0.0
    observed = MAD_TO_SIGMA * float(np.median(np.abs(rel[use] - 1)))
    fo = fb[use] - f5[use]
    var = (fo**2 * e5[use] ** 2 + f5[use] ** 2 * np.clip(eb[use] ** 2 - e5[use] ** 2, 0, None)) / fb[use] ** 4
    noise = float(np.sqrt(np.median(var))) / float(np.median(ratio[use]))
    inbox = max(observed**2 - noise**2, 0.0)
    return float(np.sqrt(inbox + across_slit_scatter(cat, sens, params) ** 2))


def across_slit_scatter(cat: Table, sens: Sensitivity | None, params: DetectParams) -> float:
    """Intrinsic scatter of the bright lines' slit transmission ``ln T(FWHM)`` about their mask's
    median (no box sees the light the slit jaws cut: galaxy sizes), the FWHMs' fit errors
    subtracted in quadrature; 0 without a standard or FWHM errors."""
    from .fluxes import slit_transmission
    if sens is None or "fwhm_y_err" not in cat.colnames:
        return 0.0
    fw = np.asarray(cat["fwhm_y"], float)
    fe = np.asarray(cat["fwhm_y_err"], float)
    ok = (np.asarray(cat["status"]) == "adopted") & (np.asarray(cat["sigma"], float) >= params.apcorr_min_sigma) \
        & np.isfinite(fw) & (fw > 0.3) & (fw < 2.0) & np.isfinite(fe) & (fe > 0)
    masks = np.asarray(cat["mask"])
    lnt = np.log(slit_transmission(np.where(ok, fw, 1.0), sens.slit_width))
    dlnt = np.abs(np.log(slit_transmission(np.where(ok, fw + 0.01, 1.0), sens.slit_width)) - lnt) / 0.01
    rel = np.full(len(cat), np.nan)
    for m in np.unique(masks[ok]):
        s = ok & (masks == m)
        if s.sum() >= 3:
            rel[s] = lnt[s] - np.median(lnt[s])
    use = np.isfinite(rel)
    if use.sum() < 5:
        return 0.0
    observed = MAD_TO_SIGMA * float(np.median(np.abs(rel[use])))
    noise = float(np.median(dlnt[use] * fe[use]))
    return float(np.sqrt(max(observed**2 - noise**2, 0.0)))


def line_log_correction(cat: Table, sens: Sensitivity | None, use) -> np.ndarray:
    """Each line's own log slit/box-loss correction relative to the flux standard,
    ``ln(box5_star / box5_line x T(FWHM_star) / T(FWHM_line))``, for the rows ``use`` (NaN elsewhere
    or without a standard)."""
    from .fluxes import slit_transmission
    out = np.full(len(cat), np.nan)
    use = np.asarray(use, bool)
    if sens is None or not (np.isfinite(getattr(sens, "box5", np.nan)) and np.isfinite(sens.fwhm)) or not use.any():
        return out
    fw = np.asarray(cat["fwhm_y"], float)[use]
    f5 = np.asarray(cat["box5_fraction"], float)[use]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[use] = np.log(sens.box5 / f5 * slit_transmission(sens.fwhm, sens.slit_width)
                          / slit_transmission(fw, sens.slit_width))
    return out


def seeing_correction(cat: Table, sens: Sensitivity | None, params: DetectParams, min_lines: int = 3,
                      median_loss: dict | None = None) -> Table:
    """Per mask: how much more of a line's light the 5-row box and the slit lose than they lost
    of the flux standard's, and what the median combination lost.

    * ``along``: the star's fraction of its light inside the 5 rows over the median of the same
      fraction for the mask's bright clean lines, each fraction being the 5-row flux over the
      total of a Gaussian fitted to the ``A' - B'`` profile (negative nod images included):
      wider profiles from seeing, sizes, drift and registration;
    * ``across``: ``T(FWHM_star) / T(FWHM_lines)``, ``T`` the transmission of a Gaussian through
      the slit width, with the FWHMs of those fits;
    * ``median``: the flux of bright lines in the clipped mean of the exposures over that in their
      median (measured in 07).

    Fluxes are multiplied by ``correction`` = their product. The slit/box part is the median over
    the mask's bright clean lines of each line's own ``along x across``; with few lines that median
    is noisy, so it is shrunk towards the survey's median as far as its standard error exceeds the
    true mask-to-mask spread (:func:`redshift1.ldss3.errormodel.shrink_to_survey`), and
    ``correction_err`` (fractional) is what remains uncertain: a per-mask calibration term of every
    line's flux error. Masks with fewer than ``min_lines`` bright lines take the survey medians."""
    from .errormodel import median_with_error, shrink_to_survey
    from .fluxes import slit_transmission
    masks = list(dict.fromkeys(np.asarray(cat["mask"]).tolist()))
    bright = (np.asarray(cat["status"]) == "adopted") & (np.asarray(cat["sigma"], float) >= params.apcorr_min_sigma)
    fw = np.asarray(cat["fwhm_y"], float)
    f5 = np.asarray(cat["box5_fraction"], float)
    okf = bright & np.isfinite(fw) & (fw > 0.3) & (fw < 2.0)
    ok5 = okf & np.isfinite(f5) & (f5 > 0.3) & (f5 < 1.1)
    fw_all = float(np.median(fw[okf])) if okf.any() else np.nan
    f5_all = float(np.median(f5[ok5])) if ok5.any() else np.nan
    lnc = line_log_correction(cat, sens, ok5)   # each bright line's own log slit/box correction
    all_med, all_err = median_with_error(lnc[ok5], min_lines)
    rows, raw, raw_err = [], [], []
    for m in masks:
        inm = np.asarray(cat["mask"]) == m
        n = int((ok5 & inm).sum())
        fwm = float(np.median(fw[okf & inm])) if (okf & inm).sum() >= min_lines else fw_all
        f5m = float(np.median(f5[ok5 & inm])) if n >= min_lines else f5_all
        along = across = 1.0
        if sens is not None:
            if np.isfinite(f5m) and np.isfinite(getattr(sens, "box5", np.nan)):
                along = float(sens.box5 / f5m)
            if np.isfinite(fwm) and np.isfinite(sens.fwhm):
                across = float(slit_transmission(sens.fwhm, sens.slit_width) / slit_transmission(fwm, sens.slit_width))
        v, e = median_with_error(lnc[ok5 & inm], min_lines)
        raw.append(v if np.isfinite(e) else np.nan)
        raw_err.append(e)
        med = float((median_loss or {}).get(m, 1.0))
        med = med if np.isfinite(med) and med > 0 else 1.0
        rows.append({"mask": m, "n_lines": n, "fwhm_lines": fwm, "fwhm_star": np.nan if sens is None else sens.fwhm,
                     "box5_lines": f5m, "box5_star": np.nan if sens is None else sens.box5,
                     "along": along, "across": across, "median": med, "correction": along * across * med,
                     "correction_unshrunk": along * across * med, "correction_err": 0.0})
    if rows and np.isfinite(all_med):
        shrunk, err, _ = shrink_to_survey(raw, raw_err, all_med, all_err if np.isfinite(all_err) else 0.0)
        for row, v, e in zip(rows, shrunk, err):
            row["correction"] = float(np.exp(v) * row["median"])
            row["correction_err"] = float(e)
    t = Table(rows=rows) if rows else Table(names=("mask", "n_lines", "fwhm_lines", "fwhm_star", "box5_lines",
                                                   "box5_star", "along", "across", "median", "correction",
                                                   "correction_unshrunk", "correction_err"))
    if rows:
        t["fwhm_lines"].unit = u.arcsec
        t["fwhm_star"].unit = u.arcsec
    return t
