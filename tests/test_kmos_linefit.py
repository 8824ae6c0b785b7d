"""The batched Hα+[NII] fitter against spectra with known lines (seeded)."""
import numpy as np
import pytest

from redshift1.kmos.line_errors import perturbed_errors
from redshift1.kmos.linefit import LINES_UM, fit_halpha_nii, model_spectra
from redshift1.mock.kmos import wavelength_grid

WAVE = wavelength_grid().value
DLAM = np.median(np.diff(WAVE))


def synthetic(n, seed, snr_range=(5, 50), nii_ratio=(0.1, 0.5), dz_cat=0.003):
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.8, 0.95, n)
    sig = rng.uniform(30, 120, n)
    snr = rng.uniform(*snr_range, n)
    # with unit noise per channel the Hα S/N is about F / (σ_λ^0.5 ...): scale F to the target S/N
    fha = snr * np.sqrt(2 * np.sqrt(np.pi) * np.hypot(LINES_UM[0] * (1 + z) * sig / 3e5,
                                                      LINES_UM[0] * (1 + z) / 7770) * DLAM)
    p = np.column_stack([z, sig, fha, fha * rng.uniform(*nii_ratio, n), rng.normal(0, 0.5, n)])
    lo = np.broadcast_to(WAVE - DLAM / 2, (n, WAVE.size))
    clean = model_spectra(p, lo, lo + DLAM, 3300.0)
    flux = clean + rng.standard_normal(clean.shape)
    zcat = z + np.clip(rng.normal(0, dz_cat, n), -0.009, 0.009)
    return p, flux, np.ones_like(flux), zcat


def test_fluxes_unbiased_and_pulls_unit():
    p, flux, noise, zcat = synthetic(600, 1)
    f = fit_halpha_nii(WAVE, flux, noise, zcat)
    assert f.converged.mean() > 0.99
    for k, name in ((2, "flux_halpha"), (3, "flux_nii6583")):
        pull = (f.params[:, k] - p[:, k]) / f.errors[:, k]
        # N = 600: the mean of unit pulls is known to ±0.04, their std to ±0.03
        assert abs(np.mean(pull)) < 0.15, name
        assert 0.8 < np.std(pull) < 1.25, name
    ratio = f.flux_halpha / p[:, 2]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.03)


def test_redshift_better_than_30_kms_at_high_snr():
    p, flux, noise, zcat = synthetic(300, 2, snr_range=(10, 50))
    f = fit_halpha_nii(WAVE, flux, noise, zcat)
    dv = (f.z - p[:, 0]) / (1 + p[:, 0]) * 299792.458
    assert np.max(np.abs(dv)) < 30.0
    assert np.median(f.sigma_kms / p[:, 1]) == pytest.approx(1.0, abs=0.05)


def test_line_found_anywhere_within_dz():
    """The catalogue redshift may be off by up to ±0.01: the line is still found."""
    p, flux, noise, _ = synthetic(200, 3, snr_range=(15, 40))
    zcat = p[:, 0] + np.random.default_rng(4).choice([-0.0095, 0.0095], 200)
    f = fit_halpha_nii(WAVE, flux, noise, zcat, dz=0.01)
    dv = (f.z - p[:, 0]) / (1 + p[:, 0]) * 299792.458
    assert np.mean(np.abs(dv) < 30) > 0.98


def test_strong_nii_is_not_taken_for_halpha():
    """[NII]/Hα ≈ 0.9 invites the template to lock onto [NII]6583 as Hα; the alias refit fixes it."""
    p, flux, noise, zcat = synthetic(200, 5, snr_range=(20, 50), nii_ratio=(0.8, 0.95))
    f = fit_halpha_nii(WAVE, flux, noise, zcat)
    dv = (f.z - p[:, 0]) / (1 + p[:, 0]) * 299792.458
    assert np.mean(np.abs(dv) < 30) > 0.98


def test_empty_and_partial_spectra_do_not_break_the_batch():
    p, flux, noise, zcat = synthetic(4, 6)
    flux[1] = np.nan                       # nothing usable
    noise[2, :] = 0.0                      # zero noise: invalid
    f = fit_halpha_nii(WAVE, flux, noise, zcat)
    assert np.isnan(f.flux_halpha[1]) and np.isnan(f.flux_halpha[2])
    assert np.isfinite(f.flux_halpha[[0, 3]]).all()


def test_perturbed_errors_match_the_scatter():
    """The Monte Carlo errors (KROSS's perturb-and-refit) agree with the curvature errors."""
    p, flux, noise, zcat = synthetic(60, 7, snr_range=(10, 30))
    f = fit_halpha_nii(WAVE, flux, noise, zcat)
    mc = perturbed_errors(WAVE, flux, noise, f, n_perturb=40, rng=np.random.default_rng(8))
    assert np.median(mc[:, 2] / f.flux_halpha_err) == pytest.approx(1.0, abs=0.15)
