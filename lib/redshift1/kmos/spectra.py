"""Integrated spectra of KMOS cubes, their Hα + [NII] fits, detections and limits (KROSS §2, §3.3).

One galaxy's measurement, :func:`measure_cube`, is: subtract each spaxel's continuum,
sum the spaxels of the aperture into an integrated spectrum, fit Hα + [NII] with one
redshift and one width (:mod:`redshift1.kmos.linefit`), take flux errors from refits of
noise-perturbed copies, and decide what was detected: Hα at S/N > 3; [NII]6583 at
S/N > 3, otherwise either *near a sky line* (a strong OH line within 7 Å of where [NII]
falls: dropped from the metallicity work) or a 5σ upper limit from the local noise.

Its pieces live beside it: continuum subtraction, Hα maps, centres and apertures in
:mod:`redshift1.kmos.linemaps`, the channels a fit may trust and the noise rescaling in
:mod:`redshift1.kmos.channels`. Notebook 02 runs it over the survey
(:mod:`redshift1.steps.kmos_spectra`), ``fit-cube`` on one cube
(:func:`redshift1.kmos.galaxy.measure_galaxy`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..errors import Redshift1Error
from ..constants import C_KMS, SIGMA_TO_FWHM
from ..skytables import KMOS_OH_TABLE, load_table
from .channels import (channel_noise_scale, empirical_noise_scale, sky_channels, spatial_noise_scale,
                       usable_channels)
from .cube import KMOSCube
from .extraction import EXTRACTIONS, optimal_extraction
from .linemaps import (aperture_mask, continuum_subtract, integrated_spectrum, light_centroid, line_window_um,
                       narrowband_map, psf_matched_centre)
from ..flags import join_flags
from .line_errors import perturbed_errors
from .linefit import LINES_UM, SIGMA_BOUNDS, fit_halpha_nii
from .line_profile import fit_rotation_profile

#: profiles notebook 02 can measure the fluxes with (SpectraConfig.line_profile)
LINE_PROFILES = ("rotation", "gaussian")
from ..validation.paper import KROSS_COUNTS


@dataclass(frozen=True)
class SpectraConfig:
    """Analysis choices of notebook 02 (each one a notebook parameter).

    Attributes
    ----------
    snr_min : float
        Hα / [NII] detection threshold in S/N (KROSS: 3).
    n_perturb : int
        Noise realisations drawn for the flux errors.
    extraction : str
        Spaxels the integrated spectrum sums: ``"optimal"`` (the circle whose flux, scaled to
        the field by disc models of the Hα map, has the smallest error; S/N judged where the
        models peak in S/N; :func:`redshift1.kmos.extraction.optimal_extraction`) or
        ``"paper"`` (every valid spaxel, or ``aperture_radius``).
    aperture_radius : float
        ``"paper"`` extraction: radius, arcsec, around the Hα centroid; <= 0 sums every valid
        spaxel.
    psf_fwhm : float
        Seeing FWHM, arcsec, assumed by the optimal extraction's disc model.
    aperture_correction_err : float
        Uncertainty of the aperture correction as a fraction of its natural log (the disc
        model's mismatch; the spread over the discs the Hα map allows adds in quadrature).
    dz : float
        Half-width of the redshift search around the catalogue redshift.
    sky_strength_min : float
        OH line strength (Rousselot scale) counted as a strong sky line.
    sky_distance_aa : float
        Observed Å: [NII] this close to a strong sky line is flagged "near sky".
    upper_limit_sigma : float
        Significance of the [NII] upper limits away from sky lines.
    continuum_halfwidth_um : float
        Half-width, µm, of the continuum side bands around the lines.
    seed : int
        Seed of the per-galaxy noise realisations (:func:`galaxy_rng`).
    edge_mask_um : float
        Channels within this many µm of the valid band's ends are masked.
    noise_fail_factor : float
        Channels whose local scatter exceeds the NOISE extension's by this factor are masked.
    sigma_max_kms : float
        Intrinsic line σ, km/s, above which a fit is not taken as a galaxy's Hα.
    z_systematic_kms : float
        Added in quadrature to the redshift's error [km/s]: the light-weighted line centre of
        a rotating disc that the field truncates, or that sits off its centre, is not the
        systemic redshift.
    line_profile : str
        Profile the fluxes are measured with: ``"rotation"`` (two Gaussians at ±Δv,
        :mod:`redshift1.kmos.line_profile`: a rotating disc's summed line is flat-topped) or
        ``"gaussian"`` (KROSS: one Gaussian, ×1.02-1.05 too much flux at v sin i 130-260 km/s).
    """

    snr_min: float = 3.0                 # Hα / [NII] detection threshold (KROSS: S/N > 3)
    n_perturb: int = 50                  # noise realisations for the flux errors
    # which spaxels the integrated spectrum sums: "optimal" (the circle whose flux, scaled to
    # the field by disc models of the Hα map, is known best; redshift1.kmos.extraction) or
    # "paper" (KROSS: every valid spaxel, or aperture_radius)
    extraction: str = "optimal"
    aperture_radius: float = 0.0         # "paper": arcsec around the Hα centroid; <= 0: every valid spaxel
    psf_fwhm: float = 0.65               # arcsec: the seeing the optimal extraction's disc model assumes
    # the aperture correction's own uncertainty, as a fraction of ln(correction): the disc model
    # is not the galaxy. It adds in quadrature to the spread of the corrections of the discs the
    # map allows (the optimal extraction's correction_err), which is the noise's part
    aperture_correction_err: float = 0.2
    dz: float = 0.01                     # redshift search half-width around the catalogue z
    sky_strength_min: float = 20.0       # OH line strength counted as strong (Rousselot scale > 20)
    sky_distance_aa: float = 7.0         # observed Å: [NII] this close to a strong line is "near sky"
    upper_limit_sigma: float = 5.0       # [NII] non-detections away from sky lines: 5σ limits
    continuum_halfwidth_um: float = 0.02  # side bands for the continuum, ±200 Å around the lines
    seed: int = 2016
    # a line must look like a line: channels this close to the ends of the valid band are
    # masked (real KMOS cubes carry line-like artefacts there, S/N ~30 against their NOISE)
    edge_mask_um: float = 0.005
    # channels where the integrated spectrum's local scatter exceeds the NOISE extension's
    # by this factor (after the global rescaling) are masked: the noise model fails there
    noise_fail_factor: float = 3.0
    sigma_max_kms: float = 500.0         # intrinsic σ above this is not a galaxy's Hα line
    # fluxes from a rotation-broadened profile (two Gaussians at ±Δv) or, as KROSS, one Gaussian
    line_profile: str = "rotation"
    # the integrated line's centre is light-weighted: a disc truncated by the field or off its
    # centre shifts it from the systemic redshift. Without this term bright galaxies' z pulls
    # were 2.0 wide with 5.5 % beyond 3σ (paper preset; offsets of 20-30 km/s against errors of
    # 1-4 km/s); KinMS discs at S/N ~40 scatter ±9.5 km/s (16-84 %). 3-4 km/s bring the pulls
    # to 0.87-0.93 wide with 4.2-4.4 % beyond 3σ, 5 km/s over-states them (0.83)
    z_systematic_kms: float = 4.0


# --------------------------------------------------------------------------- sky lines
def strong_sky_lines_um(min_strength: float = 20.0) -> np.ndarray:
    """Vacuum wavelengths of the OH lines stronger than ``min_strength`` (peak = 100).

    Parameters
    ----------
    min_strength : float
        Strength threshold on the Rousselot scale.

    Returns
    -------
    ndarray
        Wavelengths, µm.
    """
    t = load_table(KMOS_OH_TABLE)
    return np.asarray(u.Quantity(t["wavelength"]).to_value(u.um))[np.asarray(t["strength"]) > min_strength]


def sky_line_distance_aa(wave_um, min_strength: float = 20.0) -> np.ndarray:
    """Observed-frame distance from each wavelength to the nearest strong OH line.

    Parameters
    ----------
    wave_um : float or array_like
        Wavelengths, µm.
    min_strength : float
        Lines stronger than this count (:func:`strong_sky_lines_um`).

    Returns
    -------
    ndarray
        Distances, Å (one per wavelength).
    """
    lines = strong_sky_lines_um(min_strength)
    w = np.atleast_1d(np.asarray(wave_um, float))
    return np.min(np.abs(w[:, None] - lines[None, :]), axis=1) * 1e4


# --------------------------------------------------------------------------- one galaxy
class _Extraction(NamedTuple):
    """Which spaxels the integrated spectrum sums, and what that choice found on the way."""

    mask: np.ndarray            # the spaxels summed
    correction: float           # aperture flux → field flux (1 without a disc model)
    description: str            # the ``extraction`` cell
    fallback: bool              # the optimal extraction fell back to the whole field
    centre: tuple | None        # the aperture's centre; None: from the final Hα map (whole field)
    correction_err: float       # 1σ of ln(correction) from the disc models the map allows
    field_fit: object           # fit of every valid spaxel's sum (None for the whole-field extraction)
    field_noise_scale: float = 1.0   # how much noisier that sum is than its NOISE propagation says
    detection_mask: np.ndarray | None = None   # where the line's S/N is judged (None: ``mask``)
    detection_correction: float = 1.0          # field light / light in the detection circle


def _extract(cube: KMOSCube, cs: np.ndarray, lam: np.ndarray, valid2d: np.ndarray, z_guess: float,
             cfg: SpectraConfig, psf_fwhm: float | None, psf_ellipticity: float = 0.0,
             psf_pa: float | None = None) -> _Extraction:
    """Stage 2 of :func:`measure_cube`: the aperture (optimal, the paper's, or the whole field)."""
    optimal = cfg.extraction == "optimal"
    if not optimal and cfg.aperture_radius <= 0:
        # the whole field: one fit is enough, the centre comes from its map
        return _Extraction(valid2d, 1.0, f"every valid spaxel of the IFU ({int(valid2d.sum())} spaxels)", False,
                           None, 0.0, None)
    # a first fit of every valid spaxel finds the line, hence the light the aperture centres on
    s1, e1 = integrated_spectrum(cs, cube.noise, valid2d)
    e1 = np.where(usable_channels(lam, s1, e1, z_guess - cfg.dz, z_guess + cfg.dz, cfg), e1, np.nan)
    fit1 = fit_halpha_nii(lam, s1[None], e1[None], z_guess, dz=cfg.dz)
    # sky residuals are shared by the spaxels: the sum of ~190 holds them more strongly than
    # the aperture's few dozen, so the whole field's fit needs its own noise scale
    field_scale = empirical_noise_scale(lam, s1, e1, z_guess, cfg.dz, cfg.continuum_halfwidth_um)
    nb, nb_err = narrowband_map(cs, cube.noise, lam, float(fit1.z[0]), float(fit1.sigma_kms[0]))
    if optimal:
        fwhm = psf_fwhm if psf_fwhm is not None and np.isfinite(psf_fwhm) and psf_fwhm > 0 else cfg.psf_fwhm
        psf_sigma = fwhm / SIGMA_TO_FWHM / cube.pixel_scale.to_value(u.arcsec)
        centre = psf_matched_centre(np.where(valid2d, nb, np.nan), psf_sigma)
        known = (psf_pa is not None and np.isfinite(psf_pa) and np.isfinite(psf_ellipticity)
                 and psf_ellipticity > 0)
        ext = optimal_extraction(nb, nb_err, valid2d, centre, psf_sigma,
                                 psf_ellipticity=float(psf_ellipticity) if known else 0.0,
                                 psf_pa=float(psf_pa) if known else 0.0, model_error=cfg.aperture_correction_err)
        return _Extraction(ext.mask, ext.correction, ext.description, ext.fallback, centre, ext.correction_err, fit1,
                           field_scale, ext.detection_mask, ext.detection_correction)
    centre = light_centroid(nb, nb / nb_err)
    radius = cfg.aperture_radius / cube.pixel_scale.to_value(u.arcsec)
    ap = aperture_mask(valid2d.shape, centre, radius, valid2d)
    description = (f"circular aperture of radius {cfg.aperture_radius:g} arcsec around the Hα light "
                   f"centroid ({int(ap.sum())} spaxels)")
    return _Extraction(ap, 1.0, description, False, centre, 0.0, fit1, field_scale)


def _fit_extracted(cube: KMOSCube, cs: np.ndarray, lam: np.ndarray, ext: _Extraction, z_guess: float,
                   cfg: SpectraConfig, rng: np.random.Generator):
    """Stage 3 of :func:`measure_cube`: the integrated spectrum, its usable channels and honest
    errors, the line fit and its Monte-Carlo errors; and the S/N of Hα and [NII] where they are
    judged (the detection aperture, fitted in the same batch, where it differs)."""
    spec, err, usable, noise_scale = _scaled_spectrum(cube, cs, lam, ext.mask, z_guess, cfg)
    specs, errs = [spec], [err]
    detect = ext.detection_mask
    separate = detect is not None and not np.array_equal(detect, ext.mask)
    if separate:
        s_d, e_d, _, _ = _scaled_spectrum(cube, cs, lam, detect, z_guess, cfg)
        specs.append(s_d)
        errs.append(e_d)
    fit_all = fit_halpha_nii(lam, np.stack(specs), np.stack(errs), z_guess, dz=cfg.dz)
    mc_all = perturbed_errors(lam, np.stack(specs), np.stack(errs), fit_all, n_perturb=cfg.n_perturb, dz=cfg.dz,
                              rng=rng)
    k = 1 if separate else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = (fit_all.params[k, 2] / mc_all[k, 2], fit_all.params[k, 3] / mc_all[k, 3])
    # the detection circle's errors in the field's units: the noise the detection test faces
    scale = ext.detection_correction if separate else ext.correction
    detect_err = (float(mc_all[k, 2] * scale), float(mc_all[k, 3] * scale))
    return spec, err, usable, noise_scale, fit_all.rows(slice(0, 1)), mc_all[0], snr, detect_err


def _scaled_spectrum(cube: KMOSCube, cs: np.ndarray, lam: np.ndarray, mask: np.ndarray, z_guess: float,
                     cfg: SpectraConfig):
    """The sum of the spaxels in ``mask``, its usable channels, and its noise scaled up to the
    scatter the data show: (spectrum, error, usable, the band's scale)."""
    spec, err = integrated_spectrum(cs, cube.noise, mask)
    usable = usable_channels(lam, spec, err, z_guess - cfg.dz, z_guess + cfg.dz, cfg)
    err = np.where(usable, err, np.nan)
    # the errors must hold the scatter the data show, spectrally (coherent residuals of the
    # summed spaxels) and spatially (spaxels noisier than their NOISE extension)
    spatial = spatial_noise_scale(cs, cube.noise, lam, z_guess, cfg.dz, cfg.continuum_halfwidth_um, usable)
    noise_scale = max(empirical_noise_scale(lam, spec, err, z_guess, cfg.dz, cfg.continuum_halfwidth_um), spatial)
    # the spectral excess is measured apart under the sky lines and between them: the shared
    # sky residuals sit under the lines
    per_channel = channel_noise_scale(lam, spec, err, z_guess, cfg.dz, cfg.continuum_halfwidth_um, sky_channels(err))
    return spec, err * np.maximum(per_channel, spatial), usable, noise_scale


def _redshift_from_field(fit, mc: np.ndarray, ext: _Extraction, noise_scale: float, cfg: SpectraConfig):
    """Stage 4 of :func:`measure_cube`: the fit's parameters and errors, with z and width from the
    whole field where Hα is significant there (optimal extraction only)."""
    p = fit.params[0].copy()
    fit1 = ext.field_fit
    if cfg.extraction != "optimal" or ext.fallback:
        return p, mc, False
    # an aperture a spaxel off the kinematic centre weights one side of the rotation (30-60
    # km/s on the mock); the aperture's own where the field's fit is too faint
    # the field's errors scaled as the field's sum scatters (at least as the aperture's: the
    # spaxels' own excess scatter, which the aperture's scale holds, is the field's too); the
    # aperture's scale alone left the paper preset's z pulls 1.35 wide
    scale = max(noise_scale, ext.field_noise_scale)
    snr_field = float(fit1.flux_halpha[0] / (fit1.flux_halpha_err[0] * scale))
    if not (np.isfinite(snr_field) and snr_field > cfg.snr_min and fit1.converged[0]):
        return p, mc, False
    p[0], p[1] = float(fit1.z[0]), float(fit1.sigma_kms[0])
    mc = mc.copy()
    mc[0], mc[1] = float(fit1.z_err[0]) * scale, float(fit1.sigma_kms_err[0]) * scale
    return p, mc, True


def _profile_fluxes(lam, spec, err, fit, p: np.ndarray, mc: np.ndarray, cfg: SpectraConfig):
    """Stage 4b of :func:`measure_cube`: with ``cfg.line_profile == "rotation"``, the fluxes of
    the rotation-broadened profile, their Monte-Carlo errors scaled by the ratio of its
    curvature errors to the Gaussian's. Returns (p, mc, Δv [km/s], refit failed, the
    correlation of the two fluxes' errors in the fit that gave them)."""
    gauss_rho = float(fit.flux_correlation[0])
    if cfg.line_profile == "gaussian":
        return p, mc, np.nan, False, gauss_rho
    rp = fit_rotation_profile(lam, spec, err, fit, dz=cfg.dz)
    if not rp.ok:
        return p, mc, np.nan, True, gauss_rho
    p, mc = p.copy(), mc.copy()
    for k, (flux, ferr) in enumerate(((rp.flux_halpha, rp.flux_halpha_err), (rp.flux_nii6583, rp.flux_nii6583_err)),
                                     start=2):
        gauss_err = fit.errors[0, k]
        p[k] = flux
        mc[k] = mc[k] * (ferr / gauss_err) if gauss_err > 0 else mc[k]
    return p, mc, rp.dv_kms, False, rp.flux_correlation


def _field_fluxes(p: np.ndarray, mc: np.ndarray, ext: _Extraction, cfg: SpectraConfig, snr) -> dict:
    """Stage 5 of :func:`measure_cube`: the aperture's Hα and [NII] scaled to the field (the same
    light profile for both), their errors with the correction's, and their S/N (``snr``:
    Hα, [NII] where they are judged)."""
    correction = ext.correction
    f_ha, f_nii = p[2] * correction, p[3] * correction
    e_ha, e_nii = mc[2] * correction, mc[3] * correction
    # detection is the line's significance in the detection aperture; the flux error adds the correction's
    snr_ha, snr_nii = (float(v) if np.isfinite(v) else np.nan for v in snr)
    # the disc model is not the galaxy (a fixed fraction of ln c), and the map allows other discs
    # than the best (the spread of their corrections, ext.correction_err)
    corr_rel = cfg.aperture_correction_err * np.log(correction) if correction > 0 else 0.0
    corr_rel = float(np.hypot(corr_rel, ext.correction_err))
    e_ha, e_nii = np.hypot(e_ha, f_ha * corr_rel), np.hypot(e_nii, f_nii * corr_rel)
    return {"f_ha": f_ha, "e_ha": e_ha, "snr_ha": snr_ha, "f_nii": f_nii, "e_nii": e_nii, "snr_nii": snr_nii,
            "corr_rel": corr_rel}


def _nii_class(ha_det: bool, nii_det: bool, d_sky: float, cfg: SpectraConfig) -> str:
    """[NII]6583's class: detected, near a strong sky line, a 5σ upper limit, or no Hα."""
    if not ha_det:
        return "no_halpha"
    if nii_det:
        return "detected"
    return "near_sky_line" if d_sky < cfg.sky_distance_aa else "upper_limit"


def _check_cube(cube: KMOSCube, lam: np.ndarray, valid2d: np.ndarray, z_guess: float, cfg: SpectraConfig) -> None:
    """Stage 1 of :func:`measure_cube`: a cube with data, covering Hα, and a known extraction."""
    if not valid2d.any():
        raise Redshift1Error(f"{cube.path}: no valid spaxels (all NaN or zero noise)")
    lo, hi = line_window_um(z_guess - cfg.dz), line_window_um(z_guess + cfg.dz)
    if hi[1] < lam[0] or lo[0] > lam[-1]:
        raise Redshift1Error(f"{cube.path}: Hα at z={z_guess:.3f} falls outside the cube's "
                             f"{lam[0]:.3f}-{lam[-1]:.3f} µm")
    if cfg.extraction not in EXTRACTIONS:
        raise Redshift1Error(f"extraction must be one of {EXTRACTIONS}, not {cfg.extraction!r}")
    if cfg.line_profile not in LINE_PROFILES:
        raise Redshift1Error(f"line_profile must be one of {LINE_PROFILES}, not {cfg.line_profile!r}")


def measure_cube(cube: KMOSCube, z_guess: float, cfg: SpectraConfig = SpectraConfig(),
                 rng: np.random.Generator | None = None, psf_fwhm: float | None = None,
                 psf_ellipticity: float = 0.0, psf_pa: float | None = None) -> dict:
    """Measure one cube: fit the integrated spectrum, classify detections.

    The stages: check the cube, subtract each spaxel's continuum, choose the spaxels to sum
    (``cfg.extraction``), fit Hα + [NII] to their sum with errors that hold the data's
    scatter, take z and width from the whole field where Hα is significant there, scale the
    fluxes to the field, test that the line looks like a line (:func:`line_fit_doubts`),
    and classify Hα and [NII].

    Parameters
    ----------
    cube : `~redshift1.kmos.cube.KMOSCube`
        The galaxy's cube.
    z_guess : float
        Catalogue redshift; the line is searched within ``cfg.dz``.
    cfg : SpectraConfig
        The analysis choices (notebook 02's parameters).
    rng : `numpy.random.Generator`, optional
        The noise realisations of the flux errors (default: seeded by ``cfg.seed``).
    psf_fwhm : float, optional
        Arcsec; the seeing the optimal extraction's disc model convolves with (notebook
        01's star of the galaxy's pointing); default ``cfg.psf_fwhm``.
    psf_ellipticity, psf_pa : float, optional
        That star's 1 − b/a and major axis (degrees counter-clockwise from +x): the disc model
        is convolved with the elliptical PSF (round without a PA, or with NaNs).

    Returns
    -------
    dict
        The columns of ``kmos_spectra.ecsv`` as scalars (fluxes in ``cube.unit`` × µm:
        erg/s/cm² for every cube with a BUNIT, which the loader converts to per-µm; the
        cube's unknown unit × µm otherwise) plus ``"_spectrum"`` (wavelength, spectrum,
        error, fit parameters), ``"_map"`` (Hα map, its noise, continuum image) and
        ``"_aperture"`` (the spaxels summed) for figures and maps.

    Raises
    ------
    Redshift1Error
        For a cube without valid spaxels, one whose band misses Hα at ``z_guess``, or an
        unknown ``cfg.extraction``.
    """
    rng = rng or np.random.default_rng(cfg.seed)
    lam = cube.wavelength.to_value(u.um)
    valid2d = np.any(cube.valid, axis=0)
    _check_cube(cube, lam, valid2d, z_guess, cfg)
    cs, cont_img = continuum_subtract(cube, z_guess, cfg.continuum_halfwidth_um)
    ext = _extract(cube, cs, lam, valid2d, z_guess, cfg, psf_fwhm, psf_ellipticity, psf_pa)
    spec, err, usable, noise_scale, fit, mc, snr, detect_err = _fit_extracted(cube, cs, lam, ext, z_guess, cfg, rng)
    p, mc, z_from_field = _redshift_from_field(fit, mc, ext, noise_scale, cfg)
    p, mc, dv, profile_failed, flux_corr = _profile_fluxes(lam, spec, err, fit, p, mc, cfg)
    mc = mc.copy()
    mc[0] = np.hypot(mc[0], cfg.z_systematic_kms / C_KMS * (1 + p[0]))
    fl = _field_fluxes(p, mc, ext, cfg, snr)
    f_ha, e_ha, snr_ha = fl["f_ha"], fl["e_ha"], fl["snr_ha"]
    d_sky = float(sky_line_distance_aa(LINES_UM[1] * (1 + p[0]), cfg.sky_strength_min)[0])
    doubts = line_fit_doubts(lam, usable, p, fit.converged[0], z_guess, cfg)
    if "line_in_masked_channels" in doubts:
        # no usable channel holds the line: its flux is not measured, not zero
        f_ha = e_ha = snr_ha = np.nan
    ha_det = bool(snr_ha > cfg.snr_min) and not (set(doubts) & VETOES)
    nii_det = bool(ha_det and fl["snr_nii"] > cfg.snr_min)
    nii_class = _nii_class(ha_det, nii_det, d_sky, cfg)
    nb, nb_err = narrowband_map(cs, cube.noise, lam, float(p[0]), float(p[1]))
    centre = ext.centre if ext.centre is not None else light_centroid(nb, nb / nb_err)
    flags = (["not_detected"] if not ha_det else []) + doubts
    flags += ["extraction_fallback"] if cfg.extraction == "optimal" and ext.fallback and ha_det else []
    flags += ["noise_rescaled"] if noise_scale > NOISE_RESCALE_FLAG else []
    flags += ["line_profile_gaussian"] if profile_failed and ha_det else []
    flags += {"near_sky_line": ["nii_near_sky_line"], "upper_limit": ["nii_upper_limit"]}.get(nii_class, [])
    return {
        "z": p[0], "z_err": mc[0], "sigma_kms": p[1], "sigma_kms_err": mc[1], "fwhm_kms": SIGMA_TO_FWHM * p[1],
        "flux_halpha": f_ha, "flux_halpha_err": e_ha, "snr_halpha": snr_ha,
        "flux_halpha_err_detection": detect_err[0], "flux_nii6583_err_detection": detect_err[1],
        "flux_halpha_aperture": p[2], "aperture_correction": ext.correction, "aperture_correction_err": fl["corr_rel"],
        "flux_nii6583": fl["f_nii"], "flux_nii6583_err": fl["e_nii"], "snr_nii6583": fl["snr_nii"],
        "flux_nii6583_ul": cfg.upper_limit_sigma * fl["e_nii"],
        "flux_corr_halpha_nii": flux_corr,
        "continuum": p[4], "profile_dv_kms": dv, "noise_scale": noise_scale, "chi2_red": fit.chi2[0] / max(fit.dof[0], 1),
        "x_center": centre[0], "y_center": centre[1], "n_spaxels": int(ext.mask.sum()),
        "nii_sky_distance_aa": d_sky, "halpha_detected": ha_det, "nii_detected": nii_det, "nii_class": nii_class,
        "n_masked_channels": int(np.count_nonzero(~usable & np.isfinite(spec))),
        "extraction": ext.description + ("; z and width from every valid spaxel" if z_from_field else ""),
        "flags": join_flags(flags),
        "_spectrum": (lam, spec, err, fit.params[0]), "_map": (nb, nb_err, cont_img), "_aperture": ext.mask,
    }


#: a NOISE extension under-stating the integrated spectrum's scatter by more than this is flagged
#: (sky residuals shared by the spaxels make ~1.2-1.4 usual)
NOISE_RESCALE_FLAG = 1.5

#: doubts that make a line no detection, whatever its S/N: the fit sat on masked channels,
#: at the edge of its redshift window, or with a width no galaxy has
VETOES = {"line_in_masked_channels", "z_at_window_edge", "width_unphysical"}


def line_fit_doubts(wave_um, usable, params, converged, z_guess: float, cfg: SpectraConfig) -> list[str]:
    """Flag names for one integrated line fit: Hα on masked channels, z at the edge of the
    search window, width at a bound of the fit or above ``cfg.sigma_max_kms``, no convergence.

    Parameters
    ----------
    wave_um : ndarray
        Wavelengths, µm.
    usable : ndarray of bool
        Channels the fit could use (:func:`usable_channels`).
    params : sequence of float
        The fit's (z, σ [km/s], …).
    converged : bool
        Whether the fit converged.
    z_guess : float
        Centre of the redshift search window (half-width ``cfg.dz``).
    cfg : SpectraConfig
        The analysis choices.

    Returns
    -------
    list of str
        ``line_in_masked_channels``, ``z_at_window_edge``, ``width_at_bound``,
        ``width_unphysical``, ``fit_not_converged`` (those that apply; :data:`VETOES` make the
        line no detection).
    """
    z, sigma = float(params[0]), float(params[1])
    out = []
    if not np.isfinite(z):
        return ["fit_not_converged"]
    centre = LINES_UM[0] * (1 + z)
    i = int(np.argmin(np.abs(wave_um - centre)))
    near = slice(max(i - 1, 0), i + 2)          # the line's peak and its neighbours
    if not np.all(usable[near]) or not wave_um[0] <= centre <= wave_um[-1]:
        out.append("line_in_masked_channels")
    if abs(z - z_guess) > 0.98 * cfg.dz:
        out.append("z_at_window_edge")
    # a σ pinned at the lower bound is an unresolved line, which galaxies can have: flagged,
    # but only a width beyond the physical range vetoes the detection
    if not (SIGMA_BOUNDS[0] * 1.01 < sigma < SIGMA_BOUNDS[1] * 0.99):
        out.append("width_at_bound")
    if not sigma < cfg.sigma_max_kms:
        out.append("width_unphysical")
    if not converged:
        out.append("fit_not_converged")
    return out


def galaxy_rng(seed: int, gid: str) -> np.random.Generator:
    """The noise realisations of one galaxy: seeded by the run's seed and its id, so that a
    galaxy's errors do not depend on which others are measured, nor on the entry point
    (notebook 02 or ``fit-cube``).

    Parameters
    ----------
    seed : int
        The run's seed (``mcmc_seed`` of notebook 02).
    gid : str
        The galaxy's id (or the cube's object name).

    Returns
    -------
    `numpy.random.Generator`
        Seeded by (seed, CRC32 of the id).
    """
    import zlib
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(str(gid).encode())]))


