"""Velocity fields and the six-parameter rotating-disc model (KROSS §3.2; Swinbank et al. 2012).

Per-spaxel Hα + [NII] fits run as one batch over all spaxels of a cube (after a 3×3
boxcar, which lifts the outskirts above the noise as the paper's adaptive binning does).
The line-of-sight velocity field is then fitted with an inclined disc whose rotation
curve is an arctangent:

    v_los(x, y) = v_max (2/π) arctan(R / r_t) sin i cos φ

with R and φ the radius and azimuth in the disc plane for centre (x0, y0), position
angle PA and inclination i: six parameters. The fitted (x0, y0) is the dynamical centre
on which notebook 03 centres its curve of growth. The model's velocities, with and without the
beam smearing, are :mod:`redshift1.kmos.velocity_model`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import astropy.units as u
from scipy.ndimage import uniform_filter
from scipy.optimize import least_squares

from ..constants import C_KMS
from .cube import KMOSCube
from .. import constants as C
from .linefit import LINES_UM, fit_halpha_nii, line_sigma_um
from .velocity_model import disc_velocity, smeared_disc_velocity, smeared_unit_velocities
from .kinematics_errors import R_TURN_GRID, boxcar_covariance, errors_holding, profile_interval

__all__ = ["DISC_PARAMS", "VelocityField", "spaxel_fits", "first_moment_velocity", "disc_velocity",
           "smeared_disc_velocity", "smeared_unit_velocities", "DiscFit", "fit_disc", "fit_rotation_amplitude",
           "velocity_field_of"]

DISC_PARAMS = ("inclination", "v_max", "pa", "x0", "y0", "r_turn")


@dataclass
class VelocityField:
    """Maps (ny, nx) from per-spaxel fits; velocities relative to ``z_sys``.

    Attributes
    ----------
    z_sys : float
        Systemic redshift the velocities refer to.
    velocity, velocity_err : numpy.ndarray
        Line-of-sight velocity and its 1σ error [km/s].
    sigma : numpy.ndarray
        Intrinsic velocity dispersion [km/s].
    flux, flux_err : numpy.ndarray
        Hα flux and its error (data unit × µm); ``snr`` is their ratio.
    good : numpy.ndarray
        bool, spaxels whose fit passed the S/N and sanity cuts.
    smooth : int
        Boxcar [spaxel] the cube was smoothed with before the fits: neighbouring spaxels'
        errors are correlated over it.
    moment, moment_err : numpy.ndarray or None
        Light-weighted (first-moment) velocity within ±3σ of the fitted line and its 1σ
        [km/s]: what a beam-smeared model's light-weighted velocity predicts. A spaxel
        whose light blends a bright, slow inner part smeared out by the PSF with its own
        gas has a skewed line, whose Gaussian centre is not its mean (on a noise-free
        mock disc ×1.2 near the centre, ×0.86 at 1-1.6″).
    """

    z_sys: float
    velocity: np.ndarray
    velocity_err: np.ndarray
    sigma: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    good: np.ndarray
    smooth: int = 1
    moment: np.ndarray | None = None
    moment_err: np.ndarray | None = None

    @property
    def snr(self):
        return self.flux / self.flux_err


def spaxel_fits(data_cs: np.ndarray, noise: np.ndarray, wave_um: np.ndarray, z_sys: float,
                dv_kms: float = 500.0, smooth: int = 3, snr_min: float = 5.0) -> VelocityField:
    """Fit every spaxel of a continuum-subtracted cube at once (batched LM).

    The cube is smoothed spatially by a ``smooth``×``smooth`` boxcar first (noise propagated
    as for a mean of independent spaxels).

    Parameters
    ----------
    data_cs : numpy.ndarray
        (nλ, ny, nx) continuum-subtracted cube.
    noise : numpy.ndarray
        (nλ, ny, nx) 1σ noise.
    wave_um : numpy.ndarray
        (nλ,) channel wavelengths [µm].
    z_sys : float
        Systemic redshift.
    dv_kms : float, optional
        The line must lie within ±``dv_kms`` of ``z_sys``.
    smooth : int, optional
        Boxcar size [spaxel]; 1 for none.
    snr_min : float, optional
        Hα S/N a spaxel needs to be ``good``.

    Returns
    -------
    VelocityField
        The maps.
    """
    nl, ny, nx = data_cs.shape
    valid = np.isfinite(data_cs) & np.isfinite(noise)
    d = np.where(valid, data_cs, 0.0)
    v = np.where(valid, noise**2, 0.0)
    if smooth > 1:
        cnt = uniform_filter(valid.astype(float), size=(1, smooth, smooth), mode="constant")
        d = uniform_filter(d, size=(1, smooth, smooth), mode="constant")
        v = uniform_filter(v, size=(1, smooth, smooth), mode="constant")
        with np.errstate(invalid="ignore", divide="ignore"):
            d = d / cnt
            v = v / cnt / (cnt * smooth * smooth)
    else:
        cnt = valid.astype(float)
    # uniform_filter sums with running differences: a variance of zero next to large ones
    # comes back as a tiny negative round-off, which is zero
    err = np.sqrt(np.clip(v, 0.0, None))
    spax_ok = valid.any(axis=0).ravel()
    flux = d.reshape(nl, -1).T[spax_ok]
    e = err.reshape(nl, -1).T[spax_ok]
    e = np.where(e > 0, e, np.nan)
    dz = dv_kms / C_KMS * (1 + z_sys)
    fit = fit_halpha_nii(wave_um, flux, e, np.full(flux.shape[0], z_sys), dz=dz)
    out = {k: np.full(ny * nx, np.nan) for k in ("v", "ve", "s", "f", "fe", "m", "me")}
    out["m"][spax_ok], out["me"][spax_ok] = first_moment_velocity(wave_um, flux, e, fit, z_sys)
    out["v"][spax_ok] = (fit.z - z_sys) / (1 + z_sys) * C_KMS
    out["ve"][spax_ok] = fit.z_err / (1 + z_sys) * C_KMS
    out["s"][spax_ok] = fit.sigma_kms
    out["f"][spax_ok] = fit.flux_halpha
    out["fe"][spax_ok] = fit.flux_halpha_err
    shape = (ny, nx)
    f, fe = out["f"].reshape(shape), out["fe"].reshape(shape)
    ve = out["ve"].reshape(shape)
    good = np.isfinite(f) & (f / fe > snr_min) & np.isfinite(ve) & (ve > 0) & (ve < 150)
    return VelocityField(z_sys=z_sys, velocity=out["v"].reshape(shape), velocity_err=ve,
                         sigma=out["s"].reshape(shape), flux=f, flux_err=fe, good=good, smooth=max(int(smooth), 1),
                         moment=out["m"].reshape(shape), moment_err=out["me"].reshape(shape))


def first_moment_velocity(wave_um: np.ndarray, flux: np.ndarray, noise: np.ndarray, fit, z_sys: float,
                          n_sigma: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Light-weighted Hα velocity of each spectrum within ±``n_sigma`` of its fitted line.

    Parameters
    ----------
    wave_um : numpy.ndarray
        (M,) channel wavelengths [µm].
    flux, noise : numpy.ndarray
        (N, M) continuum-subtracted spectra and their 1σ.
    fit : LineFit
        Their Hα + [NII] fits (centre, width and continuum).
    z_sys : float
        Systemic redshift the velocities refer to.
    n_sigma : float, optional
        Half-width of the window in the fitted line's total σ.

    Returns
    -------
    tuple of numpy.ndarray
        (N,) velocity and its 1σ [km/s] (NaN where the window holds no positive flux).
    """
    lam_ha = LINES_UM[0]
    centre = lam_ha * (1 + fit.z)
    width = line_sigma_um(centre, np.nan_to_num(fit.sigma_kms, nan=60.0), C.KMOS_RESOLUTION)
    win = np.abs(wave_um[None, :] - centre[:, None]) < n_sigma * width[:, None]
    win &= np.isfinite(flux) & np.isfinite(noise)
    line = np.where(win, flux - np.nan_to_num(fit.params[:, 4])[:, None], 0.0)
    v = (wave_um / (lam_ha * (1 + z_sys)) - 1) * C_KMS
    with np.errstate(invalid="ignore", divide="ignore"):
        total = line.sum(axis=1)
        mom = (line * v[None, :]).sum(axis=1) / total
        err = np.sqrt((np.where(win, noise, 0.0) ** 2 * (v[None, :] - mom[:, None]) ** 2).sum(axis=1)) / np.abs(total)
    bad = ~(total > 0)
    mom[bad], err[bad] = np.nan, np.nan
    return mom, err


