"""The 1/V_max luminosity function on a hand-built catalogue with a known φ (issue 12, item 6).

Galaxies are drawn from a known Schechter function uniformly in comoving volume over the
[OII] window, observed through a known flux limit that varies with wavelength and a known
random spectroscopic completeness W, with a known fraction of interlopers carried at
P([OII]) < 1. The library's V_max and LF functions must give back the true φ per bin within
the quoted (Gehrels, effective-number) errors.
"""
import numpy as np
import pytest
from scipy.integrate import quad

from redshift1.cosmology import ROLES_COSMO
from redshift1.science.lf import luminosity_function
from redshift1.science.sfr import line_flux
from redshift1.science.vmax import OII_REST, OII_WINDOW, flux_visibility, k_visibility, vmax, window_volume, z_grid

PHI_STAR, LOGL_STAR, ALPHA = 10 ** -2.3, 41.6, -1.3          # per dex
AREA = 1500.0                                                 # arcmin², enough galaxies for a sharp test
EDGES = np.arange(40.5, 42.51, 0.25)


def schechter_per_dex(logl):
    x = 10 ** (np.asarray(logl) - LOGL_STAR)
    return np.log(10) * PHI_STAR * x ** (ALPHA + 1) * np.exp(-x)


def _draw_catalogue(rng, lmin=40.0, lmax=43.0):
    """(log L, z) of every galaxy of the volume: Poisson number, L by inverse-CDF on a fine grid,
    z uniform in comoving volume."""
    vol = window_volume(AREA)
    n_exp = quad(schechter_per_dex, lmin, lmax)[0] * vol
    n = rng.poisson(n_exp)
    grid = np.linspace(lmin, lmax, 20001)
    cdf = np.cumsum(schechter_per_dex(grid))
    cdf /= cdf[-1]
    logl = np.interp(rng.random(n), cdf, grid)
    zz = np.linspace(*OII_WINDOW, 2001)
    vc = ROLES_COSMO.comoving_volume(zz).value
    z = np.interp(rng.uniform(vc[0], vc[-1], n), vc, zz)
    return logl, z


def _limit():
    """A flux limit [erg/s/cm²] that varies with wavelength (sky-line spikes on a smooth floor)."""
    wave = np.linspace(7000.0, 8050.0, 1051)
    lim = 3e-18 * (1 + 0.5 * ((wave - 7500) / 500) ** 2)
    for w0 in (7240.0, 7316.0, 7750.0, 7913.0):
        lim = lim * (1 + 4 * np.exp(-0.5 * ((wave - w0) / 4.0) ** 2))
    return wave, lim


@pytest.mark.parametrize("seed", [3, 11])
def test_vmax_lf_recovers_a_known_schechter_function(seed):
    rng = np.random.default_rng(seed)
    logl, z = _draw_catalogue(rng)
    flux = line_flux(10 ** logl, z, ROLES_COSMO).value
    lw, lf = _limit()
    lim_here = np.interp(OII_REST * (1 + z), lw, lf)
    W = 0.55                                                # random spectroscopic completeness
    observed = (flux >= lim_here) & (rng.random(z.size) < W)
    # interlopers: a quarter of the detections are weighted down to P = 0.5 and duplicated as
    # non-[OII] lines carrying the other half -- the LF must count P, not detections
    p = np.ones(observed.sum())
    half = rng.random(p.size) < 0.25
    p[half] = 0.5
    lo, zo, fo = logl[observed], z[observed], flux[observed]
    lo = np.concatenate([lo, lo[half]])
    zo = np.concatenate([zo, zo[half]])
    fo = np.concatenate([fo, fo[half]])
    p = np.concatenate([p, p[half]])
    zg, dzg = z_grid(OII_WINDOW, 800)
    vis = flux_visibility(fo, zo, zg, lw, lf) & k_visibility(np.full(zo.size, 23.0), zo, zg, (-99, 99))
    vm = vmax(vis, zg, dzg, AREA)
    t = luminosity_function(lo, p, vm, np.full(zo.size, W), EDGES)
    true = np.array([quad(schechter_per_dex, a, b)[0] / (b - a) for a, b in zip(EDGES[:-1], EDGES[1:])])
    phi, plo, phi_hi = (np.asarray(t[c], float) for c in ("phi", "phi_lo", "phi_hi"))
    n = np.asarray(t["n_gal"])
    ok = n >= 5
    assert ok.sum() >= 5
    # per bin: within 3 sigma of the asymmetric Poisson error facing the truth (8 bins x 2 seeds)
    sig = np.where(true > phi, phi_hi - phi, phi - plo)
    pulls = (phi - true) / sig
    assert np.all(np.abs(pulls[ok]) < 3.0), (pulls[ok], n[ok])
    # and all bins together: the total density above 10^41 within 3 sigma of its Poisson error
    s = ok & (EDGES[:-1] >= 41.0)
    tot = np.sum(phi[s]) / np.sum(true[s])
    err = np.sqrt(np.sum(((phi_hi - plo)[s] / 2) ** 2)) / np.sum(true[s])
    assert abs(tot - 1) < 3 * err, (tot, err)


def test_vmax_is_the_window_volume_for_lines_far_above_the_limit():
    lw, lf = _limit()
    zg, dzg = z_grid(OII_WINDOW, 400)
    vis = flux_visibility(np.array([1e-14]), np.array([1.0]), zg, lw, lf)
    assert vmax(vis, zg, dzg, AREA)[0] == pytest.approx(window_volume(AREA), rel=2e-3)
