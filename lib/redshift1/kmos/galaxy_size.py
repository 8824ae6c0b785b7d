"""One galaxy's Hα size and kinematics from its cube (KROSS §3.2; notebook 03 per galaxy).

:func:`measure_size_cube` runs, in order: continuum subtraction and the Hα map, the
per-spaxel velocity field and its six-parameter disc (the dynamical centre), the
PSF-convolved exponential disc model of the map (the light beyond the IFU and the axis
ratio), the morphological inclination and the disc refitted at it, the curve of growth in
elliptical apertures that follow the *observed* shape, the paper's two cross-checks (the
light-centroid centre and a 2D profile fit), and the PSF-corrected r′½ with its error
budget. The curve-of-growth primitives live in :mod:`redshift1.kmos.sizes`, the disc model
in :mod:`redshift1.kmos.disc_model`; notebook 03
runs this over the survey (:mod:`redshift1.steps.kmos_sizes`) and ``python -m redshift1
fit-cube`` on one cube (:func:`redshift1.kmos.galaxy.measure_galaxy`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import astropy.units as u
from astropy.modeling import fitting, models
from astropy.utils.exceptions import AstropyUserWarning

from ..constants import SIGMA_TO_FWHM
from ..cosmology import KROSS_COSMO
from ..errors import Redshift1Error
from ..flags import join_flags
from .cube import KMOSCube
from .kinematics import DiscFit, VelocityField, fit_disc, fit_rotation_amplitude, spaxel_fits
from .disc_model import disc_model_total, inclination_from_axis_ratio
from .sizes import (SizeMeasurement, half_light_radius, observed_axis_ratio, optical_hwhm, psf_corrected_radius,
                    radius_at, size_error_budget)
from .linemaps import continuum_subtract, narrowband_map, psf_matched_centre

__all__ = ["INCLINATION_SOURCES", "SizeConfig", "measure_size_cube", "gaussian_profile_r_half",
           "quadrature_bias_factor", "PSF_FACTOR_RANGE", "constrained_kinematics", "size_flags"]

INCLINATION_SOURCES = ("morphology", "kinematic")


@dataclass(frozen=True)
class SizeConfig:
    """Analysis choices of notebook 03 (each one a notebook parameter).

    Attributes
    ----------
    smooth : int
        Boxcar width, spaxels, applied before the per-spaxel line fits.
    spaxel_snr_min : float
        A spaxel enters the velocity field above this Hα S/N.
    centre_prior : float
        Width, spaxels, of the prior tying the dynamical centre to the light centroid.
    map_nsig : float
        The Hα map sums the channels within ± this many line σ.
    max_extrapolation : float
        Cap on the curve-of-growth extrapolation (total over the flux inside the field).
    extrapolation : str
        How light beyond the field is recovered: ``"disc"`` (PSF-convolved exponential disc
        fitted to the map), ``"exponential"`` (the curve's tail) or ``"gaussian"`` (KROSS).
    seeing_variation : float
        Fractional PSF variation entering the size error budget.
    psf_correction : bool
        Subtract the PSF HWHM from r½ in quadrature.
    psf_correction_method : str
        ``"model"`` (scale by what the PSF does to the fitted disc model; needs
        ``extrapolation="disc"``) or ``"quadrature"`` (KROSS).
    inclination_from : str
        ``"morphology"`` (axis ratio of the disc model or HST) or ``"kinematic"``
        (six-parameter velocity-field fit alone).
    q0 : float
        Intrinsic axial ratio (thickness) of the disc in the inclination formula.
    hst_q_err : float
        1σ uncertainty assigned to an HST (GALFIT) axis ratio, which carries none.
    """

    smooth: int = 3                  # spaxels: boxcar before the per-spaxel fits
    spaxel_snr_min: float = 5.0      # a spaxel enters the velocity field above this S/N
    centre_prior: float = 0.5        # spaxels: prior width tying the dynamical centre to the light
    map_nsig: float = 3.0            # Hα map: channels within ± this many line σ
    max_extrapolation: float = 2.0   # curve-of-growth extrapolation cap
    # how the light beyond the field is recovered: KROSS fitted the curve of growth with a
    # Gaussian, which misses 20-30% of an exponential disc overfilling the IFU
    # (tests/test_kmos_sizes.py). The walk fits the whole map with a PSF-convolved exponential
    # disc ("disc"; it also gives the apertures' axis ratio); "exponential" extrapolates the
    # curve's tail, "gaussian" is the paper's choice
    extrapolation: str = "disc"
    seeing_variation: float = 0.2    # fractional PSF variation in the error budget (KROSS: <20%)
    psf_correction: bool = True      # subtract the PSF HWHM in quadrature
    # quadrature subtraction is exact for Gaussians only: an exponential disc of r½ ≈ HWHM
    # comes out ~5% large (KinMS, and the paper preset's r′½ ×1.06). "model" scales the
    # quadrature result by what it does to the fitted disc model itself (needs
    # extrapolation="disc"); "quadrature" is KROSS's
    psf_correction_method: str = "model"
    # KROSS calls r½ > HWHM resolved (0 here); noise then "resolves" half of the point
    # sources, whose r′½ comes out several times too large and flattens the resolved main
    # sequence. The walk asks r½ to exceed the HWHM by this many σ(r½)
    resolved_significance: float = 2.0
    # σ(r½) from the half-light level's noise (half the total's: "total") or from the
    # enclosed flux's at r½ only ("enclosed", the former error; 1.4x too small on the mock)
    size_error: str = "total"
    # fit a constant under the disc model and take it off the Hα map before the curve of
    # growth: sky residuals common to the spaxels leave such a pedestal (on the paper preset
    # it made point sources' r½ 25% larger than the PSF's); False is KROSS's map as summed
    map_background: bool = True
    # the velocity field alone trades v_max against sin i: "morphology" ties the inclination
    # to the axis ratio of the Hα disc model (or the HST one, where given) for a disc of
    # intrinsic thickness q0; "kinematic" is the six-parameter velocity-field fit alone
    inclination_from: str = "morphology"
    q0: float = 0.2
    hst_q_err: float = 0.05          # 1σ of an HST (GALFIT) axis ratio, which carries none


def gaussian_profile_r_half(image, error, centre) -> float:
    """Cross-check 2: r½ of an elliptical 2D Gaussian fitted to the Hα map (a GALFIT-like
    parametric size; for a Gaussian r½ = sqrt(2 ln 2) σ, circularised).

    Parameters
    ----------
    image, error : ndarray
        The Hα map and its 1σ noise (NaN: no data, weight zero).
    centre : (float, float)
        Starting centre (x, y), 0-based spaxels.

    Returns
    -------
    float
        r½ in spaxels; NaN where the fit fails or does not converge (no size rather than a
        wrong one).
    """
    img = np.where(np.isfinite(image), image, 0.0)
    w = np.where(np.isfinite(error) & (error > 0), 1.0 / np.where(np.isfinite(error) & (error > 0), error, 1.0), 0.0)
    y, x = np.indices(img.shape)
    g0 = models.Gaussian2D(max(img.max(), 1e-30), centre[0], centre[1], 2.0, 1.6, 0.3,
                           bounds={"x_stddev": (0.3, 20), "y_stddev": (0.3, 20)})
    fitter = fitting.LevMarLSQFitter()
    try:
        with warnings.catch_warnings():
            # astropy warns when leastsq did not converge; fit_info['ierr'] says so below
            warnings.filterwarnings("ignore", "The fit may be unsuccessful", AstropyUserWarning)
            g = fitter(g0, x, y, img, weights=w)
    except Exception:  # a pathological map: report no size rather than stop the survey
        return np.nan
    if fitter.fit_info.get("ierr") not in (1, 2, 3, 4):  # leastsq did not converge: no size, not a wrong one
        return np.nan
    return float(SIGMA_TO_FWHM / 2 * np.sqrt(abs(g.x_stddev.value * g.y_stddev.value)))


#: r½ of an exponential disc in scale lengths (the root of (1 + x) e^−x = 1/2)
EXP_R_HALF_PER_SCALE = 1.6783469900166612

#: the map's pedestal is taken off only where the disc model holds this fraction of its light in the field
BACKGROUND_MIN_IN_FIELD = 0.9

#: psf correction factors outside this range are not applied (the disc model is not the galaxy)
PSF_FACTOR_RANGE = (0.6, 1.4)


def quadrature_bias_factor(shape, centre, r_d, q, theta, psf_sigma, q_apertures, h, opts) -> float:
    """How far quadrature PSF subtraction misses on the galaxy's own fitted disc model.

    Parameters
    ----------
    shape : (int, int)
        The Hα map's shape.
    centre : (float, float)
        Centre (x, y) of the apertures, 0-based spaxels.
    r_d, q, theta : float
        The disc model's scale length (spaxels), axis ratio and major-axis angle (deg,
        counter-clockwise from +x).
    psf_sigma : float
        The optical PSF's σ, spaxels.
    q_apertures : float
        Axis ratio of the apertures (the observed shape).
    h : float
        The PSF's curve-of-growth r½, spaxels (what is subtracted in quadrature).
    opts : dict
        The curve-of-growth options of the galaxy (:func:`~redshift1.kmos.sizes.half_light_radius`).

    Returns
    -------
    float
        The model's intrinsic r½ (1.678 r_d, semi-major) over what the curve of growth plus
        quadrature subtraction gives on its noise-free image; 1 where the model is
        unresolved, not finite, or the factor lies outside :data:`PSF_FACTOR_RANGE`.
    """
    from .extraction import exponential_disc_image

    img = exponential_disc_image(shape, centre, r_d, q, theta, psf_sigma)
    # the model's total is known (1): no extrapolation cap, or a disc overfilling the field
    # would look small and get a spurious factor (2.8 on one quick-preset galaxy)
    model_opts = dict(opts, model_total=1.0, max_extrapolation=np.inf)
    sm = half_light_radius(img, np.full(shape, 1e-3 * img.max()), centre, q_apertures, theta, **model_opts)
    if not np.isfinite(sm.r_half) or sm.r_half <= h:
        return 1.0
    factor = float(EXP_R_HALF_PER_SCALE * r_d / np.sqrt(sm.r_half**2 - h**2))
    # beyond this range the model, not the PSF, drives the factor: no correction
    return factor if PSF_FACTOR_RANGE[0] <= factor <= PSF_FACTOR_RANGE[1] else 1.0


def _cog_options(cfg: SizeConfig, psf_r_half_spaxels: float, model_total: float | None = None) -> dict:
    return {"max_extrapolation": cfg.max_extrapolation, "extrapolation": cfg.extrapolation,
            "psf_r_half": psf_r_half_spaxels, "model_total": model_total, "level_error": cfg.size_error}


class _Maps(NamedTuple):
    """Stage 1: the Hα map (and noise), the velocity field and the light's centre."""

    nb: np.ndarray
    nb_err: np.ndarray
    vf: VelocityField
    light: tuple[float, float]


