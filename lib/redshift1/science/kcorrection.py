"""Differential K-band k-correction of Glazebrook et al. (1995), as used by ROLES."""
from __future__ import annotations

import numpy as np


def k_correction_k(z):
    """k(z) in magnitudes for the K band (ROLES).

    k(z) = (-2.58z + 6.67z² - 5.73z³ - 0.42z⁴) / (1 - 2.36z + 3.82z² - 3.53z³ + 3.35z⁴).
    The OCR of ROLES garbles the denominator; this form gives the expected k(1) ≈ -0.9 mag
    (K-band k-corrections are negative at z~1) and k(0) = 0.

    Parameters
    ----------
    z : array_like
        Redshift.

    Returns
    -------
    numpy.ndarray
        k(z) [mag].
    """
    z = np.asarray(z, dtype=float)
    num = -2.58 * z + 6.67 * z**2 - 5.73 * z**3 - 0.42 * z**4
    den = 1 - 2.36 * z + 3.82 * z**2 - 3.53 * z**3 + 3.35 * z**4
    return num / den
