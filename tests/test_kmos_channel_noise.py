"""The NOISE rescaling of an integrated spectrum, apart under sky lines and between them
(redshift1.kmos.channels), on spectra drawn here.

Fake OH lines raise the NOISE extension on a few channels; the data scatter as NOISE says
between them and 1.6 times more under them (a sky residual shared by the summed spaxels).
One pooled factor over-states the noise between the lines; the per-class factors do not.
"""
from __future__ import annotations

import numpy as np

from redshift1.kmos.channels import channel_noise_scale, empirical_noise_scale, sky_channels

WAVE = 1.0 + 1.7529e-4 * np.arange(2048)
Z = 0.85


def spectrum(seed=1, excess=1.6):
    rng = np.random.default_rng(seed)
    err = np.ones(WAVE.size)
    sky = np.zeros(WAVE.size, bool)
    for c in np.arange(5, 2048, 23):                 # an OH line every 23 channels, 3 channels wide
        sky[c:c + 3] = True
    err[sky] = 4.0
    spec = err * rng.standard_normal(WAVE.size) * np.where(sky, excess, 1.0)
    return spec, err, sky


def test_sky_channels_are_found_from_the_noise_alone():
    _, err, sky = spectrum()
    assert np.array_equal(sky_channels(err), sky)


def test_scales_apart_under_and_between_the_lines():
    spec, err, sky = spectrum()
    pooled = empirical_noise_scale(WAVE, spec, err, Z, 0.01, 0.06)
    per = channel_noise_scale(WAVE, spec, err, Z, 0.01, 0.06, sky_channels(err))
    between, under = np.median(per[~sky]), np.median(per[sky])
    assert between < 1.06                                 # between the lines: NOISE is right
    assert under > 1.3                                    # under them: the excess (1.6, known to ~15 %)
    assert pooled > between + 0.03                        # the pooled factor over-states the noise between


def test_class_with_too_few_channels_takes_the_pooled_factor():
    spec, err, _ = spectrum()
    no_sky = np.zeros(WAVE.size, bool)
    per = channel_noise_scale(WAVE, spec, err, Z, 0.01, 0.06, no_sky)
    assert np.allclose(per, empirical_noise_scale(WAVE, spec, err, Z, 0.01, 0.06))