class _DiscModel(NamedTuple):
    """Stage 3: the PSF-convolved disc model of the map (NaN/None without ``extrapolation="disc"``)."""

    total: float | None          # the map's sum over the fraction of the model inside the field
    in_field: float
    r_d: float                   # spaxels
    q: float
    q_refined: float
    q_err: float
    psf_sigma: float             # spaxels, optical
    background: float = 0.0      # the constant fitted under the disc (map units per spaxel)


def _maps_and_velocity_field(cube: KMOSCube, z: float, sigma_kms: float, hwhm: float, cfg: SizeConfig) -> _Maps:
    """Continuum-subtracted per-spaxel fits (velocity field), the Hα map and its PSF-matched centre."""
    lam = cube.wavelength.to_value(u.um)
    pix = cube.pixel_scale.to_value(u.arcsec)
    cs, _ = continuum_subtract(cube, z)
    vf = spaxel_fits(cs, cube.noise, lam, z, smooth=cfg.smooth, snr_min=cfg.spaxel_snr_min)
    nb, nb_err = narrowband_map(cs, cube.noise, lam, z, sigma_kms, nsig=cfg.map_nsig)
    pix_psf_sigma = hwhm / pix / (SIGMA_TO_FWHM / 2)
    return _Maps(nb, nb_err, vf, psf_matched_centre(nb, pix_psf_sigma))


