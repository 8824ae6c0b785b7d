"""The GDDS-like higher-mass comparison sample (K_AB < 22.45) at 0.889 < z < 1.149."""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from ...cosmology import ROLES_COSMO
from ...science.sfr import line_luminosity
from ..population import Relations, draw_av, draw_log_delta, log_sfr_main_sequence
from ..rng import stream
from .calibration import DEFAULT_CALIBRATION, RolesCalibration
from .fields import OII_WINDOW
from .galaxies import k_magnitude, oii_flux_observed, quenched_fraction, schechter


def draw_comparison(seed: int, rel: Relations, area_arcmin2: float,
                    cal: RolesCalibration = DEFAULT_CALIBRATION):
    """A GDDS-like higher-mass sample at 0.889 < z < 1.149: K_AB < 22.45, sparse-sampled
    star-forming galaxies (``cal.comparison_sf_sampling``: 1 in 6 by default), [OII] fluxes with
    errors, sampling weights; the population drawn with ``cal``'s distributions."""
    rng = stream(seed, "roles", "comparison")
    omega_sr = area_arcmin2 * (np.pi / 180 / 60) ** 2
    zc = np.arange(OII_WINDOW[0] + 0.0025, OII_WINDOW[1], 0.005)
    mc = np.arange(9.6, 12.0, 0.01)
    dvdz = ROLES_COSMO.differential_comoving_volume(zc).to_value(u.Mpc**3 / u.sr) * omega_sr
    Z, M = np.meshgrid(zc, mc, indexing="ij")
    W = schechter(M, Z, cal) * dvdz[:, None] * 0.005 * 0.01
    n = rng.poisson(W.sum())
    cell = rng.choice(W.size, n, p=(W / W.sum()).ravel())
    z = Z.ravel()[cell] + rng.uniform(-0.0025, 0.0025, n)
    logm = M.ravel()[cell] + rng.uniform(-0.005, 0.005, n)
    log_delta = draw_log_delta(n, rng, rel)
    quenched = rng.random(n) < quenched_fraction(logm, cal)
    log_delta[quenched] = rng.normal(-1.4, 0.3, quenched.sum())
    k = k_magnitude(logm, z, log_delta, 0.0, rng, cal)
    log_sfr = log_sfr_main_sequence(logm, z, rel, cosmo=ROLES_COSMO) + log_delta
    adjust = cal.log_sfr_adjustment(logm)
    sfr = 10 ** (log_sfr if adjust is None else log_sfr + adjust)
    av = draw_av(logm, rng, rel)
    f_true = oii_flux_observed(sfr, av, z, logm, rng, scatter=cal.oii_scatter)
    # selection: K limit, spectroscopic footprint (121 of 554.7 arcmin²), colour-dependent sampling
    p_sel = (121.0 / 554.7) * np.where(quenched | (log_delta < -0.7), 0.9, cal.comparison_sf_sampling) * 0.9
    sel = (k < 22.45) & (rng.random(n) < p_sel)
    ferr = np.full(n, 4e-18) * 10 ** rng.normal(0, 0.1, n)
    f_meas = f_true + ferr * rng.standard_normal(n)
    truth = Table({"id": [f"HM-{i:04d}" for i in range(n)], "z": z, "logm_true": logm, "sfr_true": sfr,
                   "av": av, "f_OII_true": f_true, "K": k, "quenched": quenched, "selected": sel,
                   "p_select": p_sel})[sel]
    truth["sfr_true"].unit = u.Msun / u.yr
    truth["f_OII_true"].unit = u.erg / u.s / u.cm**2
    truth["K"].unit = u.mag
    truth["av"].unit = u.mag
    truth.meta["description"] = "truth of the higher-mass comparison sample (selected galaxies only)"
    idx = np.flatnonzero(sel)
    t = Table()
    t["id"] = truth["id"]
    t["z"] = np.round(z[idx], 4)
    t["K"] = np.round(k[idx], 3) * u.mag
    t["logmstar"] = np.round(logm[idx] + rng.normal(0, 0.1, idx.size), 3) * u.dex(u.Msun)
    t["logmstar_err"] = np.full(idx.size, 0.1) * u.dex
    t["f_OII"] = f_meas[idx] * u.erg / u.s / u.cm**2
    t["f_OII_err"] = ferr[idx] * u.erg / u.s / u.cm**2
    lum = line_luminosity(np.clip(f_meas[idx], 1e-30, None), z[idx], ROLES_COSMO).value
    lerr = line_luminosity(ferr[idx], z[idx], ROLES_COSMO).value
    t["L_OII"] = np.where(f_meas[idx] > 0, lum, 0.0) * u.erg / u.s
    t["L_OII_err"] = lerr * u.erg / u.s
    t["detected"] = f_meas[idx] > 4 * ferr[idx]
    t["weight"] = np.round(1.0 / p_sel[idx], 4)
    t.meta.update({
        "description": "Higher-mass comparison sample at z~1 (GDDS-like, mock): K-selected (K_AB < 22.45), "
                       "[OII]3727 fluxes from deep N&S spectroscopy",
        "survey_area_arcmin2": area_arcmin2,
        "spectroscopic_area_arcmin2": 121.0,
        "z_window": list(OII_WINDOW),
        "k_limit_ab": 22.45,
        "weight": "1 / sampling probability (footprint x colour sampling x redshift success): a sum "
                  "over galaxies of weight x quantity, divided by the comoving volume of survey_area in "
                  "z_window, is a volume density",
        "flux_limit_4sigma": 1.6e-17,
        "cosmology": "h=0.7, Om=0.3, OL=0.7 (L_OII)",
        "mass": "SED-fit stellar mass (BG03 IMF as ROLES), error 0.1 dex",
    })
    return t, truth
