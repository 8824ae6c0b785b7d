"""The S/N-optimal extraction's field flux and its error, on Hα maps drawn here (not by the mock).

An exponential disc is rendered on a grid ten times finer than the spaxels, smoothed by a
Gaussian PSF and binned: independent of the pipeline's disc models. Over many noise draws of a
faint map the field flux the extraction implies (the map's sum in the aperture times the
correction) must scatter as its quoted error says, and be unbiased.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from redshift1.kmos.extraction import optimal_extraction

SHAPE = (14, 14)
CENTRE = (6.5, 6.5)
FINE = 10


def disc_map(r_d, psf_sigma, total=1.0):
    """A face-on exponential disc of ``total`` flux after the PSF, summed per spaxel (light
    falling beyond the field is lost)."""
    pad = 8
    n = (SHAPE[0] + 2 * pad) * FINE
    c = (np.arange(n) + 0.5) / FINE - pad
    x, y = np.meshgrid(c, c)
    sb = np.exp(-np.hypot(x - CENTRE[0] - 0.5, y - CENTRE[1] - 0.5) / r_d)
    sb *= total / sb.sum()
    sm = gaussian_filter(sb, psf_sigma * FINE, mode="constant")
    binned = sm.reshape(n // FINE, FINE, n // FINE, FINE).sum(axis=(1, 3))
    return binned[pad:-pad, pad:-pad]


def field_fluxes(r_d, psf_sigma, noise, n_draws, seed=0):
    truth = disc_map(r_d, psf_sigma)
    valid = np.ones(SHAPE, bool)
    err = np.full(SHAPE, noise)
    rng = np.random.default_rng(seed)
    flux, sigma, corr_err = [], [], []
    for _ in range(n_draws):
        m = truth + noise * rng.standard_normal(SHAPE)
        ext = optimal_extraction(m, err, valid, CENTRE, psf_sigma)
        f = m[ext.mask].sum() * ext.correction
        stat = np.sqrt((err[ext.mask] ** 2).sum()) * ext.correction
        flux.append(f)
        sigma.append(np.hypot(stat, f * ext.correction_err))
        corr_err.append(ext.correction_err)
    return truth.sum(), np.array(flux), np.array(sigma), np.array(corr_err)


def test_faint_map_flux_scatters_as_its_error_says():
    true, f, s, ce = field_fluxes(r_d=1.5, psf_sigma=1.4, noise=0.008, n_draws=60)
    snr = np.median(f / s)
    assert 4 < snr < 12                           # a faint map: the regime where the disc is uncertain
    assert np.median(ce) > 0.02                   # which the correction's error says
    ratio = np.std(f) / np.median(s)
    assert 0.75 < ratio < 1.35                    # the std of 60 draws is known to ~10 %; without the
    # correction's error the map's noise alone says 1.55 here
    assert np.mean(f) / true == pytest.approx(1.0, abs=3 * np.std(f) / true / np.sqrt(f.size))


def test_bright_map_correction_is_certain():
    _, f, s, ce = field_fluxes(r_d=1.5, psf_sigma=1.4, noise=0.0002, n_draws=5)
    assert np.median(ce) < 0.01


def test_faint_extended_disc_is_not_taken_for_a_compact_one():
    """A faint disc larger than the seeing (r½ ≈ 6 spaxels, a third of its light beyond the
    field, S/N ≈ 3 in the field): the map cannot tell it from a compact one. Scaling the S/N
    peak's spaxels by the discs the noise allowed came out ×0.87 ± 0.05 on these maps (and
    ×0.3-0.7 for single galaxies at S/N 3-5 on the paper preset); the error-optimal circle
    grows until the correction no longer depends on the disc: unbiased, scattering as its
    error says."""
    true, f, s, ce = field_fluxes(r_d=3.5, psf_sigma=1.4, noise=0.015, n_draws=150, seed=3)
    assert 2 < np.median(f / s) < 5
    assert np.mean(f) / true == pytest.approx(1.0, abs=3 * np.std(f) / true / np.sqrt(f.size))
    assert 0.8 < np.std(f) / np.median(s) < 1.25
