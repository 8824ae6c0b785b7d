"""psf_bin_matrix: one matrix per axis does what the filters do one after the other."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter, uniform_filter

from redshift1.kmos.disc_model import psf_bin_matrix


@pytest.mark.parametrize("oversample,pad,sigma,smooth", [(5, 4, 7.5, 1), (2, 4, 3.4, 3), (2, 4, 0.002, 3)])
def test_matrices_equal_gaussian_then_binning_then_boxcar(oversample, pad, sigma, smooth):
    rng = np.random.default_rng(5)
    ny, nx = 14, 12
    img = rng.exponential(1.0, ((ny + 2 * pad) * oversample, (nx + 2 * pad) * oversample))
    want = gaussian_filter(img, sigma, mode="constant")
    want = want.reshape(ny + 2 * pad, oversample, nx + 2 * pad, oversample).sum(axis=(1, 3))
    if smooth > 1:
        want = uniform_filter(want, size=smooth, mode="constant")
    want = want[pad:-pad, pad:-pad]
    got = psf_bin_matrix(ny, pad, oversample, sigma, smooth) @ img @ psf_bin_matrix(nx, pad, oversample, sigma, smooth).T
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_matrix_is_read_only_and_conserves_light_far_from_the_edges():
    m = psf_bin_matrix(14, 6, 5, 5.0)
    with pytest.raises(ValueError):
        m[0, 0] = 1.0
    # a sub-pixel in the middle of the grid gives all its light to the field
    assert m[:, m.shape[1] // 2].sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("ell,pa,smooth", [(0.0, 0.0, 3), (0.15, 20.0, 3), (0.2, 130.0, 1)])
def test_dense_psf_operator_equals_the_per_shift_products(ell, pa, smooth):
    """The kinematics' dense operator (one matrix per PSF) and convolve_and_bin agree to rounding
    on a random sub-pixel image, round or elliptical."""
    from redshift1.kmos.disc_model import convolve_and_bin, psf_operator
    rng = np.random.default_rng(3)
    img = rng.random((44, 44))
    want = convolve_and_bin(img, (14, 14), 4, 2, 1.3, ell, pa, smooth)
    got = (psf_operator((14, 14), 4, 2, 1.3, ell, pa, smooth) @ img.ravel()).reshape(14, 14)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
