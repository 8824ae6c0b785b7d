"""The mock's galaxy population per field: stellar masses and redshifts from a Schechter
mass function, star formation, dust, metallicity, sizes, K magnitudes and line fluxes."""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from ... import constants as C
from ...cosmology import ROLES_COSMO
from ...science.kcorrection import k_correction_k
from ...science.metallicity import n2_from_oh
from ...science.sfr import a_gas, g10_correction
from ..population import (Relations, draw_av, draw_log_delta, draw_metallicity,
                          interloper_line_fluxes, log_sfr_main_sequence, oii_flux)
from ..rng import stream
from .calibration import DEFAULT_CALIBRATION, RolesCalibration
from .fields import K_CATALOGUE_LIMIT, FieldSpec

# The default (tiny/quick) values; every preset's own are in its RolesCalibration.
#: Schechter stellar-mass function (per Mpc³ per dex), φ*(z) = PHI0 10^(-PHI_EVOL z)
MF = DEFAULT_CALIBRATION.mf
K0_AT_1E9_Z1 = DEFAULT_CALIBRATION.k0_at_1e9_z1   # K_AB of a log M* = 9 MS galaxy at z = 1 (CDFS colours)
ML_SLOPE = DEFAULT_CALIBRATION.ml_slope           # mag per dex of stellar mass (L ∝ M)
K_SCATTER = DEFAULT_CALIBRATION.k_scatter


def quenched_fraction(logm, cal: RolesCalibration = DEFAULT_CALIBRATION):
    """Extra quenched fraction (on top of Relations.below_ms_fraction), rising above ~10^10.3
    (``cal.quenched_*``)."""
    return cal.quenched_max * 0.5 * (1 + np.tanh((np.asarray(logm) - cal.quenched_logm) / cal.quenched_width))


def schechter(logm, z, cal: RolesCalibration = DEFAULT_CALIBRATION):
    """Schechter stellar-mass function ``cal.mf`` [Mpc^-3 dex^-1] at ``logm`` and redshift ``z``."""
    mf = cal.mf
    phi = mf["phi0"] * 10 ** (-mf["phi_evol"] * np.asarray(z))
    x = 10 ** (np.asarray(logm) - mf["logm_star"])
    return np.log(10) * phi * x ** (1 + mf["alpha"]) * np.exp(-x)


def k_magnitude(logm, z, log_delta, field_offset, rng=None, cal: RolesCalibration = DEFAULT_CALIBRATION):
    """Observed K_AB from stellar mass: M/L with distance, k-correction and a brighter M/L
    above the sequence (-0.3 mag per dex of Δ(sSFR)); mass-to-light from ``cal``."""
    z = np.asarray(z, float)
    dl = ROLES_COSMO.luminosity_distance(z).to_value(u.Mpc)
    dl1 = ROLES_COSMO.luminosity_distance(1.0).to_value(u.Mpc)
    k = (cal.k0_at_1e9_z1 - cal.ml_slope * (np.asarray(logm) - 9.0) + 5 * np.log10(dl / dl1)
         + k_correction_k(z) - k_correction_k(1.0) - 0.3 * np.asarray(log_delta) + field_offset)
    if rng is not None:
        k = k + rng.normal(0, cal.k_scatter, np.size(k))
    return k


def k_error(k, depth5):
    """1σ K error of a catalogue with 5σ depth ``depth5`` (plus a 0.02 mag floor)."""
    snr = 5 * 10 ** (-0.4 * (np.asarray(k) - depth5))
    return np.hypot(1.0857 / snr, 0.02)


#: how the observed [OII] flux relates to the true SFR: "g10" (default) -- the ROLES eq. 9 flux of
#: SFR x G10(M*), i.e. the Gilbank et al. 2010 mass-dependent correction holds exactly on
#: average; "nominal" -- eq. 9 exactly; "dust" -- eq. 9 re-scaled to each galaxy's own A_V.
OII_MODEL = "g10"
OII_SCATTER = 0.15   # dex, ionisation / metallicity scatter of [OII]/SFR


def oii_flux_observed(sfr, av, z, logm, rng, model=None, scatter=OII_SCATTER):
    """Observed [OII]3727 flux [erg/s/cm2] of galaxies with true ``sfr``.

    ROLES eq. 9 inverted (:func:`~redshift1.mock.population.oii_flux`) assumes A(Hα) = 1 mag
    and [OII]/Hα = 0.5 for everyone. Real [OII]/SFR depends on mass (dust, metallicity):
    Gilbank et al. 2010 (G10) measured SFR([OII], eq. 9) / SFR_true = g10(M*), ~3 for
    dwarfs and ~0.3 at 10^11. With the default model the mock obeys that relation on
    average, with ``OII_SCATTER`` dex scatter.
    """
    model = model or OII_MODEL
    sfr = np.asarray(sfr, float)
    if model == "g10":
        f = oii_flux(sfr * g10_correction(logm), z)
    elif model == "dust":
        f = oii_flux(sfr, z) * 10 ** (-0.4 * 1.4 * (a_gas(av) - 1.0))
    elif model == "nominal":
        f = oii_flux(sfr, z)
    else:
        raise ValueError(f"unknown [OII] model {model!r}")
    return f * 10 ** rng.normal(0, scatter, np.size(sfr))


