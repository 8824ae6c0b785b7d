"""Nod-and-shuffle arithmetic, registration and detection on synthetic arrays (seeded, fast)."""
import numpy as np
import pytest

from redshift1.ldss3.detect import find_lines, line_kernel, significance, spectral_width
from redshift1.ldss3.fluxes import box_flux, point_source_fraction, profile_fwhm
from redshift1.ldss3.nodshuffle import (charge_trap_mask, combine_exposures, median_noise_factor, nanmedian0,
                                        nod_combine, noise_individual, ns_difference, ns_sum, shift_integer)
from redshift1.ldss3.registration import slit_profile_model


def test_charge_traps_found_in_darks_and_not_in_noise():
    rng = np.random.default_rng(1)
    shape = (200, 150)
    darks = rng.normal(1.0, 3.4, (3,) + shape)
    traps = [(40, 30, 12.0, 20.0), (100, 77, 1.0, 8.0), (150, 120, 0.6, 30.0)]  # y, x, q, length
    truth = np.zeros(shape, bool)
    for y, x, q, length in traps:
        k = np.arange(1, 17)
        v = 40 * q * np.exp(-(k - 1) / length)
        darks[:, y + k, x] += v
        truth[y + k[v > 12], x] = True          # clearly above the noise
    bpm = np.zeros(shape, bool)
    bpm[:, 5] = True                              # a bad column is not a trap
    darks[:, :, 5] += 500
    mask, info = charge_trap_mask(darks, bpm)
    assert mask[truth].all()
    assert not mask[:, 5].any()
    assert (mask & ~truth).sum() <= 0.1 * truth.sum() + 3
    assert info["n_trap_columns"] == 3


def test_ns_difference_removes_sky_and_leaves_two_images():
    ny, nx, sh, nod = 64, 40, 16, 6
    sky = np.zeros((ny, nx))
    sky[16:48] = 100.0                            # region A (16:32) and B (32:48) of one slot
    obj = np.zeros((ny, nx))
    obj[20, 10] = 50.0                            # nod A image in region A
    obj[32 + 20 - 16 + nod, 10] = 50.0            # nod B image, shuffled into region B
    frame = sky + obj
    d, bad = ns_difference(frame, np.zeros((ny, nx), bool), sh)
    assert np.allclose(d[16:32, :9], 0)
    assert d[20, 10] == 50 and d[20 + nod, 10] == -50
    assert bad[-sh:].all() and not bad[:ny - sh].any()
    s = ns_sum(frame, sh)
    assert s[16, 0] == 200
    # A' - B' adds the two nods
    final, n = nod_combine(d, np.ones_like(d), nod)
    assert final[20, 10] == 100 and n[20, 10] == pytest.approx(np.sqrt(2))
    assert noise_individual(np.array([25.0]), 3.4)[0] == pytest.approx(np.sqrt(25 + 2 * 3.4**2))


def test_median_combination_rejects_cosmics_and_noise_is_right():
    rng = np.random.default_rng(2)
    n, shape, sigma = 5, (300, 300), 4.0
    stack = rng.normal(0.0, sigma, (n,) + shape).astype(np.float32)
    stack[2, 10, 10] += 3000.0                    # cosmic ray
    bad = np.zeros(stack.shape, bool)
    bad[0, 20, 20] = True
    comb, ncom, ngood, nrej = combine_exposures(stack, bad, np.full(shape, sigma, np.float32))
    assert abs(comb[10, 10]) < 5 * sigma
    assert nrej[10, 10] == 1 and ngood[20, 20] == n - 1
    pull = comb / ncom
    assert 0.95 < np.std(pull) < 1.05             # the median's noise factor is included
    assert median_noise_factor(3) == pytest.approx(1.160) and median_noise_factor(2) == 1.0
    x = np.array([[1.0, np.nan], [3.0, np.nan], [2.0, 5.0]])
    assert np.allclose(nanmedian0(x), [2.0, 5.0])