@dataclass
class DiscFit:
    """The six-parameter disc fitted to a velocity field (:func:`fit_disc`).

    Each name of :data:`DISC_PARAMS` is an attribute (an entry of ``params``);
    ``axis_ratio`` and ``pa_photutils`` are derived.

    Attributes
    ----------
    params, errors : numpy.ndarray
        (6,) best fit and 1σ errors in the order of :data:`DISC_PARAMS`.
    chi2_red : float
        Reduced χ² of the fit.
    n_spaxels : int
        Good spaxels fitted.
    success : bool
        False when too few spaxels or the optimiser failed (``params`` is then the start).
    v_max_from_moments : bool
        v_max and r_t were refitted to the first-moment velocities (:func:`fit_rotation_amplitude`);
        False: from the Gaussian line centres, which leave v_max 3-4 % low.
    r_turn_at_bound : bool
        The moments' r_t sat at its lower bound (a curve flat beyond the first spaxel): v_max
        is that plateau, and low where the true curve still rises over the data.
    v_max_limits : (float, float)
        v_max's 1σ lower and upper limit, profiled over r_t, with the inclination's error
        (:func:`fit_rotation_amplitude`); NaN otherwise. ``errors`` then holds their mean
        half-width.
    """
    params: np.ndarray
    errors: np.ndarray
    chi2_red: float
    n_spaxels: int
    success: bool
    v_max_from_moments: bool = False
    r_turn_at_bound: bool = False
    v_max_limits: tuple = (np.nan, np.nan)

    def __getattr__(self, name):
        if name in DISC_PARAMS:
            return self.params[DISC_PARAMS.index(name)]
        raise AttributeError(name)

    @property
    def axis_ratio(self, q0: float = 0.2):
        """Projected axis ratio of a thick disc (intrinsic q0 = 0.2) at the fitted inclination."""
        c = np.cos(np.radians(self.params[0]))
        return float(np.sqrt(c**2 * (1 - q0**2) + q0**2))

    @property
    def pa_photutils(self):
        """Major-axis angle counter-clockwise from +x (photutils' theta), in degrees."""
        return float(90.0 - self.params[2])


