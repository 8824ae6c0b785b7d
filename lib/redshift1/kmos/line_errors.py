"""Monte Carlo errors of the Hα + [NII] fits (KROSS §2: "perturbing the data points within
their error bars, and repeating the fit"), batched with :func:`~redshift1.kmos.linefit.fit_halpha_nii`.
"""
from __future__ import annotations

import numpy as np

from .. import constants as C
from .linefit import LineFit, fit_halpha_nii

__all__ = ["perturbed_errors"]


def perturbed_errors(wave_um, flux, noise, fit: LineFit, n_perturb: int = 50, dz: float = 0.01,
                     resolution: float = C.KMOS_RESOLUTION, rng: np.random.Generator | None = None) -> np.ndarray:
    """Monte Carlo errors of the fit parameters.

    Each spectrum is perturbed within its noise ``n_perturb`` times and refitted (KROSS §2:
    "perturbing the data points within their error bars, and repeating the fit"). All
    N × n_perturb refits run as one batch, started at the best fit.

    Parameters
    ----------
    wave_um : numpy.ndarray
        (M,) channel wavelengths [µm].
    flux, noise : numpy.ndarray
        (N, M) spectra and their 1σ noise.
    fit : LineFit
        The best fits of these spectra.
    n_perturb : int, optional
        Perturbed copies per spectrum.
    dz : float, optional
        Half-width of the redshift window of the refits.
    resolution : float, optional
        Spectral resolving power λ/FWHM.
    rng : numpy.random.Generator, optional
        Random generator (default seeded with 0).

    Returns
    -------
    numpy.ndarray
        (N, 5) standard deviations of the refitted parameters.
    """
    rng = rng or np.random.default_rng(0)
    flux = np.atleast_2d(flux)
    noise = np.atleast_2d(noise)
    n = flux.shape[0]
    reps = np.repeat(np.arange(n), n_perturb)
    draws = flux[reps] + np.nan_to_num(noise[reps]) * rng.standard_normal((reps.size, flux.shape[1]))
    refit = fit_halpha_nii(wave_um, draws, noise[reps], fit.params[reps, 0], dz=dz, resolution=resolution,
                           z_search=False)
    # keep each refit inside the original search window
    return refit.params.reshape(n, n_perturb, 5).std(axis=1, ddof=1)
