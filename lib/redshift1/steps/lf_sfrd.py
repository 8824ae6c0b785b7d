"""Notebook 10: V_max, the [OII] luminosity function and the SFR density per stellar-mass bin
(ROLES §3.4-4.2; Table 2).

The algorithms are in :mod:`redshift1.science` (:mod:`~redshift1.science.roles` the sample
and its stages, :mod:`~redshift1.science.vmax`, :mod:`~redshift1.science.lf`,
:mod:`~redshift1.science.sfrd`); this step runs them on notebooks 08-09's products.

A survey without a flux standard (notebook 08 ran uncalibrated) has no luminosities: the
step refuses with a one-line error naming the missing standard rather than build an LF on
uncalibrated fluxes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..errors import DataFormatError, MissingInputError
from ..ldss3 import survey_files as lio
from ..ldss3.reduce import survey_root
from ..science.poii import LINE_WINDOWS
from ..science.roles import (DEFAULT_MASS_BINS, lf_galaxies, lf_per_field, load_fields, sfrd_per_mass_bin, table2,
                             table2_vs_paper, upper_limits)
from ..science.vmax import window_volume, z_grid
from .ldss3_redshifts import read_product
from .result import StepResult

__all__ = ["lf_and_sfrd", "flux_limit_curve", "default_lf_edges", "PRODUCTS"]

#: the products of notebook 10 (``roles_upper_limits.ecsv`` only when notebook 08's noise products exist)
PRODUCTS = ("roles_galaxies.ecsv", "roles_lf.ecsv", "roles_sfrd.ecsv", "roles_table2_vs_paper.ecsv",
            "roles_upper_limits.ecsv", "table2_sfrd.ecsv")


def default_lf_edges() -> np.ndarray:
    """log L([OII]) bin edges of ROLES Fig. 14: 39.5 to 42.75 in steps of 0.25 dex.

    Returns
    -------
    ndarray
    """
    return np.round(np.arange(39.5, 42.76, 0.25), 3)


def flux_limit_curve(limits: Table, path, limit_mask: str = "", limit_nsigma: float = 4.0):
    """The adopted [OII] flux-limit curve: one mask's (ROLES: the shallowest) at ``limit_nsigma``.

    Parameters
    ----------
    limits : `~astropy.table.Table`
        ``ldss3_flux_limits.ecsv``.
    path : path-like
        Its file (named in errors).
    limit_mask : str
        Mask whose limit is used; empty means the shallowest.
    limit_nsigma : float
        The limit in units of the noise spectrum (the table's ``nsigma`` rescaled).

    Returns
    -------
    wave, flux : ndarray
        Wavelength (Å) and flux limit (erg/s/cm²).
    mask : str
        The mask used.
    """
    if limits.meta.get("flux_calibrated", True) is False:
        raise MissingInputError(f"{limits.meta.get('missing_standard') or path}: no flux standard, so notebook 08's "
                                "fluxes and flux limits are uncalibrated; the [OII] luminosity function and SFR "
                                "density need them (add the standard and rerun 08)")
    masks = [c for c in limits.colnames if c != "wavelength"]
    if limit_mask:
        if limit_mask not in masks:
            raise DataFormatError(f"{path}: no mask {limit_mask!r}")
        lmask = limit_mask
    else:
        lmask = str(limits.meta.get("shallowest_mask", masks[0]))
    scale = limit_nsigma / float(limits.meta.get("nsigma", 4.0))
    return np.asarray(limits["wavelength"], float), np.asarray(limits[lmask], float) * scale, lmask


def lf_and_sfrd(*, data_dir, products_dir, mass_bins=None, lf_edges=None, fit_range=(40.6, 42.0),
                limit_nsigma: float = 4.0, limit_mask: str = "", k_range=(22.5, 24.0), kcorr: bool = True,
                upper_limit_field: str = "CDFS", n_z: int = 400) -> StepResult:
    """V_max, the [OII] LF with its faint-end slope, and the SFR density per mass bin.

    Parameters
    ----------
    data_dir : path-like
        Survey folder holding ``ldss3/photometry`` (field areas) and ``ldss3/comparison``.
    products_dir : path-like
        Products folder holding notebooks 08-09's products.
    mass_bins : dict of str to list of float, optional
        log M* bin edges per field and ``HIGHMASS`` (missing keys: :data:`~redshift1.science.roles.DEFAULT_MASS_BINS`).
    lf_edges : array-like, optional
        log L([OII]) bin edges (default :func:`default_lf_edges`).
    fit_range : tuple of float
        log L range of the faint-end power-law fit.
    limit_nsigma : float
        [OII] flux limit in units of the noise spectrum (ROLES: 4).
    limit_mask : str
        Mask whose limit is used; empty means the shallowest (ROLES).
    k_range : tuple of float
        K limits (AB).
    kcorr : bool
        Differential K-band k-correction in V_max (Glazebrook et al. 1995).
    upper_limit_field : str
        Field of the §4.2.1 test with upper limits of undetected galaxies.
    n_z : int
        Points of the redshift grid of the [OII] window.

    Returns
    -------
    StepResult
        Tables ``roles_galaxies.ecsv``, ``roles_lf.ecsv``, ``roles_sfrd.ecsv``,
        ``roles_table2_vs_paper.ecsv``, ``roles_upper_limits.ecsv`` (when notebook 08's noise
        products exist) and ``table2_sfrd.ecsv``; values ``summary``, ``slope``, ``limit``
        (the adopted flux-limit curve), ``limit_mask`` and ``volumes``.

    Raises
    ------
    MissingInputError
        When an earlier product is missing, or notebook 08 ran without a flux standard.
    """
    products = Path(products_dir)
    mass_bins = {**DEFAULT_MASS_BINS, **(mass_bins or {})}
    lf_edges = default_lf_edges() if lf_edges is None else np.asarray(lf_edges, float)
    poii = read_product(products / "roles_poii.ecsv", "09_ldss3_redshifts")
    comp = read_product(products / "roles_completeness.ecsv", "09_ldss3_redshifts")
    lim_path = products / "ldss3_flux_limits.ecsv"
    lim_wave, lim_flux, lmask = flux_limit_curve(read_product(lim_path, "08_ldss3_detect"), lim_path, limit_mask,
                                                 limit_nsigma)
    fields = sorted(set(np.asarray(poii["field"]).tolist()))
    phot, _ = load_fields(data_dir, fields)
    area = {f: float(phot[f].meta.get("area_arcmin2", np.nan)) for f in fields}
    zg, dzg = z_grid(LINE_WINDOWS["OII"], n_z)
    gal = lf_galaxies(poii, comp, area, lim_wave, lim_flux, k_range, kcorr, zg, dzg)
    gal.meta["flux_limit_mask"] = lmask
    gal.meta["limit_nsigma"] = limit_nsigma
    lf, slopes = lf_per_field(gal, fields, lf_edges, fit_range)
    # §4.2.1: 4-sigma upper limits of undetected targets
    ul = upper_limits(poii, products, upper_limit_field, limit_nsigma, zg, dzg, area, comp, k_range, kcorr,
                      lim_wave, lim_flux)
    sfrd = sfrd_per_mass_bin(gal, fields, mass_bins, _comparison_catalogue(data_dir), ul, upper_limit_field)
    t2 = table2(sfrd)
    tables = {"roles_galaxies.ecsv": gal, "roles_lf.ecsv": lf, "roles_sfrd.ecsv": sfrd,
              "roles_table2_vs_paper.ecsv": table2_vs_paper(t2)}
    if ul is not None:
        tables["roles_upper_limits.ecsv"] = ul
    tables["table2_sfrd.ecsv"] = t2
    limit = Table({"wavelength": lim_wave * u.AA, "flux_limit": lim_flux * u.erg / u.s / u.cm**2})
    limit.meta["mask"] = lmask
    volumes = {f: window_volume(area[f]) for f in fields}
    volumes["total"] = sum(volumes.values())
    status = np.asarray(gal["status"])
    ins = status == "in_sample"
    summary = {"n_in_sample": {f: int((ins & (np.asarray(gal["field"]) == f)).sum()) for f in fields},
               "status_counts": {s: int((status == s).sum()) for s in np.unique(status)},
               "window_volume_Mpc3": volumes, "faint_end": slopes, "flux_limit_mask": lmask}
    return StepResult(tables=tables, values={"summary": summary, "slope": slopes, "limit": limit,
                                             "limit_mask": lmask, "volumes": volumes, "upper_limits": ul})


def _comparison_catalogue(data_dir) -> Table | None:
    """The higher-mass comparison catalogue, or None when the survey has none (an optional input)."""
    try:
        return lio.read_comparison(survey_root(data_dir))
    except MissingInputError:
        return None
