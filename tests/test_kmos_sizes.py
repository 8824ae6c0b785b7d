"""Notebook 03's sizes against mock cubes with known Hα discs (seeded)."""
import numpy as np
import pytest

from redshift1.kmos.kinematics import disc_velocity, fit_disc, VelocityField
from redshift1.kmos.size_survey import SizeConfig, measure_size_cube
from redshift1.kmos.sizes import gaussian_growth, half_light_radius, psf_corrected_radius, size_error_budget
from redshift1.kmos.spectra import SpectraConfig, measure_cube
from redshift1.mock.kmos import PSF

from kmos_helpers import galaxy, mock_cube


def test_curve_of_growth_of_a_gaussian_blob():
    """Noise-free circular Gaussian: r½ = sqrt(2 ln 2) σ, total recovered."""
    y, x = np.indices((14, 14))
    s = 1.7
    img = np.exp(-0.5 * ((x - 6.3) ** 2 + (y - 6.8) ** 2) / s**2)
    sm = half_light_radius(img, np.full_like(img, 1e-3), (6.3, 6.8))
    assert sm.r_half == pytest.approx(np.sqrt(2 * np.log(2)) * s, rel=0.02)
    assert sm.total_model == pytest.approx(2 * np.pi * s**2, rel=0.02)
    assert gaussian_growth(np.inf, 3.0, 1.0) == 3.0


def test_psf_correction_and_limits():
    r, res = psf_corrected_radius([0.5, 0.3, 0.2], 0.3)
    assert r[0] == pytest.approx(0.4) and res.tolist() == [True, False, False]
    assert r[1] == r[2] == 0.3                       # unresolved: HWHM as the upper limit
    err = size_error_budget(0.5, 0.05, 0.3, 0.2, 0.1)
    assert err > 0.05 * 0.5 / 0.4                    # more than the curve-of-growth term alone


def test_disc_model_recovers_a_noise_free_velocity_field():
    truth = np.array([55.0, 180.0, 120.0, 6.8, 6.2, 1.2])
    y, x = np.indices((14, 14))
    v = disc_velocity(truth, x, y) + 15.0                       # plus a systemic offset
    vf = VelocityField(0.9, v, np.full_like(v, 5.0), np.full_like(v, 50.0), np.ones_like(v), np.full_like(v, 0.1),
                       np.hypot(x - 6.8, y - 6.2) < 6)
    d = fit_disc(vf, (6.6, 6.4), centre_prior=5.0)
    assert d.success
    assert (d.x0, d.y0) == pytest.approx((6.8, 6.2), abs=0.1)
    assert (d.pa - 120.0 + 180) % 360 - 180 == pytest.approx(0, abs=3)


@pytest.fixture(scope="module")
def size_ratios():
    rng = np.random.default_rng(7)
    out = []
    for i in range(30):
        g = galaxy(rng)
        psf = PSF(rng.uniform(0.5, 0.75), 0.07, 30.0)
        cube, _ = mock_cube(g, psf=psf, seed=i)
        m = measure_cube(cube, g["z"], SpectraConfig(n_perturb=5))
        s = measure_size_cube(cube, m["z"], m["sigma_kms"], psf.hwhm, psf.ellipticity, SizeConfig())
        out.append((s["r_half_corr_arcsec"] / g["r_half_arcsec"], s["resolved"], g["r_half_arcsec"] / psf.hwhm))
    return np.array(out)


def test_r_half_within_10_percent_for_resolved_galaxies(size_ratios):
    ratio, resolved, _ = size_ratios.T
    resolved = resolved.astype(bool)
    assert resolved.sum() >= 20
    # the median's own noise: 1.25 × 0.25 / sqrt(30) ≈ 0.06
    assert np.median(ratio[resolved]) == pytest.approx(1.0, abs=0.10)


def test_large_discs_are_resolved(size_ratios):
    ratio, resolved, size_over_hwhm = size_ratios.T
    assert resolved[size_over_hwhm > 2].all()
