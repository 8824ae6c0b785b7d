"""Continuum subtraction, Hα maps, light centres, apertures and integrated spectra of a
KMOS cube: the pieces notebook 02's extraction (:func:`redshift1.kmos.spectra.measure_cube`)
and notebook 03's maps (:mod:`redshift1.kmos.galaxy_size`) are built from.
"""
from __future__ import annotations

import warnings

import numpy as np
import astropy.units as u
from astropy.stats import sigma_clipped_stats

from .. import constants as C
from .cube import KMOSCube
from .linefit import LINES_UM

__all__ = ["line_window_um", "continuum_subtract", "narrowband_map", "light_centroid", "psf_matched_centre",
           "aperture_mask", "integrated_spectrum"]


def line_window_um(z: float, pad_kms: float = 1000.0) -> tuple[float, float]:
    """Observed wavelengths spanning [NII]6548 … [NII]6583 at ``z``, plus ``pad_kms`` either side.

    Parameters
    ----------
    z : float
        Redshift.
    pad_kms : float
        Velocity margin beyond the two [NII] lines.

    Returns
    -------
    (float, float)
        Blue and red ends of the window, µm.
    """
    f = pad_kms / C.C_KMS
    return LINES_UM[2] * (1 + z) * (1 - f), LINES_UM[1] * (1 + z) * (1 + f)