def _disc_model(maps: _Maps, centre, theta: float, hwhm: float, pix: float, cfg: SizeConfig,
                psf_hwhm_optical: float | None, psf_ell: float = 0.0, psf_pa: float | None = None) -> _DiscModel:
    """The disc model of the Hα map at the kinematic PA: the light beyond the field and the axis ratio."""
    if cfg.extrapolation != "disc":
        return _DiscModel(None, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan)
    if psf_hwhm_optical is None or not np.isfinite(psf_hwhm_optical):
        psf_hwhm_optical = optical_hwhm(hwhm, pix)
    psf_sigma = psf_hwhm_optical / pix / (SIGMA_TO_FWHM / 2)
    # the axis ratio from the light: the velocity field's inclination trades off against
    # the rotation speed and came out ~30° too face-on on the mock, making the apertures
    # too round and large discs' r½ ~20% small
    # convolved with the star's elliptical PSF: a round one of the same FWHM is narrower along
    # the PSF's major axis, which the disc's own axis ratio and size then absorb
    # (only with its orientation: an ellipticity without a PA stays in the error budget alone)
    known = psf_pa is not None and np.isfinite(psf_pa) and np.isfinite(psf_ell) and psf_ell > 0
    fit = disc_model_total(maps.nb, maps.nb_err, centre, None, theta, psf_sigma, with_axis_ratio_error=True,
                           fit_background=cfg.map_background, psf_ellipticity=float(psf_ell) if known else 0.0,
                           psf_pa=float(psf_pa) if known else 0.0)
    _, r_d, q, in_field, q_refined, q_err = fit[:6]
    # a disc spilling out of the field is degenerate with a constant (both fill the edges):
    # only a model that the field mostly holds separates the pedestal from the disc's wings
    background = fit[6] if (cfg.map_background and np.isfinite(fit[6])
                            and in_field >= BACKGROUND_MIN_IN_FIELD) else 0.0
    # the model says which fraction of the light the field holds; the total is the map's
    # own sum (less the pedestal) scaled by it, so the half-light level shares the map's normalisation
    total = float(np.nansum(maps.nb - background)) / in_field if np.isfinite(in_field) and in_field > 0 else None
    return _DiscModel(total, in_field, r_d, q, q_refined, q_err, psf_sigma, background)


