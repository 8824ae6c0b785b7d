"""The mock KROSS survey: fields, pointings, targets, catalogues, cubes and truth.

Layout written under ``<survey>/kmos`` (the contract is ``docs/data-format.md``)::

    targets.ecsv          parent photometry + SED fits + catalogue redshift, one row per cube
    pointings.ecsv        KMOS pointings (field, centre, date, exposure)
    psf_stars.ecsv        PSF-star cubes: pointing, spectrograph, IFU, file
    hst_morphology.ecsv   F160W GALFIT-like Sérsic fits for the subset with HST imaging
    cubes/<pointing>/<id>.fits
    psf/<pointing>_spec<k>.fits

and the truth, apart, under ``<survey>/truth/kmos_galaxies.ecsv`` and ``kmos_psf.ecsv``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable, Table, vstack

from .. import constants as C
from ..cosmology import KROSS_COSMO
from ..io import write_fits, write_table
from ..parallel import map_objects
from ..kmos.cube import cube_wcs_header, make_cube_hdulist
from . import population as pop
from .kmos import PSF, KMOSNoise, observe_cube, observe_star, wavelength_grid
from .rng import stream

#: KROSS Table 1 field centres and the parent surveys' names.
KROSS_FIELDS = {
    "UDS": ("02:17:48 -05:05:45", "UDS/VIPERS/HiZELS"),
    "ECDFS": ("03:32:28 -27:48:30", "MUSYC/VVDS"),
    "COSMOS": ("10:00:28 +02:12:21", "zCOSMOS/HiZELS"),
    "SA22": ("22:17:00 +00:20:00", "VVDS/VIPERS/CF-HiZELS"),
}
#: fields where the HST morphology catalogue (van der Wel et al. 2012 in the paper) exists
HST_FIELDS = ("UDS", "ECDFS", "COSMOS")
#: 1σ scatter of an HST axis ratio about the disc's true projected one (a fit's error and real
#: discs' spread of thickness about q0); the walk assumes 0.05 (SizeConfig.hst_q_err). Without it
#: the inclinations of the HST galaxies came out exact and their v_max pulls 0.72 wide
HST_Q_SCATTER = 0.05
CUBE_BUNIT = "erg.s**-1.cm**-2.um**-1"
STAR_IFUS = (8, 16, 24)


@dataclass(frozen=True)
class KROSSSample:
    """Who the KROSS targets are: the target selection's mass and redshift distributions,
    the weak-Hα (passive, compact) population, and the KROSS-only population relations.

    The defaults are the simple sample of the ``tiny`` and ``quick`` presets;
    :data:`KROSS_PAPER_SAMPLE` is calibrated to what Magdis et al. (2016) state about
    theirs (``docs/mock-calibration.md``, "KROSS"). ``relations`` replaces fields of the
    survey's :class:`~redshift1.mock.population.Relations` for the KROSS targets only (the
    truth records the relations actually injected).
    """

    # stellar mass of the K-selected targets: log M* ~ N(mean, sd) clipped to [min, max]
    logm_mean: float = 10.0
    logm_sd: float = 0.45
    logm_min: float = 9.0
    logm_max: float = 11.4
    # redshift: a core N(median, sd) clipped to z_clip, and a fraction drawn uniformly in
    # z_outlier_range (Hα must fall in YJ: z < 1.05)
    z_median: float = 0.865
    z_sd: float = 0.035
    z_clip: tuple = (0.76, 1.02)
    z_outlier_fraction: float = 0.03
    z_outlier_range: tuple = (0.76, 1.02)
    # the below-sequence (log Δ < passive_delta_max) galaxies are the more massive ones
    passive_delta_max: float = -0.6
    passive_mass_shift: float = 0.3
    # compact Hα also in a fraction (Relations.compact_fraction_massive) of log M* > this
    compact_mass_min: float = 10.2
    # the stellar r_e of compact galaxies: None = shrunk with their Hα (r½ / ratio), else
    # r_disc / ratio × this factor, with the Sérsic n raised by compact_sersic_shift
    compact_stellar_size_factor: float | None = None
    compact_sersic_shift: float = 0.0
    # starbursts: a fraction with log Δ ~ N(offset, scatter) (0: none)
    starburst_fraction: float = 0.0
    starburst_offset: float = 0.5
    starburst_scatter: float = 0.15
    # extended Hα discs: a fraction whose r½ is multiplied by extended_size_factor (0: none)
    extended_fraction: float = 0.0
    extended_size_factor: float = 1.0
    # compaction above the main-sequence ridge: r½ × Δ^size_above_ms_slope where log Δ > 0
    # (0: none; on top of Relations.halpha_size_delta_slope, which acts on every galaxy)
    size_above_ms_slope: float = 0.0
    # KROSS-only replacements of Relations fields: ((name, value), ...)
    relations: tuple = ()

    def record(self) -> dict:
        """The sample's fields for the truth's metadata. Fields added after the quick and tiny
        truths were fixed are recorded only when switched on, so those truths stay byte-identical."""
        d = asdict(self)
        for name in _LATER_FIELDS:
            if d[name] == 0:
                del d[name]
        return d

    def relations_for(self, rel: pop.Relations) -> pop.Relations:
        """The survey's relations with this sample's replacements."""
        return rel.updated(**dict(self.relations)) if self.relations else rel


#: KROSSSample fields recorded only when non-zero (see :meth:`KROSSSample.record`)
_LATER_FIELDS = ("size_above_ms_slope",)

#: The ``paper`` preset's KROSS targets, calibrated to Magdis et al. (2016) (M16 below);
#: docs/mock-calibration.md says what each number is tuned to.
KROSS_PAPER_SAMPLE = KROSSSample(
    # M16 §2: 96% of the targets within 0.8 < z < 1.0, median 0.86; the rest spans 0.7 up
    # to where Hα leaves YJ: a core holding all but ~0.1% inside 0.8-1.0, and 7% drawn
    # uniformly over 0.70-1.04 that put ~3% outside. The core's width sets how many [NII]
    # lines fall within 7 Å of a strong OH line (M16 §3.3: 113 of the 247 [NII]
    # non-detections, ≥ 26% of the Hα detections): 0.02 gives the most (~28%) that the
    # 42 strong YJ lines of the project's OH table allow near z = 0.86
    z_median=0.86,
    z_sd=0.02,
    z_clip=(0.70, 1.04),
    z_outlier_fraction=0.07,
    z_outlier_range=(0.70, 1.04),
    # M16 §2: K_AB < 22.5 "roughly corresponds to log M* > 9.3 ± 0.5"; Table 2 and §3.1:
    # median SFR(Hα) 7 M☉/yr of the 437 Hα detections on the Speagle MS at z = 0.86 (Fig. 2):
    # log M* ≈ 10. 9.92 puts the detections' true median at ~6.7 (the walk's SFRs of the
    # paper preset run ~9% above the truth: docs/mock-calibration.md)
    logm_mean=9.92,
    logm_sd=0.45,
    logm_min=9.0,
    logm_max=11.5,
    # M16 Table 2: the unresolved (63) and undetected (50) galaxies are K 0.6 mag brighter
    # than the resolved ones (K-band M/L: ~0.25 dex more massive) and redder
    passive_delta_max=-0.5,
    passive_mass_shift=0.25,
    compact_mass_min=10.3,
    # M16 §4.2: unresolved galaxies are "predominantly passive ... with more concentrated
    # light profiles": their starlight is a compact bulge (r_e 0.15 × the disc's, ~1 kpc at
    # log M* ≈ 10.5; Sérsic n + 1.5), while their Hα is nuclear (compact_size_factor).
    # The bulge size also sets where the noise-resolved ones fall on the resolved MS
    # (M16 §4.1, eq. 5: slope 0.91): on two walks' samples 0.5 gives a truth slope of
    # 1.08-1.13, 0.15 of 0.89-0.94, 0.1 of 0.90
    compact_stellar_size_factor=0.15,
    compact_sersic_shift=1.5,
    # M16 §3.1: SFRs up to 330 M☉/yr; §4.2: "almost all galaxies have Δ(sSFR) < 4": a
    # few per cent lie above the MS band
    starburst_fraction=0.03,
    starburst_offset=0.6,
    starburst_scatter=0.15,
    # M16 §3.2: r′½ from 1.4 to 22.3 kpc around a median of 5.1 (mean 5.4): a lognormal
    # holds the median and mean, but its largest of ~400 is ~14 kpc; 2% of extended discs
    # (×2.6) reach the largest sizes
    extended_fraction=0.02,
    extended_size_factor=2.6,
    # M16 §4.2: starbursts (Δ > 2) have a mean r′½ of 4.2 ± 0.5 kpc against 5.2 ± 0.3 for the
    # MS galaxies (as Elbaz et al. 2011 find above the MS), while ΣSFR ∝ Δ^1.09 "on average":
    # a size trend across the whole MS (r½ ∝ Δ^s) would give ΣSFR ∝ Δ^(1−2s), 1.5 for the s the
    # starburst sizes need. Galaxies shrink above the MS ridge only: r½ ∝ Δ^−0.3 for log Δ > 0
    # puts the starbursts' true mean at ~0.75 × the MS's and the true least-squares ΣSFR–Δ
    # slope at ~1.35 (the walk's, diluted by the errors of Δ, lower)
    size_above_ms_slope=-0.30,
    relations=(
        # M16 §2, Table 2: the weak-Hα population (63 unresolved + 50 undetected of 487) has
        # SED SFRs of 1.2-2.0 M☉/yr against 6.8-7.2 for the resolved: ~0.8 dex below the MS
        ("below_ms_fraction", 0.15),
        ("below_ms_offset", -0.8),
        # M16 §3.2: unresolved = r½(Hα) below the PSF HWHM (0.23-0.42", ~2.5 kpc); their Hα
        # is nuclear, well below a spaxel: the noise, not the size, decides r½ > HWHM. With
        # the below-MS galaxies, a third of the massive (log M* > 10.3) ones are compact
        ("compact_size_factor", 0.05),
        ("compact_fraction_massive", 0.35),
        # M16 §3.2: median r′½ 5.1 kpc, mean 5.4 (mean/median 1.06: a 0.15 dex lognormal
        # in all, of which the mass and Δ(sSFR) terms give ~0.08 and the scatter 0.12); the
        # normalisation is above 5.1 because the median is taken over the resolved galaxies,
        # which include the noise-resolved nuclear ones; the walk's r′½ of a paper-preset run
        # (median 4.85 [4.49, 5.10], with the MS-ridge compaction below) asks for 6.0
        ("halpha_r_half_kpc_at_1e10", 6.0),
        ("halpha_size_scatter", 0.12),
        # no size trend with Δ(sSFR) below the MS ridge (see size_above_ms_slope)
        ("halpha_size_delta_slope", 0.0),
        # M16 §4.1: r½(Hα) "on average 1.3 times" the F160W r_H: the mean of a ratio with
        # 0.08 dex scatter is 1.017 × its median
        ("halpha_to_stellar_size", 1.28),
        # M16 §3.3: 190 [NII] detections, "≈40%" of the Hα detections, which the paper reads
        # as a bias towards the metal-rich. At the mock's depth, 40% needs [NII]/Hα ≈ 0.09
        # at 10^10 M☉ (8.30 with the brighter Hα of av_at_1e10 below); the detections' mean then
        # falls below the paper's 8.64 (see docs/mock-calibration.md, "What could not be matched")
        ("oh_at_1e10", 8.30),
        ("oh_scatter", 0.10),
        # the paper does not state its targets' A_V (§3.1: SED A_V, Calzetti); the generic
        # 0.9 mag at 10^10 M☉ leaves 70 of 487 undetected against M16 §2's 50: 0.75 mag
        # brightens Hα by 0.28 mag at fixed SFR
        ("av_at_1e10", 0.75),
    ),
)

#: The paper preset's KMOS depth: M16 §2 detects Hα (S/N > 3) in 90% of the targets (437 of
#: 487), the undetected being the passive ones: with the weak-Hα population above, the quick
#: preset's noise floor (1.1 × left 70 undetected); M16 §3.3 blames the [NII] non-detections near OH lines
#: on imperfect sky subtraction: residuals twice the quick preset's.
KROSS_PAPER_NOISE = KMOSNoise(floor=KMOSNoise().floor * 1.0, residual=KMOSNoise().residual * 2)


@dataclass(frozen=True)
class KROSSPreset:
    """How big the KROSS part of a mock survey is, and who its targets are.

    ``pointings`` lists (field, number of galaxy IFUs) per pointing; PSF stars sit in
    ``star_ifus`` of the science frame when ``stars_in_science_ifus`` (monitor stars),
    otherwise they come from acquisition exposures through the same IFUs. ``sample``
    draws the targets; ``noise`` is the cubes' noise model.
    """

    pointings: tuple
    stars_in_science_ifus: bool
    hst_fraction: float = 0.32
    sample: KROSSSample = KROSSSample()
    noise: KMOSNoise = KMOSNoise()


def _paper_pointings():
    # KROSS Table 1: UDS 149, ECDFS 120, COSMOS 102, SA22 116 = 487 targets in 21 pointings.
    # With 24 IFUs a pointing, 21 field-pure pointings cannot hold COSMOS's 102 in 4 or
    # UDS's 149 in 6, so the mock keeps 487 in 21 pointings: UDS 7 (151), ECDFS 5 (120),
    # COSMOS 4 (96), SA22 5 (120).
    plan = [("UDS", 151, 7), ("ECDFS", 120, 5), ("COSMOS", 96, 4), ("SA22", 120, 5)]
    out = []
    for field, n, k in plan:
        per = [n // k + (1 if i < n % k else 0) for i in range(k)]
        out += [(field, m) for m in per]
    return tuple(out)


KROSS_PRESETS = {
    "tiny": KROSSPreset(pointings=(("COSMOS", 4),), stars_in_science_ifus=True, hst_fraction=0.5),
    "quick": KROSSPreset(pointings=(("COSMOS", 21),), stars_in_science_ifus=True),
    "paper": KROSSPreset(pointings=_paper_pointings(), stars_in_science_ifus=False, sample=KROSS_PAPER_SAMPLE,
                         noise=KROSS_PAPER_NOISE),
}


def pointing_plan(cfg: KROSSPreset):
    """(index, field, number of galaxies, pointing name) of every pointing, in survey order."""
    counters = {f: 0 for f in KROSS_FIELDS}
    for p_idx, (field, n_gal) in enumerate(cfg.pointings):
        counters[field] += 1
        yield p_idx, field, n_gal, f"{field}_P{counters[field]:02d}"


def _galaxy_ifus(cfg: KROSSPreset, n_gal: int) -> list[int]:
    return [i for i in range(1, 25) if not (cfg.stars_in_science_ifus and i in STAR_IFUS)][:n_gal]


# --------------------------------------------------------------------------- population
def draw_kross_galaxies(n: int, field: str, rng: np.random.Generator, rel: pop.Relations,
                        sample: KROSSSample = KROSSSample()) -> Table:
    """True properties of ``n`` KROSS targets (mass-selected star-formers at z≈0.86).

    ``rel`` are the relations injected (already with ``sample``'s replacements).
    """
    s = sample
    # K_AB < 22.5 mass selection
    logm = np.clip(rng.normal(s.logm_mean, s.logm_sd, n), s.logm_min, s.logm_max)
    z = np.clip(rng.normal(s.z_median, s.z_sd, n), *s.z_clip)
    z = np.where(rng.random(n) < s.z_outlier_fraction, rng.uniform(*s.z_outlier_range, n), z)
    log_delta = pop.draw_log_delta(n, rng, rel)
    if s.starburst_fraction > 0:
        burst = rng.random(n) < s.starburst_fraction
        log_delta[burst] = rng.normal(s.starburst_offset, s.starburst_scatter, burst.sum())
    # the below-sequence galaxies of KROSS are the more massive ones
    low = log_delta < s.passive_delta_max
    logm[low] = np.clip(logm[low] + s.passive_mass_shift, s.logm_min, s.logm_max)
    log_sfr = pop.log_sfr_main_sequence(logm, z, rel) + log_delta
    av = pop.draw_av(logm, rng, rel)
    oh = pop.draw_metallicity(logm, log_delta, rng, rel)
    r_half_kpc = pop.draw_halpha_r_half_kpc(logm, log_delta, rng, rel)
    compact = low | ((logm > s.compact_mass_min) & (rng.random(n) < rel.compact_fraction_massive))
    r_half_kpc = np.where(compact, r_half_kpc * rel.compact_size_factor, r_half_kpc)
    if s.extended_fraction > 0:
        extended = ~compact & (rng.random(n) < s.extended_fraction)
        r_half_kpc = np.where(extended, r_half_kpc * s.extended_size_factor, r_half_kpc)
    if s.size_above_ms_slope != 0:
        r_half_kpc = r_half_kpc * 10 ** (s.size_above_ms_slope * np.clip(log_delta, 0, None))
    n_sersic, re_star_kpc = pop.draw_sersic(r_half_kpc, rng, rel)
    if s.compact_stellar_size_factor is not None:
        # nuclear Hα does not shrink the stars: a compact galaxy's starlight is a concentrated
        # bulge-like profile of its own size, not the Hα's
        re_star_kpc = np.where(compact, re_star_kpc / rel.compact_size_factor * s.compact_stellar_size_factor,
                               re_star_kpc)
        n_sersic = np.where(compact, np.clip(n_sersic + s.compact_sersic_shift, 0.5, 4.0), n_sersic)
    inc, q = pop.draw_inclination_deg(n, rng)
    f_ha, f_nii = pop.halpha_nii_fluxes(10**log_sfr, av, z, oh)
    kpc_per_arcsec = KROSS_COSMO.kpc_proper_per_arcmin(z).to_value(u.kpc / u.arcsec)
    r_half_arcsec = r_half_kpc / kpc_per_arcsec
    t = QTable()
    t["z"] = z
    t["logmstar"] = logm
    t["log_delta_ssfr"] = log_delta
    t["sfr"] = 10**log_sfr * u.Msun / u.yr
    t["a_v"] = av * u.mag
    t["oh12"] = oh
    t["flux_halpha"] = f_ha * u.erg / u.s / u.cm**2
    t["flux_nii6583"] = f_nii * u.erg / u.s / u.cm**2
    t["r_half_kpc"] = r_half_kpc * u.kpc
    t["r_half_arcsec"] = r_half_arcsec * u.arcsec
    t["inclination"] = inc * u.deg
    t["pa"] = rng.uniform(0, 180, n) * u.deg
    t["v_max"] = pop.vmax_kms(logm, rel) * 10 ** rng.normal(0, 0.05, n) * u.km / u.s
    t["r_turn_arcsec"] = np.clip(0.4 * r_half_arcsec / 1.678 * 10 ** rng.normal(0, 0.1, n), 0.03, None) * u.arcsec
    t["sigma0"] = rel.sigma0_kms * 10 ** rng.normal(0, 0.1, n) * u.km / u.s
    t["sersic_n"] = n_sersic
    t["re_star_kpc"] = re_star_kpc * u.kpc
    t["re_star_arcsec"] = re_star_kpc / kpc_per_arcsec * u.arcsec
    t["q_star"] = q
    t["k_ab"] = pop.k_magnitude_ab(logm, z, log_delta, rng) * u.mag
    t["r_z"] = pop.r_minus_z(logm, log_delta, av, rng) * u.mag
    # where the galaxy centre sits in the IFU (acquisition offsets of ~0.1")
    t["x0"] = 6.5 + rng.normal(0, 0.5, n)
    t["y0"] = 6.5 + rng.normal(0, 0.5, n)
    t["field"] = field
    return t


def sed_catalogue(truth: Table, rng: np.random.Generator, rel: pop.Relations) -> dict:
    """What SED fitting of the parent photometry reports, with realistic errors."""
    n = len(truth)
    logm = np.asarray(truth["logmstar"]) + rng.normal(0, rel.sed_logm_err, n)
    sfr = truth["sfr"].to_value(u.Msun / u.yr) * 10 ** rng.normal(0, rel.sed_sfr_err, n)
    av = np.clip(truth["a_v"].to_value(u.mag) + rng.normal(0, rel.sed_av_err, n), 0, None)
    return {"logmstar": logm, "logmstar_err": np.full(n, rel.sed_logm_err),
            "sfr_sed": sfr, "sfr_sed_err_dex": np.full(n, rel.sed_sfr_err),
            "a_v": av, "a_v_err": np.full(n, rel.sed_av_err)}


def draw_psfs(pointing: str, seed: int) -> list[PSF]:
    """One PSF per spectrograph: pointing seeing × spectrograph factor; ellipticities
    0.05-0.1 (spectrographs 1-2) and 0.1-0.2 (3), as KROSS measured."""
    rng = stream(seed, "kmos", "psf", pointing)
    seeing = float(np.clip(0.62 * 10 ** rng.normal(0, 0.08), 0.46, 0.84))
    out = []
    for k, (elo, ehi) in enumerate([(0.05, 0.1), (0.05, 0.1), (0.1, 0.2)]):
        fwhm = seeing * (1.0, 1.03, 0.97)[k] * 10 ** rng.normal(0, 0.02)
        out.append(PSF(fwhm=round(fwhm, 4), ellipticity=round(rng.uniform(elo, ehi), 4),
                       pa=round(rng.uniform(0, 180), 2)))
    return out


def draw_kross_truth(preset: str, survey_seed: int, relations: pop.Relations | None = None) -> Table:
    """The true KROSS targets of a preset, exactly as :func:`observe_kross` draws them, without
    observing them (no cubes: seconds for the paper preset).

    Columns are those of ``truth/kmos_galaxies.ecsv`` except ``flux_halpha_fov`` (an outcome
    of the observation); ``psf_fwhm`` is the injected PSF of the galaxy's spectrograph.
    """
    cfg = KROSS_PRESETS[preset]
    rel = cfg.sample.relations_for(relations or pop.Relations())
    tables = []
    for _, field, n_gal, pname in pointing_plan(cfg):
        psfs = draw_psfs(pname, survey_seed)
        ifus = _galaxy_ifus(cfg, n_gal)
        gals = draw_kross_galaxies(n_gal, field, stream(survey_seed, "kmos", "population", pname), rel, cfg.sample)
        gals["id"] = [f"{field}-{pname[-2:]}{ifu:02d}" for ifu in ifus]
        gals["pointing"] = pname
        gals["ifu"] = ifus
        gals["spectrograph"] = [(i - 1) // 8 + 1 for i in ifus]
        gals["psf_fwhm"] = [psfs[(i - 1) // 8].fwhm for i in ifus] * u.arcsec
        tables.append(gals)
    truth = Table(vstack(tables, metadata_conflicts="silent"))
    truth.meta.update({"relations": rel.as_dict(), "kross_sample": cfg.sample.record()})
    return truth


# --------------------------------------------------------------------------- headers
def _primary_header(obj: str, ra: float, dec: float, pointing: str, field: str, ifu: int,
                    date_obs: str, exptime: float, kind: str) -> fits.Header:
    h = fits.Header()
    h["INSTRUME"] = ("KMOS", "instrument")
    h["TELESCOP"] = ("ESO-VLT-U1", "ESO telescope name")
    h["ORIGIN"] = ("redshift-one mock observatory", "not a real observation")
    h["OBJECT"] = (obj, "target name")
    h["RA"] = (round(ra, 7), "[deg] target RA (J2000)")
    h["DEC"] = (round(dec, 7), "[deg] target DEC (J2000)")
    h["EQUINOX"] = 2000.0
    h["RADESYS"] = "FK5"
    h["DATE-OBS"] = (date_obs, "observing date")
    h["EXPTIME"] = (exptime, "[s] on-source integration")
    h["HIERARCH ESO OBS NAME"] = (pointing, "OB name (pointing)")
    h["HIERARCH ESO OBS TARG NAME"] = (field, "field")
    h["HIERARCH ESO INS FILT1 ID"] = ("YJ", "filter")
    h["HIERARCH ESO INS GRAT1 ID"] = ("YJ", "grating")
    h[f"HIERARCH ESO OCS ARM{ifu} NAME"] = (obj, "target hosted by arm")
    h[f"HIERARCH ESO OCS ARM{ifu} TYPE"] = ("O" if kind == "galaxy" else "S", "O=object, S=star")
    h["HIERARCH ESO PRO CATG"] = ("SCI_RECONSTRUCTED", "product category")
    h["HIERARCH ESO PRO SPEC FRAME"] = ("VACUUM", "wavelength frame of axis 3")
    h["HIERARCH R1 IFU"] = (ifu, "KMOS IFU (1-24)")
    h["HIERARCH R1 SPECTROGRAPH"] = ((ifu - 1) // 8 + 1, "KMOS spectrograph (1-3)")
    h["HIERARCH R1 KIND"] = (kind, "galaxy or psf_star")
    return h


def _pointing_centre(field: str, k: int, rng) -> SkyCoord:
    c = SkyCoord(KROSS_FIELDS[field][0], unit=(u.hourangle, u.deg))
    return c.spherical_offsets_by(rng.uniform(-12, 12) * u.arcmin, rng.uniform(-12, 12) * u.arcmin)


# --------------------------------------------------------------------------- survey
def observe_kross(out_dir: Path, preset: str, survey_seed: int, relations: pop.Relations, truth_dir: Path,
                  noise: KMOSNoise | None = None, progress: bool = False, noise_seed: int | None = None,
                  workers: int = 1) -> dict:
    """Write the KMOS part of a mock survey (cubes, PSF stars, catalogues) and its truth.

    Parameters
    ----------
    out_dir : Path
        ``<survey>/kmos``.
    preset : {"tiny", "quick", "paper"}
    survey_seed : int
        What the sky and the set-up are: pointings, galaxies, catalogues, PSFs.
    relations : Relations
        Population relations to inject (the preset's :class:`KROSSSample` may replace
        KROSS-only fields; the truth's meta records the relations injected).
    truth_dir : Path
        ``<survey>/truth``; nothing the pipeline reads is written there.
    noise : KMOSNoise, optional
        Noise model of the cubes; default the preset's.
    progress : bool
        Show a progress bar.
    noise_seed : int, optional
        The noise realisation of every cube (and the acquisition jitter of the PSF stars);
        default ``survey_seed``.
    workers : int
        Local processes rendering the cubes (the files are identical for any number).

    Returns
    -------
    dict
        Counts and file sizes for the manifest.
    """
    cfg = KROSS_PRESETS[preset]
    rel = cfg.sample.relations_for(relations)
    noise = cfg.noise if noise is None else noise
    seed = survey_seed
    noise_seed = survey_seed if noise_seed is None else noise_seed
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    wave = wavelength_grid().to_value(u.um)

    pointing_rows, star_rows, psf_truth, target_rows, truth_tables, hst_rows = [], [], [], [], [], []
    counters = {f: 0 for f in KROSS_FIELDS}
    jobs = []
    for p_idx, field, n_gal, pname in pointing_plan(cfg):
        counters[field] += 1
        prng = stream(seed, "kmos", "pointing", pname)
        centre = _pointing_centre(field, p_idx, prng)
        date_obs = f"2014-{1 + p_idx % 12:02d}-{10 + p_idx % 18:02d}T0{p_idx % 6}:00:00"
        pointing_rows.append((pname, field, centre.ra.deg, centre.dec.deg, date_obs, 9000.0, n_gal))
        psfs = draw_psfs(pname, seed)
        for k, psf in enumerate(psfs, start=1):
            ifu = STAR_IFUS[k - 1]
            origin = "monitor" if cfg.stars_in_science_ifus else "acquisition"
            fname = f"psf/{pname}_spec{k}.fits"
            star_rows.append((pname, k, ifu, fname, origin))
            psf_truth.append((pname, k, ifu, psf.fwhm, psf.hwhm, psf.ellipticity, psf.pa))
            jobs.append(("star", pname, field, ifu, psf, centre, date_obs, fname))
        galaxy_ifus = _galaxy_ifus(cfg, n_gal)
        grng = stream(seed, "kmos", "population", pname)
        gals = draw_kross_galaxies(n_gal, field, grng, rel, cfg.sample)
        sed = sed_catalogue(gals, grng, rel)
        offs = grng.uniform(-3.6, 3.6, (n_gal, 2))  # within the 7.2' patrol field
        for j, ifu in enumerate(galaxy_ifus):
            gid = f"{field}-{counters[field]:02d}{ifu:02d}"
            pos = centre.spherical_offsets_by(offs[j, 0] * u.arcmin, offs[j, 1] * u.arcmin)
            fname = f"cubes/{pname}/{gid}.fits"
            spec = (ifu - 1) // 8 + 1
            row = gals[j]
            has_hst = field in HST_FIELDS and grng.random() < cfg.hst_fraction
            target_rows.append((gid, field, pname, ifu, spec, pos.ra.deg, pos.dec.deg,
                                round(float(row["z"]) + grng.normal(0, 0.0003), 5),
                                row["k_ab"].value + grng.normal(0, 0.05), row["r_z"].value,
                                sed["logmstar"][j], sed["logmstar_err"][j], sed["sfr_sed"][j],
                                sed["sfr_sed_err_dex"][j], sed["a_v"][j], sed["a_v_err"][j], has_hst, fname))
            if has_hst:
                # a measured axis ratio scatters (GALFIT's error and discs' spread of intrinsic
                # thickness about q0): HST_Q_SCATTER, on its own stream so the rest of the draw
                # is unchanged
                q_meas = float(row["q_star"]) + stream(seed, "kmos", "hst_q", gid).normal(0, HST_Q_SCATTER)
                hst_rows.append((gid, row["re_star_arcsec"].value * 10 ** grng.normal(0, 0.03),
                                 float(row["sersic_n"]) * 10 ** grng.normal(0, 0.05),
                                 float(np.clip(q_meas, 0.05, 1.0)), row["pa"].value))
            jobs.append(("galaxy", gid, pname, ifu, psfs[spec - 1], dict(zip(row.colnames, row)), pos, date_obs, fname))
        gals["id"] = [f"{field}-{counters[field]:02d}{ifu:02d}" for ifu in galaxy_ifus]
        gals["pointing"] = pname
        gals["ifu"] = galaxy_ifus
        gals["spectrograph"] = [(i - 1) // 8 + 1 for i in galaxy_ifus]
        gals["psf_fwhm"] = [psfs[(i - 1) // 8].fwhm for i in galaxy_ifus] * u.arcsec
        truth_tables.append(gals)

    # every cube has its own noise stream, so they can be rendered in any order, on any process
    rendered = map_objects(render_kmos_job, [(job, out_dir, noise, noise_seed, wave) for job in jobs],
                           workers=workers, desc="KMOS cubes", progress=progress)
    fov = dict(r for r in rendered if r is not None)

    # ----- catalogues the pipeline reads
    targets = Table(rows=target_rows, names=(
        "id", "field", "pointing", "ifu", "spectrograph", "ra", "dec", "z_cat", "k_ab", "r_z",
        "logmstar", "logmstar_err", "sfr_sed", "sfr_sed_err_dex", "a_v", "a_v_err", "has_hst", "cube"))
    for col, unit in (("ra", u.deg), ("dec", u.deg), ("k_ab", u.mag), ("r_z", u.mag),
                      ("sfr_sed", u.Msun / u.yr), ("a_v", u.mag), ("a_v_err", u.mag),
                      ("logmstar", u.dex(u.Msun)), ("logmstar_err", u.dex), ("sfr_sed_err_dex", u.dex)):
        targets[col].unit = unit
    targets.meta.update({"description": "KROSS targets: parent photometry, SED fits (Chabrier IMF, Calzetti) "
                         "and catalogue spectroscopic redshifts; one row per KMOS cube",
                         "ms_cosmology": "WMAP7 (H0=70.4, Om=0.273)", "wavelength_frame": "vacuum"})
    _round(targets)
    write_table(targets, out_dir / "targets.ecsv")
    pointings = Table(rows=pointing_rows, names=("pointing", "field", "ra", "dec", "date_obs", "exptime", "n_galaxies"))
    pointings["ra"].unit = u.deg
    pointings["dec"].unit = u.deg
    pointings["exptime"].unit = u.s
    _round(pointings)
    write_table(pointings, out_dir / "pointings.ecsv")
    stars = Table(rows=star_rows, names=("pointing", "spectrograph", "ifu", "cube", "origin"))
    stars.meta["description"] = "PSF-star cubes: one star per spectrograph per pointing"
    write_table(stars, out_dir / "psf_stars.ecsv")
    hst = Table(rows=hst_rows, names=("id", "re_arcsec", "sersic_n", "q", "pa")) if hst_rows else \
        Table(names=("id", "re_arcsec", "sersic_n", "q", "pa"), dtype=(str, float, float, float, float))
    hst["re_arcsec"].unit = u.arcsec
    hst["pa"].unit = u.deg
    hst.meta["description"] = "HST/WFC3 F160W single-Sérsic fits (GALFIT-like) for the targets with HST imaging"
    _round(hst)
    write_table(hst, out_dir / "hst_morphology.ecsv")

    # ----- truth, apart
    truth = vstack(truth_tables, metadata_conflicts="silent")
    truth["flux_halpha_fov"] = [fov[i] for i in truth["id"]] * u.erg / u.s / u.cm**2
    truth.meta.update({"description": "mock truth of the KROSS targets (never read by the pipeline)",
                       "relations": rel.as_dict(), "kross_sample": cfg.sample.record(), "noise": noise.__dict__})
    truth = Table(truth)  # plain columns with units: readable ECSV
    _round(truth)
    write_table(truth, truth_dir / "kmos_galaxies.ecsv")
    psf_t = Table(rows=psf_truth, names=("pointing", "spectrograph", "ifu", "fwhm", "hwhm", "ellipticity", "pa"))
    psf_t["fwhm"].unit = psf_t["hwhm"].unit = u.arcsec
    psf_t["pa"].unit = u.deg
    write_table(psf_t, truth_dir / "kmos_psf.ecsv")
    return {"n_pointings": len(pointing_rows), "n_galaxies": len(targets), "n_psf_stars": len(star_rows),
            "n_hst": len(hst)}


def render_kmos_job(task) -> tuple[str, float] | None:
    """Observe and write one cube of :func:`observe_kross` (a PSF star or a galaxy); module
    level so that it runs on other processes. Returns (id, noise-free Hα flux inside the IFU)
    for a galaxy, None for a star."""
    job, out_dir, noise, noise_seed, wave = task
    wcs_lam = (C.KMOS_LAM0.to_value(u.um), C.KMOS_DLAM.to_value(u.um))
    found = None
    if job[0] == "star":
        _, pname, field, ifu, psf, centre, date_obs, fname = job
        rng = stream(noise_seed, "kmos", "star", fname)
        data, sig = observe_star(psf, 16.0, 6.5 + rng.normal(0, 0.4), 6.5 + rng.normal(0, 0.4),
                                 KMOSNoise(floor=noise.floor * 4), rng, wave)
        obj = f"{pname}_STAR{(ifu - 1) // 8 + 1}"
        ph = _primary_header(obj, centre.ra.deg, centre.dec.deg, pname, field, ifu, date_obs, 600.0, "psf_star")
        wh = cube_wcs_header(centre.ra.deg, centre.dec.deg, (7.5, 7.5), C.KMOS_PIXSCALE.value, *wcs_lam)
    else:
        _, gid, pname, ifu, psf, gal, pos, date_obs, fname = job
        rng = stream(noise_seed, "kmos", "cube", gid)
        gal = {k: (np.asarray(getattr(v, "value", v)).item()) for k, v in gal.items()}
        data, sig, extra = observe_cube(gal, psf, noise, rng, wave)
        found = (gid, extra["flux_halpha_fov"])
        ph = _primary_header(gid, pos.ra.deg, pos.dec.deg, pname, gal["field"], ifu, date_obs, 9000.0, "galaxy")
        wh = cube_wcs_header(pos.ra.deg, pos.dec.deg, (7.5, 7.5), C.KMOS_PIXSCALE.value, *wcs_lam)
    write_fits(make_cube_hdulist(ph["OBJECT"], data, sig, ph, wh, CUBE_BUNIT), Path(out_dir) / fname)
    return found


def _round(t: Table, sig: int = 9):
    """Round float columns to ``sig`` significant digits: compact, platform-stable ECSV."""
    for name in t.colnames:
        col = t[name]
        if col.dtype.kind == "f":
            v = np.array(getattr(col, "value", col), dtype=float)
            r = np.array([float(f"{x:.{sig}g}") for x in v])
            col[:] = r * col.unit if isinstance(col, u.Quantity) else r