# --------------------------------------------------------------------------- summaries


def detection_counts(spectra: Table) -> Table:
    """Counts of notebook 02 beside the paper's (KROSS §2, §3.3; comparison column only).

    Parameters
    ----------
    spectra : `~astropy.table.Table`
        ``kmos_spectra.ecsv`` (``halpha_detected``, ``nii_class``).

    Returns
    -------
    `~astropy.table.Table`
        Columns quantity, compendium, paper: targets, Hα detected/undetected, [NII]
        detected, near a sky line and upper limits.
    """
    cls = np.asarray(spectra["nii_class"])
    det = np.asarray(spectra["halpha_detected"], bool)
    ours = {"targets": len(spectra), "halpha_detected": int(det.sum()), "halpha_undetected": int((~det).sum()),
            "nii_detected": int((cls == "detected").sum()), "nii_near_sky_line": int((cls == "near_sky_line").sum()),
            "nii_upper_limit": int((cls == "upper_limit").sum())}
    return Table({"quantity": list(ours), "compendium": list(ours.values()),
                  "paper": [KROSS_COUNTS[k] for k in ours]})


def write_halpha_maps(arrays: dict, folder: str | Path) -> int:
    """One FITS per galaxy: continuum-subtracted Hα flux map (``HALPHA``), its noise
    (``HALPHA_ERR``) and the continuum image (``CONTINUUM``), with the cube's celestial WCS.

    Parameters
    ----------
    arrays : dict
        Galaxy id to its ``"map"`` (Hα map, noise, continuum) and ``"wcs"`` (header), as
        :func:`redshift1.steps.kmos_spectra.measure_spectra` keeps them.
    folder : path-like
        Where ``<id>.fits`` are written (atomically).

    Returns
    -------
    int
        The number of files written.
    """
    from astropy.io import fits
    from ..io import write_fits

    folder = Path(folder)
    for gid, a in arrays.items():
        nb, nb_err, cont = a["map"]
        hdus = [fits.PrimaryHDU()]
        for name, img, bunit in (("HALPHA", nb, "erg.s**-1.cm**-2"), ("HALPHA_ERR", nb_err, "erg.s**-1.cm**-2"),
                                 ("CONTINUUM", cont, "erg.s**-1.cm**-2.um**-1")):
            h = a["wcs"].copy()
            h["BUNIT"] = bunit
            h["OBJECT"] = gid
            hdus.append(fits.ImageHDU(np.asarray(img, np.float32), header=h, name=name))
        write_fits(fits.HDUList(hdus), folder / f"{gid}.fits")
    return len(arrays)
