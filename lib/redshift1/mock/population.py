"""The mock galaxy population: scaling relations as parameters, sampled per galaxy.

Every relation the pipeline later measures is an explicit, documented parameter of
:class:`Relations`, so a blind test can inject different ones and check that the
walk recovers them. Line fluxes come from SFRs through the papers' own conversions
run backwards (:mod:`redshift1.science.sfr`), so the conversions the pipeline applies
forwards are exercised end to end.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict, replace

import numpy as np
import astropy.units as u

from ..cosmology import KROSS_COSMO, ROLES_COSMO
from ..science.mainsequence import MS_PRESCRIPTIONS
from ..science.metallicity import n2_from_oh
from ..science.sfr import halpha_luminosity_from_sfr, line_flux, oii_luminosity_from_sfr, a_gas


@dataclass(frozen=True)
class Relations:
    """Population relations of the mock sky (defaults tuned to land near the papers).

    Attributes are grouped by what they set; every ``*_scatter`` is a Gaussian
    scatter in dex (or mag for A_V), every ``*_slope`` a logarithmic slope.
    """

    # star formation: log SFR = MS(M*, z) + offset + N(0, scatter); a fraction of
    # galaxies sits well below the sequence (the weak-Hα, redder population of KROSS)
    ms_prescription: str = "speagle14"
    ms_offset: float = 0.0
    ms_scatter: float = 0.3
    below_ms_fraction: float = 0.10
    below_ms_offset: float = -1.0
    # dust: A_V = av_at_1e10 + av_mass_slope (log M* - 10) + N(0, av_scatter), >= 0
    av_at_1e10: float = 0.9
    av_mass_slope: float = 0.6
    av_scatter: float = 0.3
    # Hα half-light radius: log r½ = log r_at_1e10 + mass_slope (log M* - 10)
    #                                + delta_slope log Δ(sSFR) + N(0, scatter)
    halpha_r_half_kpc_at_1e10: float = 5.0
    halpha_size_mass_slope: float = 0.15
    halpha_size_delta_slope: float = -0.10
    halpha_size_scatter: float = 0.15
    # compact (nuclear) Hα: the below-sequence galaxies and a fraction of the massive ones
    # (log M* > 10.2) have r½ × compact_size_factor -- KROSS's unresolved, redder population
    compact_size_factor: float = 0.12
    compact_fraction_massive: float = 0.15
    # stellar light (Sérsic): r_e,* = r½(Hα) / ratio, n ~ N(mean, sd) clipped to 0.5-4
    halpha_to_stellar_size: float = 1.3
    sersic_n_mean: float = 1.2
    sersic_n_sd: float = 0.4
    # gas-phase metallicity (PP04 scale): 12+log(O/H) = oh_at_1e10 + mzr_slope (log M* - 10)
    #                                      + oh_delta_slope log Δ(sSFR) + N(0, oh_scatter)
    oh_at_1e10: float = 8.52
    oh_mass_slope: float = 0.12
    oh_delta_slope: float = -0.32
    oh_scatter: float = 0.06
    # kinematics: log v_max [km/s] = tf_zero + tf_slope (log M* - 10); σ0 intrinsic dispersion
    tf_zero: float = 2.15
    tf_slope: float = 0.27
    sigma0_kms: float = 50.0
    # SED fitting errors of the parent photometric catalogue
    sed_logm_err: float = 0.10
    sed_sfr_err: float = 0.25
    sed_av_err: float = 0.15

    def as_dict(self) -> dict:
        return asdict(self)

    def updated(self, **changes) -> "Relations":
        """A copy with some relations changed (for blind injection tests)."""
        return replace(self, **changes)


# --------------------------------------------------------------------------- relations
def log_sfr_main_sequence(logm, z, rel: Relations, cosmo=KROSS_COSMO):
    """log SFR on the chosen main-sequence prescription plus the global offset."""
    fn = MS_PRESCRIPTIONS[rel.ms_prescription]
    kw = {"cosmo": cosmo} if rel.ms_prescription == "speagle14" else {}
    return fn(logm, z, **kw) + rel.ms_offset


def draw_log_delta(n, rng, rel: Relations):
    """log Δ(sSFR): Gaussian main-sequence scatter, plus a below-sequence population."""
    ld = rng.normal(0.0, rel.ms_scatter, n)
    low = rng.random(n) < rel.below_ms_fraction
    ld[low] = rng.normal(rel.below_ms_offset, rel.ms_scatter, low.sum())
    return ld


def draw_av(logm, rng, rel: Relations):
    a = rel.av_at_1e10 + rel.av_mass_slope * (np.asarray(logm) - 10) + rng.normal(0, rel.av_scatter, np.size(logm))
    return np.clip(a, 0.0, 3.5)


def draw_halpha_r_half_kpc(logm, log_delta, rng, rel: Relations):
    lr = (np.log10(rel.halpha_r_half_kpc_at_1e10) + rel.halpha_size_mass_slope * (np.asarray(logm) - 10)
          + rel.halpha_size_delta_slope * np.asarray(log_delta) + rng.normal(0, rel.halpha_size_scatter, np.size(logm)))
    return 10 ** lr


def draw_metallicity(logm, log_delta, rng, rel: Relations):
    return (rel.oh_at_1e10 + rel.oh_mass_slope * (np.asarray(logm) - 10)
            + rel.oh_delta_slope * np.asarray(log_delta) + rng.normal(0, rel.oh_scatter, np.size(logm)))


def draw_sersic(r_half_halpha_kpc, rng, rel: Relations):
    """Stellar Sérsic index and effective radius [kpc]."""
    n = np.clip(rng.normal(rel.sersic_n_mean, rel.sersic_n_sd, np.size(r_half_halpha_kpc)), 0.5, 4.0)
    re = np.asarray(r_half_halpha_kpc) / rel.halpha_to_stellar_size * 10 ** rng.normal(0, 0.08, np.size(n))
    return n, re


def vmax_kms(logm, rel: Relations):
    return 10 ** (rel.tf_zero + rel.tf_slope * (np.asarray(logm) - 10))


def draw_inclination_deg(n, rng, q0=0.2):
    """Random orientations (cos i uniform), thick discs with intrinsic axis ratio q0."""
    cos_i = rng.random(n)
    return np.degrees(np.arccos(cos_i)), np.sqrt(cos_i**2 * (1 - q0**2) + q0**2)


def k_magnitude_ab(logm, z, log_delta, rng):
    """Observed K_AB of a star-forming galaxy: a mass-to-light relation with distance and
    a brighter M/L for bursty galaxies (fits K≈21.2 at log M*≈10, z≈0.86)."""
    dm = 5 * np.log10(KROSS_COSMO.luminosity_distance(z).to_value(u.Mpc) / KROSS_COSMO.luminosity_distance(0.86).to_value(u.Mpc))
    return 21.3 - 2.3 * (np.asarray(logm) - 10) + dm - 0.25 * np.asarray(log_delta) + rng.normal(0, 0.25, np.size(logm))


def r_minus_z(logm, log_delta, av, rng):
    """Observed r−z colour: redder with mass and dust, bluer above the sequence."""
    return (0.75 + 0.35 * (np.asarray(logm) - 10) + 0.15 * np.asarray(av) - 0.35 * np.asarray(log_delta)
            + rng.normal(0, 0.12, np.size(logm)))


# --------------------------------------------------------------------------- fluxes
def halpha_nii_fluxes(sfr, av, z, oh, cosmo=KROSS_COSMO):
    """Observed Hα and [NII]6583 fluxes [erg/s/cm2] (KROSS eqs. 1-3 and PP04 inverted)."""
    l_ha = halpha_luminosity_from_sfr(sfr, av)
    f_ha = line_flux(l_ha, z, cosmo).value
    f_nii = f_ha * 10 ** n2_from_oh(oh)
    return f_ha, f_nii


def oii_flux(sfr, z, cosmo=ROLES_COSMO):
    """Observed [OII]3727 flux [erg/s/cm2] of a galaxy with this SFR (ROLES eq. 9 inverted)."""
    return line_flux(oii_luminosity_from_sfr(sfr), z, cosmo).value


def interloper_line_fluxes(sfr, av, z, rng, cosmo=ROLES_COSMO):
    """Hα, Hβ and [OIII]5007 fluxes of a lower-redshift interloper [erg/s/cm2].

    Hβ = Hα / 2.86 further dimmed by the differential Calzetti attenuation; dwarf
    galaxies have [OIII]/Hβ of 1-4.
    """
    l_ha = halpha_luminosity_from_sfr(sfr, av)
    f_ha = line_flux(l_ha, z, cosmo).value
    # A(Hβ) - A(Hα) ≈ 0.54 A_gas for a Calzetti law (k(Hβ)=3.61, k(Hα)=2.53)
    f_hb = f_ha / 2.86 * 10 ** (-0.4 * 0.43 * a_gas(av))
    f_oiii = f_hb * 10 ** rng.uniform(0.0, 0.6, np.size(sfr))
    return f_ha, f_hb, f_oiii
