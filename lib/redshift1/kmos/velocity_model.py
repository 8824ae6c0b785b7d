"""Line-of-sight velocities of the six-parameter rotating disc (:mod:`redshift1.kmos.kinematics`),
as the disc has them and as a seeing-limited velocity field measures them.

    v_los(x, y) = v_max (2/π) arctan(R / r_t) sin i cos φ

with R and φ the radius and azimuth in the disc plane for centre (x0, y0), position angle
PA and inclination i. Beam smearing takes the intensity-weighted mean of v_los over the
PSF, the spaxels and the spaxel fits' boxcar (:func:`smeared_disc_velocity`); the map is
linear in v_max, so :func:`smeared_unit_velocities` gives it for many turnover radii at once.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .disc_model import convolve_and_bin, psf_operator

__all__ = ["disc_velocity", "smeared_disc_velocity", "smeared_unit_velocities"]


def disc_velocity(params, x, y):
    """Line-of-sight velocity of the six-parameter arctan disc at spaxel coordinates x, y.

    Parameters
    ----------
    params : sequence of float
        (inclination [deg], v_max [km/s], PA [deg, from +y towards +x], x0, y0, r_turn [spaxel]).
    x, y : numpy.ndarray
        Spaxel coordinates, 0-based.

    Returns
    -------
    numpy.ndarray
        Velocity [km/s].
    """
    inc, vmax, pa, x0, y0, rt = params
    r, cos_phi = _disc_polar(x, y, inc, pa, x0, y0)
    return vmax * (2 / np.pi) * np.arctan(r / max(rt, 1e-3)) * np.sin(np.radians(inc)) * cos_phi


def smeared_disc_velocity(params, shape, r_d: float, psf_sigma: float, smooth: int = 1, oversample: int = 2,
                          pad: int = 4, psf_ellipticity: float = 0.0, psf_pa: float = 0.0) -> np.ndarray:
    """What a velocity field measures of the six-parameter disc.

    The intensity-weighted line-of-sight velocity of an exponential disc after the PSF, the
    spaxels and the boxcar of :func:`spaxel_fits`. Beam smearing flattens the inner velocity
    gradient; a model without it explains the flattening with a large turnover radius, and
    v_max then extrapolates an arctan far beyond the data (×1.3 on KinMS discs).

    A least-squares fit calls this for every column of its finite-difference Jacobian: the
    light (and its PSF-smeared image) depends on the geometry only, not on v_max or r_t, the
    map is linear in v_max, and a step in the fit's velocity offset leaves the whole map
    unchanged, so the smeared light and the map for unit v_max are kept for the last few
    parameter sets (the values are exactly those computed afresh up to rounding; the
    returned map is read-only).

    Parameters
    ----------
    params : sequence of float
        Disc parameters as in :func:`disc_velocity`.
    shape : tuple of int
        (ny, nx) of the image.
    r_d : float
        Scale length of the light in the disc's plane [spaxel].
    psf_sigma : float
        σ of the Gaussian PSF [spaxel].
    smooth : int, optional
        Boxcar size of :func:`spaxel_fits` [spaxel].
    oversample : int, optional
        Sub-pixels per spaxel of the model grid.
    pad : int, optional
        Margin of the model grid beyond the field [spaxel].
    psf_ellipticity, psf_pa : float, optional
        The PSF's 1 − b/a and major axis (degrees counter-clockwise from +x, notebook 01's
        star); 0: round. An elongated PSF smears the velocities more along its major axis
        and turns the apparent kinematic axis: a round model left bright, inclined discs'
        PAs 5-10° off with errors of 1-2° (paper preset).

    Returns
    -------
    numpy.ndarray
        (ny, nx) velocity [km/s].
    """
    psf = (float(psf_sigma), float(psf_ellipticity) if np.isfinite(psf_ellipticity) else 0.0,
           float(psf_pa) if np.isfinite(psf_pa) else 0.0)
    return _smeared_velocity(tuple(float(p) for p in params), tuple(int(n) for n in shape), float(r_d),
                             psf, int(smooth), int(oversample), int(pad))


def smeared_unit_velocities(geometry, r_turns, shape, r_d: float, psf_sigma: float, smooth: int = 1,
                            oversample: int = 2, pad: int = 4, psf_ellipticity: float = 0.0,
                            psf_pa: float = 0.0) -> np.ndarray:
    """:func:`smeared_disc_velocity` at v_max = 1 for many turnover radii at once.

    Parameters
    ----------
    geometry : sequence of float
        (inclination [deg], PA [deg], x0, y0).
    r_turns : array_like
        (k,) turnover radii [spaxel].
    shape, r_d, psf_sigma, smooth, oversample, pad, psf_ellipticity, psf_pa
        As :func:`smeared_disc_velocity`.

    Returns
    -------
    numpy.ndarray
        (k, ny, nx) velocity maps [km/s per km/s of v_max].
    """
    psf = (float(psf_sigma), float(psf_ellipticity) if np.isfinite(psf_ellipticity) else 0.0,
           float(psf_pa) if np.isfinite(psf_pa) else 0.0)
    inc, pa, x0, y0 = (float(g) for g in geometry)
    shape = tuple(int(n) for n in shape)
    xx, yy, light, den = _smeared_light((inc, pa, x0, y0), shape, float(r_d), psf, int(smooth), int(oversample),
                                        int(pad))
    # only the arctan changes with r_t: one PSF pass for the whole stack
    r, cos_phi = _disc_polar(xx, yy, inc, pa, x0, y0)
    rt = np.maximum(np.asarray(r_turns, float), 1e-3)[:, None, None]
    images = light * ((2 / np.pi) * np.arctan(r / rt) * np.sin(np.radians(inc)) * cos_phi)
    num = _psf_apply(images, shape, psf, int(smooth), int(oversample), int(pad))
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _disc_polar(x, y, inc, pa, x0, y0):
    """Radius in the disc's plane and the cosine of the azimuth from the major axis."""
    t = np.radians(pa)
    dx, dy = x - x0, y - y0
    xm = dx * np.sin(t) + dy * np.cos(t)
    ym = -dx * np.cos(t) + dy * np.sin(t)
    r = np.hypot(xm, ym / max(np.cos(np.radians(inc)), 0.05))
    return r, np.divide(xm, r, out=np.zeros_like(r), where=r > 0)


