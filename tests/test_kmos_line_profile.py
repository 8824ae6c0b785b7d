"""Fluxes of rotation-broadened lines (redshift1.kmos.line_profile) on spectra built here.

The integrated spectrum of a rotating exponential disc is drawn in the test, not by the mock:
equal-light samples of an exponential disc's radius (Lambert W), an arctangent rotation
curve, Gaussian lines of dispersion σ₀ and KMOS's resolution, averaged over each channel.
One Gaussian over-counts the flux of such a flat-topped line; the two-component profile
must not, and must cost no precision.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import lambertw

from redshift1.constants import HALPHA, NII_6548, NII_6583, SIGMA_TO_FWHM
from redshift1.kmos.linefit import fit_halpha_nii
from redshift1.kmos.line_profile import fit_rotation_profile, rotation_profile_model
from redshift1.kmos.spectra import SpectraConfig, measure_cube
from redshift1.errors import Redshift1Error

C_KMS = 299792.458
RESOLUTION = 3300.0
WAVE = 1.0 + 1.7529e-4 * np.arange(2048)
Z = 0.85
LINES = ((HALPHA.to_value("um"), 1.0), (NII_6583.to_value("um"), 1.0), (NII_6548.to_value("um"), 1 / 3))


def disc_spectrum(v_sini, r_turn, sigma0=50.0, f_ha=1.0, f_nii=0.3, n=60, sub=10):
    """Channel-averaged flux density of an exponential disc (unit scale length) rotating on
    an arctangent curve (turnover ``r_turn``), seen at v sin i = ``v_sini`` [km/s]."""
    q = (np.arange(n) + 0.5) / n
    r = -1 - lambertw((q - 1) / np.e, -1).real                  # radii holding equal light
    phi = (np.arange(n) + 0.5) / n * 2 * np.pi
    v = (v_sini * 2 / np.pi * np.arctan(r[:, None] / r_turn) * np.cos(phi[None, :])).ravel()
    dl = WAVE[1] - WAVE[0]
    fine = WAVE[:, None] + ((np.arange(sub) + 0.5) / sub - 0.5)[None, :] * dl
    rows = np.flatnonzero((WAVE > 0.64 * (1 + Z)) & (WAVE < 0.67 * (1 + Z)))
    out = np.zeros(WAVE.size)
    for (rest, k), f in zip(LINES, (f_ha, f_nii, f_nii)):
        mu = rest * (1 + Z) * (1 + v / C_KMS)
        s = np.hypot(mu * sigma0 / C_KMS, mu / (SIGMA_TO_FWHM * RESOLUTION))
        g = np.exp(-0.5 * ((fine[rows][..., None] - mu) / s) ** 2) / (np.sqrt(2 * np.pi) * s)
        out[rows] += k * f * g.mean(axis=-1).mean(axis=1)
    return out


def both_fits(spec, err):
    fit = fit_halpha_nii(WAVE, spec[None], err[None], Z, dz=0.01)
    return fit, fit_rotation_profile(WAVE, spec, err, fit)


@pytest.mark.parametrize("v_sini, r_turn", [(100, 0.2), (150, 0.2), (150, 0.5), (200, 0.5)])
def test_flat_topped_line_flux(v_sini, r_turn):
    """Noise-free: one Gaussian over-counts Hα by 1.3-6.5 % and [NII] by 1.7-9 %; the two
    components leave under a third of that (0.04-0.9 % and 0.02-1.3 %)."""
    spec = disc_spectrum(v_sini, r_turn)
    fit, rp = both_fits(spec, np.full(WAVE.size, 1e-3))
    assert rp.ok
    gauss_ha, gauss_nii = fit.params[0, 2] - 1, fit.params[0, 3] / 0.3 - 1
    assert gauss_ha > 0.01 and gauss_nii > 0.01
    assert abs(rp.flux_halpha - 1) < gauss_ha / 3
    assert abs(rp.flux_nii6583 / 0.3 - 1) < gauss_nii / 3
    assert rp.dv_kms > 0.25 * v_sini


def test_gaussian_line_is_left_alone():
    """No rotation: both profiles give the same flux (within 0.05 %)."""
    spec = disc_spectrum(0.0, 0.3)
    fit, rp = both_fits(spec, np.full(WAVE.size, 1e-3))
    assert rp.flux_halpha == pytest.approx(fit.params[0, 2], rel=5e-4)
    assert rp.flux_nii6583 == pytest.approx(fit.params[0, 3], rel=5e-4)


def test_noise_costs_no_precision_and_errors_hold():
    """120 noise draws at Hα S/N ≈ 10 of a v sin i = 150 km/s disc: the two-component flux is
    unbiased (the Gaussian's is not), scatters no more than the Gaussian's, and its curvature
    error describes its scatter."""
    spec = disc_spectrum(150.0, 0.3)
    noise = 140.0
    rng = np.random.default_rng(5)
    g, r, e = [], [], []
    for _ in range(120):
        err = np.full(WAVE.size, noise)
        fit, rp = both_fits(spec + noise * rng.standard_normal(WAVE.size), err)
        g.append(fit.params[0, 2])
        r.append(rp.flux_halpha)
        e.append(rp.flux_halpha_err)
    g, r, e = map(np.asarray, (g, r, e))
    assert 6 < np.median(r / e) < 15
    se = np.std(r) / np.sqrt(r.size)
    assert np.mean(r) == pytest.approx(1.0, abs=3 * se)
    assert np.mean(g) - 1 > 3 * se
    assert np.std(r) < 1.1 * np.std(g)
    assert 0.8 < np.std(r) / np.median(e) < 1.25


def test_model_is_two_half_systems():
    """Δv = 0 gives the single system; the model's area is the flux whatever Δv."""
    lo, hi = WAVE[:-1], WAVE[1:]
    dl = hi - lo
    for dv in (0.0, 120.0):
        m = rotation_profile_model((Z, 60.0, dv, 2.0, 0.0, 0.0), lo, hi)
        assert np.sum(m * dl) == pytest.approx(2.0, rel=1e-6)


def test_unknown_profile_is_refused():
    with pytest.raises(Redshift1Error, match="line_profile"):
        measure_cube(_tiny_cube(), Z, SpectraConfig(line_profile="lorentzian"))


def _tiny_cube():
    """A 14×14 cube of noise around Hα at Z, in memory (ESO layout keys)."""
    from astropy.io import fits
    from redshift1.kmos.cube import read_kmos_cube
    import tempfile
    from pathlib import Path
    rng = np.random.default_rng(1)
    h = fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CTYPE3": "WAVE", "CUNIT1": "deg",
                     "CUNIT2": "deg", "CUNIT3": "um", "CRPIX1": 7.5, "CRPIX2": 7.5, "CRPIX3": 1.0, "CRVAL1": 53.1,
                     "CRVAL2": -27.8, "CRVAL3": 1.0, "CD1_1": -0.2 / 3600, "CD2_2": 0.2 / 3600, "CD3_3": 1.7529e-4,
                     "BUNIT": "erg/s/cm2/um"})
    data = rng.normal(0, 1e-19, (2048, 14, 14))
    path = Path(tempfile.mkdtemp()) / "tiny.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, h, name="TINY.DATA"),
                  fits.ImageHDU(np.full(data.shape, 1e-19), h, name="TINY.NOISE")]).writeto(path)
    return read_kmos_cube(path)
