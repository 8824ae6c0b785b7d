"""Notebook 08 (LDSS3 detection): line catalogue, flux calibration, reliability and flux limits.

The algorithms are in :mod:`redshift1.ldss3` (:mod:`~redshift1.ldss3.catalogue` detection and
fluxes, :mod:`~redshift1.ldss3.fluxes` the standard star, :mod:`~redshift1.ldss3.reliability`
repeats and multi-line redshifts, :mod:`~redshift1.ldss3.flux_limits`,
:mod:`~redshift1.ldss3.summary`); this step runs them on notebook 07's reduced masks.

Without a flux standard (``calib/standard`` absent) the step still runs (issue 12): the
detection catalogue is the same, the fluxes and flux limits are NaN and every line is
flagged ``uncalibrated``; a one-line warning names the missing file, and the tables'
metadata say ``flux_calibrated: False`` so that notebooks 09-10 can say it in words.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..errors import MissingInputError
from ..ldss3.catalogue import LINE_STATUS, DetectParams, detect_survey
from ..ldss3.flux_corrections import singlet_aperture_correction, telluric_flux_error
from ..ldss3.flux_limits import flux_limit_grid, mask_flux_limits
from ..ldss3.standard_star import Sensitivity, standard_sensitivity
from ..ldss3.reduce import survey_root, survey_trap_mask
from ..ldss3.reliability import multiline_redshifts, repeat_matches, wavelength_repeatability
from ..ldss3.summary import slit_summary, summarise
from ..science.roles import likely_oii_objects
from .result import StepResult

__all__ = ["detect_lines", "flux_standard", "UncalibratedFluxWarning", "OII_SEARCH_WINDOW", "PRODUCTS"]

#: the products of notebook 08
PRODUCTS = ("ldss3_lines.ecsv", "ldss3_multiline.ecsv", "ldss3_repeats.ecsv", "ldss3_seeing.ecsv",
            "ldss3_sensitivity.ecsv", "ldss3_flux_limits.ecsv", "ldss3_slit_summary.ecsv", "ldss3_slit_noise.fits")

#: Å: lines inside this range get ``in_window`` (the filter's usable band)
OII_SEARCH_WINDOW = (7040.0, 8010.0)


class UncalibratedFluxWarning(UserWarning):
    """The survey has no flux standard: fluxes and flux limits are uncalibrated (NaN).

    Parameters
    ----------
    *args : str
        The message, as for any :class:`UserWarning` (it names the survey and the reason).
    """


def flux_standard(root, bad_pixels) -> tuple[Sensitivity | None, str]:
    """The flux calibration from the standard star, or None and the reason when it is absent.

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder.
    bad_pixels : ndarray of bool
        Bad pixels and charge traps.

    Returns
    -------
    sens : Sensitivity or None
        None when a file of the standard is missing (a malformed one raises).
    missing : str
        The one-line reason naming the missing file ("" when calibrated).
    """
    try:
        return standard_sensitivity(root, bad_pixels), ""
    except MissingInputError as exc:
        return None, str(exc)


def detect_lines(*, data_dir, products_dir, params: DetectParams | None = None, repeat_tol: float = 8.0,
                 multiline_tol: float = 5.0, limit_nsigma: float = 4.0, gallery_mask: str | None = None,
                 apcorr_poii: float = 0.9, progress: bool | None = None) -> StepResult:
    """Line detection, cleaning, calibration and reliability for every reduced mask (ROLES §2.4-§3.4.2).

    Parameters
    ----------
    data_dir : path-like
        Survey folder holding ``ldss3/`` (bad pixels, darks, the flux standard, photometry).
    products_dir : path-like
        Products folder holding notebook 07's ``ldss3_slits.ecsv`` and ``ldss3/<mask>_reduced.fits``.
    params : DetectParams, optional
        The detection's choices (ROLES' by default).
    repeat_tol : float
        Å: a line is reproduced on another mask within this.
    multiline_tol : float
        Å: tolerance of the multi-line redshift identifications.
    limit_nsigma : float
        The flux limit is this many times the noise spectrum.
    gallery_mask : str, optional
        Mask whose significance maps are kept for the detection gallery (default: the first).
    apcorr_poii : float
        Objects with raw P([OII]) above this calibrate the [OII] aperture correction.
    progress : bool, optional
        Progress bars (None: only in a terminal or notebook).

    Returns
    -------
    StepResult
        Tables ``ldss3_lines.ecsv``, ``ldss3_multiline.ecsv``, ``ldss3_repeats.ecsv``,
        ``ldss3_seeing.ecsv``, ``ldss3_sensitivity.ecsv``, ``ldss3_flux_limits.ecsv``,
        ``ldss3_slit_summary.ecsv``; FITS ``ldss3_slit_noise.fits``; values ``summary``
        (headline numbers), ``sensitivity`` (None when uncalibrated), ``apcorr``, ``maps``
        (gallery), ``flux_calibrated`` and ``missing_standard``.
    """
    p = params or DetectParams()
    products = Path(products_dir)
    slits_path = products / "ldss3_slits.ecsv"
    if not slits_path.is_file():
        raise MissingInputError(f"{slits_path}: run 07_ldss3_reduce first")
    slits = Table.read(slits_path)
    masks = list(dict.fromkeys(np.asarray(slits["mask"]).tolist()))
    root = survey_root(data_dir)
    bad, _ = survey_trap_mask(root)
    sens, missing = flux_standard(root, bad)
    if sens is None:
        warnings.warn(f"no flux standard ({missing}): line fluxes and flux limits are uncalibrated (NaN, flagged "
                      "'uncalibrated'); the detections do not change", UncalibratedFluxWarning, stacklevel=2)
    gallery_mask = gallery_mask or masks[0]
    cat, apinfo, maps = detect_survey(products, masks, sens, p, progress=progress, keep_maps_for=(gallery_mask,),
                                      apcorr_objects=likely_oii_objects(root, slits, apcorr_poii))
    seeing = apinfo.pop("seeing")
    ml = _multiline_and_window(cat, multiline_tol)
    if sens is not None and len(cat):      # identified single lines: not the [OII] doublet's aperture
        apinfo["singlet"] = singlet_aperture_correction(cat, ml, apinfo["apcorr"], p)
    rep = repeat_matches(cat, slits, repeat_tol)
    if sens is not None and len(rep):      # the A band: a line's wavelength error scatters its telluric correction
        sigma_wave = wavelength_repeatability(rep, p.adopt_sigma)[0] / np.sqrt(2)
        apinfo["telluric_sigma_wave"] = float(sigma_wave)
        apinfo["n_telluric_error"] = int(np.sum(telluric_flux_error(cat, sens, sigma_wave) > 0))
        rep = repeat_matches(cat, slits, repeat_tol)
    flux_limits, slit_noise = mask_flux_limits(products, masks, sens, apinfo["apcorr"], seeing, limit_nsigma,
                                               p.box_half, progress)
    summary = summarise(cat, slits, rep, ml, p)
    summary["apcorr"] = apinfo
    summary["shallowest_mask"] = flux_limits.meta["shallowest_mask"]
    cat.meta["description"] = ("ROLES-style emission-line catalogue: every group of connected pixels >= raw_sigma; "
                               "status: " + "; ".join(f"{k} = {v}" for k, v in LINE_STATUS.items()))
    cat.meta.update({"wavelength_frame": "vacuum", "apcorr": apinfo["apcorr"],
                     "params": {k: v for k, v in vars(p).items()}})
    ml.meta["description"] = "slits with two or more lines: best plausible multi-line redshift"
    rep.meta["description"] = "detections of objects on several masks: reproduced on every other mask?"
    rep.meta["tolerance_angstrom"] = repeat_tol
    seeing.meta["description"] = ("per mask: spatial FWHM of bright lines vs the flux standard; flux correction for "
                                  "slit and box losses")
    sens_table = sens.table() if sens is not None else uncalibrated_sensitivity_table(missing)
    summ = slit_summary(slits, cat)
    summ.meta["description"] = ("every slit with its reduction status and line counts; noise_row = row of "
                                "ldss3_slit_noise.fits")
    if sens is None:
        for t in (cat, flux_limits):
            t.meta.update({"flux_calibrated": False, "missing_standard": missing})
    return StepResult(
        tables={"ldss3_lines.ecsv": cat, "ldss3_multiline.ecsv": ml, "ldss3_repeats.ecsv": rep,
                "ldss3_seeing.ecsv": seeing, "ldss3_sensitivity.ecsv": sens_table,
                "ldss3_flux_limits.ecsv": flux_limits, "ldss3_slit_summary.ecsv": summ},
        images={"ldss3_slit_noise.fits": slit_noise_file(slit_noise)},
        values={"summary": summary, "sensitivity": sens, "apcorr": apinfo, "maps": maps,
                "flux_calibrated": sens is not None, "missing_standard": missing})


def _multiline_and_window(cat: Table, multiline_tol: float) -> Table:
    """Multi-line redshifts; spurious companions of adopted lines are rejected (in ``cat``), and
    ``in_window`` marks the lines inside :data:`OII_SEARCH_WINDOW`."""
    ml, verdict = multiline_redshifts(cat, multiline_tol)
    cat["multiline"] = verdict
    rej = (verdict == "spurious") & (np.asarray(cat["status"]) == "adopted")
    cat["status"][rej] = "multiline_rejected"
    wave = np.asarray(cat["wavelength"], float)
    cat["in_window"] = (wave >= OII_SEARCH_WINDOW[0]) & (wave <= OII_SEARCH_WINDOW[1])
    return ml


def uncalibrated_sensitivity_table(missing: str) -> Table:
    """``ldss3_sensitivity.ecsv`` of a survey without a flux standard: no rows, and why.

    Parameters
    ----------
    missing : str
        The reason, naming the missing file.

    Returns
    -------
    `~astropy.table.Table`
        The sensitivity columns, empty, with ``flux_calibrated: False`` in the metadata.
    """
    t = Table(names=("wavelength", "response", "response_smooth", "telluric"), dtype=(float,) * 4)
    t.meta.update({"description": f"no flux standard: {missing}", "flux_calibrated": False,
                   "missing_standard": missing})
    return t


def slit_noise_file(slit_noise: np.ndarray) -> fits.HDUList:
    """``ldss3_slit_noise.fits``: the 1-sigma 5x5-box flux error per slit on the flux-limit grid.

    Parameters
    ----------
    slit_noise : ndarray
        ``(n_slit, n_grid)`` from :func:`redshift1.ldss3.flux_limits.mask_flux_limits`.

    Returns
    -------
    `~astropy.io.fits.HDUList`
        The noise (primary, erg/s/cm²; rows = rows of ``ldss3_slit_summary.ecsv``) and ``WAVE``.
    """
    hn = fits.Header()
    hn["BUNIT"] = "erg/s/cm2"
    hn["COMMENT"] = "1-sigma 5x5-box flux error per slit (rows of ldss3_slit_summary) on the WAVE grid"
    return fits.HDUList([fits.PrimaryHDU(slit_noise.astype(np.float32), header=hn),
                         fits.ImageHDU(flux_limit_grid(), name="WAVE")])
