"""The star-formation main sequence and distances from it."""
from __future__ import annotations

import numpy as np
import astropy.units as u

from ..cosmology import KROSS_COSMO


def speagle14_log_sfr(logmstar, z, cosmo=KROSS_COSMO):
    """Speagle et al. (2014) main sequence: log SFR [Msun/yr] at log M* and z.

    log SFR = (0.84 - 0.026 t) log M* - (6.51 - 0.11 t), t = age of the Universe [Gyr].

    Parameters
    ----------
    logmstar : array_like
        log10 M* [Msun].
    z : array_like
        Redshift.
    cosmo : astropy.cosmology.Cosmology, optional
        Cosmology of the age t (KROSS's by default).

    Returns
    -------
    numpy.ndarray
        log SFR_MS [Msun/yr].
    """
    t = cosmo.age(np.asarray(z, dtype=float)).to_value(u.Gyr)
    logm = np.asarray(logmstar, dtype=float)
    return (0.84 - 0.026 * t) * logm - (6.51 - 0.11 * t)


def whitaker12_log_sfr(logmstar, z):
    """Whitaker et al. (2012) main sequence, an alternative prescription.

    log SFR = α(z) (log M* - 10.5) + β(z), α = 0.70 - 0.13 z, β = 0.38 + 1.14 z - 0.19 z².

    Parameters
    ----------
    logmstar : array_like
        log10 M* [Msun].
    z : array_like
        Redshift.

    Returns
    -------
    numpy.ndarray
        log SFR_MS [Msun/yr].
    """
    z = np.asarray(z, dtype=float)
    logm = np.asarray(logmstar, dtype=float)
    return (0.70 - 0.13 * z) * (logm - 10.5) + 0.38 + 1.14 * z - 0.19 * z**2


MS_PRESCRIPTIONS = {"speagle14": speagle14_log_sfr, "whitaker12": whitaker12_log_sfr}


def delta_ssfr(sfr, logmstar, z, prescription="speagle14"):
    """Δ(sSFR) = sSFR / sSFR_MS(M*, z), a linear ratio (1 on the sequence).

    Parameters
    ----------
    sfr : float, array_like or astropy.units.Quantity
        SFR [Msun/yr].
    logmstar : array_like
        log10 M* [Msun].
    z : array_like
        Redshift.
    prescription : str, optional
        Key of :data:`MS_PRESCRIPTIONS` (``"speagle14"`` or ``"whitaker12"``).

    Returns
    -------
    numpy.ndarray
        Δ(sSFR).
    """
    ms = MS_PRESCRIPTIONS[prescription](logmstar, z)
    sfr = u.Quantity(sfr, u.Msun / u.yr).value
    return 10 ** (np.log10(sfr) - ms)
