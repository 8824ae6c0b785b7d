"""Errors of the disc fitted to a boxcar-smoothed velocity field (redshift1.kmos.kinematics).

The velocity field is drawn here: an arctangent disc written out in the test, plus white
noise per spaxel smoothed by the same 3×3 boxcar the spaxel fits apply to the cube, so that
neighbouring spaxels share noise as they do in the walk. Over many draws the fitted PA and
v sin i must scatter as their quoted errors say; treating the spaxels as independent (the
covariance of a 1×1 "boxcar") must not. And the first-moment velocity the beam-smeared model
is fitted to, on a skewed line drawn here.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

from redshift1.kmos.kinematics import VelocityField, fit_disc
from redshift1.kmos.kinematics_errors import boxcar_covariance

SHAPE = (14, 14)
TRUTH = dict(inc=60.0, v_max=150.0, pa=40.0, x0=6.6, y0=6.3, r_turn=1.0)


def arctan_disc():
    """Line-of-sight velocity of a thin disc with an arctangent rotation curve (PA from +y to +x)."""
    y, x = np.indices(SHAPE, dtype=float)
    t = np.radians(TRUTH["pa"])
    dx, dy = x - TRUTH["x0"], y - TRUTH["y0"]
    along = dx * np.sin(t) + dy * np.cos(t)
    across = -dx * np.cos(t) + dy * np.sin(t)
    r = np.hypot(along, across / np.cos(np.radians(TRUTH["inc"])))
    cos_phi = np.divide(along, r, out=np.zeros_like(r), where=r > 0)
    rot = TRUTH["v_max"] * 2 / np.pi * np.arctan(r / TRUTH["r_turn"])
    return rot * np.sin(np.radians(TRUTH["inc"])) * cos_phi


def draws(n=150, sigma_spaxel=90.0, smooth=3, seed=4, assumed_smooth=None):
    """(PA, v_max, PA error, v_max error) of ``n`` fits at the true inclination."""
    rng = np.random.default_rng(seed)
    v0 = arctan_disc()
    y, x = np.indices(SHAPE)
    good = np.hypot(x - TRUTH["x0"], y - TRUTH["y0"]) < 5.5
    out = []
    for _ in range(n):
        noise = uniform_filter(rng.normal(0, sigma_spaxel, SHAPE), smooth, mode="constant")
        vf = VelocityField(0.9, v0 + noise, np.full(SHAPE, sigma_spaxel / smooth), np.full(SHAPE, 50.0),
                           np.ones(SHAPE), np.full(SHAPE, 0.1), good,
                           smooth=smooth if assumed_smooth is None else assumed_smooth)
        d = fit_disc(vf, (TRUTH["x0"], TRUTH["y0"]), centre_prior=0.5,
                     inclination_prior=(TRUTH["inc"], 0.01))
        assert d.success
        out.append((d.pa, d.v_max, d.errors[2], d.errors[1]))
    return np.array(out)


def test_errors_count_the_noise_the_boxcar_shares():
    """PA and v_max scatter as their errors say (std of the pulls 0.8-1.25 over 150 draws;
    counted as independent, the errors come out ~1.6 times too small)."""
    d = draws()
    pa_pull = ((d[:, 0] - TRUTH["pa"] + 180) % 360 - 180) / d[:, 2]
    v_pull = (d[:, 1] - TRUTH["v_max"]) / d[:, 3]
    assert 0.8 < np.std(pa_pull) < 1.25
    assert 0.8 < np.std(v_pull) < 1.25
    naive = draws(n=60, assumed_smooth=1)
    assert np.std((naive[:, 1] - TRUTH["v_max"]) / naive[:, 3]) > 1.35


def test_independent_spaxels_need_no_correction():
    """With no boxcar the sandwich covariance is the usual inverse curvature."""
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(40, 3))
    cell = rng.choice(196, 38, replace=False)
    x, y = cell % 14, cell // 14
    cov = boxcar_covariance(jac, x, y, np.ones(38), 1)
    assert np.allclose(cov, np.linalg.inv(jac.T @ jac))


def test_shared_noise_inflates_the_errors():
    """Spaxels sharing a 3×3 boxcar: the covariance grows, by at most the boxcar's area."""
    rng = np.random.default_rng(1)
    y, x = np.indices((8, 8))
    jac = np.column_stack([np.ones(64), x.ravel() - 3.5, y.ravel() - 3.5]) + 0.01 * rng.normal(size=(64, 3))
    indep = np.linalg.inv(jac.T @ jac)
    shared = boxcar_covariance(jac, x.ravel(), y.ravel(), np.ones(64), 3)
    ratio = np.diag(shared) / np.diag(indep)
    assert np.all(ratio > 2) and np.all(ratio <= 9 + 1e-9)