def continuum_subtract(cube: KMOSCube, z: float, halfwidth_um: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Subtract each spaxel's continuum: the σ-clipped median of side bands around the lines.

    Parameters
    ----------
    cube : `~redshift1.kmos.cube.KMOSCube`
        The cube.
    z : float
        Redshift placing the line window (:func:`line_window_um`), which the side bands avoid.
    halfwidth_um : float
        Width (µm) of each side band beyond the window.

    Returns
    -------
    data_cs : ndarray
        The continuum-subtracted cube (wavelength, y, x).
    continuum : ndarray
        The continuum image (flux density; 0 where a spaxel has no data).
    """
    lam = cube.wavelength.to_value(u.um)
    lo, hi = line_window_um(z)
    side = (lam > lo - halfwidth_um) & (lam < hi + halfwidth_um) & ~((lam >= lo) & (lam <= hi))
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore")            # all-NaN edge spaxels of real cubes
        _, med, _ = sigma_clipped_stats(cube.data[side], axis=0, sigma=3.0)
    med = np.nan_to_num(np.asarray(med), nan=0.0)
    return cube.data - med[None], med


def narrowband_map(data_cs: np.ndarray, noise: np.ndarray, wave_um: np.ndarray, z: float, sigma_kms: float,
                   nsig: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """Continuum-subtracted Hα flux per spaxel summed over ±``nsig`` line σ, and its noise.

    Parameters
    ----------
    data_cs, noise : ndarray
        Continuum-subtracted cube and its 1σ noise (wavelength, y, x).
    wave_um : ndarray
        Wavelength of each channel, µm.
    z, sigma_kms : float
        Redshift and intrinsic line σ; the instrumental resolution is added in quadrature.
    nsig : float
        Half-width of the summed channels in line σ (at least the channel nearest the line).

    Returns
    -------
    flux, err : ndarray
        Hα map and its noise (flux density × µm); NaN where a spaxel has no data.
    """
    centre = LINES_UM[0] * (1 + z)
    sig = np.hypot(centre * sigma_kms / C.C_KMS, centre / (C.SIGMA_TO_FWHM * C.KMOS_RESOLUTION))
    sel = np.abs(wave_um - centre) < nsig * sig
    if not sel.any():
        sel[np.argmin(np.abs(wave_um - centre))] = True
    dlam = np.median(np.diff(wave_um))
    flux = np.nansum(data_cs[sel], axis=0) * dlam
    err = np.sqrt(np.nansum(noise[sel] ** 2, axis=0)) * dlam
    valid = np.any(np.isfinite(data_cs[sel]), axis=0)
    return np.where(valid, flux, np.nan), np.where(valid, err, np.nan)


def light_centroid(image: np.ndarray, snr: np.ndarray | None = None, snr_min: float = 2.0) -> tuple[float, float]:
    """Flux-weighted centroid (x, y) of the positive, significant pixels (0-based spaxels).

    Parameters
    ----------
    image : ndarray
        The map (NaN: no data).
    snr : ndarray, optional
        Its S/N; with at least three pixels above ``snr_min`` only those enter.
    snr_min : float
        The S/N threshold.

    Returns
    -------
    (float, float)
        The centroid; the field's centre where no pixel is positive.
    """
    img = np.where(np.isfinite(image), image, 0.0)
    use = img > 0
    if snr is not None and np.count_nonzero(use & (snr > snr_min)) >= 3:
        use &= snr > snr_min
    if not use.any():
        ny, nx = image.shape
        return (nx - 1) / 2, (ny - 1) / 2
    y, x = np.indices(img.shape)
    w = img * use
    return float((w * x).sum() / w.sum()), float((w * y).sum() / w.sum())


def psf_matched_centre(image: np.ndarray, psf_sigma: float) -> tuple[float, float]:
    """Centre (x, y) of the Hα light as the peak of the map smoothed by the PSF (the
    matched filter for a compact source), refined to a fraction of a spaxel by a quadratic
    fit around it (photutils).

    At low S/N a flux-weighted centroid is pulled about by the noise over the whole field
    (by 2-3 spaxels at S/N ≈ 4 in the mock); the smoothed peak moves by ~σ_PSF / S/N.

    Parameters
    ----------
    image : ndarray
        The Hα map (NaN: no data).
    psf_sigma : float
        The PSF's σ in spaxels (at least 0.3 is used).

    Returns
    -------
    (float, float)
        The centre, 0-based spaxels; the integer peak where the quadratic refinement moves it
        by more than 1.5 spaxels, the field's centre for a map without data.
    """
    from photutils.centroids import centroid_quadratic
    from scipy.ndimage import gaussian_filter

    valid = np.isfinite(image)
    ny, nx = image.shape
    if not valid.any():
        return (nx - 1) / 2, (ny - 1) / 2
    smooth = gaussian_filter(np.where(valid, image, 0.0), max(psf_sigma, 0.3), mode="constant")
    smooth = np.where(valid, smooth, np.nan)
    iy, ix = np.unravel_index(np.nanargmax(smooth), smooth.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, y = centroid_quadratic(np.nan_to_num(smooth), xpeak=int(ix), ypeak=int(iy), fit_boxsize=5)
    if not (np.isfinite(x) and np.isfinite(y) and abs(x - ix) <= 1.5 and abs(y - iy) <= 1.5):
        x, y = float(ix), float(iy)
    return float(x), float(y)


def aperture_mask(shape, centre_xy, radius_spaxels: float, valid: np.ndarray) -> np.ndarray:
    """Valid spaxels within ``radius_spaxels`` of the centre (every valid one for radius <= 0).

    Parameters
    ----------
    shape : (int, int)
        The field's shape (ny, nx).
    centre_xy : (float, float)
        The aperture's centre, 0-based spaxels.
    radius_spaxels : float
        Its radius.
    valid : ndarray of bool
        Spaxels holding data.

    Returns
    -------
    ndarray of bool
        The spaxels to sum.
    """
    if radius_spaxels <= 0:
        return valid.copy()
    y, x = np.indices(shape)
    return valid & (np.hypot(x - centre_xy[0], y - centre_xy[1]) <= radius_spaxels)


def integrated_spectrum(data: np.ndarray, noise: np.ndarray, mask2d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the spaxels in ``mask2d`` per channel, noise added in quadrature.

    Parameters
    ----------
    data, noise : ndarray
        Cube and its 1σ noise (wavelength, y, x).
    mask2d : ndarray of bool
        The spaxels to sum (y, x).

    Returns
    -------
    flux, err : ndarray
        Per channel; NaN where no summed spaxel has data (and ``err`` NaN where it is not positive).
    """
    d = np.where(mask2d[None], data, np.nan)
    n = np.where(mask2d[None], noise, np.nan)
    flux = np.nansum(d, axis=(1, 2))
    err = np.sqrt(np.nansum(n**2, axis=(1, 2)))
    empty = ~np.any(np.isfinite(d), axis=(1, 2))
    return np.where(empty, np.nan, flux), np.where(empty | (err <= 0), np.nan, err)
