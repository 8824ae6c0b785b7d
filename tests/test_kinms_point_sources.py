"""Point sources from an independent forward model (KinMS, tests/kinms_cubes.py): a disc of
r_d = 0.02″ under a 0.5-0.8″ PSF at integrated S/N 15-100 is unresolved, and its observed r½
must be the PSF's (the resolution limit): not above it, as a size that noise, a pedestal or
apertures of the wrong shape inflate would be, and not called resolved.

And the observed axis ratio the apertures take (:func:`redshift1.kmos.sizes.observed_axis_ratio`)
against the second moments of a disc convolved with the PSF here.
"""
import numpy as np
import pytest

from redshift1.kmos.cube import read_kmos_cube
from redshift1.kmos.galaxy import PSFInfo, measure_galaxy
from redshift1.kmos.sizes import gaussian_psf_r_half, observed_axis_ratio
from redshift1.kmos.spectra import SpectraConfig

pytest.importorskip("kinms")
from kinms_cubes import HALF_LIGHT_EXP, galaxy_params, kinms_kmos_cube, write_kmos_fits  # noqa: E402


@pytest.fixture(scope="module")
def point_sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinms_points")
    rng = np.random.default_rng(23)
    rows = []
    for i in range(24):
        g = galaxy_params(rng, "compact")
        g["r_d"], g["dx"], g["dy"] = 0.02, rng.uniform(-1, 1), rng.uniform(-1, 1)
        g["flux_halpha"] = 10 ** rng.uniform(-15.7, -15.4)
        g["noise"] = 2.5e-15                                             # integrated S/N ≈ 15-30
        data, noise, _ = kinms_kmos_cube(g, rng)
        path = write_kmos_fits(folder / f"P{i:02d}.fits", data, noise, name=f"P{i:02d}")
        m = measure_galaxy(read_kmos_cube(path), g["z"], PSFInfo.from_fwhm(g["psf_fwhm"], 0.2),
                           spectra_cfg=SpectraConfig(n_perturb=5))
        assert m["halpha_detected"]
        # the resolution limit: the sampled PSF's r½ with the source's own in quadrature (≤ 1 %)
        limit = np.hypot(gaussian_psf_r_half(g["psf_fwhm"], 0.2), HALF_LIGHT_EXP * g["r_d"])
        rows.append((m["size"]["r_half_arcsec"] / limit, m["size"]["r_half_err_arcsec"] / limit,
                     m["size"]["resolved"], m["snr_halpha"]))
    return np.array(rows, float)


def test_point_sources_sit_at_the_psf_radius(point_sources):
    """Median r½ over the resolution limit within 1.5 % of 1 (its own standard error is
    ≈ 0.4 %: scatter ≈ 1.5 % over 24 sources), and about as many below the limit as above."""
    ratio = point_sources[:, 0]
    assert np.isfinite(ratio).all()
    scatter = 1.4826 * np.median(np.abs(ratio - np.median(ratio)))
    assert abs(np.median(ratio) - 1.0) < max(0.015, 3 * 1.25 * scatter / np.sqrt(ratio.size))
    assert 0.25 < np.mean(ratio < 1.0) < 0.75


def test_point_sources_are_not_resolved(point_sources):
    """r½ > HWHM + 2σ(r½): at most 2 of 24 noise-resolved."""
    assert point_sources[:, 2].sum() <= 2


def test_observed_axis_ratio_matches_the_convolved_image():
    """A Gaussian disc (q, r½) convolved with a round Gaussian PSF (r½ h) is a Gaussian whose
    axis ratio is the formula's exactly; measured here from the image's second moments."""
    from scipy.ndimage import gaussian_filter
    y, x = np.indices((241, 241)) - 120.0
    k = np.sqrt(2 * np.log(2))                        # r½ / σ of a 2D Gaussian
    for q, r_int, h in ((0.3, 10.0, 10.0), (0.5, 20.0, 8.0), (0.8, 4.0, 12.0), (0.25, 1.0, 12.0)):
        s = r_int / k
        disc = np.exp(-0.5 * ((x / s) ** 2 + (y / (q * s)) ** 2))
        img = gaussian_filter(disc, h / k)
        q_img = np.sqrt((img * y**2).sum() / (img * x**2).sum())
        assert observed_axis_ratio(q, r_int, h) == pytest.approx(q_img, abs=0.01)
    assert observed_axis_ratio(0.3, 0.0, 5.0) == 1.0
