"""Integrated spectra of KMOS cubes, their Hα + [NII] fits, detections and limits (KROSS §2, §3.3).

One galaxy's measurement, :func:`measure_cube`, is: subtract each spaxel's continuum,
sum the spaxels of the aperture into an integrated spectrum, fit Hα + [NII] with one
redshift and one width (:mod:`redshift1.kmos.linefit`), take flux errors from refits of
noise-perturbed copies, and decide what was detected: Hα at S/N > 3; [NII]6583 at
S/N > 3, otherwise either *near a sky line* (a strong OH line within 7 Å of where [NII]
falls: dropped from the metallicity work) or a 5σ upper limit from the local noise.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.stats import mad_std, sigma_clip, sigma_clipped_stats
from astropy.table import Table

from .. import constants as C
from ..errors import Redshift1Error
from ..progress import progress_bar
from ..mock.sky import KMOS_OH_TABLE, load_table
from .cube import KMOSCube, read_kmos_cube
from .extraction import EXTRACTIONS, optimal_extraction
from ..flags import join_flags
from .linefit import LINES_UM, SIGMA_BOUNDS, fit_halpha_nii, perturbed_errors
from ..validation.paper import KROSS_COUNTS


@dataclass(frozen=True)
class SpectraConfig:
    """Analysis choices of notebook 02 (each one a notebook parameter)."""

    snr_min: float = 3.0                 # Hα / [NII] detection threshold (KROSS: S/N > 3)
    n_perturb: int = 50                  # noise realisations for the flux errors
    # which spaxels the integrated spectrum sums: "optimal" (the circular aperture where a
    # disc model of the Hα map peaks in S/N, flux scaled to the field by that model;
    # redshift1.kmos.extraction) or "paper" (KROSS: every valid spaxel, or aperture_radius)
    extraction: str = "optimal"
    aperture_radius: float = 0.0         # "paper": arcsec around the Hα centroid; <= 0: every valid spaxel
    psf_fwhm: float = 0.65               # arcsec: the seeing the optimal extraction's disc model assumes
    # the aperture correction's own uncertainty, as a fraction of ln(correction): the disc model
    # is not the galaxy (on the mock, corrections of 1.3-1.7 scattered by 8-10% around the truth)
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


# --------------------------------------------------------------------------- continuum, maps
def line_window_um(z: float, pad_kms: float = 1000.0) -> tuple[float, float]:
    """Observed wavelengths spanning [NII]6548 … [NII]6583 at ``z`` plus ``pad_kms``."""
    f = pad_kms / C.C_KMS
    return LINES_UM[2] * (1 + z) * (1 - f), LINES_UM[1] * (1 + z) * (1 + f)


def continuum_subtract(cube: KMOSCube, z: float, halfwidth_um: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Subtract each spaxel's continuum: the σ-clipped median of side bands around the lines.

    Returns the continuum-subtracted cube and the continuum image (flux density).
    """
    lam = cube.wavelength.to_value(u.um)
    lo, hi = line_window_um(z)
    side = (lam > lo - halfwidth_um) & (lam < hi + halfwidth_um) & ~((lam >= lo) & (lam <= hi))
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore")            # all-NaN edge spaxels of real cubes
        _, med, _ = sigma_clipped_stats(cube.data[side], axis=0, sigma=3.0)
    med = np.nan_to_num(np.asarray(med), nan=0.0)
    return cube.data - med[None], med