def fit_disc(vf: VelocityField, centre_guess: tuple[float, float], min_spaxels: int = 8,
             centre_prior: float = 1.0, inclination_prior: tuple[float, float] | None = None,
             smearing: dict | None = None) -> DiscFit:
    """Fit the six-parameter disc to the good spaxels of a velocity field (least squares).

    A systemic-velocity offset is fitted alongside as a nuisance (the integrated redshift is
    light-weighted, not systemic). The centre carries a weak Gaussian prior around
    ``centre_guess`` (the Hα light centroid): seeing-limited velocity fields constrain it
    poorly. PA starts from the direction of the velocity gradient.

    Parameters
    ----------
    vf : VelocityField
        The maps (:func:`spaxel_fits`).
    centre_guess : tuple of float
        (x, y) starting centre, 0-based spaxels.
    min_spaxels : int, optional
        Fewer good spaxels: ``success=False`` at the centre guess.
    centre_prior : float, optional
        Width of the centre's Gaussian prior [spaxel].
    inclination_prior : tuple of float, optional
        (inclination, 1σ) [deg] fixing the inclination to the morphology's: the velocity field
        alone constrains v_max sin i, not v_max and i apart (and beam smearing biases its
        inclination face-on by 10-30° on KinMS discs even with a prior), so v_max is fitted at
        that inclination and its error carries the inclination's (v_max cot i σ_i).
    smearing : dict, optional
        Keywords of :func:`smeared_disc_velocity` beyond the disc (``r_d``, ``psf_sigma``,
        ``smooth``, ``psf_ellipticity``, ``psf_pa``): fit the beam-smeared disc instead of the
        bare one.

    Returns
    -------
    DiscFit
        Best fit, errors and quality.
    """
    y, x = np.nonzero(vf.good)
    n = x.size
    fallback = DiscFit(np.array([45.0, np.nan, np.nan, centre_guess[0], centre_guess[1], np.nan]),
                       np.full(6, np.nan), np.nan, n, False)
    if n < min_spaxels:
        return fallback
    v, ve = vf.velocity[y, x], vf.velocity_err[y, x]
    w = 1.0 / np.hypot(ve, 10.0)                    # 10 km/s floor: beam smearing, model error
    # PA guess: direction of the velocity gradient (weighted linear fit v = a dx + b dy)
    dx, dy = x - centre_guess[0], y - centre_guess[1]
    a, b = np.linalg.lstsq(np.column_stack([dx, dy, np.ones(n)]) * w[:, None], v * w, rcond=None)[0][:2]
    pa0 = np.degrees(np.arctan2(a, b)) % 360
    vmax0 = max(np.nanpercentile(np.abs(v), 90) * 1.3, 30.0)

    fixed_inc = (inclination_prior is not None and np.all(np.isfinite(inclination_prior))
                 and inclination_prior[1] > 0)

    def resid(p):
        full = np.concatenate([[inclination_prior[0]], p]) if fixed_inc else p
        if smearing is not None:
            model = smeared_disc_velocity(full[:6], vf.good.shape, **smearing)[y, x] + full[6]
        else:
            model = disc_velocity(full[:6], x, y) + full[6]
        prior = (full[3:5] - np.asarray(centre_guess)) / centre_prior
        return np.concatenate([(model - v) * w, prior])

    best = None
    for inc0 in ((None,) if fixed_inc else (35.0, 60.0)):
        p0 = np.array([inc0, vmax0, pa0, centre_guess[0], centre_guess[1], 1.0, np.median(v)])
        lo = [10.0, 0.0, pa0 - 180, centre_guess[0] - 3, centre_guess[1] - 3, 0.05, -300]
        hi = [85.0, 600.0, pa0 + 180, centre_guess[0] + 3, centre_guess[1] + 3, 10.0, 300]
        xs = [10, 50, 20, 0.5, 0.5, 0.5, 20]
        if fixed_inc:
            p0, lo, hi, xs = p0[1:], lo[1:], hi[1:], xs[1:]
        try:
            r = least_squares(resid, p0, bounds=(lo, hi), x_scale=xs)
        except ValueError:
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None:
        return fallback
    npar = best.x.size
    dof = max(n - npar, 1)
    chi2_red = 2 * best.cost / dof
    try:
        cov = boxcar_covariance(best.jac, x, y, ve * w, vf.smooth) * max(chi2_red, 1.0)
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(npar, np.nan)
    if fixed_inc:
        err = np.concatenate([[inclination_prior[1]], err])
        err[1] = _with_inclination_error(err[1], best.x[0], *inclination_prior)
        best.x = np.concatenate([[inclination_prior[0]], best.x])
    err = err[:6]
    p = best.x[:6].copy()
    p[2] %= 360
    return DiscFit(p, err, float(chi2_red), n, bool(best.success))