def _morphological_axis_ratio(model: _DiscModel, cfg: SizeConfig, axis_ratio_prior) -> tuple[float, float, str]:
    """The axis ratio fixing the inclination, its 1σ and where it comes from (given, disc model or none)."""
    q, q_err, source = (model.q_refined, model.q_err, "halpha_disc_model") if cfg.extrapolation == "disc" \
        else (np.nan, np.nan, "")
    if axis_ratio_prior is not None and np.all(np.isfinite(axis_ratio_prior)):
        q, q_err, source = float(axis_ratio_prior[0]), float(axis_ratio_prior[1]), "given"
    return q, q_err, source


def _tie_inclination(disc: DiscFit, maps: _Maps, inc: float, inc_err: float, model: _DiscModel,
                     cfg: SizeConfig, psf_ell: float = 0.0, psf_pa: float | None = None) -> DiscFit:
    """The velocity field refitted at the morphological inclination (where asked and possible),
    beam-smeared by the PSF (elliptical where its PA is known)."""
    if not (cfg.inclination_from == "morphology" and disc.success and np.isfinite(inc_err)):
        return disc
    # v_max carries the inclination's error (a floor of 3°: the disc model's axis ratio is
    # not exact for a real galaxy), with the beam smearing of the light-weighted velocities
    elliptical = psf_pa is not None and np.isfinite(psf_pa) and np.isfinite(psf_ell) and psf_ell > 0
    smear = {"r_d": model.r_d, "psf_sigma": model.psf_sigma, "smooth": cfg.smooth,
             "psf_ellipticity": float(psf_ell) if elliptical else 0.0, "psf_pa": float(psf_pa) if elliptical else 0.0} \
        if np.isfinite(model.r_d) and np.isfinite(model.psf_sigma) else None
    prior = (float(np.clip(inc, 1.0, 89.0)), max(inc_err, 3.0))
    tied = fit_disc(maps.vf, maps.light, centre_prior=cfg.centre_prior, inclination_prior=prior, smearing=smear)
    if not tied.success:
        return disc
    # v_max from the light-weighted velocities the smeared model predicts, at the tied geometry
    return fit_rotation_amplitude(maps.vf, tied, prior, smear) if smear is not None else tied