def galaxy_size_arcsec(logm, z, rng):
    """Gaussian-equivalent intrinsic FWHM [arcsec]: 0.9 r_e, r_e = 2 kpc (M/1e9)^0.2."""
    re_kpc = 2.0 * 10 ** (0.2 * (np.asarray(logm) - 9.0) + rng.normal(0, 0.15, np.size(logm)))
    da = ROLES_COSMO.angular_diameter_distance(np.asarray(z)).to_value(u.kpc)
    return 0.9 * re_kpc / da * 206264.806


def _positions(spec: FieldSpec, n, rng):
    """Uniform positions (deg) within the field footprint."""
    ras, decs = [], []
    dec0 = np.mean([p[1] for p in spec.pointings.values()])
    ra0 = np.mean([p[0] for p in spec.pointings.values()])
    cosd = np.cos(np.radians(dec0))
    while sum(len(r) for r in ras) < n:
        m = max(2 * n, 100)
        if spec.shape == "box":
            w, h = spec.size_arcmin
            xi = rng.uniform(-w / 2, w / 2, m)
            eta = rng.uniform(-h / 2, h / 2, m)
            ok = np.ones(m, bool)
        else:
            r = spec.size_arcmin[0]
            xi = rng.uniform(-r - 1, r + 1, m)
            eta = rng.uniform(-r - 5, r + 5, m)
            ok = np.zeros(m, bool)
            for pra, pdec in spec.pointings.values():
                dx = (ra0 - pra) * cosd * 60 + xi
                dy = (dec0 - pdec) * 60 + eta
                ok |= dx**2 + dy**2 < r**2
        ras.append(ra0 + xi[ok] / 60 / cosd)
        decs.append(dec0 + eta[ok] / 60)
    return np.concatenate(ras)[:n], np.concatenate(decs)[:n]


