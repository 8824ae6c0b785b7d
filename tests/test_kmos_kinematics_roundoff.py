"""spaxel_fits smooths variances with a boxcar: round-off must not reach np.sqrt as a negative."""
import warnings

import numpy as np
from scipy.ndimage import uniform_filter

from redshift1.kmos.kinematics import spaxel_fits
from redshift1.mock.kmos import wavelength_grid


def test_zero_variance_next_to_large_ones_gives_no_sqrt_warning():
    rng = np.random.default_rng(3)
    wave = wavelength_grid().value
    nl = wave.size
    noise = np.full((nl, 14, 14), 1e-8)
    noise[:, :4, :4] = rng.uniform(30.0, 100.0, (nl, 4, 4))    # a very noisy corner
    noise[:, 4:9, 4:9] = 0.0                                   # and spaxels reporting zero noise
    data = rng.standard_normal((nl, 14, 14)) * noise
    # the precondition: this variance cube does smooth to negative round-off somewhere
    assert (uniform_filter(noise**2, size=(1, 3, 3), mode="constant") < 0).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        vf = spaxel_fits(data, noise, wave, z_sys=0.85)
    assert vf.velocity.shape == (14, 14)
    assert np.all(np.isnan(vf.flux_err) | (vf.flux_err > 0))