def _observed_shape_growth(maps: _Maps, centre, q: float, theta: float, h: float,
                           opts: dict, r_int: float = np.nan) -> tuple[SizeMeasurement, float]:
    """Curve of growth in apertures of the *observed* axis ratio, and that ratio.

    The PSF rounds a small disc, so a compact source measured along its intrinsic (inclined)
    ellipse would look larger than the PSF. With the disc model's intrinsic r½ (``r_int``,
    spaxels) the observed ratio follows from it at once. Without it, iterated to a fixed
    point from the curve of growth's own r½: each pass rounds the ellipse by about half the
    remaining way (stopping after two left a point source 5-10% too big), but a noisy r½
    feeds itself: a point source's r½ above the PSF's makes the apertures elliptical, which
    makes its semi-major r½ larger still. On the paper preset's true point sources the model's
    size instead of the curve's took their r½ from 1.063 to 1.056 times the PSF's, and the
    share of them called resolved from 8% to 2.4%.
    """
    if np.isfinite(r_int) and r_int >= 0:
        q_obs = observed_axis_ratio(q, r_int, h)
        return half_light_radius(maps.nb, maps.nb_err, centre, q_obs, theta, **opts), q_obs
    sm = half_light_radius(maps.nb, maps.nb_err, centre, q, theta, **opts)
    q_obs = q
    for _ in range(12):
        if not np.isfinite(sm.r_half):
            break
        q_new = observed_axis_ratio(q, np.sqrt(max(sm.r_half**2 - h**2, 0.0)), h)
        if abs(q_new - q_obs) < 0.005:
            break
        q_obs = q_new
        sm = half_light_radius(maps.nb, maps.nb_err, centre, q_obs, theta, **opts)
    return sm, q_obs


def _cross_checks(maps: _Maps, sm: SizeMeasurement, centre, q: float, theta: float, pix: float, opts: dict):
    """The paper's two cross-checks (light-centroid centre, 2D profile fit) and r½'s error (arcsec).

    The error adds to the curve of growth's noise what the choice of centre and aperture
    shape moves r½ by, and of the flux beyond the field (r½ of the measured total, with no
    extrapolation).
    """
    sm_light = half_light_radius(maps.nb, maps.nb_err, maps.light, q, theta, **opts)
    sm_round = half_light_radius(maps.nb, maps.nb_err, centre, 1.0, 0.0, **opts)
    r_model = gaussian_profile_r_half(maps.nb, maps.nb_err, maps.light)
    r_no_extrapolation = radius_at(sm.radii, sm.cog, 0.5 * sm.total_measured)
    spread = np.nanstd([sm.r_half, sm_light.r_half, sm_round.r_half, r_no_extrapolation]) * pix
    return sm_light, r_model, np.hypot(sm.r_half_err * pix, spread)