def draw_field_population(spec: FieldSpec, seed: int, rel: Relations,
                          cal: RolesCalibration = DEFAULT_CALIBRATION) -> Table:
    """All galaxies with K_obs < 24.5 in one field, with their true properties (distributions
    from ``rel`` and ``cal``; ``spec`` as ``cal`` overrides it)."""
    rng = stream(seed, "roles", spec.name, "population")
    omega_sr = spec.area_arcmin2 * (np.pi / 180 / 60) ** 2
    zc = np.arange(0.025, 4.0, 0.01)
    mc = np.arange(7.01, 12.0, 0.02)
    dvdz = ROLES_COSMO.differential_comoving_volume(zc).to_value(u.Mpc**3 / u.sr) * omega_sr
    Z, M = np.meshgrid(zc, mc, indexing="ij")
    W = spec.density * schechter(M, Z, cal) * dvdz[:, None] * 0.01 * 0.02
    for z_lo, z_hi, fac in spec.structure:
        W[(Z > z_lo) & (Z < z_hi)] *= fac
    kbar = k_magnitude(M, Z, 0.0, spec.k_offset, cal=cal)
    W[kbar > K_CATALOGUE_LIMIT + 1.3] = 0.0
    n = rng.poisson(W.sum())
    cell = rng.choice(W.size, n, p=(W / W.sum()).ravel())
    z = Z.ravel()[cell] + rng.uniform(-0.005, 0.005, n)
    logm = M.ravel()[cell] + rng.uniform(-0.01, 0.01, n)
    is_cluster = np.zeros(n, bool)
    if spec.cluster is not None:
        cl = spec.cluster
        nc = rng.poisson(cl["n_expected"])
        # cluster members: Schechter with α = -1.0 between 8.5 and 11.8
        mg = np.arange(8.5, 11.8, 0.01)
        pm = 10 ** ((mg - 10.9) * 0.0) * np.exp(-10 ** (mg - 10.9))
        lm = rng.choice(mg, nc, p=pm / pm.sum()) + rng.uniform(-0.005, 0.005, nc)
        zc_ = cl["z"] + rng.normal(0, cl["sigma_z"], nc)
        z = np.concatenate([z, zc_])
        logm = np.concatenate([logm, lm])
        is_cluster = np.concatenate([is_cluster, np.ones(nc, bool)])
        n += nc
    log_delta = draw_log_delta(n, rng, rel)
    fq = quenched_fraction(logm, cal)
    if spec.cluster is not None:
        fq = np.where(is_cluster, np.maximum(fq, spec.cluster["quenched_fraction"]), fq)
    quenched = rng.random(n) < fq
    log_delta[quenched] = rng.normal(-1.4, 0.3, quenched.sum())
    k_true = k_magnitude(logm, z, log_delta, spec.k_offset, rng, cal)
    k_err = k_error(k_true, spec.k_depth5)
    k_obs = k_true + rng.normal(0, 1, n) * k_err
    keep = k_obs < K_CATALOGUE_LIMIT
    t = Table({"z_true": z, "logm_true": logm, "log_delta": log_delta, "quenched": quenched,
               "is_cluster": is_cluster, "K_true": k_true, "K": k_obs, "K_err": k_err})[keep]
    n = len(t)
    # positions (cluster members concentrated on the cluster centre)
    ra, dec = _positions(spec, n, rng)
    if spec.cluster is not None:
        cl = spec.cluster
        idx = np.flatnonzero(t["is_cluster"])
        cosd = np.cos(np.radians(cl["dec"]))
        w, h = spec.size_arcmin
        ra_c, dec_c = spec.pointings["FIRES"]
        for i in idx:
            while True:
                xi, eta = rng.normal(0, cl["r_scale_arcmin"], 2)
                r_ = cl["ra"] + xi / 60 / cosd
                d_ = cl["dec"] + eta / 60
                if abs((r_ - ra_c) * cosd * 60) < w / 2 and abs((d_ - dec_c) * 60) < h / 2:
                    break
            ra[i], dec[i] = r_, d_
    t["ra"] = ra
    t["dec"] = dec
    # star formation, dust, sizes
    log_sfr = log_sfr_main_sequence(t["logm_true"], t["z_true"], rel, cosmo=ROLES_COSMO) + t["log_delta"]
    adjust = cal.log_sfr_adjustment(t["logm_true"])
    t["sfr_true"] = 10 ** (log_sfr if adjust is None else log_sfr + adjust)
    t["av"] = draw_av(t["logm_true"], rng, rel)
    t["oh"] = draw_metallicity(t["logm_true"], t["log_delta"], rng, rel)
    t["fwhm_int"] = galaxy_size_arcsec(t["logm_true"], t["z_true"], rng)
    # continuum at 7500 Å (observed i-ish band): redder for quenched and higher z
    col = 0.55 + 0.8 * t["quenched"] + 0.25 * (np.asarray(t["z_true"]) - 1.0) + rng.normal(0, 0.3, n)
    t["m7500"] = np.asarray(t["K_true"]) + np.clip(col, -0.3, 3.0)
    t.meta["field"] = spec.name
    return t


def add_line_fluxes(t: Table, rng, cal: RolesCalibration = DEFAULT_CALIBRATION, oii_offset_dex: float = 0.0) -> None:
    """Emission-line fluxes [erg/s/cm2] of every galaxy (any redshift); [OII] scatter from ``cal``,
    [OII] scaled by ``10**oii_offset_dex`` (the field's dust, :attr:`FieldSpec.oii_offset_dex`)."""
    sfr, av, z, logm = (np.asarray(t[c], float) for c in ("sfr_true", "av", "z_true", "logm_true"))
    n = len(t)
    f_oii = oii_flux_observed(sfr, av, z, logm, rng, scatter=cal.oii_scatter)
    if oii_offset_dex:
        f_oii = f_oii * 10 ** oii_offset_dex
    f_ha, f_hb, f_oiii = interloper_line_fluxes(sfr, av, z, rng, cosmo=ROLES_COSMO)
    n2 = n2_from_oh(np.asarray(t["oh"], float))
    t["f_OII_3727"] = f_oii
    t["f_NeIII_3869"] = f_oii * 0.05 * 10 ** (-0.2 * (logm - 9.0) + rng.normal(0, 0.15, n))
    t["f_Hbeta"] = f_hb
    t["f_OIII_5007"] = f_oiii
    t["f_OIII_4959"] = f_oiii / 2.98
    t["f_Halpha"] = f_ha
    t["f_NII_6583"] = f_ha * 10 ** n2
    t["f_NII_6548"] = t["f_NII_6583"] / C.NII_RATIO
    sii = f_ha * 0.25 * 10 ** rng.normal(0, 0.1, n)
    t["f_SII_6716"] = sii * 0.57
    t["f_SII_6731"] = sii * 0.43
    # intrinsic velocity dispersion [km/s]
    t["sigma_kms"] = np.clip(45 * 10 ** (0.15 * (logm - 9.0)) * 10 ** rng.normal(0, 0.1, n), 20, 250)
