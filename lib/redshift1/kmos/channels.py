"""Which channels of an integrated KMOS spectrum a line fit may trust, and how noisy the
data really are: the band's ends, channels where the NOISE extension fails, and the factors
by which the spectral and spatial scatter exceed what NOISE says (notebook 02,
:func:`redshift1.kmos.spectra.measure_cube`).
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from astropy.stats import mad_std, sigma_clip
from scipy.ndimage import percentile_filter

from .linemaps import line_window_um

if TYPE_CHECKING:                    # only for the annotation: spectra imports this module
    from .spectra import SpectraConfig

__all__ = ["empirical_noise_scale", "sky_channels", "channel_noise_scale", "spatial_noise_scale", "band_edge_channels", "noise_failed_channels",
           "usable_channels"]


def empirical_noise_scale(wave_um, spec, err, z, dz, halfwidth_um, default: float = 1.0) -> float:
    """How much noisier the integrated spectrum is than its NOISE propagation says, from the
    line-free side bands: sqrt of the 5σ-clipped mean of (flux/noise)² (at least 1).

    Sky-subtraction residuals are shared by the spaxels of a cube, so they add coherently
    when spaxels are summed while the pipeline's NOISE extension adds in quadrature.

    Parameters
    ----------
    wave_um, spec, err : ndarray
        Wavelengths (µm), the continuum-subtracted integrated spectrum and its noise.
    z, dz : float
        Catalogue redshift and search half-width: the line window over z ± dz is left out.
    halfwidth_um : float
        Width of each side band beyond that window, µm.
    default : float, optional
        The factor returned with fewer than 10 usable channels.

    Returns
    -------
    float
        The factor.
    """
    lo, hi = line_window_um(z - dz)[0], line_window_um(z + dz)[1]
    side = (wave_um > lo - halfwidth_um) & (wave_um < hi + halfwidth_um) & ~((wave_um >= lo) & (wave_um <= hi))
    ratio = spec[side] / err[side]
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size < 10:
        return default
    clipped = sigma_clip(ratio, sigma=5, maxiters=3)
    return float(max(1.0, np.sqrt(np.mean(clipped.compressed() ** 2))))


def sky_channels(err: np.ndarray, factor: float = 1.5, window: int = 101) -> np.ndarray:
    """Channels under OH sky lines, from the noise itself: where the NOISE of the spectrum
    exceeds ``factor`` times its running 25th percentile (the inter-line level) over
    ``window`` channels. No line list is needed; the pipeline's NOISE rises with the sky.

    Parameters
    ----------
    err : ndarray
        1σ noise of a spectrum (NaN: no data).
    factor : float, optional
        How far above the inter-line level a sky channel's noise is.
    window : int, optional
        Width of the running window, channels (wider than the OH lines' clusters).

    Returns
    -------
    ndarray of bool
        True under the sky lines (False where the noise is not finite).
    """
    ok = np.isfinite(err)
    if not ok.any():
        return np.zeros(err.size, bool)
    filled = np.where(ok, err, np.nanmedian(err))
    level = percentile_filter(filled, 25, size=window, mode="nearest")
    return ok & (filled > factor * level)


def channel_noise_scale(wave_um, spec, err, z, dz, halfwidth_um, sky: np.ndarray) -> np.ndarray:
    """:func:`empirical_noise_scale` per channel: separately for the channels under sky lines
    and those between them (``sky``, :func:`sky_channels`), each from its own side-band
    channels (the pooled factor for a class with fewer than 10).

    Sky-subtraction residuals sit under the OH lines: one factor for the whole band,
    dominated by them, over-stated the noise of a line between them (on the paper preset,
    faint [NII] pulls came out 0.80 wide).

    Parameters
    ----------
    wave_um, spec, err : ndarray
        As :func:`empirical_noise_scale`.
    z, dz, halfwidth_um : float
        As :func:`empirical_noise_scale`.
    sky : ndarray of bool
        Channels under sky lines.

    Returns
    -------
    ndarray
        The factor of each channel (at least 1).
    """
    pooled = empirical_noise_scale(wave_um, spec, err, z, dz, halfwidth_um)
    out = np.full(spec.size, pooled)
    for cls in (sky, ~sky):
        scale = empirical_noise_scale(wave_um, np.where(cls, spec, np.nan), err, z, dz, halfwidth_um,
                                      default=pooled)
        out[cls] = scale
    return out


def spatial_noise_scale(data_cs: np.ndarray, noise: np.ndarray, wave_um, z, dz, halfwidth_um,
                        usable: np.ndarray | None = None) -> float:
    """How much more the spaxels scatter than their NOISE says: the robust scatter
    (``mad_std``) of the continuum-subtracted pulls over every valid spaxel of the line-free
    side-band channels (at least 1). If each spaxel's noise is under-stated, their sum's is
    by at least as much.

    Parameters
    ----------
    data_cs, noise : ndarray
        Continuum-subtracted cube and its 1σ noise.
    wave_um : ndarray
        Wavelengths, µm.
    z, dz, halfwidth_um : float
        As :func:`empirical_noise_scale`.
    usable : ndarray of bool, optional
        Channels the fit may use (:func:`usable_channels`); others are left out.

    Returns
    -------
    float
        The factor (1 with fewer than 100 usable pulls).
    """
    lo, hi = line_window_um(z - dz)[0], line_window_um(z + dz)[1]
    side = (wave_um > lo - halfwidth_um) & (wave_um < hi + halfwidth_um) & ~((wave_um >= lo) & (wave_um <= hi))
    if usable is not None:
        side &= usable
    with np.errstate(invalid="ignore", divide="ignore"):
        pull = data_cs[side] / noise[side]
    pull = pull[np.isfinite(pull)]
    if pull.size < 100:
        return 1.0
    return float(max(1.0, mad_std(pull)))


def band_edge_channels(spec: np.ndarray, wave_um: np.ndarray, edge_um: float) -> np.ndarray:
    """Channels within ``edge_um`` of the first or last channel holding data (bool mask).

    Parameters
    ----------
    spec : ndarray
        A spectrum (NaN: no data).
    wave_um : ndarray
        Its wavelengths, µm.
    edge_um : float
        Width masked at each end.

    Returns
    -------
    ndarray of bool
        True at the band's ends (everywhere for a spectrum without data).
    """
    have = np.flatnonzero(np.isfinite(spec))
    if have.size == 0:
        return np.ones(wave_um.size, bool)
    return (wave_um < wave_um[have[0]] + edge_um) | (wave_um > wave_um[have[-1]] - edge_um)


def noise_failed_channels(spec: np.ndarray, err: np.ndarray, line_free: np.ndarray, factor: float,
                          half_window: int = 25) -> np.ndarray:
    """Channels where the NOISE extension fails: the robust scatter (``mad_std``) of the
    continuum-subtracted spectrum's pulls over ±``half_window`` line-free channels exceeds
    ``factor`` times that of the whole band. Line channels never enter the estimate, so a
    real line does not mask itself.

    Parameters
    ----------
    spec, err : ndarray
        Continuum-subtracted spectrum and its noise.
    line_free : ndarray of bool
        Channels that may enter the estimate.
    factor : float
        How much above the band's scatter a window's must be.
    half_window : int
        Half-width of the running window, channels.

    Returns
    -------
    ndarray of bool
        True where the noise model fails (none with fewer than ``2 half_window`` pulls).
    """
    pull = np.where(line_free & np.isfinite(spec) & np.isfinite(err) & (err > 0), spec / err, np.nan)
    if np.count_nonzero(np.isfinite(pull)) < 2 * half_window:
        return np.zeros(spec.size, bool)
    pad = np.pad(pull, half_window, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * half_window + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = mad_std(windows, axis=1, ignore_nan=True)
        overall = mad_std(pull, ignore_nan=True)
    return np.isfinite(local) & (local > factor * overall)


def usable_channels(wave_um, spec, err, z_lo: float, z_hi: float, cfg: "SpectraConfig") -> np.ndarray:
    """Channels the line fit may use: not at the band ends, not where the noise model fails
    (the line window for redshifts ``z_lo``-``z_hi`` kept out of that test).

    Parameters
    ----------
    wave_um, spec, err : ndarray
        Wavelengths (µm), spectrum and noise.
    z_lo, z_hi : float
        The redshift range searched.
    cfg : SpectraConfig
        ``edge_mask_um`` and ``noise_fail_factor``.

    Returns
    -------
    ndarray of bool
        True where the channel may be used.
    """
    lo, hi = line_window_um(z_lo)[0], line_window_um(z_hi)[1]
    line_free = (wave_um < lo) | (wave_um > hi)
    bad = band_edge_channels(spec, wave_um, cfg.edge_mask_um)
    bad |= noise_failed_channels(spec, err, line_free & ~bad, cfg.noise_fail_factor)
    return ~bad