def narrowband_map(data_cs: np.ndarray, noise: np.ndarray, wave_um: np.ndarray, z: float, sigma_kms: float,
                   nsig: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """Continuum-subtracted Hα flux per spaxel summed over ±``nsig`` line σ, and its noise."""
    centre = LINES_UM[0] * (1 + z)
    sig = np.hypot(centre * sigma_kms / C.C_KMS, centre / (C.SIGMA_TO_FWHM * C.KMOS_RESOLUTION))
    sel = np.abs(wave_um - centre) < nsig * sig
    if not sel.any():
        sel[np.argmin(np.abs(wave_um - centre))] = True
    dlam = np.median(np.diff(wave_um))
    flux = np.nansum(data_cs[sel], axis=0) * dlam
    err = np.sqrt(np.nansum(noise[sel] ** 2, axis=0)) * dlam
    valid = np.any(np.isfinite(data_cs[sel]), axis=0)
    return np.where(valid, flux, np.nan), np.where(valid, err, np.nan)


def light_centroid(image: np.ndarray, snr: np.ndarray | None = None, snr_min: float = 2.0) -> tuple[float, float]:
    """Flux-weighted centroid (x, y) of the positive, significant pixels (0-based spaxels)."""
    img = np.where(np.isfinite(image), image, 0.0)
    use = img > 0
    if snr is not None and np.count_nonzero(use & (snr > snr_min)) >= 3:
        use &= snr > snr_min
    if not use.any():
        ny, nx = image.shape
        return (nx - 1) / 2, (ny - 1) / 2
    y, x = np.indices(img.shape)
    w = img * use
    return float((w * x).sum() / w.sum()), float((w * y).sum() / w.sum())


def psf_matched_centre(image: np.ndarray, psf_sigma: float) -> tuple[float, float]:
    """Centre (x, y) of the Hα light as the peak of the map smoothed by the PSF (the
    matched filter for a compact source), refined to a fraction of a spaxel by a quadratic
    fit around it (photutils).

    At low S/N a flux-weighted centroid is pulled about by the noise over the whole field
    (by 2-3 spaxels at S/N ≈ 4 in the mock); the smoothed peak moves by ~σ_PSF / S/N.
    """
    from photutils.centroids import centroid_quadratic
    from scipy.ndimage import gaussian_filter

    valid = np.isfinite(image)
    ny, nx = image.shape
    if not valid.any():
        return (nx - 1) / 2, (ny - 1) / 2
    smooth = gaussian_filter(np.where(valid, image, 0.0), max(psf_sigma, 0.3), mode="constant")
    smooth = np.where(valid, smooth, np.nan)
    iy, ix = np.unravel_index(np.nanargmax(smooth), smooth.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, y = centroid_quadratic(np.nan_to_num(smooth), xpeak=int(ix), ypeak=int(iy), fit_boxsize=5)
    if not (np.isfinite(x) and np.isfinite(y) and abs(x - ix) <= 1.5 and abs(y - iy) <= 1.5):
        x, y = float(ix), float(iy)
    return float(x), float(y)


def aperture_mask(shape, centre_xy, radius_spaxels: float, valid: np.ndarray) -> np.ndarray:
    """Valid spaxels within ``radius_spaxels`` of the centre (every valid one for radius <= 0)."""
    if radius_spaxels <= 0:
        return valid.copy()
    y, x = np.indices(shape)
    return valid & (np.hypot(x - centre_xy[0], y - centre_xy[1]) <= radius_spaxels)


def integrated_spectrum(data: np.ndarray, noise: np.ndarray, mask2d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the spaxels in ``mask2d`` per channel, noise added in quadrature."""
    d = np.where(mask2d[None], data, np.nan)
    n = np.where(mask2d[None], noise, np.nan)
    flux = np.nansum(d, axis=(1, 2))
    err = np.sqrt(np.nansum(n**2, axis=(1, 2)))
    empty = ~np.any(np.isfinite(d), axis=(1, 2))
    return np.where(empty, np.nan, flux), np.where(empty | (err <= 0), np.nan, err)


def empirical_noise_scale(wave_um, spec, err, z, dz, halfwidth_um) -> float:
    """How much noisier the integrated spectrum is than its NOISE propagation says, from the
    line-free side bands: sqrt of the 5σ-clipped mean of (flux/noise)² (at least 1).

    Sky-subtraction residuals are shared by the spaxels of a cube, so they add coherently
    when spaxels are summed while the pipeline's NOISE extension adds in quadrature.
    """
    lo, hi = line_window_um(z - dz)[0], line_window_um(z + dz)[1]
    side = (wave_um > lo - halfwidth_um) & (wave_um < hi + halfwidth_um) & ~((wave_um >= lo) & (wave_um <= hi))
    ratio = spec[side] / err[side]
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size < 10:
        return 1.0
    clipped = sigma_clip(ratio, sigma=5, maxiters=3)
    return float(max(1.0, np.sqrt(np.mean(clipped.compressed() ** 2))))


def spatial_noise_scale(data_cs: np.ndarray, noise: np.ndarray, wave_um, z, dz, halfwidth_um,
                        usable: np.ndarray | None = None) -> float:
    """How much more the spaxels scatter than their NOISE says: the robust scatter
    (``mad_std``) of the continuum-subtracted pulls over every valid spaxel of the line-free
    side-band channels (at least 1). If each spaxel's noise is under-stated, their sum's is
    by at least as much."""
    lo, hi = line_window_um(z - dz)[0], line_window_um(z + dz)[1]
    side = (wave_um > lo - halfwidth_um) & (wave_um < hi + halfwidth_um) & ~((wave_um >= lo) & (wave_um <= hi))
    if usable is not None:
        side &= usable
    with np.errstate(invalid="ignore", divide="ignore"):
        pull = data_cs[side] / noise[side]
    pull = pull[np.isfinite(pull)]
    if pull.size < 100:
        return 1.0
    return float(max(1.0, mad_std(pull)))


def band_edge_channels(spec: np.ndarray, wave_um: np.ndarray, edge_um: float) -> np.ndarray:
    """Channels within ``edge_um`` of the first or last channel holding data (bool mask)."""
    have = np.flatnonzero(np.isfinite(spec))
    if have.size == 0:
        return np.ones(wave_um.size, bool)
    return (wave_um < wave_um[have[0]] + edge_um) | (wave_um > wave_um[have[-1]] - edge_um)


def noise_failed_channels(spec: np.ndarray, err: np.ndarray, line_free: np.ndarray, factor: float,
                          half_window: int = 25) -> np.ndarray:
    """Channels where the NOISE extension fails: the robust scatter (``mad_std``) of the
    continuum-subtracted spectrum's pulls over ±``half_window`` line-free channels exceeds
    ``factor`` times that of the whole band. Line channels never enter the estimate, so a
    real line does not mask itself."""
    pull = np.where(line_free & np.isfinite(spec) & np.isfinite(err) & (err > 0), spec / err, np.nan)
    if np.count_nonzero(np.isfinite(pull)) < 2 * half_window:
        return np.zeros(spec.size, bool)
    pad = np.pad(pull, half_window, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * half_window + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = mad_std(windows, axis=1, ignore_nan=True)
        overall = mad_std(pull, ignore_nan=True)
    return np.isfinite(local) & (local > factor * overall)


def usable_channels(wave_um, spec, err, z_lo: float, z_hi: float, cfg: "SpectraConfig") -> np.ndarray:
    """Channels the line fit may use: not at the band ends, not where the noise model fails
    (the line window for redshifts ``z_lo``-``z_hi`` kept out of that test)."""
    lo, hi = line_window_um(z_lo)[0], line_window_um(z_hi)[1]
    line_free = (wave_um < lo) | (wave_um > hi)
    bad = band_edge_channels(spec, wave_um, cfg.edge_mask_um)
    bad |= noise_failed_channels(spec, err, line_free & ~bad, cfg.noise_fail_factor)
    return ~bad


# --------------------------------------------------------------------------- sky lines
def strong_sky_lines_um(min_strength: float = 20.0) -> np.ndarray:
    """Vacuum wavelengths (µm) of the OH lines stronger than ``min_strength`` (peak = 100)."""
    t = load_table(KMOS_OH_TABLE)
    return np.asarray(u.Quantity(t["wavelength"]).to_value(u.um))[np.asarray(t["strength"]) > min_strength]


def sky_line_distance_aa(wave_um, min_strength: float = 20.0) -> np.ndarray:
    """Observed-frame distance (Å) from each wavelength to the nearest strong OH line."""
    lines = strong_sky_lines_um(min_strength)
    w = np.atleast_1d(np.asarray(wave_um, float))
    return np.min(np.abs(w[:, None] - lines[None, :]), axis=1) * 1e4


# --------------------------------------------------------------------------- one galaxy
def measure_cube(cube: KMOSCube, z_guess: float, cfg: SpectraConfig = SpectraConfig(),
                 rng: np.random.Generator | None = None, psf_fwhm: float | None = None) -> dict:
    """Measure one cube: fit the integrated spectrum, classify detections.

    ``psf_fwhm`` (arcsec; default ``cfg.psf_fwhm``) is the seeing the S/N-optimal
    extraction's disc model convolves with (notebook 01's star of the galaxy's pointing).

    Returns a dict of scalars (fluxes in ``cube.unit`` × µm: erg/s/cm² for every cube with a
    BUNIT, which the loader converts to per-µm; the cube's unknown unit × µm otherwise)
    plus arrays under ``"_spectrum"`` and ``"_map"`` for figures and maps.
    """
    rng = rng or np.random.default_rng(cfg.seed)
    lam = cube.wavelength.to_value(u.um)
    valid2d = np.any(cube.valid, axis=0)
    if not valid2d.any():
        raise Redshift1Error(f"{cube.path}: no valid spaxels (all NaN or zero noise)")
    lo, hi = line_window_um(z_guess - cfg.dz), line_window_um(z_guess + cfg.dz)
    if hi[1] < lam[0] or lo[0] > lam[-1]:
        raise Redshift1Error(f"{cube.path}: Hα at z={z_guess:.3f} falls outside the cube's "
                             f"{lam[0]:.3f}-{lam[-1]:.3f} µm")
    cs, cont_img = continuum_subtract(cube, z_guess, cfg.continuum_halfwidth_um)
    if cfg.extraction not in EXTRACTIONS:
        raise Redshift1Error(f"extraction must be one of {EXTRACTIONS}, not {cfg.extraction!r}")
    optimal = cfg.extraction == "optimal"
    correction = 1.0
    extraction_fallback = False
    if optimal or cfg.aperture_radius > 0:
        # a first fit of every valid spaxel finds the line, hence the light the aperture centres on
        s1, e1 = integrated_spectrum(cs, cube.noise, valid2d)
        e1 = np.where(usable_channels(lam, s1, e1, z_guess - cfg.dz, z_guess + cfg.dz, cfg), e1, np.nan)
        fit1 = fit_halpha_nii(lam, s1[None], e1[None], z_guess, dz=cfg.dz)
        nb, nb_err = narrowband_map(cs, cube.noise, lam, float(fit1.z[0]), float(fit1.sigma_kms[0]))
    if optimal:
        fwhm = psf_fwhm if psf_fwhm is not None and np.isfinite(psf_fwhm) and psf_fwhm > 0 else cfg.psf_fwhm
        psf_sigma = fwhm / C.SIGMA_TO_FWHM / cube.pixel_scale.to_value(u.arcsec)
        centre = psf_matched_centre(np.where(valid2d, nb, np.nan), psf_sigma)
        ext = optimal_extraction(nb, nb_err, valid2d, centre, psf_sigma)
        ap, correction, extraction, extraction_fallback = ext.mask, ext.correction, ext.description, ext.fallback
    elif cfg.aperture_radius > 0:
        centre = light_centroid(nb, nb / nb_err)
        radius = cfg.aperture_radius / cube.pixel_scale.to_value(u.arcsec)
        ap = aperture_mask(valid2d.shape, centre, radius, valid2d)
        extraction = (f"circular aperture of radius {cfg.aperture_radius:g} arcsec around the Hα light "
                      f"centroid ({int(ap.sum())} spaxels)")
    else:
        ap = valid2d          # the whole field: one fit is enough, the centre comes from its map
        extraction = f"every valid spaxel of the IFU ({int(ap.sum())} spaxels)"
    spec, err = integrated_spectrum(cs, cube.noise, ap)
    usable = usable_channels(lam, spec, err, z_guess - cfg.dz, z_guess + cfg.dz, cfg)
    err = np.where(usable, err, np.nan)
    # the errors must hold the scatter the data show, spectrally (coherent residuals of the
    # summed spaxels) and spatially (spaxels noisier than their NOISE extension)
    noise_scale = max(empirical_noise_scale(lam, spec, err, z_guess, cfg.dz, cfg.continuum_halfwidth_um),
                      spatial_noise_scale(cs, cube.noise, lam, z_guess, cfg.dz, cfg.continuum_halfwidth_um, usable))
    err = err * noise_scale
    fit = fit_halpha_nii(lam, spec[None], err[None], z_guess, dz=cfg.dz)
    mc = perturbed_errors(lam, spec[None], err[None], fit, n_perturb=cfg.n_perturb, dz=cfg.dz, rng=rng)[0]
    p = fit.params[0].copy()
    z_from_field = False
    if optimal and not extraction_fallback:
        # the redshift and width from the whole field where Hα is significant there: an
        # aperture a spaxel off the kinematic centre weights one side of the rotation (30-60
        # km/s on the mock); the aperture's own where the field's fit is too faint
        snr_field = float(fit1.flux_halpha[0] / (fit1.flux_halpha_err[0] * noise_scale))
        if np.isfinite(snr_field) and snr_field > cfg.snr_min and fit1.converged[0]:
            p[0], p[1] = float(fit1.z[0]), float(fit1.sigma_kms[0])
            mc = mc.copy()
            mc[0], mc[1] = float(fit1.z_err[0]) * noise_scale, float(fit1.sigma_kms_err[0]) * noise_scale
            z_from_field = True
    f_ha_ap = p[2]
    # the aperture's fluxes scaled to the field's (the same light profile for Hα and [NII])
    f_ha, f_nii = p[2] * correction, p[3] * correction
    e_ha, e_nii = mc[2] * correction, mc[3] * correction
    # detection is the line's significance in the aperture; the flux error adds the correction's
    snr_ha = f_ha / e_ha if e_ha > 0 else np.nan
    snr_nii = f_nii / e_nii if e_nii > 0 else np.nan
    corr_rel = cfg.aperture_correction_err * np.log(correction) if correction > 0 else 0.0
    e_ha, e_nii = np.hypot(e_ha, f_ha * corr_rel), np.hypot(e_nii, f_nii * corr_rel)
    lam_nii = LINES_UM[1] * (1 + p[0])
    d_sky = float(sky_line_distance_aa(lam_nii, cfg.sky_strength_min)[0])
    doubts = line_fit_doubts(lam, usable, p, fit.converged[0], z_guess, cfg)
    if "line_in_masked_channels" in doubts:
        # no usable channel holds the line: its flux is not measured, not zero
        f_ha = e_ha = snr_ha = np.nan
    ha_det = bool(snr_ha > cfg.snr_min) and not (set(doubts) & VETOES)
    nii_det = bool(ha_det and snr_nii > cfg.snr_min)
    if not ha_det:
        nii_class = "no_halpha"
    elif nii_det:
        nii_class = "detected"
    elif d_sky < cfg.sky_distance_aa:
        nii_class = "near_sky_line"
    else:
        nii_class = "upper_limit"
    nb, nb_err = narrowband_map(cs, cube.noise, lam, float(p[0]), float(p[1]))
    if not optimal and cfg.aperture_radius <= 0:
        centre = light_centroid(nb, nb / nb_err)
    flags = (["not_detected"] if not ha_det else []) + doubts
    flags += ["extraction_fallback"] if optimal and extraction_fallback and ha_det else []
    flags += ["noise_rescaled"] if noise_scale > NOISE_RESCALE_FLAG else []
    flags += {"near_sky_line": ["nii_near_sky_line"], "upper_limit": ["nii_upper_limit"]}.get(nii_class, [])
    return {
        "z": p[0], "z_err": mc[0], "sigma_kms": p[1], "sigma_kms_err": mc[1], "fwhm_kms": C.SIGMA_TO_FWHM * p[1],
        "flux_halpha": f_ha, "flux_halpha_err": e_ha, "snr_halpha": snr_ha,
        "flux_halpha_aperture": f_ha_ap, "aperture_correction": correction,
        "flux_nii6583": f_nii, "flux_nii6583_err": e_nii, "snr_nii6583": snr_nii,
        "flux_nii6583_ul": cfg.upper_limit_sigma * e_nii,
        "continuum": p[4], "noise_scale": noise_scale, "chi2_red": fit.chi2[0] / max(fit.dof[0], 1),
        "x_center": centre[0], "y_center": centre[1], "n_spaxels": int(ap.sum()),
        "nii_sky_distance_aa": d_sky, "halpha_detected": ha_det, "nii_detected": nii_det, "nii_class": nii_class,
        "n_masked_channels": int(np.count_nonzero(~usable & np.isfinite(spec))),
        "extraction": extraction + ("; z and width from every valid spaxel" if z_from_field else ""),
        "flags": join_flags(flags),
        "_spectrum": (lam, spec, err, fit.params[0]), "_map": (nb, nb_err, cont_img), "_aperture": ap,
    }


#: a NOISE extension under-stating the integrated spectrum's scatter by more than this is flagged
#: (sky residuals shared by the spaxels make ~1.2-1.4 usual)
NOISE_RESCALE_FLAG = 1.5

#: doubts that make a line no detection, whatever its S/N: the fit sat on masked channels,
#: at the edge of its redshift window, or with a width no galaxy has
VETOES = {"line_in_masked_channels", "z_at_window_edge", "width_unphysical"}


def line_fit_doubts(wave_um, usable, params, converged, z_guess: float, cfg: SpectraConfig) -> list[str]:
    """Flag names for one integrated line fit: Hα on masked channels, z at the edge of the
    search window, width at a bound of the fit or above ``cfg.sigma_max_kms``, no convergence."""
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


ROW_FLOATS = ("z", "z_err", "sigma_kms", "sigma_kms_err", "fwhm_kms", "flux_halpha", "flux_halpha_err",
              "snr_halpha", "flux_halpha_aperture", "aperture_correction", "flux_nii6583", "flux_nii6583_err", "snr_nii6583", "flux_nii6583_ul", "continuum",
              "noise_scale", "chi2_red", "x_center", "y_center", "nii_sky_distance_aa")


def _measure_target(job) -> tuple[dict, dict | None]:
    """One target of :func:`measure_survey` (module level, so it can run on other processes)."""
    kmos_dir, gid, cube_path, z_cat, cfg, keep_arrays, psf_fwhm = job
    rng = galaxy_rng(cfg.seed, gid)
    row = {"id": gid, "status": "ok"}
    try:
        cube = read_kmos_cube(Path(kmos_dir) / cube_path)
        m = measure_cube(cube, z_cat, cfg, rng, psf_fwhm=psf_fwhm)
    except Redshift1Error as exc:
        row["status"] = f"skipped: {exc}"
        for k in ROW_FLOATS:
            row[k] = np.nan
        row.update(halpha_detected=False, nii_detected=False, nii_class="not_measured", n_spaxels=0, flux_unit="",
                   n_masked_channels=0, extraction="", flags="not_measured,not_detected")
        return row, None
    row.update({k: v for k, v in m.items() if not k.startswith("_")})
    row["flux_unit"] = (cube.unit * u.um).to_string() if cube.unit_known else "unknown (no BUNIT) x um"
    arrays = {"spectrum": m["_spectrum"], "map": m["_map"], "wcs": cube.wcs.to_header(),
              "pixel_scale": cube.pixel_scale.to_value(u.arcsec)} if keep_arrays else None
    return row, arrays


def measure_survey(kmos_dir: str | Path, targets: Table, cfg: SpectraConfig = SpectraConfig(),
                   progress: bool | None = None, keep_arrays: bool = False, workers: int = 1,
                   scheduler=None, psf_table: Table | None = None) -> tuple[Table, dict]:
    """Measure every target's cube; one row per target, ``status`` says what happened.

    ``psf_table`` (notebook 01's ``kmos_psf.ecsv``) gives each galaxy the seeing of its
    pointing for the S/N-optimal extraction; without it ``cfg.psf_fwhm`` is assumed.

    A cube that cannot be read or measured is flagged (``status`` = the reason) and the run
    goes on. Returns the table and, with ``keep_arrays``, each galaxy's spectrum and maps.
    ``workers``/``scheduler`` spread the galaxies over processes or a Dask cluster
    (:func:`redshift1.parallel.map_objects`); each galaxy's noise realisations are seeded by
    its id, so the table does not depend on how it was computed.
    """
    from ..parallel import map_objects

    if psf_table is not None:
        from .psf import attach_psf
        fwhm = 2 * np.asarray(attach_psf(targets, psf_table)["psf_hwhm"], float)   # as fit-cube's PSFInfo
    else:
        fwhm = np.full(len(targets), np.nan)
    jobs = [(str(kmos_dir), str(t["id"]), str(t["cube"]), float(t["z_cat"]), cfg, keep_arrays, float(f))
            for t, f in zip(targets, fwhm)]
    results = map_objects(_measure_target, jobs, workers=workers, scheduler=scheduler,
                          desc="integrated spectra", progress=progress)
    rows = [r for r, _ in results]
    arrays = {r["id"]: a for r, a in results if a is not None}
    table = Table(rows=[{k: r.get(k) for k in _COLUMNS} for r in rows], names=_COLUMNS)
    _set_units(table)
    return table, arrays


_COLUMNS = ("id", "status", *ROW_FLOATS, "n_spaxels", "halpha_detected", "nii_detected", "nii_class", "flux_unit",
            "n_masked_channels", "extraction", "flags")


def _set_units(t: Table):
    flux = u.erg / u.s / u.cm**2
    for c in ("flux_halpha", "flux_halpha_err", "flux_halpha_aperture", "flux_nii6583", "flux_nii6583_err", "flux_nii6583_ul"):
        t[c].unit = flux
    for c in ("sigma_kms", "sigma_kms_err", "fwhm_kms"):
        t[c].unit = u.km / u.s
    t["nii_sky_distance_aa"].unit = u.AA
    t["x_center"].unit = t["y_center"].unit = u.pix


def galaxy_rng(seed: int, gid: str) -> np.random.Generator:
    """The noise realisations of one galaxy: seeded by the run's seed and its id, so that a
    galaxy's errors do not depend on which others are measured, nor on the entry point
    (notebook 02 or ``fit-cube``)."""
    import zlib
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(str(gid).encode())]))


# --------------------------------------------------------------------------- summaries


def detection_counts(spectra: Table) -> Table:
    """Counts of notebook 02 beside the paper's (KROSS §2, §3.3; comparison column only)."""
    cls = np.asarray(spectra["nii_class"])
    det = np.asarray(spectra["halpha_detected"], bool)
    ours = {"targets": len(spectra), "halpha_detected": int(det.sum()), "halpha_undetected": int((~det).sum()),
            "nii_detected": int((cls == "detected").sum()), "nii_near_sky_line": int((cls == "near_sky_line").sum()),
            "nii_upper_limit": int((cls == "upper_limit").sum())}
    return Table({"quantity": list(ours), "compendium": list(ours.values()),
                  "paper": [KROSS_COUNTS[k] for k in ours]})


def write_halpha_maps(arrays: dict, folder: str | Path) -> int:
    """One FITS per galaxy: continuum-subtracted Hα flux map (``HALPHA``), its noise
    (``HALPHA_ERR``) and the continuum image (``CONTINUUM``), with the cube's celestial WCS."""
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
