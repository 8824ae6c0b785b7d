"""Star-formation-rate conversions of KROSS (Hα) and ROLES ([OII]).

Each conversion has its inverse, so the mock observatory can run the papers' own
relations backwards (SFR -> line flux) and the pipeline forwards.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u

#: log SFR = log L(Hα) - 41.33 (Kennicutt 1998 scaled to Chabrier; KROSS eq. 3)
LOG_LHA_PER_SFR = 41.33

#: SFR([OII]) = 7.9e-42 (L/0.5) 10^(0.4 A) / 1.82 with A = 1 mag (ROLES eq. 9)
OII_SFR_COEFF = 7.9e-42 / 0.5 * 10 ** (0.4 * 1.0) / 1.82


def a_gas(a_v):
    """Nebular attenuation from stellar A_V (Wuyts et al. 2013; KROSS eq. 1).

    Parameters
    ----------
    a_v : array_like
        Stellar A_V [mag].

    Returns
    -------
    numpy.ndarray
        A_gas = A_V (1.9 - 0.15 A_V) [mag].
    """
    a_v = np.asarray(a_v, dtype=float)
    return a_v * (1.9 - 0.15 * a_v)


def sfr_from_halpha(l_halpha_obs, a_v):
    """SFR from the observed Hα luminosity corrected by A_gas (KROSS eqs. 1-3).

    Parameters
    ----------
    l_halpha_obs : float, array_like or astropy.units.Quantity
        Observed L(Hα) [erg/s].
    a_v : array_like
        Stellar A_V [mag].

    Returns
    -------
    astropy.units.Quantity
        SFR [Msun/yr].
    """
    l_obs = u.Quantity(l_halpha_obs, u.erg / u.s).value
    l_int = l_obs * 10 ** (0.4 * a_gas(a_v))
    return 10 ** (np.log10(l_int) - LOG_LHA_PER_SFR) * u.Msun / u.yr


def halpha_luminosity_from_sfr(sfr, a_v):
    """Observed L(Hα) of a galaxy with this SFR and A_V (KROSS eqs. 1-3 inverted).

    Parameters
    ----------
    sfr : float, array_like or astropy.units.Quantity
        SFR [Msun/yr].
    a_v : array_like
        Stellar A_V [mag].

    Returns
    -------
    astropy.units.Quantity
        L(Hα) [erg/s].
    """
    sfr = u.Quantity(sfr, u.Msun / u.yr).value
    l_int = 10 ** (np.log10(sfr) + LOG_LHA_PER_SFR)
    return l_int * 10 ** (-0.4 * a_gas(a_v)) * u.erg / u.s


def sfr_from_oii(l_oii):
    """SFR from L([OII]), ROLES eq. 9 (BG03 IMF, 1 mag extinction).

    Parameters
    ----------
    l_oii : float, array_like or astropy.units.Quantity
        L([OII]) [erg/s].

    Returns
    -------
    astropy.units.Quantity
        SFR [Msun/yr].
    """
    return OII_SFR_COEFF * u.Quantity(l_oii, u.erg / u.s).value * u.Msun / u.yr


def oii_luminosity_from_sfr(sfr):
    """L([OII]) of a galaxy with this SFR (ROLES eq. 9 inverted).

    Parameters
    ----------
    sfr : float, array_like or astropy.units.Quantity
        SFR [Msun/yr].

    Returns
    -------
    astropy.units.Quantity
        L([OII]) [erg/s].
    """
    return u.Quantity(sfr, u.Msun / u.yr).value / OII_SFR_COEFF * u.erg / u.s


def g10_correction(logmstar):
    """Gilbank et al. (2010) mass-dependent divisor for [OII] SFRs.

    ``SFR_corr = SFR / g10_correction(log M*)``.

    Parameters
    ----------
    logmstar : array_like
        log10 M* [Msun].

    Returns
    -------
    numpy.ndarray
        The divisor.
    """
    logm = np.asarray(logmstar, dtype=float)
    return -1.424 * np.tanh((logm - 9.827) / 0.572) + 1.700


def line_flux(luminosity, z, cosmo):
    """Line flux of a line of luminosity L at redshift z.

    Parameters
    ----------
    luminosity : float, array_like or astropy.units.Quantity
        L [erg/s].
    z : array_like
        Redshift.
    cosmo : astropy.cosmology.Cosmology
        Cosmology of the luminosity distance.

    Returns
    -------
    astropy.units.Quantity
        Flux [erg/s/cm2].
    """
    d_l = cosmo.luminosity_distance(z).to(u.cm)
    return (u.Quantity(luminosity, u.erg / u.s) / (4 * np.pi * d_l**2)).to(u.erg / u.s / u.cm**2)


def line_luminosity(flux, z, cosmo):
    """Line luminosity from a flux at redshift z.

    Parameters
    ----------
    flux : float, array_like or astropy.units.Quantity
        Flux [erg/s/cm2].
    z : array_like
        Redshift.
    cosmo : astropy.cosmology.Cosmology
        Cosmology of the luminosity distance.

    Returns
    -------
    astropy.units.Quantity
        L [erg/s].
    """
    d_l = cosmo.luminosity_distance(z).to(u.cm)
    return (u.Quantity(flux, u.erg / u.s / u.cm**2) * 4 * np.pi * d_l**2).to(u.erg / u.s)


def sfr_surface_density(sfr, r_half_kpc):
    """ΣSFR = SFR / (2π r½²) (half the SFR within r½).

    Parameters
    ----------
    sfr : float, array_like or astropy.units.Quantity
        SFR [Msun/yr].
    r_half_kpc : float, array_like or astropy.units.Quantity
        Half-light radius [kpc].

    Returns
    -------
    astropy.units.Quantity
        ΣSFR [Msun/yr/kpc2].
    """
    sfr = u.Quantity(sfr, u.Msun / u.yr)
    r = u.Quantity(r_half_kpc, u.kpc)
    return (sfr / (2 * np.pi * r**2)).to(u.Msun / u.yr / u.kpc**2)
