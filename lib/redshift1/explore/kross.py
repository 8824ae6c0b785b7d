"""KROSS choices → tables, fits and bin means, with the functions of notebooks 04–06.

Each function is pure: products in, a new table or fit out (inputs are never modified).

* :func:`sizes_with_criterion` — the resolved criterion r½ > k·HWHM and the PSF
  correction r′½ = √(r½² − HWHM²) (on) or r′½ = r½ (off), from notebook 03's observed
  r½ and PSF HWHM (:func:`redshift1.kmos.sizes.psf_corrected_radius`).
* :func:`sfr_table`, :func:`resolved_table`, :func:`metallicity_table` — notebooks 04, 05,
  06's tables for the chosen S/N thresholds, MS prescription and sizes.
* :func:`fit` — the three regressions (resolved MS, ΣSFR–Δ, Z–Δ) with ``ols`` (least
  squares, limits dropped, as the papers did) or ``emcee`` (intrinsic scatter, censored
  limits), with the notebooks' fitting functions.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..kmos.galaxy_size import SizeConfig
from ..kmos.sizes import psf_corrected_radius, size_error_budget
from ..science.kross_metallicity import (fit_oh_delta, kross_metallicity_table, oh_delta_bins,
                                         z_delta_sample)
from ..science.kross_sfr import kross_sfr_table, sfr_summary
from ..columns import values
from ..science.resolved import (fit_resolved_ms, fit_sigma_delta, kross_resolved_table, resolved_ms_sample,
                                sigma_delta_sample, sigma_delta_statistics, size_summary)

__all__ = ["sizes_with_criterion", "sfr_table", "resolved_table", "metallicity_table", "fit", "FIT_COLUMNS",
           "sigma_delta_stats", "z_delta_bins", "kross_numbers", "fit_sample_size"]

#: columns each regression reads (a fit is redone only when one of them changes)
FIT_COLUMNS = {
    "resolved_ms": ("status", "sigma_star_status", "log_sigma_star", "log_sigma_sfr", "log_sfr_err",
                    "logmstar_err", "r_half_kpc", "r_half_kpc_err", "dlog_sigma_star_dlog_r"),
    "sigma_delta": ("status", "log_delta_ssfr", "log_delta_ssfr_err", "log_sigma_sfr", "log_sfr_err",
                    "logmstar_err", "r_half_kpc", "r_half_kpc_err", "censored"),
    "z_delta": ("nii_class", "logmstar", "log_delta_ssfr", "log_delta_ssfr_err", "oh12", "oh12_err",
                "oh12_err_halpha", "oh12_threshold", "censored"),
}


def subtracted_psf_radius(sizes: Table) -> np.ndarray:
    """The PSF radius notebook 03 subtracts and resolves against (arcsec): the star's
    sampled r½ (``psf_r_half``), or the optical HWHM in a table that predates it."""
    if "psf_r_half" in sizes.colnames:
        return values(sizes, "psf_r_half", u.arcsec)
    return values(sizes, "psf_hwhm", u.arcsec)


def sizes_with_criterion(sizes: Table, resolved_factor: float = 1.0, psf_correction: bool = True,
                         resolved_significance: float | None = None) -> Table:
    """A copy of ``kmos_sizes`` with the resolved flag and r′½ of another criterion.

    Resolved ⇔ r½ > ``resolved_factor`` × PSF HWHM + ``resolved_significance`` σ(r½)
    (KROSS: factor 1, significance 0), the HWHM as notebook 03 subtracts it
    (:func:`subtracted_psf_radius`), through notebook 03's own
    :func:`~redshift1.kmos.sizes.psf_corrected_radius`. ``resolved_significance`` defaults to
    the one that made the table (its ``resolved_significance`` meta, else notebook 03's
    default). With ``psf_correction`` the
    intrinsic radius is √(r½² − HWHM²), times notebook 03's ``psf_correction_factor`` where
    the table has one, and its error notebook 03's budget; without, the
    observed r½ and its curve-of-growth error. Unresolved galaxies keep notebook 03's upper
    limit (KROSS's r′½ = HWHM at significance 0). The kpc scale of each galaxy is notebook 03's (same redshift).
    """
    if resolved_factor < 1.0 and psf_correction:
        raise ValueError("with the PSF correction the resolved criterion needs r½ > HWHM (factor ≥ 1)")
    t = sizes.copy(copy_data=True)
    r = values(sizes, "r_half_arcsec", u.arcsec)
    r_err = values(sizes, "r_half_err_arcsec", u.arcsec)
    hw = subtracted_psf_radius(sizes)
    r_corr_walk = values(sizes, "r_half_corr_arcsec", u.arcsec)
    with np.errstate(invalid="ignore", divide="ignore"):
        kpc_per_arcsec = values(sizes, "r_half_corr_kpc", u.kpc) / r_corr_walk
    if resolved_significance is None:
        resolved_significance = float(sizes.meta.get("resolved_significance", SizeConfig().resolved_significance))
    _, resolved = psf_corrected_radius(r, resolved_factor * hw, r_err, resolved_significance)
    resolved &= np.isfinite(hw)
    limit, _ = psf_corrected_radius(r, hw, r_err, resolved_significance)
    if psf_correction:
        r_corr, _ = psf_corrected_radius(r, hw)
        # notebook 03 scales the quadrature radius by what quadrature does to the galaxy's own
        # disc model (its psf_correction_method "model"; the factor is 1 for KROSS's way)
        if "psf_correction_factor" in sizes.colnames:
            factor = values(sizes, "psf_correction_factor")
            r_corr = np.where(np.isfinite(factor), r_corr * factor, r_corr)
        err_walk = values(sizes, "r_half_corr_err_arcsec", u.arcsec)
        err = np.where(np.isfinite(err_walk), err_walk, size_error_budget(r, r_err, hw))
    else:
        r_corr, err = r.copy(), r_err
    r_corr = np.where(resolved, r_corr, limit if psf_correction else hw)
    err = np.where(resolved, err, np.nan)
    t["resolved"] = resolved
    t["r_half_corr_arcsec"] = r_corr * u.arcsec
    t["r_half_corr_err_arcsec"] = err * u.arcsec
    t["r_half_corr_kpc"] = r_corr * kpc_per_arcsec * u.kpc
    t["r_half_corr_err_kpc"] = err * kpc_per_arcsec * u.kpc
    t.meta["resolved_factor"] = resolved_factor
    t.meta["resolved_significance"] = resolved_significance
    t.meta["psf_correction"] = bool(psf_correction)
    return t


def sfr_table(data, snr_halpha_min: float, ms_prescription: str) -> Table:
    """Notebook 04's table for an S/N(Hα) threshold and a main-sequence prescription."""
    return kross_sfr_table(data.targets, data.spectra, ms_prescription=ms_prescription, snr_min=snr_halpha_min,
                           sizes=data.sizes)


def resolved_table(data, sfr: Table, sizes: Table) -> Table:
    """Notebook 05's table: ΣSFR (or lower limit) and Σ★ per target."""
    return kross_resolved_table(sfr, sizes, data.hst, data.targets)


def metallicity_table(data, sfr: Table, res: Table, snr_nii_min: float) -> Table:
    """Notebook 06's table for an S/N([NII]) threshold (sky-line distance as in the walk)."""
    return kross_metallicity_table(data.spectra, sfr, res, snr_min=snr_nii_min,
                                   sky_distance_max_aa=data.walk.sky_distance_max_aa)


def fit(name: str, table: Table, method: str, z_mass_range=(9.5, 10.5), min_points: int = 5, **emcee_kw):
    """One of the three regressions, or ``None`` with fewer than ``min_points`` galaxies.

    ``name``: ``resolved_ms`` (log ΣSFR vs log Σ★), ``sigma_delta`` (log ΣSFR vs log Δ,
    unresolved galaxies censored), ``z_delta`` (12+log(O/H) vs log Δ at
    ``z_mass_range``, upper limits censored). ``method="ols"`` drops the limits (the papers'
    least squares); ``emcee_kw`` (nwalkers, nsteps, seed, iterations) go to the sampler.
    """
    kw = {} if method == "ols" else dict(emcee_kw)
    if name == "resolved_ms":
        return fit_resolved_ms(table, method=method, min_points=min_points, **kw)
    if name == "sigma_delta":
        return fit_sigma_delta(table, method=method, include_limits=method != "ols", min_points=min_points, **kw)
    if name == "z_delta":
        lo, hi = z_mass_range
        return fit_oh_delta(table, lo, hi, method=method, include_limits=method != "ols", min_points=min_points, **kw)
    raise ValueError(f"unknown fit {name!r}")


def fit_sample_size(name: str, table: Table, method: str, z_mass_range=(9.5, 10.5)) -> int:
    """How many galaxies :func:`fit` would use."""
    if name == "resolved_ms":
        return int(resolved_ms_sample(table).sum())
    if name == "sigma_delta":
        return int(sigma_delta_sample(table, include_limits=method != "ols").sum())
    return int(z_delta_sample(table, *z_mass_range, include_limits=method != "ols").sum())


def sigma_delta_stats(res: Table, delta_edges) -> dict:
    """Spearman test and mean log ΣSFR in the Δ(sSFR) bins (notebook 05)."""
    return sigma_delta_statistics(res, tuple(delta_edges))


def z_delta_bins(met: Table, z_mass_range, delta_edges) -> Table:
    """Mean metallicity of the detections in the Δ(sSFR) bins (notebook 06)."""
    return oh_delta_bins(met, z_mass_range[0], z_mass_range[1], tuple(delta_edges))


def kross_numbers(sfr: Table, res: Table, met: Table, ms_band_dex: float = 0.3) -> dict:
    """The counts a reader checks first: Hα detections, resolved / unresolved, [NII] classes."""
    s = sfr_summary(sfr, ms_band_dex)
    z = size_summary(res)
    cls = np.asarray(met["nii_class"]).astype(str)
    return {"n_targets": s["n_targets"], "n_halpha": s["n_halpha"], "median_sfr": s["median_sfr"],
            "fraction_within_ms_band": s["fraction_within_ms_band"],
            "median_log_delta_ssfr": s["median_log_delta_ssfr"],
            "n_resolved": z["n_resolved"], "n_unresolved": z["n_unresolved"],
            "median_r_half_kpc": z["median_r_half_kpc"], "n_resolved_ms_sample": z["n_resolved_ms_sample"],
            "n_nii_detected": int(np.sum(cls == "detected")), "n_nii_upper_limit": int(np.sum(cls == "upper_limit"))}