def test_first_moment_of_a_skewed_line():
    """A spaxel whose light blends its own gas (+150 km/s) with fainter smeared light from a
    slow centre (0 km/s): the first moment recovers the light-weighted mean, which the
    Gaussian centre does not. Spectra drawn here: two Gaussians, channel-sampled."""
    from redshift1.constants import HALPHA
    from redshift1.kmos.kinematics import first_moment_velocity
    from redshift1.kmos.linefit import fit_halpha_nii

    z = 0.85
    wave = 1.0 + 1.7529e-4 * np.arange(2048)
    lam0 = HALPHA.to_value("um") * (1 + z)
    sig = lam0 * np.hypot(60.0 / 299792.458, 1 / (2.3548 * 3300))

    def line(v, f):
        c = lam0 * (1 + v / 299792.458)
        return f * np.exp(-0.5 * ((wave - c) / sig) ** 2) / (np.sqrt(2 * np.pi) * sig)
    spec = line(150.0, 1.0) + line(0.0, 0.6)
    true_mean = (150.0 * 1.0 + 0.0 * 0.6) / 1.6
    rng = np.random.default_rng(2)
    noise = np.full(wave.size, 100.0)
    draws = spec[None] + noise * rng.standard_normal((200, wave.size))
    fit = fit_halpha_nii(wave, draws, np.broadcast_to(noise, draws.shape), z, dz=0.003)
    mom, err = first_moment_velocity(wave, draws, np.broadcast_to(noise, draws.shape), fit, z)
    gauss = (fit.z - z) / (1 + z) * 299792.458
    assert abs(np.mean(mom) - true_mean) < 3 * np.std(mom) / np.sqrt(mom.size) + 2.0
    assert abs(np.mean(gauss) - true_mean) > 5.0
    assert 0.8 < np.std(mom) / np.median(err) < 1.25


def test_v_max_stays_on_line_centres_without_moments():
    """A velocity field without first moments (or too few) keeps the Gaussian-centre v_max,
    and the fit says so (the walk flags it vmax_from_line_centres)."""
    from redshift1.kmos.kinematics import fit_rotation_amplitude
    y, x = np.indices(SHAPE)
    good = np.hypot(x - TRUTH["x0"], y - TRUTH["y0"]) < 5.5
    v = arctan_disc()
    vf = VelocityField(0.9, v, np.full(SHAPE, 10.0), np.full(SHAPE, 50.0), np.ones(SHAPE), np.full(SHAPE, 0.1), good)
    smear = {"r_d": 2.0, "psf_sigma": 1.2, "smooth": 1}
    disc = fit_disc(vf, (TRUTH["x0"], TRUTH["y0"]), inclination_prior=(TRUTH["inc"], 3.0), smearing=smear)
    assert disc.success and not disc.v_max_from_moments
    assert fit_rotation_amplitude(vf, disc, (TRUTH["inc"], 3.0), smear) is disc
    few = np.full(SHAPE, np.nan)
    few[good.nonzero()[0][:5], good.nonzero()[1][:5]] = 1.0
    vf_few = VelocityField(0.9, v, np.full(SHAPE, 10.0), np.full(SHAPE, 50.0), np.ones(SHAPE), np.full(SHAPE, 0.1),
                           good, moment=few, moment_err=np.where(np.isfinite(few), 5.0, np.nan))
    assert not fit_rotation_amplitude(vf_few, disc, (TRUTH["inc"], 3.0), smear).v_max_from_moments
    vf_all = VelocityField(0.9, v, np.full(SHAPE, 10.0), np.full(SHAPE, 50.0), np.ones(SHAPE), np.full(SHAPE, 0.1),
                           good, moment=v, moment_err=np.full(SHAPE, 10.0))
    assert fit_rotation_amplitude(vf_all, disc, (TRUTH["inc"], 3.0), smear).v_max_from_moments