def _smeared_velocity(params, shape, r_d, psf, smooth, oversample, pad):
    # the map is linear in v_max: a step in v_max (a column of the fit's Jacobian) reuses it
    inc, vmax, pa, x0, y0, rt = params
    out = vmax * _smeared_unit_velocity((inc, pa, x0, y0, rt), shape, r_d, psf, smooth, oversample, pad)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=16)
def _smeared_unit_velocity(geometry, shape, r_d, psf, smooth, oversample, pad):
    """:func:`smeared_disc_velocity` for v_max = 1 km/s."""
    inc, pa, x0, y0, rt = geometry
    xx, yy, light, den = _smeared_light((inc, pa, x0, y0), shape, r_d, psf, smooth, oversample, pad)
    num = _psf_apply(light * disc_velocity((inc, 1.0, pa, x0, y0, rt), xx, yy), shape, psf, smooth, oversample, pad)
    return np.divide(num, den, out=np.zeros_like(den), where=den > 0)


def _psf_apply(img, shape, psf, smooth, oversample, pad):
    """One sub-pixel image through the PSF, the spaxels and the boxcar: the separable matrices
    for a round PSF, the PSF's dense operator (built once per PSF) for an elliptical one."""
    if psf[1] > 0:
        op = psf_operator(tuple(shape), pad, oversample, max(psf[0], 1e-3), psf[1], psf[2], smooth)
        stack = img.reshape((-1, img.shape[-2] * img.shape[-1]))
        return (stack @ op.T).reshape(img.shape[:-2] + tuple(shape))
    return convolve_and_bin(img, shape, pad, oversample, max(psf[0], 1e-3), 0.0, 0.0, smooth)


@lru_cache(maxsize=16)
def _smeared_light(geometry, shape, r_d, psf, smooth, oversample, pad):
    """Sub-pixel grid, exponential-disc light on it, and the light after PSF, spaxels and
    boxcar (:func:`redshift1.kmos.disc_model.convolve_and_bin`)."""
    inc, pa, x0, y0 = geometry
    ny, nx = shape
    step = 1.0 / oversample
    ys = (np.arange((ny + 2 * pad) * oversample) + 0.5) * step - pad - 0.5
    xs = (np.arange((nx + 2 * pad) * oversample) + 0.5) * step - pad - 0.5
    xx, yy = np.meshgrid(xs, ys)
    r, _ = _disc_polar(xx, yy, inc, pa, x0, y0)
    light = np.exp(-r / max(r_d, 0.05))
    den = _psf_apply(light, shape, psf, smooth, oversample, pad)
    for a in (xx, yy, light, den):
        a.setflags(write=False)
    return xx, yy, light, den
