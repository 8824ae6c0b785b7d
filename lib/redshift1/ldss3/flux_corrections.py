"""From box counts to line fluxes and their errors (ROLES §2.5.1): the spectral aperture correction,
the per-mask slit/box-loss correction from the bright lines' profiles, the flux systematic and
the ``doubt`` cell of every line. :func:`finalise_fluxes` applies them to a raw catalogue of
:func:`redshift1.ldss3.catalogue.detect_mask`."""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..constants import MAD_TO_SIGMA
from .continuum_profile import continuum_slit_loss
from .errormodel import total_flux_error
from .fluxes import analytic_aperture_correction, aperture_correction, relative_slit_loss
from .line_params import FLUX_UNIT, DetectParams
from .standard_star import Sensitivity

__all__ = ["finalise_fluxes", "line_doubts", "flux_systematic", "across_slit_scatter", "line_log_correction",
           "seeing_correction", "extended_profile", "singlet_aperture_correction", "telluric_flux_error"]


def finalise_fluxes(cat: Table, sens: Sensitivity | None, params: DetectParams | None = None, apcorr_objects=None,
                    median_loss: dict | None = None):
    """Apply the spectral aperture correction (measured on bright lines, see
    :func:`~redshift1.ldss3.catalogue.detect_survey`) and the per-mask slit/box-loss correction
    (:func:`seeing_correction`) to the fluxes of a raw catalogue from
    :func:`~redshift1.ldss3.catalogue.detect_mask` (calibrated with ``apcorr = 1``); add the
    total flux error and the ``doubt`` column.

    Parameters
    ----------
    cat : `~astropy.table.Table`
        Raw catalogue of one or more masks.
    sens : Sensitivity or None
        Flux calibration (None: the fluxes stay NaN).
    params : DetectParams, optional
        The detection's choices.
    apcorr_objects : set of str, optional
        Objects whose bright lines define the aperture correction.
    median_loss : dict, optional
        Per mask, the median combination's flux loss of bright lines.

    Returns
    -------
    cat : `~astropy.table.Table`
        The catalogue with corrected fluxes and errors.
    info : dict
        ``apcorr``, ``n_lines``, ``scatter``, ``analytic``, ``source``, ``seeing`` (per-mask
        table), ``flux_systematic`` and ``apcorr_err``.
    """
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
    cont_used, cont_err = np.zeros(len(cat), bool), np.zeros(len(cat))
    if len(cat) and sens is not None:
        corr = _per_line(cat, seeing, "correction", 1.0)
        med = _per_line(cat, seeing, "median", 1.0)
        if p.continuum_profile:   # each galaxy's own losses where its continuum shows its profile
            cc, ce, cont_used = continuum_slit_loss(cat, sens, p)
            corr[cont_used] = cc[cont_used] * med[cont_used]
            cont_err[cont_used] = ce[cont_used]
        if p.own_profile:   # bright lines: their own profile instead of their mask's median
            fwhm_y = np.asarray(cat["fwhm_y"], float)
            box5 = np.asarray(cat["box5_fraction"], float)
            own = np.isfinite(fwhm_y) & np.isfinite(box5) & (np.asarray(cat["sigma"], float) >= p.own_profile_sigma) \
                & (fwhm_y > 0.3) & (fwhm_y < 2.0) & (box5 > 0.3) & (box5 < 1.1)
            if np.isfinite(sens.fwhm) and np.isfinite(sens.box5):
                corr[own] = relative_slit_loss(box5[own], fwhm_y[own], sens.box5, sens.fwhm, sens.slit_width) * med[own]
        cat["slitloss_corr"] = corr
        cat["flux"] = cat["flux"] / apc * corr
        cat["flux_err"] = cat["flux_err"] / apc * corr
    f_sys = flux_systematic(cat, sens, p, apc, scatter)
    ext_corr, ext_err, ext = extended_profile(cat, seeing, sens, p) if len(cat) else (np.ones(0), np.zeros(0),
                                                                                      np.zeros(0, bool))
    ext_corr[cont_used], ext_err[cont_used], ext[cont_used] = 1.0, 0.0, False   # their size is in their correction
    if len(cat) and sens is not None and ext.any():
        cat["flux"] = cat["flux"] * ext_corr
        cat["flux_err"] = cat["flux_err"] * ext_corr
        cat["slitloss_corr"] = cat["slitloss_corr"] * ext_corr
    # per-mask calibration: what remains uncertain of the mask's slit/box correction, and of the
    # aperture correction (standard error of its median)
    mask_err = _per_line(cat, seeing, "correction_err", 0.0)
    mask_err[cont_used] = cont_err[cont_used]     # the galaxy's own correction, not the mask's median
    ap_err = apc_se / apc if n_ap and np.isfinite(apc_se) else 0.0
    if len(cat):
        cat["flux_err_stat"] = cat["flux_err"]
        cat["flux_err"] = total_flux_error(cat["flux"], cat["flux_err_stat"], f_sys, mask_err, ap_err,
                                           ext_err) * FLUX_UNIT
        cat["extended_profile"] = ext
        cat["slitloss_source"] = np.where(cont_used, "continuum", "mask")
        cat["flux_err_calib"] = np.hypot(mask_err, ap_err)
        # the terms that differ between two observations of a line on different masks (pixel noise
        # with its blank-box factor, the mask's calibration); the line's aperture loss (its size) and
        # the survey's aperture correction are common to both: repeat pulls use this error
        cat["flux_err_indep"] = total_flux_error(cat["flux"], cat["flux_err_stat"], mask_err) * FLUX_UNIT
    if "n_missing" in cat.colnames:
        cat["doubt"] = line_doubts(cat, seeing, n_ap == 0)
    info = {"apcorr": apc, "n_lines": n_ap, "scatter": scatter, "analytic": fallback,
            "source": which if n_ap else "analytic (doublet, LSF, registration)", "seeing": seeing,
            "flux_systematic": f_sys, "apcorr_err": ap_err}
    return cat, info


