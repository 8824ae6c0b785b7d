"""Disc models under an elliptical PSF (redshift1.kmos.disc_model, redshift1.kmos.extraction).

KMOS PSFs have ellipticities of 0.05-0.2. A round model PSF of the same geometric-mean FWHM
is narrower along the PSF's major axis, so the disc fitted under it is too wide and the
S/N-optimal extraction's aperture correction too large for compact sources. The maps here
are point sources integrated exactly over their spaxels (products of erf differences along
the PSF's axes, which lie along x or y), built without the project's mock or model code.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from redshift1.constants import SIGMA_TO_FWHM
from redshift1.kmos.disc_model import convolve_and_bin, disc_frame
from redshift1.kmos.extraction import optimal_extraction

N = 14


def _point_source(fwhm, ell, pa, x0, y0):
    """Unit-flux elliptical Gaussian (geometric-mean FWHM in spaxels), major axis along x
    (pa 0) or y (pa 90), integrated over each spaxel; part of it falls beyond the field."""
    q = 1 - ell
    fa, fb = fwhm / np.sqrt(q), fwhm * np.sqrt(q)
    fx, fy = (fa, fb) if pa == 0 else (fb, fa)
    edges = np.arange(N + 1) - 0.5

    def prof(c, fw):
        return np.diff(0.5 * (1 + erf((edges - c) / (np.sqrt(2) * fw / SIGMA_TO_FWHM))))
    return prof(y0, fy)[:, None] * prof(x0, fx)[None, :]


@pytest.mark.parametrize("fwhm, ell, pa", [(2.5, 0.1, 0), (3.5, 0.19, 90), (2.8, 0.15, 90)])
def test_aperture_correction_of_a_point_source(fwhm, ell, pa):
    """With the star's ellipticity and PA the correction is right within 1 % (0.1-0.6 %); with a
    round PSF it is more than 1 % too large (the paper preset's compact sources came out ×1.047)
    or, where the misfit spreads the allowed discs, the circle holds nearly all the light."""
    x0, y0 = 6.3, 6.6
    img = _point_source(fwhm, ell, pa, x0, y0)
    err = np.full(img.shape, img.max() * 1e-3)
    valid = np.ones(img.shape, bool)
    sigma = fwhm / SIGMA_TO_FWHM
    # no allowance for model mismatch: the circle is then the S/N peak of a map this bright,
    # where the correction is large enough to test
    ext = optimal_extraction(img, err, valid, (x0, y0), sigma, psf_ellipticity=ell, psf_pa=pa, model_error=0.0)
    true = img.sum() / img[ext.mask].sum()
    assert true > 1.05
    assert ext.correction / true == pytest.approx(1.0, abs=0.01)
    rnd = optimal_extraction(img, err, valid, (x0, y0), sigma, model_error=0.0)
    rnd_true = img.sum() / img[rnd.mask].sum()
    # the round model misfits the map: its correction is over 1 % too large, unless the spread
    # of the discs it allows made the circle grow until the correction hardly matters
    assert rnd.correction / rnd_true > 1.01 or rnd_true < 1.01


def test_elliptical_path_meets_the_round_one():
    """The FFT path of an (almost) round PSF gives the separable matrices' maps."""
    u, v = disc_frame((N, N), (6.3, 6.8), 30.0, 5, 4)
    sb = np.exp(-np.hypot(u, v / 0.6)[None] / np.array([0.5, 2.0])[:, None, None])
    a = convolve_and_bin(sb, (N, N), 4, 5, 1.2)
    b = convolve_and_bin(sb, (N, N), 4, 5, 1.2, 1e-9, 0.0)
    assert np.abs(a - b).max() < 1e-3 * a.max()


def test_elliptical_psf_is_oriented():
    """A point source under a PSF elongated along y is longer along y than along x."""
    u, v = disc_frame((N, N), (6.5, 6.5), 0.0, 5, 4)
    sb = np.exp(-np.hypot(u, v) / 1e-3)[None]
    img = convolve_and_bin(sb / sb.sum(), (N, N), 4, 5, 1.2, 0.2, 90.0)[0]
    yy, xx = np.indices(img.shape)
    vx = (img * (xx - 6.5) ** 2).sum() / img.sum()
    vy = (img * (yy - 6.5) ** 2).sum() / img.sum()
    assert vy / vx == pytest.approx(1 / 0.8 ** 2, rel=0.1)


@pytest.mark.parametrize("ell, pa", [(0.1, 30.0), (0.19, 120.0), (0.19, 45.0), (0.15, 0.0), (0.05, 80.0)])
def test_elliptical_split_equals_a_2d_convolution(ell, pa):
    """The diagonal-line + separable split of the elliptical PSF gives what a direct 2D
    convolution with the rotated elliptical kernel (scipy.signal.fftconvolve) gives, to 1e-3
    of the peak, for a point source and two discs."""
    from scipy.signal import fftconvolve
    os_, pad, sigma = 5, 4, 1.3
    u, v = disc_frame((N, N), (6.3, 6.6), 30.0, os_, pad)
    sb = np.exp(-np.hypot(u, v / 0.6)[None] / np.array([1e-3, 0.5, 2.0])[:, None, None])
    sb /= sb.sum(axis=(1, 2), keepdims=True)
    q = 1 - ell
    sa, sb_ = sigma * os_ / np.sqrt(q), sigma * os_ * np.sqrt(q)
    h = int(np.ceil(5 * sa))
    y, x = np.mgrid[-h:h + 1, -h:h + 1].astype(float)
    t = np.radians(pa)
    xr, yr = x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)
    k = np.exp(-0.5 * ((xr / sa) ** 2 + (yr / sb_) ** 2))
    conv = fftconvolve(sb, (k / k.sum())[None], mode="same", axes=(1, 2))
    ref = conv.reshape(3, N + 2 * pad, os_, N + 2 * pad, os_).sum(axis=(2, 4))[:, pad:pad + N, pad:pad + N]
    got = convolve_and_bin(sb, (N, N), pad, os_, sigma, ell, pa)
    assert np.abs(got - ref).max() < 1e-3 * ref.max()
