"""The N2 index's error counts the correlation of the Hα and [NII] flux errors.

Spectra drawn here (Gaussian lines integrated over each channel with erf, flat noise): both
lines share one redshift, width and continuum in the fit, so their flux errors correlate
and the ratio scatters less than the quadrature sum of the two relative errors says. The
fit's ``flux_correlation`` must match the correlation the draws show, and the N2 error of
``kross_metallicity_table`` must match the scatter of N2 over the draws.
"""
from __future__ import annotations

import numpy as np
from astropy.table import Table
from scipy.special import erf

from redshift1.kmos.linefit import fit_halpha_nii
from redshift1.science.kross_metallicity import kross_metallicity_table

C_KMS = 299792.458
HALPHA, NII = 0.65646, 0.65851        # µm, vacuum
Z = 0.85
R = 3300.0


def channel_gaussian(edges, centre, sigma, flux):
    """Flux of a Gaussian line falling in each channel, per µm."""
    cdf = 0.5 * (1 + erf((edges - centre) / (np.sqrt(2) * sigma)))
    return flux * np.diff(cdf) / np.diff(edges)


def draws(n=400, sigma_kms=150.0, snr_nii=10.0, ratio=0.3, seed=7):
    """The fits of ``n`` noisy copies of one spectrum, and (wavelengths, copies, noise)."""
    wave = 1.18 + 1.4e-4 * np.arange(700)
    edges = np.concatenate([[wave[0] - 7e-5], 0.5 * (wave[1:] + wave[:-1]), [wave[-1] + 7e-5]])
    spec = np.zeros(wave.size)
    for lam0, f in ((HALPHA, 1.0), (NII, ratio)):
        c = lam0 * (1 + Z)
        sig = c * np.hypot(sigma_kms / C_KMS, 1 / (2.3548 * R))
        spec += channel_gaussian(edges, c, sig, f)
    # noise level giving [NII] the asked S/N (about: the fit's own error is what counts)
    noise = np.full(wave.size, ratio / snr_nii / np.sqrt(2 * np.sqrt(np.pi) * sig / np.median(np.diff(wave))) /
                    np.median(np.diff(wave)))
    rng = np.random.default_rng(seed)
    data = spec[None] + noise * rng.standard_normal((n, wave.size))
    return fit_halpha_nii(wave, data, np.broadcast_to(noise, data.shape), Z, dz=0.003), (wave, data, noise)


def test_fit_reports_the_correlation_its_fluxes_show():
    fit, _ = draws()
    f_ha, f_n = fit.params[:, 2], fit.params[:, 3]
    seen = np.corrcoef(f_ha, f_n)[0, 1]
    said = np.median(fit.flux_correlation)
    assert said > 0.15                       # broad lines share their wings: not independent
    # the correlation of 400 draws scatters by (1 − ρ²)/√400 ≈ 0.05
    assert abs(seen - said) < 0.12


def metallicity_rows(fit, with_correlation=True):
    n = len(fit.params)
    ids = [f"G{i:03d}" for i in range(n)]
    sp = Table()
    sp["id"] = ids
    sp["status"] = "ok"
    sp["flux_halpha"] = fit.params[:, 2]
    sp["flux_halpha_err"] = fit.errors[:, 2]
    sp["flux_nii6583"] = fit.params[:, 3]
    sp["flux_nii6583_err"] = fit.errors[:, 3]
    sp["snr_nii6583"] = fit.params[:, 3] / fit.errors[:, 3]
    sp["flux_nii6583_ul"] = 5 * fit.errors[:, 3]
    sp["nii_sky_distance_aa"] = 30.0
    if with_correlation:
        sp["flux_corr_halpha_nii"] = fit.flux_correlation
    sfr = Table()
    sfr["id"] = ids
    sfr["halpha_detected"] = True
    sfr["logmstar"] = 10.0
    sfr["log_sfr_err"] = 0.1
    sfr["log_delta_ssfr"] = 0.0
    sfr["log_delta_ssfr_err"] = 0.1
    return kross_metallicity_table(sp, sfr)


def test_n2_error_matches_the_scatter_of_the_ratio():
    """Broad lines, [NII] at S/N ≈ 10: with the correlation the N2 error is the scatter of N2
    to within 8 %; the quadrature sum over-states it by more than 8 %."""
    fit, _ = draws()
    met = metallicity_rows(fit)
    det = met["nii_class"] == "detected"
    assert det.sum() > 380
    scatter = np.std(met["n2"][det], ddof=1)          # ±3.5 % for 400 draws
    assert abs(np.median(met["n2_err"][det]) / scatter - 1) < 0.08
    naive = metallicity_rows(fit, with_correlation=False)
    assert np.median(naive["n2_err"][det]) / scatter > 1.08


def test_rotation_profile_reports_the_correlation_its_fluxes_show():
    """The walk's default fluxes come from the two-component (rotation) profile, which shares
    z, σ and Δv between the lines: its own correlation, not the Gaussian's, is the one the
    N2 error needs. Checked against 200 draws (scatter of a correlation ≈ 0.07)."""
    from redshift1.kmos.line_profile import fit_rotation_profile

    fit, (wave, data, noise) = draws(n=200, seed=9)
    profiles = [fit_rotation_profile(wave, data[i], noise, fit.rows(slice(i, i + 1)), dz=0.003) for i in range(200)]
    ok = np.array([p.ok for p in profiles])
    assert ok.sum() > 150
    f_ha = np.array([p.flux_halpha for p in profiles])[ok]
    f_n = np.array([p.flux_nii6583 for p in profiles])[ok]
    said = np.median([p.flux_correlation for p, k in zip(profiles, ok) if k])
    assert abs(np.corrcoef(f_ha, f_n)[0, 1] - said) < 0.15