def _per_line(cat: Table, seeing: Table, column: str, default: float) -> np.ndarray:
    """A per-mask column of :func:`seeing_correction` at every line of ``cat`` (``default`` for
    lines of masks it does not list)."""
    out = np.full(len(cat), default, dtype=float)
    masks = np.asarray(cat["mask"]) if len(cat) else np.zeros(0)
    for row in seeing:
        out[masks == row["mask"]] = row[column]
    return out


def line_doubts(cat: Table, seeing: Table, apcorr_analytic: bool, min_lines: int = 3) -> np.ndarray:
    """The ``doubt`` cell of every line (:mod:`redshift1.ldss3.doubt`): uncalibrated flux, the
    analytic aperture correction or the survey-median slit-loss correction used for lack of
    bright lines, a flux box with mirrored or missing pixels, a slit without sky registration.

    Parameters
    ----------
    cat : `~astropy.table.Table`
        The catalogue.
    seeing : `~astropy.table.Table`
        Per-mask slit-loss table (``mask``, ``n_lines``).
    apcorr_analytic : bool
        True when the aperture correction is the analytic estimate.
    min_lines : int
        Masks with fewer bright lines use the survey-median slit-loss correction.

    Returns
    -------
    ndarray of str
        One ``doubt`` cell per line.
    """
    from .doubt import doubt_column
    n = len(cat)
    cal = np.asarray(cat["flux_calibrated"], bool) if "flux_calibrated" in cat.colnames else np.ones(n, bool)
    few = set()
    if len(seeing) and "n_lines" in seeing.colnames:
        few = {m for m, k in zip(np.asarray(seeing["mask"]), np.asarray(seeing["n_lines"])) if k < min_lines}
    reg = np.asarray(cat["slit_registered"], bool) if "slit_registered" in cat.colnames else np.ones(n, bool)
    ext = np.asarray(cat["extended_profile"], bool) if "extended_profile" in cat.colnames else np.zeros(n, bool)
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
        if ext[i]:
            r.append("extended_profile")
        rows.append(r)
    return doubt_column(rows)


