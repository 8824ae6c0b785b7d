"""Notebook 03 for one cube and for the survey: velocity field → disc model → dynamical
centre → curve of growth → r½(Hα) → PSF-corrected r′½, resolved flag and error budget,
plus the paper's two cross-checks (light-centroid centre; a 2D profile-model fit)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.modeling import fitting, models
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning

from ..cosmology import KROSS_COSMO
from ..constants import SIGMA_TO_FWHM
from ..errors import Redshift1Error
from ..flags import join_flags
from .cube import KMOSCube, read_kmos_cube
from .kinematics import fit_disc, spaxel_fits
from .psf import attach_psf
from .sizes import (_radius_at, disc_model_total, half_light_radius, inclination_from_axis_ratio, optical_hwhm,
                    psf_corrected_radius, size_error_budget)
from .spectra import continuum_subtract, narrowband_map, psf_matched_centre


INCLINATION_SOURCES = ("morphology", "kinematic")


@dataclass(frozen=True)
class SizeConfig:
    """Analysis choices of notebook 03 (each one a notebook parameter)."""

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
    # the velocity field alone trades v_max against sin i: "morphology" ties the inclination
    # to the axis ratio of the Hα disc model (or the HST one, where given) for a disc of
    # intrinsic thickness q0; "kinematic" is the six-parameter velocity-field fit alone
    inclination_from: str = "morphology"
    q0: float = 0.2
    hst_q_err: float = 0.05          # 1σ of an HST (GALFIT) axis ratio, which carries none


def gaussian_profile_r_half(image, error, centre) -> float:
    """Cross-check 2: r½ (spaxels) of an elliptical 2D Gaussian fitted to the Hα map
    (a GALFIT-like parametric size; for a Gaussian r½ = sqrt(2 ln 2) σ, circularised)."""
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


def quadrature_bias_factor(shape, centre, r_d, q, theta, psf_sigma, q_apertures, h, opts) -> float:
    """Intrinsic r½ of the fitted disc model (1.678 r_d, semi-major) over what the curve of
    growth plus quadrature PSF subtraction gives on the model's own noise-free image (same
    centre, apertures, PSF r½ ``h`` spaxels); 1 where the model is unresolved or not finite."""
    from .extraction import exponential_disc_image

    img = exponential_disc_image(shape, centre, r_d, q, theta, psf_sigma)
    # the model's total is known (1): no extrapolation cap, or a disc overfilling the field
    # would look small and get a spurious factor (2.8 on one quick-preset galaxy)
    model_opts = dict(opts, model_total=1.0, max_extrapolation=np.inf)
    sm = half_light_radius(img, np.full(shape, 1e-3 * img.max()), centre, q_apertures, theta, **model_opts)
    if not np.isfinite(sm.r_half) or sm.r_half <= h:
        return 1.0
    factor = float(1.6783469900166612 * r_d / np.sqrt(sm.r_half**2 - h**2))
    # beyond this range the model, not the PSF, drives the factor: no correction
    return factor if PSF_FACTOR_RANGE[0] <= factor <= PSF_FACTOR_RANGE[1] else 1.0


#: psf correction factors outside this range are not applied (the disc model is not the galaxy)
PSF_FACTOR_RANGE = (0.6, 1.4)


def _cog_options(cfg: SizeConfig, psf_r_half_spaxels: float, model_total: float | None = None) -> dict:
    return {"max_extrapolation": cfg.max_extrapolation, "extrapolation": cfg.extrapolation,
            "psf_r_half": psf_r_half_spaxels, "model_total": model_total}


def measure_size_cube(cube: KMOSCube, z: float, sigma_kms: float, hwhm: float, psf_ell: float,
                      cfg: SizeConfig = SizeConfig(), psf_hwhm_optical: float | None = None,
                      axis_ratio_prior: tuple[float, float] | None = None) -> dict:
    """Sizes of one detected galaxy (radii in arcsec).

    ``hwhm`` is the PSF's half-light radius as the data show it (the star's curve-of-growth
    r½, ``psf_r_half`` of notebook 01): it is subtracted in quadrature and is the
    resolution limit. ``psf_hwhm_optical`` (arcsec, the star fit's ``hwhm``) shapes the disc
    model of ``extrapolation="disc"``; without it the spaxel box is taken out of ``hwhm``.
    """
    if cfg.inclination_from not in INCLINATION_SOURCES:
        raise Redshift1Error(f"inclination_from must be one of {INCLINATION_SOURCES}, not {cfg.inclination_from!r}")
    lam = cube.wavelength.to_value(u.um)
    pix = cube.pixel_scale.to_value(u.arcsec)
    cs, _ = continuum_subtract(cube, z)
    vf = spaxel_fits(cs, cube.noise, lam, z, smooth=cfg.smooth, snr_min=cfg.spaxel_snr_min)
    nb, nb_err = narrowband_map(cs, cube.noise, lam, z, sigma_kms, nsig=cfg.map_nsig)
    pix_psf_sigma = hwhm / pix / (SIGMA_TO_FWHM / 2)
    light = psf_matched_centre(nb, pix_psf_sigma)
    disc = fit_disc(vf, light, centre_prior=cfg.centre_prior)
    status = "ok" if disc.success else "no disc fit: light centroid used"
    centre = (disc.x0, disc.y0) if disc.success else light
    q = disc.axis_ratio if disc.success else 1.0
    theta = disc.pa_photutils if disc.success else 0.0
    model_total, in_field, r_d_model, psf_sigma = None, np.nan, np.nan, np.nan
    if cfg.extrapolation == "disc":
        if psf_hwhm_optical is None or not np.isfinite(psf_hwhm_optical):
            psf_hwhm_optical = optical_hwhm(hwhm, pix)
        psf_sigma = psf_hwhm_optical / pix / (SIGMA_TO_FWHM / 2)
        # the axis ratio from the light: the velocity field's inclination trades off against
        # the rotation speed and came out ~30° too face-on on the mock, making the apertures
        # too round and large discs' r½ ~20% small
        _, r_d_model, q_model, in_field, q_refined, q_model_err = disc_model_total(nb, nb_err, centre, None, theta, psf_sigma,
                                                                           with_axis_ratio_error=True)
        if np.isfinite(q_model):
            q = q_model
        # the model says which fraction of the light the field holds; the total is the map's
        # own sum scaled by it, so the half-light level shares the map's normalisation
        if np.isfinite(in_field) and in_field > 0:
            model_total = float(np.nansum(nb)) / in_field
    q_morph, q_morph_err, q_source = (q_refined, q_model_err, "halpha_disc_model") if cfg.extrapolation == "disc" \
        else (np.nan, np.nan, "")
    if axis_ratio_prior is not None and np.all(np.isfinite(axis_ratio_prior)):
        q_morph, q_morph_err, q_source = float(axis_ratio_prior[0]), float(axis_ratio_prior[1]), "given"
    inc_morph, inc_morph_err = inclination_from_axis_ratio(q_morph, q_morph_err, cfg.q0)
    if cfg.inclination_from == "morphology" and disc.success and np.isfinite(inc_morph_err):
        # the velocity field refitted at the morphological inclination, whose error v_max
        # carries (a floor of 3°: the disc model's axis ratio is not exact for a real galaxy)
        # and with the beam smearing of the light-weighted velocities modelled
        smear = (r_d_model, psf_sigma, cfg.smooth) if np.isfinite(r_d_model) and np.isfinite(psf_sigma) else None
        tied = fit_disc(vf, light, centre_prior=cfg.centre_prior,
                        inclination_prior=(float(np.clip(inc_morph, 1.0, 89.0)), max(inc_morph_err, 3.0)),
                        smearing=smear)
        if tied.success:
            disc = tied
    opts = _cog_options(cfg, hwhm / pix, model_total)
    sm = half_light_radius(nb, nb_err, centre, q, theta, **opts)
    # the apertures must follow the *observed* shape: the PSF rounds a small disc, so a compact
    # source measured along its intrinsic (inclined) ellipse would look larger than the PSF
    # (iterated to a fixed point: from the disc's q, each pass rounds the ellipse by about
    # half the remaining way, so stopping after two leaves a point source 5-10% too big)
    h = hwhm / pix
    q_obs = q
    for _ in range(12):
        if not np.isfinite(sm.r_half):
            break
        r_int2 = max(sm.r_half**2 - h**2, 0.0)
        q_new = np.sqrt((q**2 * r_int2 + h**2) / (r_int2 + h**2))
        if abs(q_new - q_obs) < 0.005:
            break
        q_obs = q_new
        sm = half_light_radius(nb, nb_err, centre, q_obs, theta, **opts)
    if sm.total_model > sm.total_measured * (cfg.max_extrapolation - 1e-9):
        status = "curve of growth does not converge: extrapolation capped"
    q_final = q_obs if np.isfinite(sm.r_half) and disc.success else q
    sm_light = half_light_radius(nb, nb_err, light, q_final, theta, **opts)
    sm_round = half_light_radius(nb, nb_err, centre, 1.0, 0.0, **opts)
    r_model = gaussian_profile_r_half(nb, nb_err, light)
    r_half = sm.r_half * pix
    # the curve of growth's noise, plus what the choice of centre and aperture shape moves r½ by
    # (and of the flux beyond the field: r½ of the measured total, with no extrapolation)
    r_no_extrapolation = _radius_at(sm.radii, sm.cog, 0.5 * sm.total_measured)
    spread = np.nanstd([sm.r_half, sm_light.r_half, sm_round.r_half, r_no_extrapolation]) * pix
    r_err = np.hypot(sm.r_half_err * pix, spread)
    hw = hwhm if cfg.psf_correction else 0.0
    r_corr, resolved = psf_corrected_radius(r_half, hw)
    r_corr_err = size_error_budget(r_half, r_err, hw, cfg.seeing_variation, psf_ell) if cfg.psf_correction else r_err
    factor = 1.0
    if cfg.psf_correction and cfg.psf_correction_method == "model" and resolved and np.isfinite(r_d_model):
        factor = quadrature_bias_factor(nb.shape, centre, r_d_model, q_model, theta, psf_sigma, q_final, h, opts)
        r_corr, r_corr_err = r_corr * factor, r_corr_err * factor
    kpc = KROSS_COSMO.kpc_proper_per_arcmin(z).to_value(u.kpc / u.arcsec)
    return {
        "size_status": status, "x_dyn": centre[0], "y_dyn": centre[1], "x_light": light[0], "y_light": light[1],
        "disc_ok": disc.success, "inclination": disc.inclination, "pa": disc.pa, "v_max": disc.v_max,
        "inclination_err": disc.errors[0], "pa_err": disc.errors[2], "v_max_err": disc.errors[1],
        "axis_ratio": q_morph, "axis_ratio_err": q_morph_err, "axis_ratio_source": q_source,
        "inclination_morph": inc_morph, "inclination_morph_err": inc_morph_err,
        "extrapolation_capped": bool(sm.total_model > sm.total_measured * (cfg.max_extrapolation - 1e-9)),
        "r_turn_arcsec": disc.r_turn * pix, "n_velocity_spaxels": int(vf.good.sum()),
        "psf_r_half": hwhm, "r_half_arcsec": r_half, "r_half_err_arcsec": r_err,
        "r_half_corr_arcsec": float(r_corr), "r_half_corr_err_arcsec": float(r_corr_err),
        "r_half_corr_kpc": float(r_corr) * kpc, "r_half_corr_err_kpc": float(r_corr_err) * kpc,
        "resolved": bool(resolved), "psf_correction_factor": factor,
        "recovered_fraction": in_field if cfg.extrapolation == "disc" and model_total is not None else sm.recovered_fraction,
        "r_half_centroid_arcsec": sm_light.r_half * pix, "r_half_model_arcsec": r_model * pix,
        "_maps": (nb, nb_err, vf, sm),
    }


#: a disc fit whose inclination lies this close (deg) to the fit's bounds (10°, 85°), or
#: whose v_max error exceeds this fraction of v_max, leaves the kinematics unconstrained
INCLINATION_BOUNDS = (10.0, 85.0)
INCLINATION_MARGIN = 1.0
VMAX_MAX_REL_ERR = 0.5
PA_MAX_ERR = 45.0
INCLINATION_MAX_ERR = 20.0


def constrained_kinematics(row) -> dict:
    """Which of inclination, PA and v_max the velocity field constrains (bool each): a
    finite error below ``INCLINATION_MAX_ERR`` / ``PA_MAX_ERR``, away from the fit's bounds,
    v_max known to better than ``VMAX_MAX_REL_ERR`` (and only with a constrained inclination:
    the velocity field alone trades v_max against sin i)."""
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
    """The ``flags`` cell of one size row (see :mod:`redshift1.flags`)."""
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
    if row.get("psf_source", "star") == "spectrograph mean":
        names.append("psf_fallback")
    return join_flags(names)


SIZE_COLUMNS = ("id", "status", "size_status", "x_dyn", "y_dyn", "x_light", "y_light", "disc_ok", "inclination",
                "inclination_err", "pa", "pa_err", "v_max", "v_max_err", "axis_ratio", "axis_ratio_err",
                "axis_ratio_source", "inclination_morph", "inclination_morph_err", "extrapolation_capped", "r_turn_arcsec", "n_velocity_spaxels", "psf_hwhm", "psf_r_half", "r_half_arcsec",
                "r_half_err_arcsec", "r_half_corr_arcsec", "r_half_corr_err_arcsec", "r_half_corr_kpc",
                "r_half_corr_err_kpc", "resolved", "psf_correction_factor", "recovered_fraction", "r_half_centroid_arcsec",
                "r_half_model_arcsec", "psf_source", "flags")


def _size_target(job) -> tuple[dict, tuple | None]:
    """One target of :func:`measure_sizes` (module level, so it can run on other processes)."""
    kmos_dir, t, s, cfg, keep_maps = job
    row = dict.fromkeys(SIZE_COLUMNS, np.nan)
    row.update(id=t["id"], status="ok", size_status="", disc_ok=False, resolved=False, n_velocity_spaxels=0,
               axis_ratio_source="",
               extrapolation_capped=False, psf_source=t["psf_source"], flags="")
    # subtract the PSF's r½ as sampled (the star's curve of growth); an older PSF table
    # without it falls back to the optical HWHM
    hwhm = t["psf_r_half"] if np.isfinite(t["psf_r_half"]) else t["psf_hwhm"]
    ell = t["psf_ellipticity"]
    row["psf_hwhm"] = t["psf_hwhm"]
    row["psf_r_half"] = hwhm
    if s is None or s["status"] != "ok":
        row["status"] = "not measured: no integrated spectrum"
    elif not s["halpha_detected"]:
        row["status"] = "not measured: Hα not detected"
    elif not np.isfinite(hwhm):
        row["status"] = f"not measured: no PSF for pointing {t['pointing']} spectrograph {t['spectrograph']}"
    else:
        try:
            cube = read_kmos_cube(Path(kmos_dir) / t["cube"])
            q_hst = t.get("hst_q", np.nan)
            m = measure_size_cube(cube, s["z"], s["sigma_kms"], hwhm, ell, cfg, psf_hwhm_optical=t["psf_hwhm"],
                                  axis_ratio_prior=(q_hst, cfg.hst_q_err) if np.isfinite(q_hst) else None)
            row.update({k: v for k, v in m.items() if not k.startswith("_")})
            row["flags"] = size_flags(row)
            return row, (m["_maps"] if keep_maps else None)
        except Redshift1Error as exc:
            row["status"] = f"skipped: {exc}"
    row["flags"] = size_flags(row)
    return row, None


def measure_sizes(kmos_dir: str | Path, targets: Table, spectra: Table, psf_table: Table,
                  cfg: SizeConfig = SizeConfig(), progress: bool | None = None,
                  keep_maps: bool = False, workers: int = 1, scheduler=None,
                  hst: Table | None = None) -> tuple[Table, dict]:
    """Sizes of every Hα-detected target; every target gets a row and a ``status``.

    ``hst`` (``hst_morphology.ecsv``: id, q) gives the galaxies HST imaged their stellar
    axis ratio as the inclination's constraint in place of the Hα map's.

    Each galaxy takes the PSF of its pointing's star on its spectrograph (notebook 01), or
    that spectrograph's survey mean where the star failed (:func:`redshift1.kmos.psf.attach_psf`).
    ``workers``/``scheduler`` spread the galaxies over processes or a Dask cluster.
    """
    from ..parallel import map_objects

    targets = attach_psf(targets, psf_table)
    spec = {str(r["id"]): {"status": str(r["status"]), "halpha_detected": bool(r["halpha_detected"]),
                           "z": float(r["z"]), "sigma_kms": float(r["sigma_kms"])} for r in spectra}
    hst_q = {str(r["id"]): float(r["q"]) for r in hst} if hst is not None and len(hst) else {}
    jobs = []
    for t in targets:
        gid = str(t["id"])
        info = {"id": gid, "cube": str(t["cube"]), "pointing": str(t["pointing"]),
                "spectrograph": int(t["spectrograph"]), "psf_hwhm": float(t["psf_hwhm"]),
                "psf_r_half": float(t["psf_r_half"]),
                "psf_ellipticity": float(t["psf_ellipticity"]), "psf_source": str(t["psf_source"]),
                "hst_q": hst_q.get(gid, np.nan)}
        jobs.append((str(kmos_dir), info, spec.get(gid), cfg, keep_maps))
    results = map_objects(_size_target, jobs, workers=workers, scheduler=scheduler, desc="Hα sizes",
                          progress=progress)
    rows = [r for r, _ in results]
    maps = {r["id"]: m for r, m in results if m is not None}
    table = Table(rows=[[r[c] for c in SIZE_COLUMNS] for r in rows], names=SIZE_COLUMNS)
    for c in SIZE_COLUMNS:
        if c.endswith("_arcsec") or c in ("psf_hwhm", "psf_r_half"):
            table[c].unit = u.arcsec
        elif c.endswith("_kpc"):
            table[c].unit = u.kpc
    for c in ("inclination", "inclination_err", "pa", "pa_err", "inclination_morph", "inclination_morph_err"):
        table[c].unit = u.deg
    table["v_max"].unit = table["v_max_err"].unit = u.km / u.s
    table["x_dyn"].unit = table["y_dyn"].unit = table["x_light"].unit = table["y_light"].unit = u.pix
    return table, maps
