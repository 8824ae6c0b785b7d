"""Each galaxy's slit/box loss from its continuum profile, on slit spectra built here (not by the mock).

The frames are ``A' − B'`` continua: a pixel-integrated Gaussian along the slit with the two
half-strength negative images ``nod`` rows away, over 400 columns, some of them under bright
sky (left out of the profile), with Gaussian noise. The expected FWHM, 5-row fraction and
correction are computed here with erf, independently of the pipeline's profile model.
"""
from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from scipy.special import erf

from redshift1.ldss3.continuum_profile import continuum_profiles, continuum_slit_loss
from redshift1.ldss3.line_params import DetectParams
from redshift1.ldss3.reduced import ReducedMask
from redshift1.ldss3.standard_star import Sensitivity

PIX = 0.189       # arcsec per row
NOD = 6           # rows between the positive and each negative image
ROWS, COLS = 10, 400
CENTRE = 5        # row of the profile's peak (and of the line boxes)
SLIT = 0.8        # arcsec
SIGMA_TO_FWHM = 2 * np.sqrt(2 * np.log(2))


def _mass(lo, hi, mu, sig):
    """Mass of a unit Gaussian between rows lo and hi (pixel edges)."""
    return 0.5 * (erf((hi - mu) / (np.sqrt(2) * sig)) - erf((lo - mu) / (np.sqrt(2) * sig)))


def nod_profile(fwhm_arcsec, rows=np.arange(ROWS)):
    """Counts per row of a unit-total source and its two half negatives, integrated over each row."""
    sig = fwhm_arcsec / SIGMA_TO_FWHM / PIX
    return sum(w * _mass(rows - 0.5, rows + 0.5, CENTRE + d, sig) for w, d in ((1.0, 0), (-0.5, NOD), (-0.5, -NOD)))


def box5(fwhm_arcsec):
    """The 5-row box's counts over the positive image's total (negative tails included, as measured)."""
    return float(nod_profile(fwhm_arcsec)[CENTRE - 2:CENTRE + 3].sum())


def transmission(fwhm_arcsec):
    return erf(SLIT / 2 / (np.sqrt(2) * fwhm_arcsec / SIGMA_TO_FWHM))


def reduced_mask(fwhms, totals, noise=1.0, seed=0):
    rng = np.random.default_rng(seed)
    n = len(fwhms)
    sci = np.stack([np.outer(nod_profile(f), np.full(COLS, t)) for f, t in zip(fwhms, totals)])
    sci = sci + noise * rng.standard_normal(sci.shape)
    # every 4th column lies on a sky line, whose subtraction left a flat residual along the slit
    sky = np.tile(np.where(np.arange(COLS) % 4 == 0, 500.0, 20.0), (n, 1))
    sci[:, :, ::4] += 30.0
    good = np.zeros(sci.shape, bool)
    good[:, 1:ROWS - 1] = True
    slits = Table({"slit_id": np.arange(n), "box_lo": np.ones(n, int), "box_hi": np.full(n, ROWS - 1)})
    return ReducedMask(name="hand", field="CDFS", slits=slits, exposures=Table(), sci=sci, noise=np.full(sci.shape, noise),
                       good=good, nexp=np.ones(sci.shape, np.uint8), sky=sky, wave=np.tile(np.linspace(7000, 8000, COLS), (n, 1)),
                       meta={"nod": NOD, "pixscale": PIX})


def star(fwhm=0.7):
    w = np.linspace(7000, 8000, 5)
    return Sensitivity(wave=w, response=np.ones(5), smooth=np.ones(5), telluric=np.ones(5), airmass=1.1,
                       star="hand", slit_id=0, mask="hand", box_rows=5, box_fraction=1.0, fwhm=fwhm, box5=box5(fwhm),
                       slit_width=SLIT, pixscale=PIX)


def test_profiles_recover_fwhm_and_box_fraction():
    fwhms = [0.55, 0.7, 1.0, 1.4]
    red = reduced_mask(fwhms, totals=[400.0] * 4)
    fw, fe, b5 = continuum_profiles(red, slit=np.arange(4), row=np.full(4, CENTRE))
    for f, m, e, b in zip(fwhms, fw, fe, b5):
        assert 0 < e < 0.02
        assert m == pytest.approx(f, abs=4 * e + 0.003)
        assert b == pytest.approx(box5(f), abs=0.01)


def test_sky_line_columns_do_not_enter_the_profile():
    """A flat residual of 30 counts on a quarter of the columns (too many for σ-clipping to reject)
    would flatten the profile; the columns under bright sky are left out."""
    red = reduced_mask([0.8], totals=[100.0])
    fw, fe, _ = continuum_profiles(red, slit=[0], row=[CENTRE])
    assert fw[0] == pytest.approx(0.8, abs=4 * fe[0] + 0.003)


def test_correction_is_one_for_the_stars_profile_and_follows_a_larger_galaxy():
    fwhms = [0.7, 1.0, 1.3]
    red = reduced_mask(fwhms, totals=[400.0] * 3)
    fw, fe, b5 = continuum_profiles(red, slit=np.arange(3), row=np.full(3, CENTRE))
    cat = Table({"fwhm_y_cont": fw, "fwhm_y_cont_err": fe, "box5_fraction_cont": b5})
    corr, err, used = continuum_slit_loss(cat, star(0.7))
    assert used.all()
    expected = [box5(0.7) / box5(f) * transmission(0.7) / transmission(f) for f in fwhms]
    assert expected[0] == pytest.approx(1.0)
    assert expected[2] > 1.3                      # a galaxy twice the seeing loses a third more
    for c, x, e in zip(corr, expected, err):
        assert c == pytest.approx(x, rel=0.02)
        assert 0 <= e < 0.02


def test_faint_continuum_keeps_the_masks_correction():
    red = reduced_mask([1.0, 1.0], totals=[400.0, 0.5], noise=1.0)
    fw, fe, b5 = continuum_profiles(red, slit=[0, 1], row=[CENTRE, CENTRE])
    cat = Table({"fwhm_y_cont": fw, "fwhm_y_cont_err": fe, "box5_fraction_cont": b5})
    corr, err, used = continuum_slit_loss(cat, star(), DetectParams(continuum_profile_max_err=0.1))
    assert used.tolist() == [True, False]
    assert np.isnan(corr[1]) and np.isnan(err[1])


def test_no_standard_no_correction():
    cat = Table({"fwhm_y_cont": [1.0], "fwhm_y_cont_err": [0.01], "box5_fraction_cont": [0.7]})
    corr, err, used = continuum_slit_loss(cat, None)
    assert not used.any() and np.isnan(corr).all()
