"""Gas-phase metallicity from the N2 index (Pettini & Pagel 2004)."""
from __future__ import annotations

import numpy as np

PP04_ZERO = 8.90
PP04_SLOPE = 0.57


def n2_index(flux_nii6583, flux_halpha):
    """N2 = log10(f[NII]6583 / f Hα).

    Parameters
    ----------
    flux_nii6583, flux_halpha : array_like
        Line fluxes, same unit.

    Returns
    -------
    numpy.ndarray
        N2.
    """
    return np.log10(np.asarray(flux_nii6583, float) / np.asarray(flux_halpha, float))


def oh_from_n2(n2):
    """12 + log(O/H) = 8.90 + 0.57 N2 (Pettini & Pagel 2004).

    Parameters
    ----------
    n2 : array_like
        N2 index.

    Returns
    -------
    numpy.ndarray
        12 + log(O/H).
    """
    return PP04_ZERO + PP04_SLOPE * np.asarray(n2, float)


def n2_from_oh(oh):
    """Inverse of :func:`oh_from_n2`, used by the mock to set [NII] fluxes.

    Parameters
    ----------
    oh : array_like
        12 + log(O/H).

    Returns
    -------
    numpy.ndarray
        N2.
    """
    return (np.asarray(oh, float) - PP04_ZERO) / PP04_SLOPE
