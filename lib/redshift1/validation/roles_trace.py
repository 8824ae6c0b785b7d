"""Where does a ρ_SFR bin lose or gain against the truth? A per-stage trace (issue 12, item 6).

Validation only (it reads the mock's truth). For every mass bin of a field, the nominal ρ_SFR
(ROLES eq. 18, ×10⁻³ M☉ yr⁻¹ Mpc⁻³ dex⁻¹) is recomputed over the galaxies of the LF/SFRD
sample with one measured quantity after another replaced by its true value:

* ``rho`` -- as measured; ``rho_truly`` -- only detections whose line is truly [OII];
* ``rho_p1`` -- those with P([OII]) = 1; ``rho_sfr_true`` -- also the SFR from the true flux;
* ``rho_logm_true`` -- also binned by the true mass (V_max and W stay measured);
* ``rho_true`` -- the truth (:func:`redshift1.validation.roles.truth_sfrd`'s definition).

What remains between ``rho_logm_true`` and ``rho_true`` is the 1/V_max estimator itself. Its
sampling noise -- which redshift each true galaxy happens to have -- is ``vmax_sd``: with every
true galaxy of the bin visible over a fraction ``v`` of the window, ``Σ (1 - v) / v`` is the
variance of the count the estimator returns if galaxies are uniform in volume; ``vmax_sum`` is
that count in this realisation (true z, flux, K; W = 1) and ``vmax_z`` its deviation in units
of ``vmax_sd``.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..cosmology import ROLES_COSMO
from ..science.sfr import line_luminosity, sfr_from_oii
from ..science.vmax import flux_visibility, k_visibility, vmax, window_volume, z_grid
from ..columns import column
from .roles import LINE_WINDOWS, OII_REST, RolesInputs, truly_oii
from .roles_density import product_flux_limit, selected_truth

__all__ = ["sfrd_stage_trace"]


def _true_visibility_fraction(r: RolesInputs, rows, field: str, k_range) -> np.ndarray:
    """V_max / V_window of true galaxies (true z and [OII] flux, catalogue K)."""
    zg, dzg = z_grid(LINE_WINDOWS["OII"], 200)
    zt, k = column(r.truth, "z_true")[rows], column(r.truth, "K")[rows]
    vis = k_visibility(k, zt, zg, k_range)
    limit = product_flux_limit(r)
    if limit is not None:
        vis &= flux_visibility(np.nan_to_num(column(r.truth, "f_OII_3727")[rows]), zt, zg, *limit)
    return vmax(vis, zg, dzg, r.areas[field]) / window_volume(r.areas[field])


def sfrd_stage_trace(r: RolesInputs, mass_bins: dict, k_range=(22.5, 24.0), tol: float = 10.0) -> Table:
    """The per-stage ρ_SFR trace of every field and mass bin (see the module docstring).

    Parameters
    ----------
    r : RolesInputs
        Products (``roles_galaxies.ecsv`` and the flux limits) and the truth.
    mass_bins : dict of str to list of float
        log M★ bin edges per field.
    k_range : tuple of float
        K selection range.
    tol : float
        A line is truly [OII] within ``tol`` Å of 3728.48 Å (1 + z_true).

    Returns
    -------
    `~astropy.table.Table`
        One row per field and bin.
    """
    g = r.galaxies
    ins = np.asarray(g["status"]) == "in_sample"
    zt_g = r.truth_col(g["id"], "z_true")
    truly = truly_oii(column(g, "wavelength"), zt_g, tol)
    lum_t = line_luminosity(np.nan_to_num(r.truth_col(g["id"], "f_OII_3727")), np.nan_to_num(zt_g, nan=1.0),
                            ROLES_COSMO).value
    sfr_t = sfr_from_oii(lum_t).value
    lm, lm_t = column(g, "logmstar"), r.truth_col(g["id"], "logm_true")
    sfr, p = column(g, "sfr_oii"), column(g, "p_oii")
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / (column(g, "vmax") * column(g, "completeness"))
    lm_truth = column(r.truth, "logm_true")
    zt = column(r.truth, "z_true")
    sfr_truth = sfr_from_oii(line_luminosity(np.nan_to_num(column(r.truth, "f_OII_3727")),
                                             np.nan_to_num(zt, nan=1.0), ROLES_COSMO).value).value
    rows = []
    with np.errstate(invalid="ignore", divide="ignore"):
        w_meas, w_sfr_true = p * sfr * inv, sfr_t * inv
    for field, edges in mass_bins.items():
        if field not in r.areas:
            continue
        f = ins & (np.asarray(g["field"]) == field)
        sel = selected_truth(r, field, k_range)
        vol = window_volume(r.areas[field])
        for lo, hi in zip(edges[:-1], edges[1:]):
            scale = 1e3 / (hi - lo)
            b = f & (lm >= lo) & (lm < hi)
            bt = f & truly & (lm_t >= lo) & (lm_t < hi)
            tb = np.flatnonzero(sel & (lm_truth >= lo) & (lm_truth < hi))
            v = _true_visibility_fraction(r, tb, field, k_range) if tb.size else np.zeros(0)
            own = np.zeros(tb.size, bool)
            if tb.size:
                own = _selected_truth_own(r, tb, k_range)
            pos = v > 0
            n_est = float(np.sum(1.0 / v[own & pos]))
            sd = float(np.sqrt(np.sum(np.clip(1 - v[pos], 0, None) / v[pos])))   # v ≈ 1 may exceed 1 by the grid
            rows.append({"field": field, "logm_lo": lo, "logm_hi": hi, "n_true": int(tb.size), "n_gal": int(b.sum()),
                         "rho_true": float(sfr_truth[tb].sum() / vol * scale),
                         "rho": float(np.nansum(w_meas[b]) * scale),
                         "rho_truly": float(np.nansum(w_meas[b & truly]) * scale),
                         "rho_p1": float(np.nansum((sfr * inv)[b & truly]) * scale),
                         "rho_sfr_true": float(np.nansum(w_sfr_true[b & truly]) * scale),
                         "rho_logm_true": float(np.nansum(w_sfr_true[bt]) * scale),
                         "vmax_sum": n_est, "vmax_sd": sd,
                         "vmax_z": (n_est - tb.size) / sd if sd > 0 else np.nan})
    t = Table(rows=rows)
    t.meta["unit"] = str(1e-3 * u.Msun / u.yr / u.Mpc**3 / u.dex)
    return t


def _selected_truth_own(r: RolesInputs, rows, k_range) -> np.ndarray:
    """Whether true galaxies are inside the K range and above the flux limit at their own redshift."""
    k = column(r.truth, "K")[rows]
    ok = (k > k_range[0]) & (k <= k_range[1])
    limit = product_flux_limit(r)
    if limit is not None:
        zt = column(r.truth, "z_true")[rows]
        lim = np.interp(OII_REST * (1 + zt), *limit, left=np.nan, right=np.nan)
        ok &= np.nan_to_num(column(r.truth, "f_OII_3727")[rows]) >= np.where(np.isfinite(lim), lim, np.inf)
    return ok
