"""Star-formation-rate density per stellar-mass bin (ROLES §4.2, eq. 18, Table 2).

``ρ_SFR = (1/ΔlogM) Σ P_OII SFR / (V_max W)`` with the effective-number Poisson errors of
:mod:`redshift1.science.lf`; SFR from L([OII]) by ROLES eq. 9
(:func:`redshift1.science.sfr.sfr_from_oii`), optionally divided by the G10 mass-dependent
correction. The higher-mass comparison sample is a weighted sum over its volume.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..cosmology import ROLES_COSMO
from .lf import binned_density
from .sfr import g10_correction, sfr_from_oii
from .vmax import window_volume

__all__ = ["RHO_UNIT", "mass_at_z", "sfrd_table", "comparison_sfrd", "TABLE2_COLUMNS"]

RHO_UNIT = u.Msun / u.yr / u.Mpc**3 / u.dex
TABLE2_COLUMNS = ("field", "logm_lo", "logm_hi", "logm_median", "rho_sfr", "rho_sfr_lo", "rho_sfr_hi", "n_gal")

def mass_at_z(logm_phot, z_phot, z, cosmo=ROLES_COSMO):
    """SED mass moved from ``z_phot`` to ``z``: ``log M + 2 log10(d_L(z) / d_L(z_phot))`` (data contract).

    Parameters
    ----------
    logm_phot : array_like
        log10 M* at the photometric redshift [Msun].
    z_phot : array_like
        Photometric redshift (clipped at 0.02).
    z : array_like
        The redshift to move to.
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology (ROLES's by default).

    Returns
    -------
    numpy.ndarray
        log10 M* at ``z``.
    """
    zp = np.clip(np.asarray(z_phot, float), 0.02, None)
    dl = cosmo.luminosity_distance(np.asarray(z, float)).value
    dlp = cosmo.luminosity_distance(zp).value
    return np.asarray(logm_phot, float) + 2 * np.log10(dl / dlp)


def sfrd_table(field: str, logm, sfr, p, vmax, completeness, edges) -> Table:
    """ρ_SFR per mass bin of one field (ROLES eq. 18) in :data:`TABLE2_COLUMNS` order.

    Each galaxy weighs ``P × SFR / (V_max × W)``.

    Parameters
    ----------
    field : str
        Field name of the rows.
    logm : array_like
        log10 M* [Msun].
    sfr : array_like
        SFR [Msun/yr].
    p : array_like
        P([OII]) of each galaxy.
    vmax : array_like
        V_max [Mpc^3].
    completeness : array_like
        Completeness W.
    edges : array_like
        Mass-bin edges [dex].

    Returns
    -------
    astropy.table.Table
        One row per bin: ``logm_lo/hi/median``, ``rho_sfr`` with its Gehrels limits, counts.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.asarray(p, float) * np.asarray(sfr, float) / (np.asarray(vmax, float) * np.asarray(completeness, float))
    b = binned_density(logm, w, edges, extra={"logm_median": logm})
    t = Table()
    t["field"] = [field] * len(b)
    t["logm_lo"] = b["lo"] * u.dex(u.Msun)
    t["logm_hi"] = b["hi"] * u.dex(u.Msun)
    t["logm_median"] = b["logm_median"] * u.dex(u.Msun)
    t["rho_sfr"] = b["value"] * RHO_UNIT
    t["rho_sfr_lo"] = b["value_lo"] * RHO_UNIT
    t["rho_sfr_hi"] = b["value_hi"] * RHO_UNIT
    t["n_gal"] = b["n_gal"]
    t["n_eff"] = b["n_eff"]
    t["doubt"] = b["doubt"]
    return t


def comparison_sfrd(comp: Table, edges, g10: bool = False, name: str = "HIGHMASS", cosmo=ROLES_COSMO) -> Table:
    """ρ_SFR of the higher-mass comparison sample.

    Σ weight × SFR([OII]) / V_c(area, window) per dex; galaxies with no [OII] still count in
    ``n_gal`` (they are part of the sample).

    Parameters
    ----------
    comp : astropy.table.Table
        The comparison sample (``L_OII``, ``logmstar``, ``weight``; ``meta`` with
        ``survey_area_arcmin2`` and ``z_window``).
    edges : array_like
        Mass-bin edges [dex].
    g10 : bool, optional
        Divide the SFRs by the Gilbank et al. (2010) correction.
    name : str, optional
        Field name of the rows.
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology of the volume.

    Returns
    -------
    astropy.table.Table
        As :func:`sfrd_table`.
    """
    area = float(comp.meta["survey_area_arcmin2"])
    window = tuple(comp.meta.get("z_window", (0.889, 1.149)))
    vol = window_volume(area, window, cosmo)
    lum = np.asarray(u.Quantity(comp["L_OII"], u.erg / u.s).value, float)
    lum = np.where(np.isfinite(lum) & (lum > 0), lum, 0.0)
    sfr = sfr_from_oii(lum).value
    logm = np.asarray(comp["logmstar"], float)
    if g10:
        sfr = sfr / g10_correction(logm)
    t = sfrd_table(name, logm, sfr, np.ones(len(comp)), np.full(len(comp), vol),
                   1.0 / np.asarray(comp["weight"], float), edges)
    # galaxies with no [OII] still count in n_gal (they are part of the sample)
    n = [int(((logm >= lo) & (logm < hi)).sum()) for lo, hi in zip(edges[:-1], edges[1:])]
    t["n_gal"] = n
    return t