def _psf_corrected(r_half: float, r_err: float, hwhm: float, psf_ell: float, cfg: SizeConfig, model: _DiscModel,
                   shape, centre, theta: float, q_apertures: float, h: float, opts: dict):
    """r′½ (arcsec), its error, the resolved flag and the model's correction factor."""
    hw = hwhm if cfg.psf_correction else 0.0
    r_corr, resolved = psf_corrected_radius(r_half, hw, r_err, cfg.resolved_significance)
    r_corr_err = size_error_budget(r_half, r_err, hw, cfg.seeing_variation, psf_ell,
                                   cfg.resolved_significance) if cfg.psf_correction else r_err
    factor = 1.0
    if cfg.psf_correction and cfg.psf_correction_method == "model" and resolved and np.isfinite(model.r_d):
        factor = quadrature_bias_factor(shape, centre, model.r_d, model.q, theta, model.psf_sigma, q_apertures, h, opts)
        r_corr, r_corr_err = r_corr * factor, r_corr_err * factor
    return r_corr, r_corr_err, resolved, factor


def measure_size_cube(cube: KMOSCube, z: float, sigma_kms: float, hwhm: float, psf_ell: float,
                      cfg: SizeConfig = SizeConfig(), psf_hwhm_optical: float | None = None,
                      axis_ratio_prior: tuple[float, float] | None = None, psf_pa: float | None = None) -> dict:
    """Sizes and kinematics of one detected galaxy (radii in arcsec).

    Parameters
    ----------
    cube : `~redshift1.kmos.cube.KMOSCube`
        The galaxy's cube.
    z, sigma_kms : float
        Redshift and line width of its integrated Hα (notebook 02), which place the map's channels.
    hwhm : float
        The PSF's half-light radius as the data show it (the star's curve-of-growth r½,
        ``psf_r_half`` of notebook 01), arcsec: subtracted in quadrature, and the
        resolution limit.
    psf_ell : float
        The PSF's ellipticity (error budget; with ``psf_pa`` it shapes the disc model's PSF).
    cfg : SizeConfig
        The analysis choices (notebook 03's parameters).
    psf_hwhm_optical : float, optional
        The star fit's optical HWHM (arcsec), shaping the disc model of
        ``extrapolation="disc"``; without it the spaxel box is taken out of ``hwhm``.
    axis_ratio_prior : (float, float), optional
        An axis ratio measured elsewhere (HST) and its 1σ, fixing the inclination in place
        of the Hα disc model's.
    psf_pa : float, optional
        The PSF's major axis, degrees counter-clockwise from +x (notebook 01's ``pa``); with it
        the disc model is convolved with the elliptical PSF, without it with a round one.

    Returns
    -------
    dict
        The size columns of ``kmos_sizes.ecsv`` (``size_status``, centres, disc fit and
        kinematics with errors, morphological axis ratio and inclination, r½ and r′½ with
        errors in arcsec and kpc, ``resolved``, ``recovered_fraction``, the cross-checks'
        r½), plus ``"_maps"``: (Hα map, its noise, velocity field, curve of growth) for figures.

    Raises
    ------
    Redshift1Error
        For an unknown ``cfg.inclination_from``.
    """
    if cfg.inclination_from not in INCLINATION_SOURCES:
        raise Redshift1Error(f"inclination_from must be one of {INCLINATION_SOURCES}, not {cfg.inclination_from!r}")
    pix = cube.pixel_scale.to_value(u.arcsec)
    maps = _maps_and_velocity_field(cube, z, sigma_kms, hwhm, cfg)
    disc = fit_disc(maps.vf, maps.light, centre_prior=cfg.centre_prior)
    status = "ok" if disc.success else "no disc fit: light centroid used"
    centre = (disc.x0, disc.y0) if disc.success else maps.light
    q = disc.axis_ratio if disc.success else 1.0
    theta = disc.pa_photutils if disc.success else 0.0
    model = _disc_model(maps, centre, theta, hwhm, pix, cfg, psf_hwhm_optical, psf_ell, psf_pa)
    maps = maps._replace(nb=maps.nb - model.background)
    if np.isfinite(model.q):
        q = model.q
    q_morph, q_morph_err, q_source = _morphological_axis_ratio(model, cfg, axis_ratio_prior)
    inc_morph, inc_morph_err = inclination_from_axis_ratio(q_morph, q_morph_err, cfg.q0)
    disc = _tie_inclination(disc, maps, inc_morph, inc_morph_err, model, cfg, psf_ell, psf_pa)
    h = hwhm / pix
    opts = _cog_options(cfg, h, model.total)
    sm, q_obs = _observed_shape_growth(maps, centre, q, theta, h, opts, r_int=EXP_R_HALF_PER_SCALE * model.r_d)
    capped = bool(sm.total_model > sm.total_measured * (cfg.max_extrapolation - 1e-9))
    if capped:
        status = "curve of growth does not converge: extrapolation capped"
    q_final = q_obs if np.isfinite(sm.r_half) and disc.success else q
    sm_light, r_model, r_err = _cross_checks(maps, sm, centre, q_final, theta, pix, opts)
    r_half = sm.r_half * pix
    r_corr, r_corr_err, resolved, factor = _psf_corrected(r_half, r_err, hwhm, psf_ell, cfg, model, maps.nb.shape,
                                                          centre, theta, q_final, h, opts)
    kpc = KROSS_COSMO.kpc_proper_per_arcmin(z).to_value(u.kpc / u.arcsec)
    return {
        "size_status": status, "x_dyn": centre[0], "y_dyn": centre[1], "x_light": maps.light[0],
        "y_light": maps.light[1],
        "disc_ok": disc.success, "inclination": disc.inclination, "pa": disc.pa, "v_max": disc.v_max,
        "inclination_err": disc.errors[0], "pa_err": disc.errors[2], "v_max_err": disc.errors[1],
        "v_max_err_lo": disc.v_max - disc.v_max_limits[0], "v_max_err_hi": disc.v_max_limits[1] - disc.v_max,
        "v_max_source": ("first_moments" if disc.v_max_from_moments else "line_centres") if disc.success else "",
        "r_turn_at_bound": bool(disc.r_turn_at_bound),
        "axis_ratio": q_morph, "axis_ratio_err": q_morph_err, "axis_ratio_source": q_source,
        "inclination_morph": inc_morph, "inclination_morph_err": inc_morph_err,
        "extrapolation_capped": capped,
        "r_turn_arcsec": disc.r_turn * pix, "n_velocity_spaxels": int(maps.vf.good.sum()),
        "psf_r_half": hwhm, "r_half_arcsec": r_half, "r_half_err_arcsec": r_err,
        "r_half_corr_arcsec": float(r_corr), "r_half_corr_err_arcsec": float(r_corr_err),
        "r_half_corr_kpc": float(r_corr) * kpc, "r_half_corr_err_kpc": float(r_corr_err) * kpc,
        "resolved": bool(resolved), "psf_correction_factor": factor,
        "recovered_fraction": model.in_field if cfg.extrapolation == "disc" and model.total is not None
        else sm.recovered_fraction,
        "r_half_centroid_arcsec": sm_light.r_half * pix, "r_half_model_arcsec": r_model * pix,
        "_maps": (maps.nb, maps.nb_err, maps.vf, sm),
    }


