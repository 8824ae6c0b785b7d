"""Physical sanity and determinism of the mock KMOS instrument."""
import numpy as np
import astropy.units as u
import pytest
from astropy.modeling import fitting, models
from astropy.table import Table

from redshift1 import constants as C
from redshift1.kmos.cube import read_kmos_cube
from redshift1.mock.kmos import KMOSNoise, PSF, observe_cube, observe_star, sky_shape, wavelength_grid
from redshift1.mock.observe import observe

WAVE = wavelength_grid().to_value(u.um)
GAL = dict(z=0.8500, flux_halpha=3e-15, flux_nii6583=0.0, r_half_arcsec=0.35, x0=6.5, y0=6.5, pa=40.0,
           inclination=50.0, v_max=160.0, r_turn_arcsec=0.1, sigma0=50.0, re_star_arcsec=0.3,
           sersic_n=1.0, q_star=0.7, k_ab=np.nan)


def test_injected_line_integrates_back_to_its_flux():
    """Summed over the IFU and the line's channels, the cube returns the injected Hα flux
    (the part inside the field) within 4σ of the noise of that sum."""
    psf = PSF(0.6, 0.05, 10.0)
    data, sigma, extra = observe_cube(GAL, psf, KMOSNoise(residual=0.0), np.random.default_rng(11), WAVE)
    centre = C.HALPHA.to_value(u.um) * (1 + GAL["z"])
    win = np.abs(WAVE - centre) < 0.0025          # ±25 Å observed, >6σ of the line
    dlam = np.median(np.diff(WAVE))
    measured = data[win].sum() * dlam
    err = np.sqrt((sigma[win].astype(float) ** 2).sum()) * dlam
    assert extra["flux_halpha_fov"] == pytest.approx(GAL["flux_halpha"], rel=0.1)   # compact: mostly inside
    assert abs(measured - extra["flux_halpha_fov"]) < 4 * err
    assert extra["flux_halpha_fov"] / err > 20      # the test has power: a 5% error would show


def test_sky_residuals_sit_under_sky_lines():
    noise = KMOSNoise()
    data, sigma, _ = observe_cube(dict(GAL, flux_halpha=0.0), PSF(0.6, 0.05, 0.0), noise,
                                  np.random.default_rng(3), WAVE)
    pull = (data / sigma).mean(axis=(1, 2)) * 14      # spaxel-mean pull: ~N(0,1) where noise is white
    sky = sky_shape(WAVE) > noise.residual_threshold
    assert np.std(pull[~sky]) == pytest.approx(1.0, abs=0.1)
    # a residual shared by all 196 spaxels (amplitude r σ, spaxel weights U(0.7, 1.3), E[u²] = 1.03)
    # adds (14 r)² E[u²] to the variance of the spaxel-mean pull
    expected = np.sqrt(1 + (14 * noise.residual) ** 2 * 1.03)
    assert np.std(pull[sky]) == pytest.approx(expected, rel=0.15)
    assert expected > 1.3                            # the residual is there to be seen
    assert np.median(sigma[:, 7, 7][sky]) > 2 * np.median(sigma[:, 7, 7][~sky])


@pytest.mark.parametrize("fwhm,ell", [(0.5, 0.07), (0.75, 0.15)])
def test_psf_star_fwhm_is_the_configured_one(fwhm, ell):
    """A 2D Gaussian fit to the σ-clipped collapse of a PSF-star cube returns the configured
    FWHM and ellipticity once the 0.2" spaxel integration (σ² + Δ²/12) is allowed for."""
    psf = PSF(fwhm, ell, 30.0)
    data, _ = observe_star(psf, 16.0, 6.3, 6.8, KMOSNoise(), np.random.default_rng(5), WAVE)
    img = np.nanmedian(data, axis=0)
    y, x = np.mgrid[:14, :14]
    # unequal starting widths and a tilt: at σx = σy the fit has no gradient in θ
    g0 = models.Gaussian2D(img.max(), 6.5, 6.5, 2.0, 1.5, 0.3)
    g = fitting.LevMarLSQFitter()(g0, x, y, img)
    pix = C.KMOS_PIXSCALE.to_value(u.arcsec)
    sa, sb = psf.sigmas()
    box = pix**2 / 12
    expect_a, expect_b = np.sqrt(sa**2 + box), np.sqrt(sb**2 + box)
    widths = np.abs([g.x_stddev.value, g.y_stddev.value]) * pix
    got = sorted(widths, reverse=True)
    major_angle = np.degrees(g.theta.value + (0 if widths[0] >= widths[1] else np.pi / 2)) % 180
    assert major_angle == pytest.approx(psf.pa, abs=5)
    assert got[0] == pytest.approx(expect_a, rel=0.02)
    assert got[1] == pytest.approx(expect_b, rel=0.02)
    assert (g.x_mean.value, g.y_mean.value) == pytest.approx((6.3, 6.8), abs=0.05)


def test_same_seed_gives_identical_files(tmp_path):
    a = observe(tmp_path / "a", "tiny", seed=3, instruments=("kmos",))
    b = observe(tmp_path / "b", "tiny", seed=3, instruments=("kmos",))
    c = observe(tmp_path / "c", "tiny", seed=4, instruments=("kmos",))
    assert a["files"] == b["files"]
    for f in a["files"]:
        assert (tmp_path / "a" / f["path"]).read_bytes() == (tmp_path / "b" / f["path"]).read_bytes()
    cubes_a = {f["path"]: f["sha256"] for f in a["files"] if f["path"].endswith(".fits")}
    cubes_c = {f["path"]: f["sha256"] for f in c["files"] if f["path"].endswith(".fits")}
    assert set(cubes_a.values()).isdisjoint(cubes_c.values())


def test_survey_layout_and_truth_apart(tiny_kmos_survey):
    kmos = tiny_kmos_survey / "kmos"
    targets = Table.read(kmos / "targets.ecsv")
    truth = Table.read(tiny_kmos_survey / "truth" / "kmos_galaxies.ecsv")
    assert len(targets) == len(truth) == 4
    assert not any("truth" in p.name for p in kmos.rglob("*"))
    assert {"z", "flux_halpha", "r_half_kpc"}.isdisjoint(targets.colnames)   # no truth in the catalogue
    for row in targets:
        cube = read_kmos_cube(kmos / row["cube"])
        assert cube.name == row["id"] and cube.header["HIERARCH R1 IFU"] == row["ifu"]
        assert cube.unit == u.Unit("erg s-1 cm-2 um-1")
    stars = Table.read(kmos / "psf_stars.ecsv")
    assert sorted(stars["spectrograph"]) == [1, 2, 3]
    assert all((kmos / p).is_file() for p in stars["cube"])
    # catalogue redshifts are close to, not equal to, the truth
    dz = np.abs(np.asarray(targets["z_cat"]) - np.asarray(truth["z"]))
    assert np.all(dz < 0.003) and np.any(dz > 0)