def test_two_exposures_that_disagree_keep_the_smaller_value():
    stack = np.zeros((2, 4, 4), np.float32)
    stack[1, 1, 1] = 500.0
    comb, _, ngood, _ = combine_exposures(stack, np.zeros(stack.shape, bool), np.ones((4, 4), np.float32))
    assert comb[1, 1] == 0.0 and ngood[1, 1] == 1


def test_shift_integer_and_slit_model():
    a = np.arange(20.0).reshape(4, 5)
    s = shift_integer(a, 1, -2, np.nan)
    assert s[1, 0] == a[0, 2] and np.isnan(s[0]).all()
    m = slit_profile_model(np.arange(-3, 35), 0.0, 3.0 / 0.189, 16)[0]
    assert m[3:3 + 32].min() > 0.8 and m[0] < 0.01 and m[-1] < 0.01


def test_kernel_and_significance_of_noise_and_a_line():
    k = line_kernel(5.0, 3.5)
    assert k.sum() == pytest.approx(1.0)
    assert k.shape[1] > k.shape[0]
    rng = np.random.default_rng(3)
    noise = np.full((30, 10, 300), 5.0)
    sci = rng.normal(0, 5.0, noise.shape)
    good = np.ones(noise.shape, bool)
    good[:, [0, -1]] = False
    det = significance(sci, noise, good, k, continuum_noise=False)
    s = det["sigma"][det["valid"]]
    assert 0.9 < np.std(s) < 1.1
    # a Gaussian line of 600 electrons in slit 7, plus a flat continuum the side bands remove
    yy, xx = np.mgrid[0:10, 0:300]
    line = 600 * np.exp(-0.5 * (((xx - 150) / 2.0) ** 2 + ((yy - 5) / 1.5) ** 2)) / (2 * np.pi * 2.0 * 1.5)
    sci[7] += line + 3.0
    det = significance(sci, noise, good, k)
    cat = find_lines(det["sigma"], det["valid"], 4.0)
    best = cat[np.argmax(cat["sigma"])]
    assert (best["slit"], best["row"]) == (7, 5) and abs(best["col"] - 150) <= 1
    assert best["sigma"] > 20 and not best["on_edge"]
    w = spectral_width(det["S"], det["b"], [7], [5], [best["col"]])
    assert 5 < w[0] < 12


def test_box_flux_mirrors_bad_rows():
    yy, xx = np.mgrid[0:9, 0:40]
    img = 100 * np.exp(-0.5 * (((xx - 20) / 1.5) ** 2 + ((yy - 4) / 1.5) ** 2))
    sci = img[None].astype(float)
    noise = np.ones_like(sci)
    good = np.ones(sci.shape, bool)
    f_all, e_all, nm, nmis = box_flux(sci, noise, good, [0], [4], [20])
    good[0, 6, :] = False                         # one row of the 5x5 box is bad
    f_mir, e_mir, nm2, nmis2 = box_flux(sci, noise, good, [0], [4], [20])
    assert f_mir[0] == pytest.approx(f_all[0]) and nm2[0] == 5 and nmis2[0] == 0
    assert e_mir[0] > e_all[0]                    # a mirrored pixel counts twice in the variance
    assert e_all[0] == pytest.approx(5.0)


def test_profile_fwhm_and_point_source_fraction():
    r = np.arange(10.0)
    from scipy.special import erf
    sig = 1.6

    def g(mu):
        return 0.5 * (erf((r + 0.5 - mu) / (np.sqrt(2) * sig)) - erf((r - 0.5 - mu) / (np.sqrt(2) * sig)))
    prof = 100 * (g(4.3) - 0.5 * g(10.3) - 0.5 * g(-1.7))     # A' - B' profile with its negative lobes
    assert profile_fwhm(prof) == pytest.approx(2.3548 * sig, rel=0.02)
    assert point_source_fraction(0.6) > point_source_fraction(0.9)
