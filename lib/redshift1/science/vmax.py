"""Maximum volumes of ROLES galaxies (ROLES §3.4, eqs. 12-14).

``V_max = Ω ∫ (dV_c/dz) F_vis(z) dz`` over the [OII] window, where the visibility
``F_vis(z)`` is 1 when the galaxy, moved to redshift ``z``, keeps

* its K magnitude inside the survey's K range: ``K_z = K_obs + 5 log10(d_L(z) / d_L(z_obs))
  + k(z) - k(z_obs)`` (Glazebrook et al. 1995 differential k-correction,
  :func:`redshift1.science.kcorrection.k_correction_k`), and
* its [OII] flux ``f (d_L(z_obs) / d_L(z))^2`` above the flux limit at the wavelength
  ``λ = 3728.48 (1 + z)`` (ROLES: 4x the noise spectrum of the shallowest mask).

Note on eq. 13: the OCR text of the paper reads ``5 log(d_obs / d_z)``; a galaxy
moved further away gets fainter, so the distance term is ``+5 log10(d_z / d_obs)``, which is
what is implemented (the two agree only at ``z = z_obs``).
"""
from __future__ import annotations

import numpy as np
import astropy.units as u

from .. import constants as C
from ..cosmology import ROLES_COSMO
from .kcorrection import k_correction_k

__all__ = ["OII_WINDOW", "z_grid", "k_visibility", "flux_visibility", "vmax", "window_volume", "omega_sr"]

OII_REST = C.OII_3727.to_value(u.AA)
#: redshifts at which KG750 (7040-8010 Å) sees [OII]3727 (vacuum): 0.8882-1.1483 (ROLES: 0.889-1.149)
OII_WINDOW = (C.KG750_WINDOW[0] / OII_REST - 1.0, C.KG750_WINDOW[1] / OII_REST - 1.0)


def z_grid(window=OII_WINDOW, n: int = 400):
    """A fine redshift grid over the window (bin centres) and the bin width.

    Parameters
    ----------
    window : tuple of float, optional
        (z_min, z_max).
    n : int, optional
        Number of bins.

    Returns
    -------
    centres, widths : numpy.ndarray
        Bin centres and widths.
    """
    edges = np.linspace(window[0], window[1], n + 1)
    return 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)


def omega_sr(area_arcmin2: float) -> float:
    """Solid angle of a survey area in steradians.

    Parameters
    ----------
    area_arcmin2 : float
        Area [arcmin²].

    Returns
    -------
    float
        Ω [sr].
    """
    return float((area_arcmin2 * u.arcmin**2).to_value(u.sr))


def _dl(z, cosmo):
    return cosmo.luminosity_distance(np.asarray(z, float)).to_value(u.Mpc)


def k_visibility(k_obs, z_obs, zg, k_range=(22.5, 24.0), cosmo=ROLES_COSMO, kcorr: bool = True):
    """Whether each galaxy moved to each redshift of the grid stays inside the K selection.

    Parameters
    ----------
    k_obs : array_like
        Observed K magnitudes.
    z_obs : array_like
        Redshifts.
    zg : array_like
        Redshift grid.
    k_range : tuple of float, optional
        (bright, faint] K limits [mag].
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology of the distances.
    kcorr : bool, optional
        Apply the K-band k-correction (:func:`~redshift1.science.kcorrection.k_correction_k`).

    Returns
    -------
    numpy.ndarray
        (n_gal, n_z) bool, K_z inside ``k_range`` (see module docstring).
    """
    k_obs = np.atleast_1d(np.asarray(k_obs, float))[:, None]
    z_obs = np.atleast_1d(np.asarray(z_obs, float))[:, None]
    dz = _dl(zg, cosmo)[None, :]
    do = _dl(z_obs[:, 0], cosmo)[:, None]
    kz = k_obs + 5 * np.log10(dz / do)
    if kcorr:
        kz = kz + k_correction_k(zg)[None, :] - k_correction_k(z_obs)
    return (kz > k_range[0]) & (kz <= k_range[1])


def flux_visibility(flux, z_obs, zg, limit_wave, limit_flux, cosmo=ROLES_COSMO, rest: float = OII_REST):
    """Whether each galaxy's line, moved to each redshift of the grid, stays above the flux limit.

    Where the limit is undefined (NaN, outside its wavelength range) the galaxy is not visible.

    Parameters
    ----------
    flux : array_like
        Line fluxes.
    z_obs : array_like
        Redshifts.
    zg : array_like
        Redshift grid.
    limit_wave, limit_flux : array_like
        The flux limit against observed wavelength [Å].
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology of the distances.
    rest : float, optional
        Rest wavelength of the line [Å] ([OII] by default).

    Returns
    -------
    numpy.ndarray
        (n_gal, n_z) bool, the flux moved to ``z`` is above the limit at ``rest (1 + z)``.
    """
    flux = np.atleast_1d(np.asarray(flux, float))[:, None]
    z_obs = np.atleast_1d(np.asarray(z_obs, float))[:, None]
    dz = _dl(zg, cosmo)[None, :]
    do = _dl(z_obs[:, 0], cosmo)[:, None]
    fz = flux * (do / dz) ** 2
    lim = np.interp(rest * (1 + np.asarray(zg)), np.asarray(limit_wave, float), np.asarray(limit_flux, float),
                    left=np.nan, right=np.nan)
    return fz >= np.where(np.isfinite(lim), lim, np.inf)[None, :]


def vmax(visible, zg, dzg, area_arcmin2: float, cosmo=ROLES_COSMO):
    """``Ω ∫ dV_c/dz F_vis dz`` for every row of ``visible`` (midpoint rule on the grid).

    Parameters
    ----------
    visible : array_like
        (n_gal, n_z) visibility (bool or fraction).
    zg, dzg : array_like
        Grid centres and widths (:func:`z_grid`).
    area_arcmin2 : float
        Survey area [arcmin²].
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology of the volume.

    Returns
    -------
    numpy.ndarray
        V_max [Mpc^3] of each galaxy.
    """
    dvdz = cosmo.differential_comoving_volume(np.asarray(zg)).to_value(u.Mpc**3 / u.sr)
    return omega_sr(area_arcmin2) * (np.asarray(visible, float) * (dvdz * dzg)[None, :]).sum(axis=1)


def window_volume(area_arcmin2: float, window=OII_WINDOW, cosmo=ROLES_COSMO) -> float:
    """Comoving volume of the window over the area (directly from astropy).

    Parameters
    ----------
    area_arcmin2 : float
        Survey area [arcmin²].
    window : tuple of float, optional
        (z_min, z_max).
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology.

    Returns
    -------
    float
        Volume [Mpc^3].
    """
    v = cosmo.comoving_volume(window[1]) - cosmo.comoving_volume(window[0])
    return float(v.to_value(u.Mpc**3) * omega_sr(area_arcmin2) / (4 * np.pi))