def fit_rotation_amplitude(vf: VelocityField, disc: DiscFit, inclination_prior: tuple[float, float],
                           smearing: dict, min_spaxels: int = 8) -> DiscFit:
    """v_max and r_t of the beam-smeared disc refitted to the first-moment velocities, at the
    PA and centre of ``disc`` and the prior's inclination.

    The beam-smeared model predicts light-weighted velocities; a spaxel's Gaussian centre is
    not its light-weighted mean where its line blends the smeared slow centre with its own
    gas, and a model fitted to Gaussian centres left v sin i 3-5 % low (noise-free mock discs,
    KinMS discs ×0.962). The first moments are noisier: the geometry stays that of the fit to
    the Gaussian centres (fitting it to the moments too widened the PA scatter 7.7° → 9.8°
    on the paper preset).

    Parameters
    ----------
    vf : VelocityField
        The maps, with ``moment`` and ``moment_err`` (:func:`spaxel_fits`).
    disc : DiscFit
        The beam-smeared fit to the Gaussian centres (:func:`fit_disc` with ``smearing``).
    inclination_prior : (float, float)
        The inclination and its 1σ [deg] (enters v_max's error as v_max cot i σ_i).
    smearing : dict
        As :func:`fit_disc`.
    min_spaxels : int, optional
        Fewer spaxels with a moment: ``disc`` is returned unchanged.

    Returns
    -------
    DiscFit
        ``disc`` with v_max, r_t and their errors from the moments.
    """
    if not disc.success or vf.moment is None:
        return disc
    with np.errstate(invalid="ignore"):
        good = vf.good & np.isfinite(vf.moment) & (vf.moment_err > 0)
    y, x = np.nonzero(good)
    if x.size < min_spaxels:
        return disc
    v, ve = vf.moment[y, x], vf.moment_err[y, x]
    w = 1.0 / np.hypot(ve, 10.0)
    inc, pa, x0, y0 = disc.inclination, disc.pa, disc.x0, disc.y0

    def resid(q):
        model = smeared_disc_velocity((inc, q[0], pa, x0, y0, q[1]), vf.good.shape, **smearing)[y, x] + q[2]
        return (model - v) * w

    start = [float(np.clip(disc.v_max, 1.0, 599.0)), float(np.clip(disc.r_turn, 0.06, 9.9)), float(np.median(v))]
    try:
        r = least_squares(resid, start, bounds=([0.0, 0.05, -300.0], [600.0, 10.0, 300.0]), x_scale=[50, 0.5, 20])
        chi2_red = 2 * r.cost / max(x.size - 3, 1)
        # r_t at its lower bound: the curve is flat beyond the first spaxel and v_max is that
        # plateau, measured at that r_t (at the upper bound it is an extrapolation: left free)
        held = np.array([False, r.active_mask[1] < 0, False])
        scale = max(chi2_red, 1.0)
        err = errors_holding(r, held, x, y, ve * w, vf.smooth)
        # v_max's interval profiled over r_t (the covariance mirrors the r_t-v_max banana); a
        # χ² step counted as if the spaxels were independent is the boxcar's variance
        # inflation (sandwich over (JᵀJ)⁻¹) too large for the same change of v_max
        jac = r.jac[:, ~held]
        naive = np.linalg.inv(jac.T @ jac)[0, 0]
        delta = (err[0] ** 2 / naive if naive > 0 else 1.0) * scale
        err = err * np.sqrt(scale)
        units = smeared_unit_velocities((inc, pa, x0, y0), np.union1d(R_TURN_GRID, [r.x[1]]), vf.good.shape,
                                        **smearing)[:, y, x]
        lo, hi, _ = profile_interval(units, v, w, delta)
    except (ValueError, np.linalg.LinAlgError):
        return disc
    if not r.success:
        return disc
    p, e = disc.params.copy(), disc.errors.copy()
    p[1], p[5] = r.x[0], r.x[1]
    limits = _with_inclination_limits(r.x[0], lo, hi, *inclination_prior)
    e[1] = 0.5 * (limits[1] - limits[0]) if np.all(np.isfinite(limits)) else \
        _with_inclination_error(err[0], r.x[0], *inclination_prior)
    e[5] = err[1]
    return DiscFit(p, e, disc.chi2_red, disc.n_spaxels, True, v_max_from_moments=True,
                   r_turn_at_bound=bool(held[1]), v_max_limits=limits)


