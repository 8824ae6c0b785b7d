"""Hα half-light radii from curves of growth in elliptical apertures (KROSS §3.2): the
algorithms of notebook 03 (:mod:`redshift1.kmos.size_survey` applies them to each galaxy).

The curve of growth is measured with photutils elliptical apertures centred on the galaxy
(its dynamical centre in notebook 03), and r½ is the semi-major axis enclosing half of the
total flux. What recovers the flux beyond the IFU is a choice (``extrapolation``):

* ``"gaussian"`` -- KROSS's method: the curve fitted with a Gaussian radial profile
  (:func:`fit_gaussian_growth`);
* ``"disc"`` -- the walk's default: the total of a PSF-convolved 2D exponential disc fitted
  to the whole map (:func:`disc_model_total`), which also gives the morphological axis ratio
  and inclination (:func:`axis_ratio_from_profile`, :func:`inclination_from_axis_ratio`);
* ``"exponential"`` -- the curve's outer tail extrapolated as a disc's
  (:func:`fit_exponential_tail`).

The extrapolated total is capped at ``max_extrapolation`` times the measured flux. The PSF
is removed in quadrature as in KROSS, r′½ = sqrt(r½² − HWHM²) (:func:`psf_corrected_radius`),
with the HWHM as the spaxel-sampled curve of growth sees it (:func:`gaussian_psf_r_half`,
:func:`optical_hwhm`); a galaxy with r½ ≤ HWHM is unresolved and r′½ < HWHM is an upper
limit. (The walk's default further scales that correction by its effect on the disc model:
``psf_correction_method="model"`` in :mod:`~redshift1.kmos.size_survey`.) The error of r′½
adds the curve's error, a ±20% seeing variation and the PSF ellipticity in quadrature
(:func:`size_error_budget`, KROSS §3.2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from photutils.aperture import EllipticalAperture, CircularAperture, aperture_photometry

from ..constants import SIGMA_TO_FWHM


@dataclass
class SizeMeasurement:
    """A curve of growth and what it gives (radii in spaxels; fluxes in map units).

    Attributes
    ----------
    radii : numpy.ndarray
        Semi-major axes of the apertures [spaxel].
    cog, cog_err : numpy.ndarray
        Enclosed flux and its 1σ error in each aperture.
    total_measured : float
        Flux in the largest aperture.
    total_model : float
        Total flux after the extrapolation beyond the field (capped).
    recovered_fraction : float
        ``total_measured / total_model``.
    r_half, r_half_err : float
        Half-light semi-major axis and its 1σ error [spaxel].
    r_half_gauss : float
        HWHM of the best Gaussian curve of growth [spaxel] (KROSS's r½ of a Gaussian profile).
    """

    radii: np.ndarray
    cog: np.ndarray
    cog_err: np.ndarray
    total_measured: float
    total_model: float
    recovered_fraction: float
    r_half: float
    r_half_err: float
    r_half_gauss: float


def curve_of_growth(image, error, centre, radii, axis_ratio: float = 1.0, pa_deg: float = 0.0):
    """Flux (and error) within ellipses of semi-major axis ``radii``.

    NaN spaxels count as zero flux and zero error (masked).

    Parameters
    ----------
    image, error : numpy.ndarray
        2D map and its 1σ error.
    centre : tuple of float
        (x, y) centre, 0-based spaxels.
    radii : array_like
        Semi-major axes [spaxel].
    axis_ratio : float, optional
        b/a of the ellipses (≥ 0.999: circles).
    pa_deg : float, optional
        Position angle of the major axis [deg], counter-clockwise from +x (photutils' ``theta``).

    Returns
    -------
    flux, flux_err : numpy.ndarray
        Enclosed flux and its error for each radius.
    """
    img = np.where(np.isfinite(image), image, 0.0)
    err = np.where(np.isfinite(error), error, 0.0)
    mask = ~np.isfinite(image)
    radii = np.asarray(radii, float)
    if axis_ratio >= 0.999:
        aps = [CircularAperture(centre, r=r) for r in radii]
    else:
        aps = [EllipticalAperture(centre, a=r, b=max(r * axis_ratio, 1e-3), theta=np.radians(pa_deg)) for r in radii]
    tab = aperture_photometry(img, aps, error=err, mask=mask, method="exact")
    flux = np.array([tab[f"aperture_sum_{i}"][0] for i in range(len(aps))], float)
    ferr = np.array([tab[f"aperture_sum_err_{i}"][0] for i in range(len(aps))], float)
    return flux, ferr


def gaussian_growth(r, total, s):
    """Enclosed flux of a circular Gaussian of width ``s``: total (1 − exp(−r²/2s²)).

    Parameters
    ----------
    r : float or numpy.ndarray
        Radius (same unit as ``s``).
    total : float
        Total flux.
    s : float
        Gaussian σ.

    Returns
    -------
    float or numpy.ndarray
        Enclosed flux.
    """
    return total * (1.0 - np.exp(-0.5 * (r / s) ** 2))


def fit_gaussian_growth(radii, cog, cog_err, widths=None):
    """Best Gaussian curve of growth (total, s) for a measured one (KROSS §3.2's extrapolation).

    The total enters linearly, so each trial width ``s`` gets its exact least-squares total
    and the width with the lowest χ² wins: a global search, where a nonlinear fit started from
    one guess can wander to a broad, flux-doubling solution when a few inner points with tiny
    errors disagree with a pure Gaussian (spaxel sampling does that to any compact source).

    Parameters
    ----------
    radii, cog, cog_err : array_like
        Radii [spaxel], enclosed flux and its 1σ error.
    widths : array_like, optional
        Trial widths [spaxel]; default 160 values from 0.3 to 30, log-spaced.

    Returns
    -------
    total, s : float
        Best total (≥ 0) and width; ``(nan, nan)`` for a curve with fewer than two usable points.
    """
    radii, cog = np.asarray(radii, float), np.asarray(cog, float)
    err = np.asarray(cog_err, float)
    good = np.isfinite(cog) & np.isfinite(err) & (err > 0)
    if good.sum() < 2:
        return np.nan, np.nan
    widths = np.geomspace(0.3, 30.0, 160) if widths is None else np.asarray(widths, float)
    w = 1.0 / err[good] ** 2
    shape = 1.0 - np.exp(-0.5 * (radii[good][None, :] / widths[:, None]) ** 2)     # (n_s, n_r)
    total = (shape * cog[good] * w).sum(1) / (shape**2 * w).sum(1)
    chi2 = (((cog[good] - total[:, None] * shape) ** 2) * w).sum(1)
    k = int(np.argmin(chi2))
    return float(max(total[k], 0.0)), float(widths[k])


def fit_exponential_tail(radii, cog, cog_err, r_min, scales=None):
    """Total flux of a curve of growth whose outer part follows an exponential disc's:
    cog(r) = T − A (r + r_d) e^(−r/r_d).

    Beyond a couple of PSF widths a PSF-convolved exponential disc is itself exponential, so
    this extrapolates the light beyond the field as a disc's rather than a Gaussian's (which
    falls much faster and misses 20-30% of a disc that overfills the IFU). T and A are linear;
    r_d is searched globally as in :func:`fit_gaussian_growth`. A may take either sign: a
    curve that noise (or a sky residual) bends down at large radii then extrapolates below its
    last point rather than being forced upward, which on the mock kept the extrapolated totals
    unbiased (+0.01 dex) where A ≥ 0 gave +0.02-0.05.

    Parameters
    ----------
    radii, cog, cog_err : array_like
        Radii [spaxel], enclosed flux and its 1σ error.
    r_min : float
        Only points at ``radii ≥ r_min`` are fitted.
    scales : array_like, optional
        Trial r_d [spaxel]; default 120 log-spaced values from 0.2 to half the largest radius.

    Returns
    -------
    total, r_d, total_err : float
        T, the best r_d and σ(T) at that r_d; NaNs with fewer than four usable points beyond
        ``r_min``.
    """
    radii, cog = np.asarray(radii, float), np.asarray(cog, float)
    err = np.asarray(cog_err, float)
    use = (radii >= r_min) & np.isfinite(cog) & np.isfinite(err) & (err > 0)
    if use.sum() < 4:
        return np.nan, np.nan, np.nan
    if scales is None:
        # a scale beyond half the largest aperture cannot be measured inside the field: the
        # tail is then nearly straight, as a flat sky residual's, and the extrapolation runs
        # to the cap (13% of the mock's detections with scales up to 30 spaxels, 2% with this)
        scales = np.geomspace(0.2, max(0.5 * float(np.max(radii)), 0.3), 120)
    scales = np.asarray(scales, float)
    r, y, w = radii[use], cog[use], 1.0 / err[use] ** 2
    tail = (r[None, :] + scales[:, None]) * np.exp(-r[None, :] / scales[:, None])       # (n_s, n_r)
    # weighted normal equations of [1, −tail] for every scale at once
    s0, s1, s2 = w.sum(), (w * tail).sum(1), (w * tail**2).sum(1)
    b0, b1 = (w * y).sum(), (w * tail * y).sum(1)
    det = s0 * s2 - s1**2
    with np.errstate(invalid="ignore", divide="ignore"):
        total = (s2 * b0 - s1 * b1) / det
        amp = (s1 * b0 - s0 * b1) / det
        chi2 = (w * (y[None, :] - total[:, None] + amp[:, None] * tail) ** 2).sum(1)
    chi2 = np.where(np.isfinite(chi2), chi2, np.inf)
    if not np.isfinite(chi2).any():
        return np.nan, np.nan, np.nan
    k = int(np.argmin(chi2))
    return float(total[k]), float(scales[k]), float(np.sqrt(s2[k] / det[k]))


def disc_frame(shape, centre, pa_deg: float, oversample: int = 5, pad: int = 6):
    """Major- and minor-axis offsets of the sub-pixels of a grid finer than the field.

    The grid is ``oversample`` times finer than a ``shape`` field and reaches ``pad`` spaxels
    beyond it. The disc models of the size fit and of the S/N-optimal extraction are drawn on it.

    Parameters
    ----------
    shape : tuple of int
        (ny, nx) of the field.
    centre : tuple of float
        Disc centre (x, y), 0-based spaxels.
    pa_deg : float
        Major-axis angle [deg], counter-clockwise from +x.
    oversample : int, optional
        Sub-pixels per spaxel along each axis.
    pad : int, optional
        Margin beyond the field [spaxel].

    Returns
    -------
    u, v : numpy.ndarray
        Offsets along the major and the minor axis [spaxel], shape
        ``((ny + 2 pad) oversample, (nx + 2 pad) oversample)``.
    """
    ny, nx = shape
    step = 1.0 / oversample
    ys = (np.arange((ny + 2 * pad) * oversample) + 0.5) * step - pad - 0.5
    xs = (np.arange((nx + 2 * pad) * oversample) + 0.5) * step - pad - 0.5
    xx, yy = np.meshgrid(xs - centre[0], ys - centre[1])
    t = np.radians(pa_deg)
    return xx * np.cos(t) + yy * np.sin(t), -xx * np.sin(t) + yy * np.cos(t)


def disc_model_total(image, error, centre, axis_ratio: float | None, pa_deg: float, psf_sigma: float,
                     scales=None, axis_ratios=None, oversample: int = 5, pad: int = 4,
                     with_axis_ratio_error: bool = False) -> tuple:
    """Total flux of the Hα map from a 2D exponential disc convolved with the PSF.

    The disc has the given centre and major-axis angle; its scale length r_d, its projected
    axis ratio (unless ``axis_ratio`` is given) and its flux are fitted. The flux enters
    linearly, so each trial (r_d, q) gets its weighted least-squares flux and the best χ² wins.
    The model is built on a grid ``oversample`` times finer than the spaxels, ``pad`` spaxels
    beyond the field, convolved with the Gaussian PSF and binned back, so the flux includes the
    light falling beyond the field. Every pixel with an error weighs in, so unlike a curve of
    growth's outer points the fit is not at the mercy of the noisiest apertures; and the axis
    ratio comes from the light, where a velocity field's inclination is degenerate with the
    rotation speed.

    Parameters
    ----------
    image, error : numpy.ndarray
        Hα map and its 1σ error.
    centre : tuple of float
        Disc centre (x, y), 0-based spaxels.
    axis_ratio : float or None
        Fixed projected axis ratio q, or None to fit it.
    pa_deg : float
        Major-axis angle [deg], counter-clockwise from +x (photutils' convention).
    psf_sigma : float
        σ of the Gaussian PSF [spaxel] (the optical one, before spaxel sampling).
    scales : array_like, optional
        Trial r_d [spaxel]; default 60 log-spaced values from 0.1 to 12.
    axis_ratios : array_like, optional
        Trial q; default 0.2 to 1 in steps of 0.1.
    oversample : int, optional
        Sub-pixels per spaxel of the model grid.
    pad : int, optional
        Margin of the model grid beyond the field [spaxel].
    with_axis_ratio_error : bool, optional
        Also return q refined between the grid's points and its 1σ error
        (:func:`axis_ratio_from_profile`).

    Returns
    -------
    tuple
        ``(total, r_d, q, in_field)``, ``in_field`` the fraction of the model's light inside
        the field, plus ``(q_refined, q_err)`` with ``with_axis_ratio_error``; NaNs if the map
        has fewer than three usable pixels.
    """
    from scipy.ndimage import gaussian_filter

    img = np.asarray(image, float)
    err = np.asarray(error, float)
    good = np.isfinite(img) & np.isfinite(err) & (err > 0)
    if good.sum() < 3:
        return np.nan, np.nan, np.nan, np.nan
    ny, nx = img.shape
    scales = np.geomspace(0.1, 12.0, 60) if scales is None else np.asarray(scales, float)
    if axis_ratio is not None:
        axis_ratios = [axis_ratio]
    elif axis_ratios is None:
        axis_ratios = np.arange(0.2, 1.01, 0.1)
    u, v = disc_frame((ny, nx), centre, pa_deg, oversample, pad)
    w = np.where(good, 1.0 / np.where(good, err, 1.0) ** 2, 0.0)
    y = np.where(good, img, 0.0)
    best = (np.inf, np.nan, np.nan, np.nan, np.nan)
    profile = {}
    for q in axis_ratios:
        q = max(float(q), 0.05)
        r = np.hypot(u, v / q)
        for rd in scales:
            sb = np.exp(-r / rd) / (2 * np.pi * rd**2 * q * oversample**2)   # unit flux on the infinite plane
            if rd * q < 2.0 / oversample:      # below two sub-pixels: not resolved by the grid
                # narrower than the sub-grid: the samples miss the cusp's flux, but all of it
                # lies inside the padded grid, so normalise by the sum
                sb /= sb.sum()
            conv = gaussian_filter(sb, psf_sigma * oversample, mode="constant")
            model = conv.reshape(ny + 2 * pad, oversample, nx + 2 * pad, oversample).sum(axis=(1, 3))[pad:-pad, pad:-pad]
            den = (w * model**2).sum()
            if den <= 0:
                continue
            flux = (w * model * y).sum() / den
            chi2 = (w * (y - flux * model) ** 2).sum()
            profile[q] = min(profile.get(q, np.inf), chi2)
            if chi2 < best[0]:
                best = (chi2, flux, rd, q, model.sum())
    out = tuple(float(v) for v in best[1:])
    if not with_axis_ratio_error:
        return out
    return out + axis_ratio_from_profile(profile, int(good.sum()) - 2)


def axis_ratio_from_profile(profile: dict, dof: int) -> tuple[float, float]:
    """q and its 1σ error from a χ² profile.

    The minimum of a parabola through the grid's best point and its neighbours (the grid's
    0.1 steps are 4-6° of inclination), and half the range of q within Δχ² ≤ reduced χ² of
    the best fit, at least one grid step.

    Parameters
    ----------
    profile : dict
        ``{q: min χ² over r_d}``.
    dof : int
        Degrees of freedom of the fit (for the reduced χ²).

    Returns
    -------
    q, q_err : float
        Best axis ratio and its 1σ error; NaNs with fewer than two finite grid points.
    """
    if len(profile) < 2:
        return np.nan, np.nan
    q = np.array(sorted(profile))
    chi2 = np.array([profile[k] for k in q])
    if not np.isfinite(chi2).any():
        return np.nan, np.nan
    k = int(np.nanargmin(chi2))
    q_best = float(q[k])
    if 0 < k < q.size - 1:
        a, b, _ = np.polyfit(q[k - 1:k + 2], chi2[k - 1:k + 2], 2)
        if a > 0:
            q_best = float(np.clip(-b / (2 * a), q[k - 1], q[k + 1]))
    red = max(np.nanmin(chi2) / max(dof, 1), 1.0)
    ok = chi2 <= np.nanmin(chi2) + red
    # at least one grid step: on KinMS discs of r_d ≈ 1-2 spaxels under the PSF the
    # profile's half-width said 0.05 while q scattered by 0.1-0.2 around the truth
    step = float(np.min(np.diff(q)))
    return q_best, float(max(0.5 * (q[ok].max() - q[ok].min()), step))


def inclination_from_axis_ratio(q, q_err=np.nan, q0: float = 0.2) -> tuple[float, float]:
    """Inclination of a thick disc seen with axis ratio ``q``.

    cos² i = (q² − q0²)/(1 − q0²) (q ≤ q0: edge-on).

    Parameters
    ----------
    q : float
        Projected axis ratio b/a.
    q_err : float, optional
        1σ error of ``q``; the inclination error is half the difference of the inclinations
        at q ∓ q_err.
    q0 : float, optional
        Intrinsic thickness (edge-on axis ratio) of the disc.

    Returns
    -------
    inclination, inclination_err : float
        [deg]; NaNs for a non-finite ``q`` (error NaN without a finite ``q_err``).
    """
    def inc(x):
        c2 = np.clip((np.clip(x, 0, 1) ** 2 - q0**2) / (1 - q0**2), 0.0, 1.0)
        return float(np.degrees(np.arccos(np.sqrt(c2))))
    if not np.isfinite(q):
        return np.nan, np.nan
    err = 0.5 * abs(inc(q - q_err) - inc(q + q_err)) if np.isfinite(q_err) else np.nan
    return inc(q), err


EXTRAPOLATIONS = ("gaussian", "exponential", "disc")
#: the exponential tail's excess over the measured flux must exceed this many σ to be used
#: (else the Gaussian's); on the mock this took the median bias of the totals from +0.012 to 0.000 dex
TAIL_MIN_SIGNIFICANCE = 2.0


def half_light_radius(image, error, centre, axis_ratio: float = 1.0, pa_deg: float = 0.0,
                      r_max: float | None = None, step: float = 0.25, max_extrapolation: float = 2.0,
                      extrapolation: str = "gaussian", psf_r_half: float = 0.0,
                      model_total: float | None = None) -> SizeMeasurement:
    """Curve of growth, extrapolation and the half-light semi-major axis (KROSS §3.2).

    The extrapolated total may exceed the measured one by at most ``max_extrapolation``: a
    profile fitted to a curve that has not turned over is unconstrained.

    Parameters
    ----------
    image, error : numpy.ndarray
        Hα map and its 1σ error.
    centre : tuple of float
        (x, y) centre of the apertures, 0-based spaxels.
    axis_ratio : float, optional
        b/a of the apertures.
    pa_deg : float, optional
        Major-axis angle of the apertures [deg], counter-clockwise from +x.
    r_max : float, optional
        Largest aperture [spaxel]; default the largest that stays mostly inside the field.
    step : float, optional
        Spacing of the apertures [spaxel].
    max_extrapolation : float, optional
        Cap on total / measured flux.
    extrapolation : {"gaussian", "exponential", "disc"}, optional
        What recovers the flux beyond the field: a Gaussian curve of growth (KROSS,
        :func:`fit_gaussian_growth`); the curve's tail beyond two PSF radii as an exponential
        disc's (:func:`fit_exponential_tail`; the Gaussian where the tail is not significant);
        or the total of a PSF-convolved disc fitted to the whole map (``model_total``).
    psf_r_half : float, optional
        PSF half-light radius [spaxel] (for ``"exponential"``).
    model_total : float, optional
        Total of :func:`disc_model_total` (needed by ``"disc"``).

    Returns
    -------
    SizeMeasurement
        Curve of growth, totals and r½ [spaxel] with its error.

    Raises
    ------
    ValueError
        For an unknown ``extrapolation`` or ``"disc"`` without ``model_total``.
    """
    if extrapolation not in EXTRAPOLATIONS:
        raise ValueError(f"extrapolation must be one of {EXTRAPOLATIONS}, got {extrapolation!r}")
    ny, nx = image.shape
    if r_max is None:
        # the largest ellipse that stays mostly inside the field
        r_max = max(min(centre[0], nx - 1 - centre[0], centre[1], ny - 1 - centre[1]) + 1.5, 2.0)
    radii = np.arange(step, r_max + step / 2, step)
    cog, cog_err = curve_of_growth(image, error, centre, radii, axis_ratio, pa_deg)
    total_measured = float(cog[-1])
    tot, s = fit_gaussian_growth(radii, cog, cog_err)
    if extrapolation == "disc":
        if model_total is None:
            raise ValueError("extrapolation='disc' needs the disc model's total (disc_model_total)")
        tot = model_total if np.isfinite(model_total) else tot
    elif extrapolation == "exponential":
        t_exp, _, t_err = fit_exponential_tail(radii, cog, cog_err, 2.0 * psf_r_half)
        # only a significant tail is extrapolated: on a noisy curve the tail fit runs off
        # (a quarter of the mock's S/N < 10 galaxies hit the cap) and would bias totals up
        if np.isfinite(t_exp) and t_exp - total_measured > TAIL_MIN_SIGNIFICANCE * max(t_err, cog_err[-1]):
            tot = t_exp
    total = max(tot, total_measured) if np.isfinite(tot) else total_measured
    if total_measured > 0 and total > max_extrapolation * total_measured:
        total = max_extrapolation * total_measured
    r_half = radius_at(radii, cog, 0.5 * total)
    # error of r½ from the curve's error at half light, through its local slope
    r_err = np.nan
    if np.isfinite(r_half):
        slope = np.interp(r_half, radii[1:], np.diff(cog) / np.diff(radii))
        e_half = np.interp(r_half, radii, cog_err)
        r_err = abs(e_half / slope) if slope > 0 else np.nan
    return SizeMeasurement(radii=radii, cog=cog, cog_err=cog_err, total_measured=total_measured, total_model=total,
                           recovered_fraction=total_measured / total if total > 0 else np.nan,
                           r_half=r_half, r_half_err=r_err, r_half_gauss=s * SIGMA_TO_FWHM / 2)


def radius_at(radii, cog, level):
    """First radius where the (monotonised) curve of growth reaches ``level``.

    Parameters
    ----------
    radii, cog : array_like
        Radii and enclosed flux.
    level : float
        Enclosed flux sought (e.g. half the total).

    Returns
    -------
    float
        Interpolated radius (linearly from the centre inside the first aperture); NaN if the
        curve never reaches ``level`` or ``level`` is not positive.
    """
    if not np.isfinite(level) or level <= 0:
        return np.nan
    mono = np.maximum.accumulate(cog)
    above = np.flatnonzero(mono >= level)
    if above.size == 0:
        return np.nan
    i = above[0]
    if i == 0:
        return float(radii[0] * level / mono[0])
    return float(np.interp(level, [mono[i - 1], mono[i]], [radii[i - 1], radii[i]]))


#: old private name, still imported by size_survey.py (to be switched to radius_at)
_radius_at = radius_at


def gaussian_psf_r_half(fwhm: float, pixel_scale: float) -> float:
    """Curve-of-growth r½ of a circular Gaussian PSF integrated over square spaxels.

    The HWHM as the sampled data show it, for when only a FWHM is known (no star image to
    measure).

    Parameters
    ----------
    fwhm : float
        Optical FWHM of the PSF.
    pixel_scale : float
        Spaxel size, same unit as ``fwhm``.

    Returns
    -------
    float
        r½ of the sampled PSF, same unit as ``fwhm``.
    """
    from scipy.special import erf

    n = int(np.ceil(8 * fwhm / pixel_scale)) | 1
    edges = (np.arange(n + 1) - n / 2) * pixel_scale
    s2 = fwhm / SIGMA_TO_FWHM * np.sqrt(2)
    frac = np.diff(0.5 * erf(edges / s2))
    img = np.outer(frac, frac)
    c = (n - 1) / 2
    sm = half_light_radius(img, np.full_like(img, 1e-6), (c, c), max_extrapolation=1.0)
    return float(sm.r_half * pixel_scale)


def optical_hwhm(sampled_r_half: float, pixel_scale: float) -> float:
    """The optical HWHM of a Gaussian PSF whose spaxel-sampled curve-of-growth r½ is given.

    The inverse of :func:`gaussian_psf_r_half`.

    Parameters
    ----------
    sampled_r_half : float
        r½ of the sampled PSF.
    pixel_scale : float
        Spaxel size, same unit.

    Returns
    -------
    float
        Optical HWHM, same unit; NaN if no HWHM between 0.05 and 1.5 × ``sampled_r_half``
        gives it.
    """
    from scipy.optimize import brentq

    f = lambda h: gaussian_psf_r_half(2 * h, pixel_scale) - sampled_r_half
    lo, hi = 0.05 * sampled_r_half, 1.5 * sampled_r_half
    if not (np.isfinite(sampled_r_half) and sampled_r_half > 0) or f(lo) > 0 or f(hi) < 0:
        return np.nan
    return float(brentq(f, lo, hi, xtol=1e-4 * sampled_r_half))


def psf_corrected_radius(r_half, hwhm):
    """Intrinsic r′½ = sqrt(r½² − HWHM²) (KROSS §3.2) and the resolved flag.

    Parameters
    ----------
    r_half : array_like
        Observed half-light radius.
    hwhm : array_like
        PSF HWHM, same unit.

    Returns
    -------
    r_corr : numpy.ndarray
        r′½; for an unresolved galaxy (r½ ≤ HWHM or NaN) the HWHM, an upper limit.
    resolved : numpy.ndarray
        bool, r½ > HWHM.
    """
    r_half, hwhm = np.asarray(r_half, float), np.asarray(hwhm, float)
    resolved = np.isfinite(r_half) & (r_half > hwhm)
    r_corr = np.where(resolved, np.sqrt(np.clip(r_half**2 - hwhm**2, 0, None)), hwhm)
    return r_corr, resolved


def size_error_budget(r_half, r_half_err, hwhm, seeing_variation: float = 0.2, psf_ellipticity: float = 0.1):
    """1σ error of r′½ (KROSS §3.2).

    The curve of growth's error, a ±``seeing_variation`` seeing variation and the PSF's
    ellipticity (treated as a ±e/2 spread of the HWHM), propagated through
    :func:`psf_corrected_radius` and added in quadrature.

    Parameters
    ----------
    r_half, r_half_err : array_like
        Observed r½ and its error.
    hwhm : array_like
        PSF HWHM, same unit.
    seeing_variation : float, optional
        Relative seeing variation during the observation.
    psf_ellipticity : float or array_like, optional
        Ellipticity 1 − b/a of the PSF.

    Returns
    -------
    numpy.ndarray
        Error of r′½; NaN where unresolved.
    """
    r_half, hwhm = np.asarray(r_half, float), np.asarray(hwhm, float)
    r_corr, resolved = psf_corrected_radius(r_half, hwhm)
    safe = np.where(r_corr > 0, r_corr, np.nan)
    d_cog = r_half / safe * np.asarray(r_half_err, float)          # ∂r′/∂r · σ_r
    d_hwhm_dr = hwhm / safe                                          # |∂r′/∂HWHM|
    d_seeing = d_hwhm_dr * seeing_variation * hwhm
    d_ell = d_hwhm_dr * 0.5 * np.asarray(psf_ellipticity, float) * hwhm
    return np.where(resolved, np.sqrt(d_cog**2 + d_seeing**2 + d_ell**2), np.nan)