def _moment_fit_pulls(r_turn, sig, n=60, seed=3):
    """v_max pulls of the beam-smeared first-moment fit (the walk's v_max) on ``n`` boxcar-noise
    draws of a disc with turnover radius ``r_turn`` [spaxel] and per-spaxel noise ``sig``:
    (pulls against the side of v_max's interval facing the truth, pulls against the mean
    half-width, draws with r_t at its lower bound)."""
    from redshift1.kmos.kinematics import fit_rotation_amplitude, smeared_disc_velocity

    smear = {"r_d": 2.0, "psf_sigma": 1.3, "smooth": 3}
    truth = (55.0, 180.0, 40.0, 6.6, 6.3, r_turn)
    v0 = smeared_disc_velocity(truth, SHAPE, **smear)
    y, x = np.indices(SHAPE)
    good = np.hypot(x - truth[3], y - truth[4]) < 5.5
    rng = np.random.default_rng(seed)
    asym, sym, at_bound = [], [], 0
    for _ in range(n):
        moment = v0 + uniform_filter(rng.normal(0, 3 * sig, SHAPE), 3, mode="constant")
        centres = v0 + uniform_filter(rng.normal(0, 3 * sig, SHAPE), 3, mode="constant")
        vf = VelocityField(0.9, centres, np.full(SHAPE, sig), np.full(SHAPE, 50.0), np.ones(SHAPE),
                           np.full(SHAPE, 0.1), good, smooth=3, moment=moment, moment_err=np.full(SHAPE, sig))
        d = fit_disc(vf, truth[3:5], centre_prior=0.5, inclination_prior=(truth[0], 0.01), smearing=smear)
        r = fit_rotation_amplitude(vf, d, (truth[0], 0.01), smear)
        at_bound += r.r_turn_at_bound
        assert r.r_turn_at_bound == (r.r_turn <= 0.051)
        lo, hi = r.v_max_limits
        if not np.isfinite(lo):
            lo, hi = r.v_max - r.errors[1], r.v_max + r.errors[1]
        assert lo <= r.v_max <= hi
        asym.append((r.v_max - truth[1]) / ((hi - r.v_max) if truth[1] > r.v_max else (r.v_max - lo)))
        sym.append((r.v_max - truth[1]) / r.errors[1])
    return np.array(asym), np.array(sym), at_bound


def _width(p):
    return 1.4826 * np.median(np.abs(p - np.median(p)))


def test_v_max_interval_is_profiled_over_the_turnover_radius(monkeypatch):
    """A turnover radius inside the PSF is not pinned down, and v_max trades against it: the
    covariance errors mirror that banana (over-stated where r_t is free, under-stated where it
    sits at its bound). v_max's interval profiled over r_t covers the truth as it says, from a
    curve that turns over within a spaxel (r_t at its bound in a quarter of the draws) to one
    resolved at r_t = 2 spaxels; the covariance errors, at r_t = 2 spaxels and noisy spaxels,
    give pulls 0.35 wide with 6 % beyond 3σ."""
    import redshift1.kmos.kinematics as kin

    for r_turn, sig in ((0.1, 5.0), (1.0, 15.0), (2.0, 15.0)):
        asym, _, at_bound = _moment_fit_pulls(r_turn, sig)
        if r_turn < 0.5:
            assert at_bound >= 10
        assert 0.6 < np.std(asym) < 1.3, (r_turn, sig, np.std(asym))
        assert 0.7 < _width(asym) < 1.3, (r_turn, sig, _width(asym))
        assert np.sum(np.abs(asym) > 3) <= 1
    monkeypatch.setattr(kin, "profile_interval", lambda *a, **k: (np.nan, np.nan, np.nan))
    _, covariance, _ = _moment_fit_pulls(2.0, 15.0)
    assert _width(covariance) < 0.6


def test_stacked_unit_velocities_are_the_single_maps():
    """The profile's stack of unit-v_max maps (one PSF pass) equals the smeared model map by map,
    for a round and an elliptical PSF."""
    from redshift1.kmos.kinematics import smeared_disc_velocity, smeared_unit_velocities

    r_turns = np.array([0.05, 0.3, 1.0, 4.0])
    for ell in (0.0, 0.15):
        smear = dict(r_d=2.0, psf_sigma=1.3, smooth=3, psf_ellipticity=ell, psf_pa=30.0)
        stack = smeared_unit_velocities((55.0, 40.0, 6.6, 6.3), r_turns, SHAPE, **smear)
        for rt, unit in zip(r_turns, stack):
            single = smeared_disc_velocity((55.0, 1.0, 40.0, 6.6, 6.3, rt), SHAPE, **smear)
            np.testing.assert_allclose(unit, single, rtol=0, atol=1e-12)


def test_profile_of_a_model_that_does_not_depend_on_r_turn_is_least_squares():
    """Where r_t changes nothing, the profiled interval is the linear fit's ±√Δχ² σ."""
    from redshift1.kmos.kinematics_errors import profile_interval

    rng = np.random.default_rng(2)
    unit = rng.uniform(-1, 1, 60)
    v = 150.0 * unit + 12.0 + rng.normal(0, 8.0, 60)
    w = np.full(60, 1 / 8.0)
    a = np.stack([unit * w, w], axis=1)
    theta = np.linalg.lstsq(a, v * w, rcond=None)[0]
    sigma = np.sqrt(np.linalg.inv(a.T @ a)[0, 0])
    for delta in (1.0, 4.0):
        lo, hi, best = profile_interval(np.tile(unit, (5, 1)), v, w, delta)
        np.testing.assert_allclose([lo, best, hi], theta[0] + np.sqrt(delta) * sigma * np.array([-1, 0, 1]),
                                   rtol=1e-10)
