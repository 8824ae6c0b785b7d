"""The disc model of an Hα map over a constant pedestal (redshift1.kmos.disc_model).

Maps are drawn here: an exponential disc on a sub-spaxel grid, blurred by a Gaussian PSF
(scipy.ndimage), binned to 14×14 spaxels, plus white noise. A disc that spills out of the
field is degenerate with a constant; where the joint fit leaves most of the disc outside the
field the pedestal is not kept, and the disc must then be the one fitted without a pedestal,
not the shape fitted alongside the pedestal that is dropped.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.ndimage import gaussian_filter

from redshift1.kmos.disc_model import disc_model_over_pedestal, disc_model_total

N, OS, PAD = 14, 5, 6
CENTRE, PA, PSF = (6.7, 6.4), 30.0, 1.4


def disc_map(r_d, q=0.7):
    """Unit-total exponential disc through the PSF, the part inside the field."""
    n = (N + 2 * PAD) * OS
    c = (np.arange(n) + 0.5) / OS - PAD - 0.5
    x, y = np.meshgrid(c, c)
    t = np.radians(PA)
    dx, dy = x - CENTRE[0], y - CENTRE[1]
    a, b = dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t)
    img = np.exp(-np.hypot(a, b / q) / r_d)
    img = gaussian_filter(img / img.sum(), PSF * OS, mode="constant")
    binned = img.reshape(N + 2 * PAD, OS, N + 2 * PAD, OS).sum(axis=(1, 3))
    return binned[PAD:PAD + N, PAD:PAD + N]


def test_a_disc_mostly_outside_the_field_is_refitted_without_the_pedestal():
    img = disc_map(6.0)
    err = np.full(img.shape, 1e-4 * img.max())
    joint = disc_model_total(img, err, CENTRE, None, PA, PSF, with_axis_ratio_error=True, fit_background=True)
    assert joint[3] < 0.9
    fit = disc_model_over_pedestal(img, err, CENTRE, PA, PSF)
    bare = disc_model_total(img, err, CENTRE, None, PA, PSF, with_axis_ratio_error=True)
    assert np.isnan(fit[6]) and np.isnan(fit[7])
    np.testing.assert_allclose(fit[:6], bare, rtol=1e-12)
    # a compact disc keeps its pedestal and the joint fit
    small = disc_map(1.0) + 2e-4
    err = np.full(small.shape, 1e-3 * small.max())
    fit = disc_model_over_pedestal(small, err, CENTRE, PA, PSF)
    joint = disc_model_total(small, err, CENTRE, None, PA, PSF, with_axis_ratio_error=True, fit_background=True)
    assert np.isfinite(fit[6]) and fit == tuple(joint)


def test_the_dropped_pedestal_no_longer_inflates_the_total():
    """r_d = 2.5 spaxels at S/N 15 (60 draws; 86 % of the light in the field): 40 joint fits
    leave < 90 % in the field. Keeping their shape while dropping their pedestal put the total
    above 1.3 times the truth in 22 % of the draws; refitted, in 7 %, with the median ×0.95
    (×0.99 before: the refit trades a little bias for the tail)."""
    rng = np.random.default_rng(5)
    truth = disc_map(2.5)
    sig = truth.sum() / 15 / np.sqrt(60)
    old, new = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(60):
            img = truth + rng.normal(0, sig, truth.shape)
            err = np.full(truth.shape, sig)
            joint = disc_model_total(img, err, CENTRE, None, PA, PSF, with_axis_ratio_error=True, fit_background=True)
            old.append(np.sum(img - (joint[6] if joint[3] >= 0.9 else 0.0)) / joint[3])
            fit = disc_model_over_pedestal(img, err, CENTRE, PA, PSF)
            new.append(np.sum(img - np.nan_to_num(fit[6])) / fit[3])
    old, new = np.array(old), np.array(new)        # the unit-total disc: the truth is 1
    assert np.mean(old > 1.3) >= 0.1
    assert np.mean(new > 1.3) <= 0.5 * np.mean(old > 1.3)
    assert 0.9 < np.median(new) < 1.1
