"""The mock ROLES survey (Gilbank et al. 2010): fields, K-selected photometry with photo-z
PDFs, targets, slit masks, the LDSS3 nod-and-shuffle observations and their truth.

Public entry point: :func:`observe_roles` (called by the mock orchestrator) with one of
:data:`ROLES_PRESETS`. The data contract of everything written under ``out_dir`` is
``docs/data-format.md, section LDSS3``; the truth goes to ``truth_dir`` only.

The population
--------------
Galaxies are drawn per field from a Schechter stellar-mass function times the comoving
volume (0.02 < z < 4), with the FIRES field adding the z = 0.831 cluster MS 1054-03.
Star formation follows the :class:`~redshift1.mock.population.Relations` main sequence
(with its scatter and below-sequence population) plus a mass-dependent quenched
fraction; dust from ``draw_av``. The observed K magnitude comes from a mass-to-light
relation (``K = 23.25`` at log M* = 9, z = 1 in CDFS; FIRES galaxies are redder, so at a
given K they are 0.2 dex more massive, ROLES §3.1) with the Glazebrook et al. (1995)
k-correction. Line fluxes: [OII] from the SFR through ROLES eq. 9 inverted
(:func:`~redshift1.mock.population.oii_flux`), modified by the galaxy's own dust relative
to the A(Hα) = 1 mag the conversion assumes (dwarfs are brighter in [OII] than eq. 9
predicts, massive galaxies fainter -- the trend the G10 correction undoes); Hα, Hβ,
[OIII] from :func:`~redshift1.mock.population.interloper_line_fluxes`, [NII] from the
metallicity, plus [NeIII], [SII]. Photometric redshifts are Gaussian with
σ = 0.04-0.1 (1+z) depending on field and K, with catastrophic outliers and double peaks.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, asdict
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Column, Table, vstack
from scipy.optimize import brentq

from .. import constants as C
from ..cosmology import ROLES_COSMO
from ..io import write_fits, write_json, write_table
from ..science.kcorrection import k_correction_k
from ..science.metallicity import n2_from_oh
from ..science.sfr import a_gas, g10_correction, line_luminosity
from . import ldss3 as L
from .population import (Relations, draw_av, draw_log_delta, draw_metallicity,
                         interloper_line_fluxes, log_sfr_main_sequence, oii_flux)
from .rng import stream

CONTRACT_VERSION = "1.0"
K_RANGE = (22.5, 24.0)          # ROLES target selection, AB
K_CATALOGUE_LIMIT = 24.5        # the photometric catalogues go this deep (fillers beyond 24)
OII_WINDOW = C.ROLES_WINDOWS["OII"]
ZGRID = np.round(np.arange(0.0, 4.0 + 1e-9, 0.01), 4)

# vacuum rest wavelengths (Å) of the lines the mock puts into spectra
OII_DOUBLET = (3727.09, 3729.88)          # equal components: flux-weighted mean = OII_3727
LINES = {
    "OII_3727": C.OII_3727.to_value(u.AA),
    "NeIII_3869": 3870.16,
    "Hbeta": C.HBETA.to_value(u.AA),
    "OIII_4959": C.OIII_4959.to_value(u.AA),
    "OIII_5007": C.OIII_5007.to_value(u.AA),
    "NII_6548": C.NII_6548.to_value(u.AA),
    "Halpha": C.HALPHA.to_value(u.AA),
    "NII_6583": C.NII_6583.to_value(u.AA),
    "SII_6716": 6718.29,
    "SII_6731": 6732.67,
}
TIER_HALF = L.TIER_WIDTH // 2             # x_ref sits near the middle of its tier
SPECTRUM_RANGE = (6950.0, 8100.0)         # lines rendered if they fall here (filter wings included)
INJECTED_OII_FLUX = 1e-15                 # tiny preset: a bright [OII] line at 7140 Å for the tests


# --------------------------------------------------------------------------- fields
@dataclass(frozen=True)
class FieldSpec:
    name: str
    area_arcmin2: float
    pointings: dict                 # pointing name -> (ra, dec) deg
    shape: str                      # "circles" or "box"
    size_arcmin: tuple              # circles: (radius,); box: (width_ra, height_dec)
    k_offset: float                 # mag added to K at fixed mass (redder field)
    photz_sigma0: float             # σ_z / (1+z) for bright galaxies
    f_catastrophic: float
    f_double: float
    k_depth5: float                 # 5σ K limit (AB) of the catalogue
    density: float = 1.0            # field-to-field (cosmic) variance of the galaxy density
    cluster: dict | None = None
    structure: tuple = ()           # (z_lo, z_hi, density factor): large-scale structure in z


def _cdfs_radius(area=107.8, sep=None):
    """Radius of two equal circles at the two CDFS pointings whose union has ``area``."""
    def union(r):
        d = sep
        if d >= 2 * r:
            return 2 * np.pi * r**2
        lens = 2 * r**2 * np.arccos(d / (2 * r)) - d / 2 * np.sqrt(4 * r**2 - d**2)
        return 2 * np.pi * r**2 - lens
    return brentq(lambda r: union(r) - area, 3.0, 6.0)


_CDFS_P = {"CDFS.1": (53.115, -27.75), "CDFS.2": (53.12, -27.87)}
_CDFS_SEP = 60 * math.hypot((_CDFS_P["CDFS.1"][0] - _CDFS_P["CDFS.2"][0]) * math.cos(math.radians(-27.81)),
                            _CDFS_P["CDFS.1"][1] - _CDFS_P["CDFS.2"][1])

FIELDS = {
    "CDFS": FieldSpec("CDFS", 107.8, _CDFS_P, "circles", (_cdfs_radius(107.8, _CDFS_SEP),), 0.0,
                      0.030, 0.03, 0.08, 25.0, structure=((0.889, 1.149, 0.8),)),
    "FIRES": FieldSpec("FIRES", 29.1, {"FIRES": (164.2375, -3.6225)}, "box", (5.5, 29.1 / 5.5), 0.5,
                       0.060, 0.05, 0.12, 24.8, 1.5,
                       cluster={"z": 0.831, "sigma_z": 0.004, "ra": 164.2496, "dec": -3.6269,
                                "r_scale_arcmin": 0.9, "n_expected": 150, "quenched_fraction": 0.6}),
}

#: ROLES Table 1: mask, total exposure time [ks], pointing (observing order).
PAPER_MASKS = (
    ("mask1", 31.2, "FIRES"), ("mask2", 24.0, "FIRES"), ("mask4", 21.6, "CDFS.1"),
    ("mask5", 14.4, "CDFS.1"), ("mask6", 12.0, "CDFS.1"), ("mask7", 19.2, "CDFS.2"),
    ("mask8", 19.2, "CDFS.2"), ("mask9", 16.8, "CDFS.2"), ("mask10", 9.6, "CDFS.1"),
    ("mask11", 13.2, "CDFS.1"), ("mask12", 15.6, "CDFS.1"), ("mask13", 9.6, "FIRES"),
    ("mask14", 16.8, "FIRES"), ("mask15", 13.2, "FIRES"), ("mask16", 10.8, "FIRES"),
    ("mask21", 15.6, "CDFS.2"), ("mask22", 18.0, "CDFS.2"), ("mask23", 15.6, "CDFS.2"),
)
#: fixed observing nights of the masks (deterministic DATE-OBS)
_RUN_NIGHTS = ("2005-10-02", "2005-10-03", "2005-10-04", "2006-01-27", "2006-01-28", "2006-01-29",
               "2006-10-20", "2006-10-21", "2006-10-22", "2006-12-14", "2006-12-15", "2006-12-16",
               "2007-02-10", "2007-02-11", "2007-02-12", "2007-11-05", "2007-11-06", "2007-11-07")


def pointing_field(pointing: str) -> str:
    return pointing.split(".")[0]


@dataclass(frozen=True)
class RolesPreset:
    """Survey-size settings of one preset."""

    name: str
    masks: tuple                    # (mask, total exposure ks, pointing)
    n_exp: int | None               # exposures per mask (None: round(T / 2.4 ks))
    n_tiers: int
    n_rows: dict                    # field -> slot rows per tier used by that field's masks
    frame_rows: int                 # slot rows of the frame (the largest of n_rows)
    n_targets: dict                 # field -> unique ROLES targets (22.5 < K < 24)
    n_repeat: dict                  # field -> (galaxies on 2 masks, galaxies on 3 masks)
    n_cycles: int = L.N_CYCLES
    t_cycle: float = L.T_CYCLE
    n_darks: int = 3
    inject_bright: bool = False     # tiny: one bright [OII] line at 7140 Å in a dark sky region
    comparison_area: float = 554.7  # arcmin², GDDS-like higher-mass sample
    workers: int = 1

    def exposures(self, total_ks: float) -> int:
        if self.n_exp is not None:
            return self.n_exp
        return int(math.floor(total_ks / 2.4 + 0.5 + 1e-9))

    @property
    def fields(self) -> list[str]:
        out = []
        for _, _, p in self.masks:
            f = pointing_field(p)
            if f not in out:
                out.append(f)
        return out

    @property
    def layout(self) -> L.Layout:
        return L.Layout(self.n_tiers, self.frame_rows)


ROLES_PRESETS = {
    "tiny": RolesPreset("tiny", (("mask4", 21.6, "CDFS.1"),), 2, 1, {"CDFS": 12}, 12,
                        {"CDFS": 11}, {"CDFS": (0, 0)}, n_darks=2, inject_bright=True),
    "quick": RolesPreset("quick", (("mask4", 21.6, "CDFS.1"), ("mask1", 31.2, "FIRES")), 3, 2,
                         {"CDFS": 20, "FIRES": 20}, 20, {"CDFS": 36, "FIRES": 36},
                         {"CDFS": (0, 0), "FIRES": (0, 0)}, n_darks=2),
    "paper": RolesPreset("paper", PAPER_MASKS, None, 5, {"CDFS": 38, "FIRES": 22}, 38,
                         {"CDFS": 1849, "FIRES": 533}, {"CDFS": (24, 8), "FIRES": (8, 4)},
                         workers=2),
}


# --------------------------------------------------------------------------- population
#: Schechter stellar-mass function (per Mpc³ per dex), φ*(z) = PHI0 10^(-PHI_EVOL z)
MF = {"logm_star": 10.85, "alpha": -1.30, "phi0": 1.3e-3, "phi_evol": 0.10}
K0_AT_1E9_Z1 = 23.25        # K_AB of a log M* = 9 main-sequence galaxy at z = 1 (CDFS colours)
ML_SLOPE = 2.5              # mag per dex of stellar mass (L ∝ M)
K_SCATTER = 0.25


def quenched_fraction(logm):
    """Extra quenched fraction (on top of Relations.below_ms_fraction), rising above 10^10.3."""
    return 0.55 * 0.5 * (1 + np.tanh((np.asarray(logm) - 10.5) / 0.35))


def schechter(logm, z):
    phi = MF["phi0"] * 10 ** (-MF["phi_evol"] * np.asarray(z))
    x = 10 ** (np.asarray(logm) - MF["logm_star"])
    return np.log(10) * phi * x ** (1 + MF["alpha"]) * np.exp(-x)


def k_magnitude(logm, z, log_delta, field_offset, rng=None):
    """Observed K_AB from stellar mass: M/L with distance, k-correction and a brighter M/L
    above the sequence (-0.3 mag per dex of Δ(sSFR))."""
    z = np.asarray(z, float)
    dl = ROLES_COSMO.luminosity_distance(z).to_value(u.Mpc)
    dl1 = ROLES_COSMO.luminosity_distance(1.0).to_value(u.Mpc)
    k = (K0_AT_1E9_Z1 - ML_SLOPE * (np.asarray(logm) - 9.0) + 5 * np.log10(dl / dl1)
         + k_correction_k(z) - k_correction_k(1.0) - 0.3 * np.asarray(log_delta) + field_offset)
    if rng is not None:
        k = k + rng.normal(0, K_SCATTER, np.size(k))
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


def oii_flux_observed(sfr, av, z, logm, rng, model=None):
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
    return f * 10 ** rng.normal(0, OII_SCATTER, np.size(sfr))


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


def draw_field_population(spec: FieldSpec, seed: int, rel: Relations) -> Table:
    """All galaxies with K_obs < 24.5 in one field, with their true properties."""
    rng = stream(seed, "roles", spec.name, "population")
    omega_sr = spec.area_arcmin2 * (np.pi / 180 / 60) ** 2
    zc = np.arange(0.025, 4.0, 0.01)
    mc = np.arange(7.01, 12.0, 0.02)
    dvdz = ROLES_COSMO.differential_comoving_volume(zc).to_value(u.Mpc**3 / u.sr) * omega_sr
    Z, M = np.meshgrid(zc, mc, indexing="ij")
    W = spec.density * schechter(M, Z) * dvdz[:, None] * 0.01 * 0.02
    for z_lo, z_hi, fac in spec.structure:
        W[(Z > z_lo) & (Z < z_hi)] *= fac
    kbar = k_magnitude(M, Z, 0.0, spec.k_offset)
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
    fq = quenched_fraction(logm)
    if spec.cluster is not None:
        fq = np.where(is_cluster, np.maximum(fq, spec.cluster["quenched_fraction"]), fq)
    quenched = rng.random(n) < fq
    log_delta[quenched] = rng.normal(-1.4, 0.3, quenched.sum())
    k_true = k_magnitude(logm, z, log_delta, spec.k_offset, rng)
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
    t["sfr_true"] = 10 ** (log_sfr_main_sequence(t["logm_true"], t["z_true"], rel, cosmo=ROLES_COSMO)
                           + t["log_delta"])
    t["av"] = draw_av(t["logm_true"], rng, rel)
    t["oh"] = draw_metallicity(t["logm_true"], t["log_delta"], rng, rel)
    t["fwhm_int"] = galaxy_size_arcsec(t["logm_true"], t["z_true"], rng)
    # continuum at 7500 Å (observed i-ish band): redder for quenched and higher z
    col = 0.55 + 0.8 * t["quenched"] + 0.25 * (np.asarray(t["z_true"]) - 1.0) + rng.normal(0, 0.3, n)
    t["m7500"] = np.asarray(t["K_true"]) + np.clip(col, -0.3, 3.0)
    t.meta["field"] = spec.name
    return t


def add_line_fluxes(t: Table, rng) -> None:
    """Emission-line fluxes [erg/s/cm2] of every galaxy (any redshift)."""
    sfr, av, z, logm = (np.asarray(t[c], float) for c in ("sfr_true", "av", "z_true", "logm_true"))
    n = len(t)
    f_oii = oii_flux_observed(sfr, av, z, logm, rng)
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


# --------------------------------------------------------------------------- photo-z
def draw_photoz(t: Table, spec: FieldSpec, rng):
    """Photo-z point estimates and PDFs on :data:`ZGRID` (one row per galaxy)."""
    z = np.asarray(t["z_true"], float)
    k = np.asarray(t["K"], float)
    n = len(t)
    s1 = spec.photz_sigma0 * (1 + 0.6 * np.clip((k - 22.0) / 2.0, 0, 1.25))   # σ/(1+z)
    sig = s1 * (1 + z)
    kind = np.zeros(n, int)                               # 0 normal, 1 catastrophic, 2 double
    u_ = rng.random(n)
    kind[u_ < spec.f_catastrophic] = 1
    kind[(u_ >= spec.f_catastrophic) & (u_ < spec.f_catastrophic + spec.f_double)] = 2
    z_good = np.clip(z + sig * rng.standard_normal(n), 0.01, 3.95)
    z_cat = rng.uniform(0.05, 3.5, n)
    alias = np.clip((1 + z_good) * 10 ** (rng.choice([-1, 1], n) * rng.uniform(0.12, 0.3, n)) - 1, 0.01, 3.95)
    w2 = rng.uniform(0.15, 0.5, n)
    truth_secondary = rng.random(n) < 0.35
    main = np.where(kind == 1, z_cat, np.where((kind == 2) & truth_secondary, alias, z_good))
    second = np.where(truth_secondary, z_good, alias)
    pdf = np.exp(-0.5 * ((ZGRID[None, :] - main[:, None]) / sig[:, None]) ** 2)
    pdf /= pdf.sum(1, keepdims=True)
    dbl = kind == 2
    if dbl.any():
        p2 = np.exp(-0.5 * ((ZGRID[None, :] - second[dbl, None]) / (1.2 * sig[dbl, None])) ** 2)
        p2 /= p2.sum(1, keepdims=True)
        pdf[dbl] = (1 - w2[dbl, None]) * pdf[dbl] + w2[dbl, None] * p2
    broad = np.exp(-0.5 * ((ZGRID[None, :] - main[:, None]) / (0.3 * (1 + main[:, None]))) ** 2)
    broad /= broad.sum(1, keepdims=True)
    pdf = 0.99 * pdf + 0.01 * broad
    dz = ZGRID[1] - ZGRID[0]
    pdf = (pdf / (pdf.sum(1, keepdims=True) * dz)).astype(np.float32)
    cdf = np.cumsum(pdf, 1) * dz
    lo = ZGRID[np.argmax(cdf >= 0.16, 1)]
    hi = ZGRID[np.argmax(cdf >= 0.84, 1)]
    return main, lo, hi, pdf, kind


def window_probability(pdf, window=OII_WINDOW):
    dz = ZGRID[1] - ZGRID[0]
    sel = (ZGRID >= window[0]) & (ZGRID <= window[1])
    return pdf[:, sel].sum(1) * dz


def sed_mass(t: Table, z_phot, rng, err=0.1):
    """SED-fit stellar mass at the photometric redshift (mass scales as d_L²)."""
    z = np.asarray(t["z_true"], float)
    zp = np.clip(np.asarray(z_phot, float), 0.02, None)
    dl = ROLES_COSMO.luminosity_distance(z).value
    dlp = ROLES_COSMO.luminosity_distance(zp).value
    return np.asarray(t["logm_true"]) + 2 * np.log10(dlp / dl) + rng.normal(0, err, len(t))


# --------------------------------------------------------------------------- masks
PRIORITY = {"floor": 0.06, "high_z": 0.5}
MIN_PHOTOZ_WEIGHT = 0.0    # P(window) + P(z > window): below this a galaxy is not a ROLES target


def target_priority(p_window, p_high, k, field):
    """ROLES-like targeting weight: high where the photo-z PDF overlaps the [OII] window,
    lower for uncertain higher-z solutions, lowest for confident low-z galaxies; FIRES (shallower
    K photometry) also favours brighter galaxies."""
    prio = PRIORITY["floor"] + np.asarray(p_window) + PRIORITY["high_z"] * np.asarray(p_high)
    if field == "FIRES":
        prio = prio * np.clip(1.25 - 0.6 * (np.asarray(k) - K_RANGE[0]) / 1.5, 0.3, None)
    return prio


def _pointing_of(spec: FieldSpec, ra, dec):
    names = list(spec.pointings)
    if len(names) == 1:
        return np.full(len(ra), names[0])
    d = np.stack([(np.asarray(ra) - p[0]) ** 2 * np.cos(np.radians(p[1])) ** 2 + (np.asarray(dec) - p[1]) ** 2
                  for p in spec.pointings.values()])
    return np.array(names)[np.argmin(d, 0)]


def _tiers(ra, n_tiers):
    """Tier (x band on the mask) of each galaxy: equal-count bands in RA, and the relative
    position within its band (0-1)."""
    ra = np.asarray(ra, float)
    if len(ra) == 0:
        return np.zeros(0, int), np.zeros(0)
    rank = np.argsort(np.argsort(ra, kind="stable"), kind="stable") / max(len(ra), 1)
    pos = rank * n_tiers
    tier = np.clip(pos.astype(int), 0, n_tiers - 1)
    return tier, pos - tier


def design_masks(preset: RolesPreset, cats: dict, seed: int):
    """Assign targets, repeats and fillers to the slots of every mask (ROLES §2.2).

    Targets (22.5 < K < 24) are drawn without replacement with probability weights from
    :func:`target_priority` (weighted random keys, like ROLES' Monte-Carlo mask designs),
    shared between the masks of a pointing (earlier masks first) within the slot capacity
    of each tier; some are repeated on other masks; free slots take fillers (K outside the
    ROLES range). Adds ``roles_target``, ``n_masks`` and ``masks`` to the catalogues and
    returns ``{mask: {"pointing", "ks", "slits": [slit dicts]}}``.
    """
    masks = {m: {"pointing": p, "ks": ks, "slits": []} for m, ks, p in preset.masks}
    for fname in preset.fields:
        spec = FIELDS[fname]
        cat = cats[fname]
        rng = stream(seed, "roles", fname, "targeting")
        pointing = np.asarray(cat["pointing"])
        tier = np.zeros(len(cat), int)
        tpos = np.zeros(len(cat))
        for p in spec.pointings:
            sel = pointing == p
            tier[sel], tpos[sel] = _tiers(cat["ra"][sel], preset.n_tiers)
        cat["_tier"] = tier
        cat["_tpos"] = tpos
        fmasks = [m for m, _, p in preset.masks if pointing_field(p) == fname]
        cap = preset.n_rows[fname]
        used = {m: np.zeros(preset.n_tiers, int) for m in fmasks}
        k = np.asarray(cat["K"])
        inrange = (k > K_RANGE[0]) & (k < K_RANGE[1])
        pwin = np.asarray(cat["_pwin"])
        phigh = np.asarray(cat["_phigh"])
        prio = target_priority(pwin, phigh, k, fname)
        # ROLES targets: the K range (and, if MIN_PHOTOZ_WEIGHT > 0, a photo-z not confidently
        # below the window; with the default 0 confident low-z galaxies just get the lowest priority)
        eligible = inrange & (pwin + phigh >= MIN_PHOTOZ_WEIGHT)
        key = np.where(eligible, rng.random(len(cat)) ** (1 / prio), -1.0)
        if preset.inject_bright:
            key[np.asarray(cat["_injected"])] = 2.0
        order = np.argsort(-key, kind="stable")
        placed = np.zeros(len(cat), int)    # number of masks the galaxy is on
        on = {i: [] for i in range(len(cat))}
        n_goal = preset.n_targets.get(fname, 0)
        # targets per mask: the field's goal shared by pointing (eligible galaxies) and mask
        observed = {masks[m]["pointing"] for m in fmasks}
        elig = {p: int((eligible & (pointing == p)).sum()) for p in spec.pointings if p in observed}
        n_el = max(sum(elig.values()), 1)
        quota = {}
        for m in fmasks:
            p = masks[m]["pointing"]
            n_pm = sum(1 for mm in fmasks if masks[mm]["pointing"] == p)
            quota[m] = int(math.ceil(n_goal * elig[p] / n_el / n_pm))
        n_tgt = {m: 0 for m in fmasks}
        n_done = 0
        for i in order:
            if key[i] < 0 or n_done >= n_goal:
                break
            for m in fmasks:
                if (masks[m]["pointing"] == pointing[i] and used[m][tier[i]] < cap
                        and n_tgt[m] < quota[m]):
                    used[m][tier[i]] += 1
                    n_tgt[m] += 1
                    on[i].append(m)
                    placed[i] += 1
                    n_done += 1
                    break
        cat["roles_target"] = placed > 0
        # repeats: galaxies likely in the window observed again on other masks of the pointing
        n2, n3 = preset.n_repeat.get(fname, (0, 0))
        cand = np.flatnonzero(placed > 0)
        if n2 + n3 > 0 and len(cand) > 0:
            w = pwin[cand] ** 2 + 1e-3
            pick = rng.choice(cand, min(n2 + n3, len(cand)), replace=False, p=w / w.sum())
            for j, i in enumerate(pick):
                extra = 2 if j < n3 else 1
                for m in fmasks:
                    if extra == 0:
                        break
                    if m in on[i] or masks[m]["pointing"] != pointing[i] or used[m][tier[i]] >= cap:
                        continue
                    used[m][tier[i]] += 1
                    on[i].append(m)
                    placed[i] += 1
                    extra -= 1
        # fillers: catalogue galaxies outside the ROLES K range (other programmes)
        fill = np.flatnonzero((placed == 0) & ~eligible & (k > 19.0))
        fill = fill[rng.permutation(len(fill))]
        for m in fmasks:
            n_empty = int(rng.integers(0, 4))   # slots lost to collisions / badly cut slits
            for t_ in range(preset.n_tiers):
                room = cap - used[m][t_] - (n_empty if t_ == 0 else 0)
                if room <= 0:
                    continue
                cands = fill[(tier[fill] == t_) & (pointing[fill] == masks[m]["pointing"]) & (placed[fill] == 0)]
                for i in cands[:room]:
                    used[m][t_] += 1
                    on[i].append(m)
                    placed[i] += 1
        cat["n_masks"] = placed
        cat["masks"] = [",".join(on[i]) for i in range(len(cat))]
        for i in np.flatnonzero(placed > 0):
            for m in on[i]:
                masks[m]["slits"].append({
                    "object_id": cat["id"][i], "row_in_cat": int(i), "field": fname,
                    "tier": int(tier[i]), "tpos": float(tpos[i]), "ra": float(cat["ra"][i]),
                    "dec": float(cat["dec"][i]), "K": float(cat["K"][i]),
                    "is_target": bool(cat["roles_target"][i]), "is_repeat": bool(placed[i] > 1),
                    "is_filler": bool(not cat["roles_target"][i])})
    return masks


def build_design_table(preset: RolesPreset, mask: str, info: dict, seed: int, standard_mask: str) -> Table:
    """Slot positions, wavelength solutions and flags of one mask's slits."""
    lay = preset.layout
    rng = stream(seed, "roles", "design", mask)
    slits = info["slits"]
    rows = []
    for t_ in range(preset.n_tiers):
        in_tier = sorted([s for s in slits if s["tier"] == t_], key=lambda s: (s["dec"], s["object_id"]))
        for r, s in enumerate(in_tier):
            rows.append((t_, r, s))
    rows.sort(key=lambda x: (x[0], x[1]))
    n = len(rows)
    tiers = np.array([x[0] for x in rows], int)
    srow = np.array([x[1] for x in rows], int)
    a_lo = lay.a_row_lo(srow)
    tpos = np.array([x[2]["tpos"] for x in rows])
    x_ref = lay.tier_x_lo(tiers) + TIER_HALF + np.round(16.0 * (tpos - 0.5) + rng.normal(0, 0.5, n), 2)
    disp = np.round(L.DISPERSION * (1 + 0.004 * (x_ref - lay.nx / 2) / max(lay.nx, 1)) + rng.normal(0, 0.003, n), 4)
    tab = Table()
    tab["slit_id"] = np.arange(1, n + 1)
    tab["object_id"] = [x[2]["object_id"] for x in rows]
    tab["field"] = [x[2]["field"] for x in rows]
    tab["ra"] = np.round([x[2]["ra"] for x in rows], 6) * u.deg
    tab["dec"] = np.round([x[2]["dec"] for x in rows], 6) * u.deg
    tab["K"] = np.round([x[2]["K"] for x in rows], 3) * u.mag
    tab["tier"] = tiers
    tab["slot_row"] = srow
    tab["x_lo"] = Column(lay.tier_x_lo(tiers).astype(np.int64), unit=u.pix)
    tab["x_hi"] = Column((lay.tier_x_lo(tiers) + L.TIER_WIDTH).astype(np.int64), unit=u.pix)
    tab["x_ref"] = x_ref * u.pix
    tab["lambda_ref"] = np.full(n, L.LAMBDA_REF) * u.AA
    tab["dispersion"] = disp * u.AA / u.pix
    tab["a_row_lo"] = Column(a_lo.astype(np.int64), unit=u.pix)
    tab["a_row_hi"] = Column((a_lo + L.SHUFFLE).astype(np.int64), unit=u.pix)
    tab["b_row_lo"] = Column((a_lo + L.SHUFFLE).astype(np.int64), unit=u.pix)
    tab["b_row_hi"] = Column((a_lo + 2 * L.SHUFFLE).astype(np.int64), unit=u.pix)
    tab["slit_center_row"] = (a_lo + (L.SHUFFLE - 1) / 2) * u.pix
    tab["nod_a_row"] = (a_lo + (L.SHUFFLE - 1) / 2 - L.NOD / 2) * u.pix
    tab["nod_b_row"] = (a_lo + (L.SHUFFLE - 1) / 2 + L.NOD / 2) * u.pix
    tab["is_roles_target"] = [x[2]["is_target"] for x in rows]
    tab["is_repeat"] = [x[2]["is_repeat"] for x in rows]
    tab["is_filler"] = [x[2]["is_filler"] for x in rows]
    std = np.zeros(n, bool)
    if mask == standard_mask and n:
        # the flux standard goes through a slit near the frame centre
        mid = np.argmin(np.abs(tiers - (preset.n_tiers - 1) / 2) * 1000 + np.abs(srow - srow.max() / 2))
        std[mid] = True
    tab["is_standard_slit"] = std
    spec = FIELDS[pointing_field(info["pointing"])]
    ra0, dec0 = spec.pointings[info["pointing"]]
    tab.meta.update({
        "description": f"LDSS3 slit-mask design of {mask}: one row per slit",
        "contract": f"redshift1 LDSS3 data contract {CONTRACT_VERSION} (docs/data-format.md, section LDSS3)",
        "mask": mask, "field": spec.name, "pointing": info["pointing"],
        "pointing_ra_deg": ra0, "pointing_dec_deg": dec0,
        "exptime_table_ks": info["ks"],
        "wavelength_solution": "lambda(x) = lambda_ref + dispersion * (x - x_ref), vacuum Angstrom, "
                               "x = 0-based column; valid for x_lo <= x < x_hi at zero flexure",
        "pixel_convention": "0-based numpy indices data[y, x]; rows [lo, hi) half-open",
        "wavelength_frame": "vacuum",
        "nod": "object at nod_a_row during nod A and nod_b_row = nod_a_row + NODPIX during nod B",
        "shuffle": "region B = region A + SHUFFLE rows holds the nod-B image of the slit",
        "frame_shape": [lay.ny, lay.nx],
        "n_tiers": preset.n_tiers, "tier_width": L.TIER_WIDTH,
        "slit_width_arcsec": L.SLIT_WIDTH, "slit_length_arcsec": L.SLIT_LENGTH,
    })
    return tab



# --------------------------------------------------------------------------- conditions
def draw_conditions(seed: int, mask: str, n_exp: int) -> list:
    rng = stream(seed, "ldss3", mask, "conditions")
    dx, dy = rng.normal(0, 0.4, 2)
    slope = rng.uniform(-0.35, 0.35)
    am0 = rng.uniform(1.02, 1.3)
    am_rate = rng.uniform(-0.03, 0.06)
    out = []
    for e in range(n_exp):
        if e:
            dx += rng.normal(0, 0.25)
            dy += rng.normal(0, 0.2)
        dx, dy = float(np.clip(dx, -1.2, 1.2)), float(np.clip(dy, -1.0, 1.0))
        drift = float(np.clip(slope * e + rng.normal(0, 0.15), -2.0, 2.0))
        out.append(L.Conditions(
            flex_dx=round(dx, 4), flex_dy=round(dy, 4), drift_dy=round(drift, 4),
            seeing=round(float(np.clip(rng.normal(0.68, 0.08), 0.55, 0.95)), 4),
            airmass=round(float(np.clip(am0 + am_rate * e, 1.0, 2.0)), 4),
            sky_cont=round(float(10 ** rng.normal(0, 0.05)), 4),
            sky_lines=round(float(10 ** rng.normal(0, 0.04)), 4)))
    return out


def _date_obs(mask_index: int, e: int, minutes_per_exp=44.0) -> str:
    night = _RUN_NIGHTS[mask_index % len(_RUN_NIGHTS)]
    t = 30 + e * minutes_per_exp
    return f"{night}T{int(t // 60):02d}:{int(t % 60):02d}:00.0"


# --------------------------------------------------------------------------- sources
def slit_source(row, seed: int, mask: str, slit_id: int, injected=False) -> L.SlitSource:
    """The galaxy in one slit: its lines falling near the KG750 window, continuum, offsets."""
    rng = stream(seed, "ldss3", mask, "slit", slit_id)
    z = float(row["z_true"])
    waves, fluxes, sigmas, names = [], [], [], []
    for name, rest in LINES.items():
        f = float(row["f_" + name])
        parts = [(OII_DOUBLET[0], 0.5), (OII_DOUBLET[1], 0.5)] if name == "OII_3727" else [(rest, 1.0)]
        for r_, frac in parts:
            lam = r_ * (1 + z)
            if SPECTRUM_RANGE[0] <= lam <= SPECTRUM_RANGE[1] and f > 0:
                waves.append(lam)
                fluxes.append(f * frac)
                sigmas.append(lam * float(row["sigma_kms"]) / 299792.458)
                names.append(name)
    y_off = 0.0 if injected else float(np.clip(rng.normal(0, 0.5), -1.5, 1.5))
    x_off = 0.0 if injected else float(np.clip(rng.normal(0, 0.07), -0.3, 0.3))
    src = L.SlitSource(np.array(waves), np.array(fluxes), np.array(sigmas),
                       cont_ab=float(row["m7500"]), cont_beta=0.0, fwhm_int=float(row["fwhm_int"]),
                       y_offset=y_off, x_offset=x_off)
    src.names = names
    return src


def expected_line_snr(flux, lam, sigma_int, dispersion, conds, fwhm_int, x_off, nod_time):
    """Matched-filter S/N of a line in the combined A'-B' frame of one mask (truth helper):
    counts of both nods per exposure over N = sqrt(2 (sky + 2R²) / n_exp) per pixel."""
    n = len(conds)
    sf = np.mean([L.slit_fraction(np.hypot(c.seeing, fwhm_int), x_off) for c in conds])
    tt = np.mean([L.telluric_transmission(lam, c.airmass) for c in conds])
    sky = np.mean([L.sky_electrons(lam + np.array([-2.0, 0, 2.0]) * dispersion, dispersion, nod_time,
                                   c.sky_cont, c.sky_lines).max() for c in conds])
    counts = flux * L.sensitivity(lam) * tt * sf * 2 * nod_time
    noise = np.sqrt(2 * (sky + 2 * L.RDNOISE**2) / n)
    sx = np.hypot(L.RES_FWHM / 2.3548, sigma_int) / dispersion
    sy = np.mean([np.hypot(c.seeing, fwhm_int) for c in conds]) / 2.3548 / L.PIXSCALE
    return float(counts / (noise * np.sqrt(4 * np.pi * sx * sy))), float(counts / 2)


# --------------------------------------------------------------------------- comparison sample
def draw_comparison(seed: int, rel: Relations, area_arcmin2: float):
    """A GDDS-like higher-mass sample at 0.889 < z < 1.149: K_AB < 22.45, sparse-sampled
    star-forming galaxies (1 in 6), [OII] fluxes with errors, sampling weights."""
    rng = stream(seed, "roles", "comparison")
    omega_sr = area_arcmin2 * (np.pi / 180 / 60) ** 2
    zc = np.arange(OII_WINDOW[0] + 0.0025, OII_WINDOW[1], 0.005)
    mc = np.arange(9.6, 12.0, 0.01)
    dvdz = ROLES_COSMO.differential_comoving_volume(zc).to_value(u.Mpc**3 / u.sr) * omega_sr
    Z, M = np.meshgrid(zc, mc, indexing="ij")
    W = schechter(M, Z) * dvdz[:, None] * 0.005 * 0.01
    n = rng.poisson(W.sum())
    cell = rng.choice(W.size, n, p=(W / W.sum()).ravel())
    z = Z.ravel()[cell] + rng.uniform(-0.0025, 0.0025, n)
    logm = M.ravel()[cell] + rng.uniform(-0.005, 0.005, n)
    log_delta = draw_log_delta(n, rng, rel)
    quenched = rng.random(n) < quenched_fraction(logm)
    log_delta[quenched] = rng.normal(-1.4, 0.3, quenched.sum())
    k = k_magnitude(logm, z, log_delta, 0.0, rng)
    sfr = 10 ** (log_sfr_main_sequence(logm, z, rel, cosmo=ROLES_COSMO) + log_delta)
    av = draw_av(logm, rng, rel)
    f_true = oii_flux_observed(sfr, av, z, logm, rng)
    # selection: K limit, spectroscopic footprint (121 of 554.7 arcmin²), colour-dependent sampling
    p_sel = (121.0 / 554.7) * np.where(quenched | (log_delta < -0.7), 0.9, 1.0 / 6.0) * 0.9
    sel = (k < 22.45) & (rng.random(n) < p_sel)
    ferr = np.full(n, 4e-18) * 10 ** rng.normal(0, 0.1, n)
    f_meas = f_true + ferr * rng.standard_normal(n)
    truth = Table({"id": [f"HM-{i:04d}" for i in range(n)], "z": z, "logm_true": logm, "sfr_true": sfr,
                   "av": av, "f_OII_true": f_true, "K": k, "quenched": quenched, "selected": sel,
                   "p_select": p_sel})[sel]
    truth["sfr_true"].unit = u.Msun / u.yr
    truth["f_OII_true"].unit = u.erg / u.s / u.cm**2
    truth["K"].unit = u.mag
    truth["av"].unit = u.mag
    truth.meta["description"] = "truth of the higher-mass comparison sample (selected galaxies only)"
    idx = np.flatnonzero(sel)
    t = Table()
    t["id"] = truth["id"]
    t["z"] = np.round(z[idx], 4)
    t["K"] = np.round(k[idx], 3) * u.mag
    t["logmstar"] = np.round(logm[idx] + rng.normal(0, 0.1, idx.size), 3) * u.dex(u.Msun)
    t["logmstar_err"] = np.full(idx.size, 0.1) * u.dex
    t["f_OII"] = f_meas[idx] * u.erg / u.s / u.cm**2
    t["f_OII_err"] = ferr[idx] * u.erg / u.s / u.cm**2
    lum = line_luminosity(np.clip(f_meas[idx], 1e-30, None), z[idx], ROLES_COSMO).value
    lerr = line_luminosity(ferr[idx], z[idx], ROLES_COSMO).value
    t["L_OII"] = np.where(f_meas[idx] > 0, lum, 0.0) * u.erg / u.s
    t["L_OII_err"] = lerr * u.erg / u.s
    t["detected"] = f_meas[idx] > 4 * ferr[idx]
    t["weight"] = np.round(1.0 / p_sel[idx], 4)
    t.meta.update({
        "description": "Higher-mass comparison sample at z~1 (GDDS-like, mock): K-selected (K_AB < 22.45), "
                       "[OII]3727 fluxes from deep N&S spectroscopy",
        "survey_area_arcmin2": area_arcmin2,
        "spectroscopic_area_arcmin2": 121.0,
        "z_window": list(OII_WINDOW),
        "k_limit_ab": 22.45,
        "weight": "1 / sampling probability (footprint x colour sampling x redshift success): a sum "
                  "over galaxies of weight x quantity, divided by the comoving volume of survey_area in "
                  "z_window, is a volume density",
        "flux_limit_4sigma": 1.6e-17,
        "cosmology": "h=0.7, Om=0.3, OL=0.7 (L_OII)",
        "mass": "SED-fit stellar mass (BG03 IMF as ROLES), error 0.1 dex",
    })
    return t, truth


# --------------------------------------------------------------------------- survey build
@dataclass
class Survey:
    preset: RolesPreset
    seed: int                                      # survey seed: the sky, targeting, conditions, detector
    noise_seed: int | None = None                  # noise realisation of every exposure (default: seed)
    cats: dict = field(default_factory=dict)       # field -> Table (truth + observed)
    pdfs: dict = field(default_factory=dict)       # field -> float32 array
    designs: dict = field(default_factory=dict)    # mask -> Table
    masks: dict = field(default_factory=dict)      # mask -> {pointing, ks, n_exp, conds}
    standard_mask: str = ""


def build_survey(preset: RolesPreset, seed: int, rel: Relations, noise_seed: int | None = None) -> Survey:
    sv = Survey(preset, seed, seed if noise_seed is None else noise_seed)
    for fname in preset.fields:
        spec = FIELDS[fname]
        t = draw_field_population(spec, seed, rel)
        rng = stream(seed, "roles", fname, "lines")
        # deterministic order and ids: by declination then RA
        order = np.lexsort((np.asarray(t["ra"]), np.asarray(t["dec"])))
        t = t[order]
        t.add_column([f"{fname}-{i + 1:05d}" for i in range(len(t))], name="id", index=0)
        t["field"] = fname
        t["pointing"] = _pointing_of(spec, t["ra"], t["dec"])
        t["_injected"] = np.zeros(len(t), bool)
        if preset.inject_bright and fname == "CDFS":
            first = preset.masks[0][2]
            k = np.asarray(t["K"])
            ok = (k > K_RANGE[0] + 0.2) & (k < K_RANGE[1] - 0.5) & (np.asarray(t["pointing"]) == first) \
                & ~np.asarray(t["quenched"])
            i = np.flatnonzero(ok)[np.argmin(np.abs(np.asarray(t["z_true"])[ok] - 0.915))]
            t["z_true"][i] = 7140.0 / LINES["OII_3727"] - 1
            t["_injected"][i] = True
        add_line_fluxes(t, rng)
        if preset.inject_bright:
            t["f_OII_3727"][t["_injected"]] = INJECTED_OII_FLUX
            t["sigma_kms"][t["_injected"]] = 50.0
        prng = stream(seed, "roles", fname, "photoz")
        zp, lo, hi, pdf, kind = draw_photoz(t, spec, prng)
        t["z_phot"] = zp
        t["z_phot_lo"] = lo
        t["z_phot_hi"] = hi
        t["photz_kind"] = kind
        t["_pwin"] = window_probability(pdf)
        t["_phigh"] = window_probability(pdf, (OII_WINDOW[1], 10.0))
        t["logmstar"] = sed_mass(t, zp, prng)
        # a few secure public redshifts for brighter galaxies (ROLES §2.5)
        pub = (prng.random(len(t)) < np.where(np.asarray(t["K"]) < 22.5, 0.08, 0.012))
        t["z_spec_public"] = np.where(pub, np.round(np.asarray(t["z_true"]) + prng.normal(0, 3e-4, len(t)), 4), np.nan)
        sv.cats[fname] = t
        sv.pdfs[fname] = pdf
    std_mask = next((m for m, _, p in preset.masks if p.startswith("CDFS")), preset.masks[0][0])
    sv.standard_mask = std_mask
    info = design_masks(preset, sv.cats, seed)
    for i, (m, ks, p) in enumerate(preset.masks):
        sv.designs[m] = build_design_table(preset, m, info[m], seed, std_mask)
        n_exp = preset.exposures(ks)
        sv.masks[m] = {"pointing": p, "ks": ks, "n_exp": n_exp, "index": i,
                       "conds": draw_conditions(seed, m, n_exp)}
    return sv


def _catalogue_row_lookup(sv: Survey):
    return {f: {oid: i for i, oid in enumerate(t["id"])} for f, t in sv.cats.items()}


def mask_sources(sv: Survey, mask: str, lookup=None):
    lookup = lookup or _catalogue_row_lookup(sv)
    out = []
    for s in sv.designs[mask]:
        cat = sv.cats[s["field"]]
        row = cat[lookup[s["field"]][s["object_id"]]]
        out.append(slit_source(row, sv.seed, mask, int(s["slit_id"]), bool(row["_injected"])))
    return out


# --------------------------------------------------------------------------- rendering
def _render_mask(args):
    """Render and write every raw frame of one mask (runs in a worker process)."""
    (preset, seed, noise_seed, mask, design, sources, conds, pointing, mask_index, out_dir) = args
    lay = preset.layout
    det = L.make_detector(seed, lay)
    nod_time = preset.n_cycles * preset.t_cycle
    dark_time = 2 * nod_time
    spec = FIELDS[pointing_field(pointing)]
    ra0, dec0 = spec.pointings[pointing]
    slits = [dict(zip(design.colnames, [_plain(v) for v in r])) for r in design]
    written, cr_rows = [], []
    for e, cond in enumerate(conds):
        sky, oa, ob = L.render_illumination(lay, slits, sources, cond, nod_time)
        light = L.shuffle_readout(sky + oa, sky + ob)
        rng = stream(noise_seed, "ldss3", mask, "exposure", e)
        frame, cr = L.expose(det, light, dark_time, preset.n_cycles, rng)
        h = L.base_header("SCIENCE", maskname=mask, field=spec.name, pointing=pointing,
                          date_obs=_date_obs(mask_index, e), airmass=cond.airmass,
                          n_cycles=preset.n_cycles, t_cycle=preset.t_cycle, ra=ra0, dec=dec0,
                          expnum=e + 1, layout=lay)
        path = Path(out_dir) / "masks" / mask / "raw" / f"{mask}_{e + 1:03d}.fits"
        write_fits(L.frame_hdul(frame, h), path)
        written.append(path)
        cr_rows.append((f"masks/{mask}/raw/{path.name}", cr))
    return mask, written, cr_rows


def _plain(v):
    if hasattr(v, "unit") and hasattr(v, "value"):
        v = v.value
    if isinstance(v, np.generic):
        return v.item()
    return v


def _write_darks(preset, seed, out_dir, noise_seed):
    lay = preset.layout
    det = L.make_detector(seed, lay)
    dark_time = 2 * preset.n_cycles * preset.t_cycle
    paths, crs = [], []
    for d in range(preset.n_darks):
        rng = stream(noise_seed, "ldss3", "dark", d)
        frame, cr = L.expose(det, np.zeros(lay.shape), dark_time, preset.n_cycles, rng)
        h = L.base_header("DARK", maskname="none", field="none", pointing="none",
                          date_obs=f"2005-10-01T{18 + d}:00:00.0", airmass=1.0, n_cycles=preset.n_cycles,
                          t_cycle=preset.t_cycle, expnum=d + 1, layout=lay)
        p = Path(out_dir) / "calib" / "darks" / f"nsdark_{d + 1:03d}.fits"
        write_fits(L.frame_hdul(frame, h), p)
        paths.append(p)
        crs.append((f"calib/darks/{p.name}", cr))
    return paths, crs


STANDARD_CYCLES = 2
STANDARD_TCYCLE = 10.0


def _write_standard(sv: Survey, out_dir):
    """N&S observation of the flux standard through the standard slit of one science mask."""
    preset, seed = sv.preset, sv.seed
    lay = preset.layout
    det = L.make_detector(seed, lay)
    mask = sv.standard_mask
    design = sv.designs[mask]
    spec_tab = L.standard_spectrum()
    cont = (spec_tab["wavelength"].quantity.to_value(u.AA), spec_tab["flux"].quantity.value)
    slits = [dict(zip(design.colnames, [_plain(v) for v in r])) for r in design]
    sources = [L.SlitSource(np.zeros(0), np.zeros(0), np.zeros(0), cont_table=cont) if s["is_standard_slit"]
               else None for s in slits]
    rng = stream(seed, "ldss3", "standard", "conditions")
    cond = L.Conditions(flex_dx=round(float(rng.normal(0, 0.4)), 4), flex_dy=round(float(rng.normal(0, 0.3)), 4),
                        drift_dy=0.0, seeing=round(float(np.clip(rng.normal(0.7, 0.06), 0.55, 0.9)), 4),
                        airmass=round(float(rng.uniform(1.05, 1.25)), 4))
    nod_time = STANDARD_CYCLES * STANDARD_TCYCLE
    sky, oa, ob = L.render_illumination(lay, slits, sources, cond, nod_time)
    light = L.shuffle_readout(sky + oa, sky + ob)
    frame, cr = L.expose(det, light, 2 * nod_time, STANDARD_CYCLES, stream(sv.noise_seed, "ldss3", "standard", "exposure"))
    spec = FIELDS[pointing_field(sv.masks[mask]["pointing"])]
    h = L.base_header("STANDARD", maskname=mask, field=spec.name, pointing=sv.masks[mask]["pointing"],
                      date_obs="2005-10-02T23:40:00.0", airmass=cond.airmass, n_cycles=STANDARD_CYCLES,
                      t_cycle=STANDARD_TCYCLE, expnum=1, layout=lay)
    std_slit = int(design["slit_id"][design["is_standard_slit"]][0])
    h["OBJECT"] = "LTT3864"
    h["STDNAME"] = ("LTT3864", "flux standard, see LTT3864_spectrum.ecsv")
    h["STDSLIT"] = (std_slit, "slit_id (MASKNAME design) holding the star")
    d = Path(out_dir) / "calib" / "standard"
    p = write_fits(L.frame_hdul(frame, h), d / "standard_001.fits")
    spec_tab.meta["contract"] = f"redshift1 LDSS3 data contract {CONTRACT_VERSION}"
    spec_tab.meta["observed_with"] = f"{mask} slit {std_slit}, calib/standard/standard_001.fits"
    write_table(spec_tab, d / "LTT3864_spectrum.ecsv")
    return [p, d / "LTT3864_spectrum.ecsv"], cond, std_slit, [("calib/standard/standard_001.fits", cr)]


def _write_bpm(preset, seed, out_dir):
    lay = preset.layout
    det = L.make_detector(seed, lay)
    h = fits.Header()
    h["INSTRUME"] = "LDSS3"
    h["OBSTYPE"] = ("BPM", "bad-pixel mask")
    h["BPMDEF"] = ("1 = bad", "bad columns, hot/dead pixels; no charge traps")
    h["PIXORIG"] = (0, "0-based indices as data[y, x]")
    p = Path(out_dir) / "calib" / "bpm.fits"
    write_fits(fits.HDUList([fits.PrimaryHDU(det.bpm.astype(np.uint8), header=h)]), p)
    return p, det


# --------------------------------------------------------------------------- catalogues
PHOT_COLUMNS = ("id", "field", "pointing", "ra", "dec", "K", "K_err", "logmstar", "logmstar_err",
                "z_phot", "z_phot_lo", "z_phot_hi", "z_spec_public", "pdf_row")


def photometry_table(t: Table, spec: FieldSpec) -> Table:
    out = Table()
    out["id"] = t["id"]
    out["field"] = t["field"]
    out["pointing"] = t["pointing"]
    out["ra"] = np.round(np.asarray(t["ra"]), 6) * u.deg
    out["dec"] = np.round(np.asarray(t["dec"]), 6) * u.deg
    out["K"] = np.round(np.asarray(t["K"]), 3) * u.mag
    out["K_err"] = np.round(np.asarray(t["K_err"]), 3) * u.mag
    out["logmstar"] = np.round(np.asarray(t["logmstar"]), 3) * u.dex(u.Msun)
    out["logmstar_err"] = np.full(len(t), 0.1) * u.dex
    out["z_phot"] = np.round(np.asarray(t["z_phot"]), 4)
    out["z_phot_lo"] = np.round(np.asarray(t["z_phot_lo"]), 4)
    out["z_phot_hi"] = np.round(np.asarray(t["z_phot_hi"]), 4)
    out["z_spec_public"] = t["z_spec_public"]
    out["pdf_row"] = np.arange(len(t))
    out.meta.update({
        "description": f"K-selected photometric catalogue of the ROLES {spec.name} field (mock), K_AB < "
                       f"{K_CATALOGUE_LIMIT}",
        "contract": f"redshift1 LDSS3 data contract {CONTRACT_VERSION} (docs/data-format.md, section LDSS3)",
        "field": spec.name,
        "area_arcmin2": spec.area_arcmin2,
        "pointings": {k: list(v) for k, v in spec.pointings.items()},
        "magnitudes": "AB, total",
        "K_selection_roles": list(K_RANGE),
        "logmstar": "SED-fit stellar mass at z_phot (BG03 IMF); to first order it scales with the "
                    "luminosity distance: logM(z) = logmstar + 2 log10(d_L(z) / d_L(z_phot))",
        "z_phot_lo_hi": "16th and 84th percentiles of the PDF",
        "z_spec_public": "secure public spectroscopic redshift, NaN if none",
        "pdf": f"photometric-redshift PDFs in {spec.name}_photoz_pdf.fits, row pdf_row",
    })
    return out


def pdf_hdul(t: Table, pdf: np.ndarray, spec: FieldSpec) -> fits.HDUList:
    h = fits.Header()
    h["FIELD"] = spec.name
    h["CONTRACT"] = CONTRACT_VERSION
    h["COMMENT"] = "Photometric-redshift PDFs: PDF[i, j] = p(z_j) of catalogue row pdf_row = i"
    prim = fits.PrimaryHDU(header=h)
    zh = fits.ImageHDU(ZGRID.astype(np.float64), name="ZGRID")
    zh.header["BUNIT"] = ("", "redshift")
    ph = fits.ImageHDU(pdf, name="PDF")
    ph.header["BUNIT"] = ("", "probability density per unit z")
    ph.header["NORM"] = ("sum(PDF[i]) * DZ = 1", "normalisation")
    ph.header["DZ"] = (float(ZGRID[1] - ZGRID[0]), "grid step")
    ids = fits.BinTableHDU(Table({"id": np.asarray(t["id"]).astype("U16"), "pdf_row": np.arange(len(t))}), name="IDS")
    return fits.HDUList([prim, zh, ph, ids])


TRUTH_GAL_COLUMNS = ("id", "field", "pointing", "ra", "dec", "z_true", "logm_true", "sfr_true", "log_delta",
                     "quenched", "is_cluster", "av", "oh", "K_true", "K", "m7500", "fwhm_int", "sigma_kms",
                     "z_phot", "photz_kind", "_pwin", "logmstar", "roles_target", "n_masks", "masks", "_injected")


def truth_galaxy_table(sv: Survey) -> Table:
    tabs = []
    for f, t in sv.cats.items():
        cols = list(TRUTH_GAL_COLUMNS) + [c for c in t.colnames if c.startswith("f_")]
        tt = t[cols].copy()
        tt.rename_column("_pwin", "p_window_photoz")
        tt.rename_column("_injected", "injected")
        tabs.append(tt)
    out = vstack(tabs, metadata_conflicts="silent")
    units = {"ra": u.deg, "dec": u.deg, "sfr_true": u.Msun / u.yr, "av": u.mag, "K_true": u.mag, "K": u.mag,
             "m7500": u.mag, "fwhm_int": u.arcsec, "sigma_kms": u.km / u.s, "log_delta": u.dex,
             "logm_true": u.dex(u.Msun), "logmstar": u.dex(u.Msun)}
    for c, un in units.items():
        out[c].unit = un
    for c in out.colnames:
        if c.startswith("f_"):
            out[c].unit = u.erg / u.s / u.cm**2
    out.meta = {"description": "ROLES mock truth: every photometric galaxy",
                "units": "sfr_true Msun/yr (BG03/Chabrier-like, as the Relations main sequence); f_* erg/s/cm2 "
                         "(f_OII_3727 = doublet total); fwhm_int arcsec; sigma_kms km/s; av mag",
                "p_window_photoz": "integral of the photo-z PDF over the [OII] window (used for targeting)"}
    return out


# --------------------------------------------------------------------------- entry point
def observe_roles(out_dir: Path, preset: str, survey_seed: int, relations: Relations, truth_dir: Path,
                  progress: bool = False, noise_seed: int | None = None) -> dict:
    """Write the ROLES/LDSS3 raw data under ``out_dir`` (= <survey>/ldss3) and the truth tables
    under ``truth_dir``; return a summary dict (counts, n_files, bytes).

    The summary holds only what the raw data show (masks, exposures, slits, photometric
    galaxies, targets, repeats, files, bytes); truth-derived counts (targets in the window,
    completeness, expected detections) go to ``truth_dir/roles_truth_summary.json``.
    ``survey_seed`` fixes the sky, the targeting, the observing conditions and the detector's
    defects; ``noise_seed`` (default ``survey_seed``) the noise and cosmic rays of every frame.
    """
    seed = survey_seed
    t0 = time.perf_counter()
    if preset not in ROLES_PRESETS:
        from ..errors import ParameterError
        raise ParameterError(f"observe_roles: unknown preset {preset!r} (choose from {sorted(ROLES_PRESETS)})")
    pre = ROLES_PRESETS[preset]
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    sv = build_survey(pre, seed, relations, noise_seed)
    files = []

    # photometry and photo-z PDFs
    for f, t in sv.cats.items():
        spec = FIELDS[f]
        files.append(write_table(photometry_table(t, spec), out_dir / "photometry" / f"{f}_photometry.ecsv"))
        files.append(write_fits(pdf_hdul(t, sv.pdfs[f], spec), out_dir / "photometry" / f"{f}_photoz_pdf.fits"))
    # comparison sample
    comp, comp_truth = draw_comparison(seed, relations, pre.comparison_area)
    comp.meta["contract"] = f"redshift1 LDSS3 data contract {CONTRACT_VERSION}"
    files.append(write_table(comp, out_dir / "comparison" / "highmass_z1.ecsv"))
    # calibrations
    bpm_path, det = _write_bpm(pre, seed, out_dir)
    files.append(bpm_path)
    dark_paths, cr_all = _write_darks(pre, seed, out_dir, sv.noise_seed)
    files += dark_paths
    std_files, std_cond, std_slit, std_cr = _write_standard(sv, out_dir)
    files += std_files
    cr_all += std_cr
    # mask designs and raw frames
    lookup = _catalogue_row_lookup(sv)
    jobs = []
    for m, info in sv.masks.items():
        design = sv.designs[m]
        d = design.copy()
        d.meta["n_exposures"] = info["n_exp"]
        files.append(write_table(d, out_dir / "masks" / m / "design.ecsv"))
        jobs.append((pre, seed, sv.noise_seed, m, design, mask_sources(sv, m, lookup), info["conds"], info["pointing"],
                     info["index"], str(out_dir)))
    results = []
    workers = max(1, min(int(os.environ.get("REDSHIFT1_WORKERS", pre.workers)), len(jobs)))
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(jobs), desc="ROLES masks")
        except ImportError:  # pragma: no cover
            bar = None
    if workers > 1:
        import concurrent.futures as cf
        import multiprocessing as mp
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with cf.ProcessPoolExecutor(workers, mp_context=ctx) as ex:
            for r in ex.map(_render_mask, jobs):
                results.append(r)
                if bar is not None:
                    bar.update(1)
    else:
        for j in jobs:
            results.append(_render_mask(j))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    for _, written, crs in results:
        files += written
        cr_all += crs

    # ---------------- truth
    truth_files = _write_truth(sv, truth_dir, comp_truth, det, std_cond, std_slit, cr_all, lookup)

    # manifest (no truth, no timings: byte-identical for the same seed)
    counts = _counts(sv)
    manifest = {
        "contract": f"redshift1 LDSS3 data contract {CONTRACT_VERSION} (docs/data-format.md, section LDSS3)",
        "instrument": "LDSS3 (mock)", "survey": "ROLES", "preset": preset,
        "fields": {f: {"area_arcmin2": FIELDS[f].area_arcmin2, "pointings": list(FIELDS[f].pointings)}
                   for f in sv.cats},
        "masks": {m: {"pointing": i["pointing"], "field": pointing_field(i["pointing"]),
                      "n_exposures": i["n_exp"], "exptime_table_ks": i["ks"]} for m, i in sv.masks.items()},
        "frame_shape": list(pre.layout.shape),
        "standard": {"mask": sv.standard_mask, "slit_id": std_slit},
        "files": {str(Path(p).relative_to(out_dir)): Path(p).stat().st_size for p in sorted(files)},
    }
    files.append(write_json(manifest, out_dir / "manifest.json"))
    n_bytes = sum(Path(p).stat().st_size for p in files)
    # public counts only: the summary may be written next to the raw data (no truth, no timings,
    # so that it is byte-identical for the same seed); truth counts are in roles_truth_summary.json
    public = {k: v for k, v in counts.items() if k in PUBLIC_COUNTS}
    summary = {
        "instrument": "ldss3", "preset": preset, "survey_seed": seed, "noise_seed": sv.noise_seed,
        "n_masks": len(sv.masks), "n_exposures": sum(i["n_exp"] for i in sv.masks.values()),
        **public,
        "n_files": len(files), "bytes": int(n_bytes),
        "n_truth_files": len(truth_files),
    }
    if progress:
        print(f"ROLES/LDSS3 {preset}: {summary['n_masks']} masks, {summary['n_exposures']} exposures, "
              f"{n_bytes / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
    return summary


PUBLIC_COUNTS = ("n_slits", "n_photometric", "n_targets", "n_repeat_galaxies")


def _counts(sv: Survey) -> dict:
    n_slits = sum(len(d) for d in sv.designs.values())
    out = {"n_slits": n_slits, "n_photometric": {}, "n_targets": {}, "n_targets_in_window": {},
           "n_repeat_galaxies": {}, "completeness_window_pdf": {}, "n_expected_detections": {}}
    for f, t in sv.cats.items():
        tgt = np.asarray(t["roles_target"])
        k = np.asarray(t["K"])
        inr = (k > K_RANGE[0]) & (k < K_RANGE[1])
        pw = np.asarray(t["_pwin"])
        zt = np.asarray(t["z_true"])
        out["n_photometric"][f] = int(len(t))
        out["n_targets"][f] = int(tgt.sum())
        out["n_targets_in_window"][f] = int((tgt & (zt > OII_WINDOW[0]) & (zt < OII_WINDOW[1])).sum())
        out["n_repeat_galaxies"][f] = int((tgt & (np.asarray(t["n_masks"]) > 1)).sum())
        out["completeness_window_pdf"][f] = round(float(pw[tgt & inr].sum() / max(pw[inr].sum(), 1e-9)), 3)
    det = getattr(sv, "_detectable", None)
    if det is not None:
        out["n_expected_detections"] = det
    return out


def _write_truth(sv: Survey, truth_dir: Path, comp_truth, det, std_cond, std_slit, cr_all, lookup):
    pre = sv.preset
    nod_time = pre.n_cycles * pre.t_cycle
    files = []
    # exposures
    rows = []
    for m, info in sv.masks.items():
        for e, c in enumerate(info["conds"]):
            rows.append({"mask": m, "expnum": e + 1, "file": f"masks/{m}/raw/{m}_{e + 1:03d}.fits", **asdict(c),
                         "slit_fraction_point": float(L.slit_fraction(c.seeing))})
    rows.append({"mask": sv.standard_mask, "expnum": 0, "file": "calib/standard/standard_001.fits",
                 **asdict(std_cond), "slit_fraction_point": float(L.slit_fraction(std_cond.seeing))})
    ex = Table(rows=rows)
    for c, un in (("flex_dx", u.pix), ("flex_dy", u.pix), ("drift_dy", u.pix), ("seeing", u.arcsec)):
        ex[c].unit = un
    ex.meta["description"] = ("per-exposure hidden state: flexure shift of the spectral image (x, y), drift of the "
                              "objects along the slits, seeing FWHM, airmass, sky continuum/line scale factors, "
                              "slit fraction of a point source")
    files.append(write_table(ex, truth_dir / "roles_exposures.ecsv"))
    # slits and lines
    srows, lrows = [], []
    detectable = {f: set() for f in sv.cats}
    for m, info in sv.masks.items():
        design = sv.designs[m]
        sources = mask_sources(sv, m, lookup)
        for s, src in zip(design, sources):
            f = s["field"]
            row = sv.cats[f][lookup[f][s["object_id"]]]
            sf = float(np.mean([L.slit_fraction(np.hypot(c.seeing, src.fwhm_int), src.x_offset) for c in info["conds"]]))
            srows.append({"mask": m, "slit_id": int(s["slit_id"]), "object_id": s["object_id"], "field": f,
                          "z_true": float(row["z_true"]), "is_roles_target": bool(s["is_roles_target"]),
                          "y_offset": src.y_offset, "x_offset_arcsec": src.x_offset, "fwhm_int": src.fwhm_int,
                          "slit_fraction_mean": sf, "n_exp": info["n_exp"]})
            # one entry per line (doublet summed)
            done = set()
            for name in src.names:
                if name in done:
                    continue
                done.add(name)
                rest = LINES[name]
                lam = rest * (1 + float(row["z_true"]))
                flux = float(row["f_" + name])
                snr, cnt = expected_line_snr(flux, lam, lam * float(row["sigma_kms"]) / 299792.458,
                                             float(s["dispersion"]), info["conds"], src.fwhm_int, src.x_offset, nod_time)
                in_win = C.KG750_WINDOW[0] <= lam <= C.KG750_WINDOW[1]
                x0 = float(s["x_ref"]) + src.x_offset / L.PIXSCALE + (lam - float(s["lambda_ref"])) / float(s["dispersion"])
                lrows.append({"mask": m, "slit_id": int(s["slit_id"]), "object_id": s["object_id"], "line": name,
                              "rest_wave": rest, "obs_wave": lam, "flux": flux, "x_zero_flexure": x0,
                              "counts_per_nod_exposure": cnt, "snr_expected": snr, "in_window": in_win})
                if in_win and snr >= 4 and bool(s["is_roles_target"]):
                    detectable[f].add(s["object_id"])
    st = Table(rows=srows)
    st["y_offset"].unit = u.pix
    st["x_offset_arcsec"].unit = u.arcsec
    st["fwhm_int"].unit = u.arcsec
    st.meta["description"] = ("per slit: object offsets from the nominal nod positions along (y, px) and across "
                              "(x, arcsec) the slit, intrinsic FWHM, mean slit fraction over the exposures")
    files.append(write_table(st, truth_dir / "roles_slits.ecsv"))
    lt = Table(rows=lrows) if lrows else Table(names=("mask", "slit_id", "object_id", "line", "rest_wave", "obs_wave",
                                                      "flux", "x_zero_flexure", "counts_per_nod_exposure",
                                                      "snr_expected", "in_window"))
    lt["rest_wave"].unit = u.AA
    lt["obs_wave"].unit = u.AA
    lt["flux"].unit = u.erg / u.s / u.cm**2
    lt["x_zero_flexure"].unit = u.pix
    lt["counts_per_nod_exposure"].unit = u.electron
    lt.meta["description"] = ("every emission line rendered into a slit (vacuum wavelengths; [OII] doublet as one "
                              "entry); counts_per_nod_exposure = mean electrons at one nod position in one exposure; "
                              "snr_expected = matched-filter S/N in the combined A'-B' frame with the mean sky")
    files.append(write_table(lt, truth_dir / "roles_lines.ecsv"))
    sv._detectable = {f: len(v) for f, v in detectable.items()}
    # galaxies
    files.append(write_table(truth_galaxy_table(sv), truth_dir / "roles_galaxies.ecsv"))
    files.append(write_table(comp_truth, truth_dir / "roles_highmass_truth.ecsv"))
    # instrument
    lam = np.arange(6800.0, 8300.0, 1.0)
    sens = Table({"wavelength": lam * u.AA,
                  "sensitivity": L.sensitivity(lam) * u.electron / u.s / (u.erg / u.s / u.cm**2),
                  "filter": L.filter_transmission(lam), "system_eff": L.system_efficiency(lam),
                  "telluric_tau": L.telluric_tau(lam)})
    sens.meta["description"] = ("injected sensitivity S(lambda) above the atmosphere without slit losses; observed "
                                "electrons = f x S x exp(-airmass x telluric_tau) x slit_fraction x time; "
                                "vacuum wavelengths")
    sens.meta["sky_cont_e_per_px_1200s_at_7500"] = L.SKY_CONT_E
    files.append(write_table(sens, truth_dir / "roles_sensitivity.ecsv"))
    tr = det.traps.copy()
    tr.meta["description"] = ("charge traps: column x, row y; every transfer across adds q electrons to packets "
                              "with home rows y+1..y+16, decaying as exp(-(row-y-1)/length)")
    files.append(write_table(tr, truth_dir / "roles_charge_traps.ecsv"))
    crow = {"file": [], "x": [], "y": [], "electrons": []}
    for fname, cr in cr_all:
        crow["file"] += [fname] * len(cr[0])
        crow["y"] += list(np.asarray(cr[0], int))
        crow["x"] += list(np.asarray(cr[1], int))
        crow["electrons"] += list(np.round(np.asarray(cr[2], float), 1))
    ct = Table(crow, names=("file", "x", "y", "electrons"),
               dtype=(str, int, int, float)) if crow["file"] else Table(names=("file", "x", "y", "electrons"),
                                                                       dtype=(str, int, int, float))
    ct.meta["description"] = "cosmic-ray electrons added to each pixel of each frame (0-based x, y)"
    files.append(write_table(ct, truth_dir / "roles_cosmics.ecsv"))
    summ = {"preset": pre.name, "survey_seed": sv.seed, "noise_seed": sv.noise_seed, "standard_mask": sv.standard_mask, "standard_slit": std_slit,
            **_counts(sv)}
    files.append(write_json(summ, truth_dir / "roles_truth_summary.json"))
    return files