#: a disc fit whose inclination lies this close (deg) to the fit's bounds (10°, 85°), or
#: whose v_max error (the mean half-width of its interval) exceeds this fraction of v_max,
#: leaves the kinematics unconstrained. Past ±30 % the likelihood of v_max is skewed by the
#: unresolved turnover radius and its best value runs high: on the paper preset the median
#: v_max/true was 1.001 for the 68 discs within ±30 %, 1.005 (86) within ±40 %, 1.035 (108)
#: within ±50 %.
INCLINATION_BOUNDS = (10.0, 85.0)
INCLINATION_MARGIN = 1.0
VMAX_MAX_REL_ERR = 0.3
PA_MAX_ERR = 45.0
INCLINATION_MAX_ERR = 20.0


def constrained_kinematics(row) -> dict:
    """Which of inclination, PA and v_max the velocity field constrains.

    Parameters
    ----------
    row : mapping
        A size row (:func:`measure_size_cube`'s keys ``disc_ok``, ``inclination``, ``pa``,
        ``v_max`` and their ``_err``).

    Returns
    -------
    dict
        ``{"inclination": bool, "pa": bool, "v_max": bool}``: a finite error below
        :data:`INCLINATION_MAX_ERR` / :data:`PA_MAX_ERR`, away from the fit's bounds, v_max
        known to better than :data:`VMAX_MAX_REL_ERR` (and only with a constrained
        inclination: the velocity field alone trades v_max against sin i).
    """
    if not row.get("disc_ok"):
        return {"inclination": False, "pa": False, "v_max": False}
    inc, inc_e = float(row["inclination"]), float(row["inclination_err"])
    vm, vm_e = float(row["v_max"]), float(row["v_max_err"])
    inc_ok = (np.isfinite(inc_e) and inc_e < INCLINATION_MAX_ERR and INCLINATION_BOUNDS[0] + INCLINATION_MARGIN < inc
              < INCLINATION_BOUNDS[1] - INCLINATION_MARGIN)
    return {"inclination": bool(inc_ok),
            "pa": bool(np.isfinite(row["pa_err"]) and row["pa_err"] < PA_MAX_ERR),
            "v_max": bool(inc_ok and np.isfinite(vm_e) and vm > 0 and vm_e < VMAX_MAX_REL_ERR * vm)}