def flux_systematic(cat: Table, sens: Sensitivity | None, params: DetectParams, apcorr: float, ap_scatter: float) -> float:
    """Fractional flux uncertainty that the pixel noise does not describe: the intrinsic scatter,
    about their mask's median, of the part of the bright clean lines' light that the 5 x 5 box
    holds out of a box of ``2 box_half + 3`` rows and ``2 wide_half_x + 1`` columns (sizes, centring,
    drift, line widths). The ratios' own noise (the small box is part of the big one) is
    subtracted in quadrature, so that noise is not counted twice. Without the big-box columns
    (older catalogues) the scatter of the spectral aperture fraction. A term of every line's
    ``flux_err``.

    Parameters
    ----------
    cat : `~astropy.table.Table`
        The line catalogue of notebook 08 (one row per line; ``mask``, ``status``, ``sigma``,
        ``fwhm_y``, ``box5_fraction``, counts columns).
    sens : Sensitivity or None
        The flux standard's calibration (its ``fwhm``, ``box5`` and ``slit_width``); None
        without a standard.
    params : DetectParams
        Detection choices (``apcorr_min_sigma`` selects the bright lines).
    apcorr : float
        The aperture correction (5 x 5 box over the wide box) applied to the fluxes.
    ap_scatter : float
        Scatter of the aperture fractions about ``apcorr``; with ``apcorr`` the fallback
        ``ap_scatter / apcorr`` when the catalogue has no big-box columns or fewer than 5 lines.

    Returns
    -------
    float
        The fractional systematic flux uncertainty (dimensionless, >= 0), including
        :func:`across_slit_scatter` in quadrature.
    """
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
    subtracted in quadrature; 0 without a standard or FWHM errors.

    Parameters
    ----------
    cat : `~astropy.table.Table`
        The line catalogue of notebook 08 (one row per line; ``mask``, ``status``, ``sigma``,
        ``fwhm_y``, ``box5_fraction``, counts columns).
    sens : Sensitivity or None
        The flux standard's calibration (its ``fwhm``, ``box5`` and ``slit_width``); None
        without a standard.
    params : DetectParams
        Detection choices (``apcorr_min_sigma`` selects the bright lines).

    Returns
    -------
    float
        The intrinsic scatter of ``ln T`` (a fractional flux scatter), 0 with fewer than 5
        usable lines.
    """
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
    or without a standard).

    Parameters
    ----------
    cat : `~astropy.table.Table`
        The line catalogue of notebook 08 (one row per line; ``mask``, ``status``, ``sigma``,
        ``fwhm_y``, ``box5_fraction``, counts columns).
    sens : Sensitivity or None
        The flux standard's calibration (its ``fwhm``, ``box5`` and ``slit_width``); None
        without a standard.
    use : array_like of bool
        Rows for which the correction is computed (length of ``cat``).

    Returns
    -------
    numpy.ndarray
        ``ln`` of the correction per row, NaN outside ``use``.
    """
    out = np.full(len(cat), np.nan)
    use = np.asarray(use, bool)
    if sens is None or not (np.isfinite(getattr(sens, "box5", np.nan)) and np.isfinite(sens.fwhm)) or not use.any():
        return out
    fw = np.asarray(cat["fwhm_y"], float)[use]
    f5 = np.asarray(cat["box5_fraction"], float)[use]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[use] = np.log(relative_slit_loss(f5, fw, sens.box5, sens.fwhm, sens.slit_width))
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
    line's flux error. Masks with fewer than ``min_lines`` bright lines take the survey medians.

    Parameters
    ----------
    cat : `~astropy.table.Table`
        The line catalogue of notebook 08 (one row per line; ``mask``, ``status``, ``sigma``,
        ``fwhm_y``, ``box5_fraction``, counts columns).
    sens : Sensitivity or None
        The flux standard's calibration (its ``fwhm``, ``box5`` and ``slit_width``); None
        without a standard.
    params : DetectParams
        Detection choices (``apcorr_min_sigma`` selects the bright lines).
    min_lines : int
        Fewest bright lines for a mask's own medians.
    median_loss : dict or None
        ``{mask: flux(clipped mean) / flux(median)}`` from notebook 07; None or a missing mask
        means 1.

    Returns
    -------
    `~astropy.table.Table`
        One row per mask: ``mask, n_lines, fwhm_lines, fwhm_star`` (arcsec), ``box5_lines,
        box5_star, along, across, median, correction, correction_unshrunk, correction_err``.
    """
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


def extended_profile(cat: Table, seeing: Table, sens: Sensitivity | None, params: DetectParams):
    """Bright lines whose spatial profile is wider than their mask's bright lines (issue 12, item 5).

    The mask's slit/box-loss correction (:func:`seeing_correction`) is that of its typical bright
    line; a galaxy much larger than the seeing (Hα at z ≈ 0.1 on the paper preset: profiles of
    1.1-1.4" against 0.73", fluxes 40-60 % low at 4-17 sigma of their errors) loses more. With
    ``z = (FWHM - FWHM_mask) / σ(FWHM)``, a line of at least ``apcorr_min_sigma`` with
    ``z > extended_correct`` is multiplied by its own profile's correction relative to the mask's,
    ``c = box5_mask / box5 x T(FWHM_mask) / T(FWHM)``; with ``extended_error < z <=
    extended_correct`` and ``c > 1`` its ``ln c`` is a fractional error term instead (one-sided:
    a marginally wider profile is not corrected, its possible loss is carried).

    Parameters
    ----------
    cat : `~astropy.table.Table`
        Line catalogue (``sigma``, ``mask``, ``fwhm_y``, ``fwhm_y_err``, ``box5_fraction``).
    seeing : `~astropy.table.Table`
        :func:`seeing_correction` (``mask``, ``fwhm_lines``, ``box5_lines``).
    sens : Sensitivity or None
        The flux standard (its ``slit_width``); None: nothing is done.
    params : DetectParams
        ``apcorr_min_sigma``, ``extended_correct``, ``extended_error``.

    Returns
    -------
    correction : numpy.ndarray
        Flux factor per line (1 where not corrected).
    error : numpy.ndarray
        Fractional error term per line (0 where none).
    flagged : numpy.ndarray of bool
        Lines corrected or given the error term.
    """
    n = len(cat)
    corr, err, flag = np.ones(n), np.zeros(n), np.zeros(n, bool)
    need = ("fwhm_y", "fwhm_y_err", "box5_fraction")
    if sens is None or not n or not len(seeing) or any(c not in cat.colnames for c in need):
        return corr, err, flag
    fw, fe, b5 = (np.asarray(cat[c], float) for c in need)
    mfw = dict(zip(np.asarray(seeing["mask"]), np.asarray(seeing["fwhm_lines"], float)))
    mb5 = dict(zip(np.asarray(seeing["mask"]), np.asarray(seeing["box5_lines"], float)))
    masks = np.asarray(cat["mask"])
    fw_m = np.array([mfw.get(m, np.nan) for m in masks])
    b5_m = np.array([mb5.get(m, np.nan) for m in masks])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (fw - fw_m) / fe
        ok = (np.asarray(cat["status"]) == "adopted") & (np.asarray(cat["sigma"], float) >= params.apcorr_min_sigma) \
            & np.isfinite(z) & (fe > 0) & np.isfinite(b5) & (b5 > 0.2) & (b5 < 1.1) & np.isfinite(b5_m)
        c = np.where(ok, relative_slit_loss(b5, np.where(ok, fw, 1.0), b5_m, np.where(ok, fw_m, 1.0),
                                            sens.slit_width), 1.0)
    big = ok & (z > params.extended_correct) & np.isfinite(c) & (c > 0)
    some = ok & ~big & (z > params.extended_error) & (c > 1)
    corr[big] = c[big]
    err[some] = np.log(c[some])
    flag[big | some] = True
    return corr, err, flag


def singlet_aperture_correction(cat: Table, multiline: Table, apcorr: float, params: DetectParams,
                                tol: float = 5.0) -> dict:
    """Lines that a secure multi-line redshift identifies as single lines get the aperture
    correction of single lines, in place (issue 12, item 5).

    The spectral aperture correction (the part of a line inside the box's 5 columns) is measured on
    likely [OII] lines: a doublet, wider than a single line, so single lines (Hβ, [OIII], Hα, [NII],
    [SII], [NeIII]) came out 6-16 % too bright on the paper preset. Their correction is the median
    5-column fraction of the bright identified single lines (at least 5 with ``sigma >=
    apcorr_min_sigma`` and a complete box), else ``apcorr`` times the analytic single-over-doublet
    ratio (:func:`~redshift1.ldss3.fluxes.analytic_aperture_correction`). Fluxes and their errors
    are multiplied by ``apcorr / apcorr_singlet``; ``line_id`` names the identified line (empty for
    lines without a secure multi-line redshift) and ``doubt`` gains ``singlet_apcorr``.

    Parameters
    ----------
    cat : `~astropy.table.Table`
        The line catalogue (after :func:`finalise_fluxes`; ``mask``, ``slit_id``, ``wavelength``,
        ``status``, ``counts``, ``counts_wide``, ``sigma``, ``n_missing``).
    multiline : `~astropy.table.Table`
        :func:`~redshift1.ldss3.reliability.multiline_redshifts` (``mask``, ``slit_id``, ``secure``,
        ``z_multi``).
    apcorr : float
        The aperture correction applied to every flux.
    params : DetectParams
        ``apcorr_min_sigma``.
    tol : float, optional
        A line is identified within ``tol`` Å of a listed line at the slit's redshift.

    Returns
    -------
    dict
        ``apcorr_singlet``, ``n_lines`` (0: analytic), ``factor``, ``n_corrected``.
    """
    from .doubt import join_doubts, split_doubts
    from .reliability import LINES
    n = len(cat)
    ids = np.full(n, "", dtype="U12")
    zml = {(m, int(sl)): float(z) for m, sl, z, sec in zip(np.asarray(multiline["mask"]), np.asarray(multiline["slit_id"]),
                                                           np.asarray(multiline["z_multi"], float),
                                                           np.asarray(multiline["secure"], bool))
           if sec and np.isfinite(z)} if len(multiline) else {}
    names = list(LINES)
    rest = np.array([LINES[k] for k in names])
    for i, (m, sl, w) in enumerate(zip(np.asarray(cat["mask"]), np.asarray(cat["slit_id"]),
                                       np.asarray(cat["wavelength"], float))):
        z = zml.get((m, int(sl)))
        if z is not None:
            d = np.abs(rest * (1 + z) - w)
            if d.min() <= tol:
                ids[i] = names[int(np.argmin(d))]
    cat["line_id"] = ids
    single = (ids != "") & (ids != "OII_3727")
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.asarray(cat["counts"], float) / np.asarray(cat["counts_wide"], float)
    bright = single & (np.asarray(cat["status"]) == "adopted") & (np.asarray(cat["sigma"], float) >= params.apcorr_min_sigma) \
        & (np.asarray(cat["n_missing"]) == 0) & np.isfinite(frac) & (frac > 0.3) & (frac < 1.3)
    if bright.sum() >= 5:
        ap1, n_ap = float(np.median(frac[bright])), int(bright.sum())
    else:
        ap1 = apcorr * (analytic_aperture_correction(11.4, 2.7, params.box_half, doublet=0.0)
                        / analytic_aperture_correction(11.4, 2.7, params.box_half))
        n_ap = 0
    factor = apcorr / ap1 if ap1 > 0 else 1.0
    for c in ("flux", "flux_err", "flux_err_stat", "flux_err_indep"):
        if c in cat.colnames:
            cat[c][single] = cat[c][single] * factor
    if "doubt" in cat.colnames and single.any():
        cells = np.asarray(cat["doubt"]).astype(object)
        for i in np.flatnonzero(single):
            cells[i] = join_doubts(list(split_doubts(cells[i])) + ["singlet_apcorr"])
        cat["doubt"] = np.asarray(cells, dtype=str)
    return {"apcorr_singlet": ap1, "n_lines": n_ap, "factor": float(factor), "n_corrected": int(single.sum())}


def telluric_flux_error(cat: Table, sens: Sensitivity | None, sigma_wave: float, step: float = 2.0) -> np.ndarray:
    """Add to ``flux_err`` (and ``flux_err_indep``) what a line's wavelength error does to its telluric correction.

    Inside the O2 A band the transmission falls from 1 to 0.3 within ~15 Å, so a line measured
    ``sigma_wave`` Å from where it is gets a wrong correction: the fractional term is
    ``|d ln T / d lambda| x sigma_wave`` (``T`` the standard's A-band transmission, derivative over
    ``+-step`` Å). On the paper preset a 31-sigma [OII] line at 7592 Å, 2.7 Å from its true
    wavelength, came out 25 % low at 3.9 sigma of its error (issue 12, item 5). The term is
    independent between masks (wavelength errors are).

    Parameters
    ----------
    cat : `~astropy.table.Table`
        The line catalogue (``wavelength``, ``flux``, ``flux_err``; ``flux_err_indep`` if present), in place.
    sens : Sensitivity or None
        The flux standard (``wave``, ``telluric``); None: nothing is added.
    sigma_wave : float
        1-sigma wavelength error of a line [Å] (e.g. the repeat wavelength scatter over sqrt(2)).
    step : float, optional
        Half-interval of the derivative [Å].

    Returns
    -------
    numpy.ndarray
        The fractional term of every line (0 outside the band, without a standard or a finite ``sigma_wave``).
    """
    n = len(cat)
    if sens is None or not n or not np.isfinite(sigma_wave) or sigma_wave <= 0:
        return np.zeros(n)
    w = np.asarray(cat["wavelength"], float)
    tw, tt = np.asarray(sens.wave, float), np.clip(np.asarray(sens.telluric, float), 1e-3, None)
    with np.errstate(invalid="ignore"):
        lo = np.log(np.interp(w - step, tw, tt, left=1.0, right=1.0))
        hi = np.log(np.interp(w + step, tw, tt, left=1.0, right=1.0))
    term = np.nan_to_num(np.abs(hi - lo) / (2 * step) * sigma_wave)
    for c in ("flux_err", "flux_err_indep"):
        if c in cat.colnames:
            cat[c] = total_flux_error(cat["flux"], cat[c], term) * FLUX_UNIT
    return term