def _with_inclination_limits(v_max: float, lo: float, hi: float, inc: float, inc_err: float) -> tuple:
    """v_max's 1σ limits with the inclination's error added to each side in quadrature."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return (np.nan, np.nan)
    lo, hi = min(lo, v_max), max(hi, v_max)
    down = _with_inclination_error(v_max - lo, v_max, inc, inc_err)
    up = _with_inclination_error(hi - v_max, v_max, inc, inc_err)
    return (float(max(v_max - down, 0.0)), float(v_max + up))


def _with_inclination_error(v_err: float, v_max: float, inc: float, inc_err: float) -> float:
    """v_max's error with the inclination's: v_max = (v_max sin i) / sin i, so σ_i enters as
    v_max cot i σ_i in quadrature."""
    return float(np.hypot(v_err, v_max * np.radians(inc_err) / np.tan(np.radians(inc))))


def velocity_field_of(cube: KMOSCube, data_cs: np.ndarray, z_sys: float, **kw) -> VelocityField:
    """:func:`spaxel_fits` on a loaded cube.

    Parameters
    ----------
    cube : KMOSCube
        The cube (its noise and wavelengths are used).
    data_cs : numpy.ndarray
        Its continuum-subtracted data.
    z_sys : float
        Systemic redshift.
    **kw
        Passed to :func:`spaxel_fits`.

    Returns
    -------
    VelocityField
        The maps.
    """
    return spaxel_fits(data_cs, cube.noise, cube.wavelength.to_value(u.um), z_sys, **kw)