def size_flags(row, psf_given: bool = True) -> str:
    """The ``flags`` cell of one size row (see :mod:`redshift1.flags`).

    Parameters
    ----------
    row : mapping
        A size row (``status``, ``extrapolation_capped``, ``resolved``, ``disc_ok``, the
        kinematics and ``psf_source``).
    psf_given : bool
        False where no PSF was known (``fit-cube`` without ``--psf-fwhm``): flag ``no_psf``
        instead of judging ``unresolved``.

    Returns
    -------
    str
        Comma-separated flag names (``not_detected``, ``not_measured``,
        ``extrapolation_capped``, ``unresolved``, ``no_psf``, ``no_disc_fit``,
        ``kinematics_unconstrained``, ``vmax_from_line_centres``, ``rturn_at_bound``, ``psf_fallback``); empty when
        nothing is doubtful.
    """
    status = str(row.get("status", "ok"))
    if status != "ok":
        return join_flags(["not_detected"] if "not detected" in status else ["not_measured"])
    names = []
    if row.get("extrapolation_capped"):
        names.append("extrapolation_capped")
    if psf_given and not row.get("resolved"):
        names.append("unresolved")
    if not psf_given:
        names.append("no_psf")
    if not row.get("disc_ok"):
        names.append("no_disc_fit")
    elif not all(constrained_kinematics(row).values()):
        names.append("kinematics_unconstrained")
    elif row.get("v_max_source") == "line_centres":
        names.append("vmax_from_line_centres")
    if row.get("disc_ok") and row.get("r_turn_at_bound"):
        names.append("rturn_at_bound")
    if row.get("psf_source", "star") == "spectrograph mean":
        names.append("psf_fallback")
    return join_flags(names)
