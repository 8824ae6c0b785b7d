"""The beam-smeared velocity field under an elliptical PSF (redshift1.kmos.kinematics).

The light-weighted velocity after an elliptical PSF is checked against a brute-force
computation written here: the disc's light and light × velocity on a fine grid, convolved
with an elliptical Gaussian kernel by FFT (scipy.signal.fftconvolve), binned to spaxels and
divided. Then its orientation: a PSF stretched along the kinematic major axis smears the
velocity gradient more than one stretched across it.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

from redshift1.kmos.kinematics import smeared_disc_velocity

SHAPE = (14, 14)
PARAMS = (60.0, 180.0, 30.0, 6.6, 6.4, 1.2)      # inc, v_max, PA (from +y to +x), x0, y0, r_turn
R_D, SIGMA = 2.0, 1.4                             # spaxels


def brute_force(ell, psf_pa, fine=8, pad=6):
    inc, vmax, pa, x0, y0, rt = PARAMS
    n = (SHAPE[0] + 2 * pad) * fine
    c = (np.arange(n) + 0.5) / fine - pad - 0.5
    x, y = np.meshgrid(c, c)
    t = np.radians(pa)
    along = (x - x0) * np.sin(t) + (y - y0) * np.cos(t)
    across = -(x - x0) * np.cos(t) + (y - y0) * np.sin(t)
    r = np.hypot(along, across / np.cos(np.radians(inc)))
    light = np.exp(-r / R_D)
    cos_phi = np.divide(along, r, out=np.zeros_like(r), where=r > 0)
    v = vmax * 2 / np.pi * np.arctan(r / rt) * np.sin(np.radians(inc)) * cos_phi
    # elliptical Gaussian of geometric-mean σ, major axis psf_pa counter-clockwise from +x
    q = 1 - ell
    sa, sb = SIGMA / np.sqrt(q) * fine, SIGMA * np.sqrt(q) * fine
    h = int(5 * sa)
    ky, kx = np.mgrid[-h:h + 1, -h:h + 1].astype(float)
    tp = np.radians(psf_pa)
    u = kx * np.cos(tp) + ky * np.sin(tp)
    w = -kx * np.sin(tp) + ky * np.cos(tp)
    kern = np.exp(-0.5 * ((u / sa) ** 2 + (w / sb) ** 2))
    kern /= kern.sum()

    def binned(img):
        conv = fftconvolve(img, kern, mode="same")
        b = conv.reshape(n // fine, fine, n // fine, fine).sum(axis=(1, 3))
        return b[pad:-pad, pad:-pad]
    return binned(light * v) / binned(light)


def test_matches_a_brute_force_elliptical_smearing():
    for ell, psf_pa in ((0.2, 15.0), (0.15, 100.0)):
        model = smeared_disc_velocity(PARAMS, SHAPE, R_D, SIGMA, smooth=1, oversample=4, pad=6,
                                      psf_ellipticity=ell, psf_pa=psf_pa)
        ref = brute_force(ell, psf_pa)
        inner = np.hypot(*np.meshgrid(np.arange(14) - 6.6, np.arange(14) - 6.4)) < 5
        assert np.max(np.abs(model - ref)[inner]) < 0.5          # km/s, of a ±150 km/s field


def test_psf_along_the_major_axis_smears_more():
    # PA 30° from +y towards +x is 60° counter-clockwise from +x
    along = smeared_disc_velocity(PARAMS, SHAPE, R_D, SIGMA, psf_ellipticity=0.25, psf_pa=60.0)
    across = smeared_disc_velocity(PARAMS, SHAPE, R_D, SIGMA, psf_ellipticity=0.25, psf_pa=150.0)
    inner = np.hypot(*np.meshgrid(np.arange(14) - 6.6, np.arange(14) - 6.4)) < 3
    assert np.abs(along[inner]).mean() < np.abs(across[inner]).mean() - 3.0
