"""Hα half-light radii from curves of growth in elliptical apertures (KROSS §3.2).

The curve of growth is measured with photutils elliptical apertures centred on the
galaxy (its dynamical centre in notebook 03), the flux beyond the IFU is recovered by
fitting the curve with a Gaussian radial distribution, and r½ is the semi-major axis
enclosing half of that extrapolated total. The PSF is then removed in quadrature,
r′½ = sqrt(r½² − HWHM²); a galaxy with r½ ≤ HWHM is unresolved and r′½ < HWHM is an
upper limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from photutils.aperture import EllipticalAperture, CircularAperture, aperture_photometry


@dataclass
class SizeMeasurement:
    """A curve of growth and what it gives (radii in spaxels; fluxes in map units)."""

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
    """Flux (and error) within ellipses of semi-major axis ``radii`` (spaxels).

    ``pa_deg`` is the position angle of the major axis, counter-clockwise from +x
    (photutils' ``theta``). NaN spaxels count as zero flux and zero error (masked).
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
    """Enclosed flux of a circular Gaussian of width ``s``: total (1 − exp(−r²/2s²))."""
    return total * (1.0 - np.exp(-0.5 * (r / s) ** 2))


def fit_gaussian_growth(radii, cog, cog_err, widths=None):
    """Best Gaussian curve of growth (total, s) for a measured one.

    The total enters linearly, so each trial width ``s`` (spaxels; default 160 values
    from 0.3 to 30, log-spaced) gets its exact least-squares total and the width with the
    lowest χ² wins: a global search, where a nonlinear fit started from one guess can
    wander to a broad, flux-doubling solution when a few inner points with tiny errors
    disagree with a pure Gaussian (spaxel sampling does that to any compact source).
    Returns (nan, nan) for a curve with no usable point.
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
    """Total flux of a curve of growth whose outer part (``radii ≥ r_min``) follows an
    exponential disc's: cog(r) = T − A (r + r_d) e^(−r/r_d).

    Beyond a couple of PSF widths a PSF-convolved exponential disc is itself exponential,
    so this extrapolates the light beyond the field as a disc's rather than a Gaussian's
    (which falls much faster and misses 20-30% of a disc that overfills the IFU). T and A
    are linear; r_d is searched globally as in :func:`fit_gaussian_growth`. A may take
    either sign: a curve that noise (or a sky residual) bends down at large radii then
    extrapolates below its last point rather than being forced upward, which on the mock
    kept the extrapolated totals unbiased (+0.01 dex) where A ≥ 0 gave +0.02-0.05. Returns
    (total, r_d, σ_total), σ_total from the fit at that r_d; NaNs with fewer than four usable
    points beyond ``r_min``.
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
    """Major- and minor-axis offsets (spaxels) of the sub-pixels of a grid ``oversample`` times
    finer than a ``shape`` field and ``pad`` spaxels beyond it, for a disc centred at
    ``centre`` (x, y; 0-based spaxels) with its major axis at ``pa_deg`` counter-clockwise
    from +x. The disc models of the size fit and of the S/N-optimal extraction are drawn on it.

    Returns
    -------
    u, v : ndarray
        Offsets along the major and the minor axis, shape ``((ny + 2 pad) oversample, (nx + 2 pad) oversample)``.
    """
    ny, nx = shape
    step = 1.0 / oversample
    ys = (np.arange((ny + 2 * pad) * oversample) + 0.5) * step - pad - 0.5
    xs = (np.arange((nx + 2 * pad) * oversample) + 0.5) * step - pad - 0.5
    xx, yy = np.meshgrid(xs - centre[0], ys - centre[1])
    t = np.radians(pa_deg)
    return xx * np.cos(t) + yy * np.sin(t), -xx * np.sin(t) + yy * np.cos(t)


@lru_cache(maxsize=64)
def psf_bin_matrix(n: int, pad: int, oversample: int, sigma_sub: float, smooth: int = 1) -> np.ndarray:
    """The (n, (n + 2 pad) oversample) matrix that smooths a row of sub-pixels with a Gaussian
    of σ ``sigma_sub`` sub-pixels (``scipy.ndimage.gaussian_filter1d``, zero beyond the grid,
    truncated at 4σ), sums each spaxel's ``oversample`` sub-pixels, applies a ``smooth``-spaxel
    boxcar (``uniform_filter1d``, zero beyond) and drops the ``pad`` spaxels either side.

    The PSF, binning, boxcar and crop are linear and act on each axis apart, so
    ``M_y @ image @ M_x.T`` equals those filters applied to an image in turn (to rounding),
    for a stack of images at once and at a fraction of the cost.
    """
    from scipy.ndimage import gaussian_filter1d, uniform_filter1d

    m = (n + 2 * pad) * oversample
    g = gaussian_filter1d(np.eye(m), sigma_sub, axis=0, mode="constant")     # column j: impulse at j
    out = g.reshape(n + 2 * pad, oversample, m).sum(axis=1)
    if smooth > 1:
        out = uniform_filter1d(np.eye(n + 2 * pad), smooth, axis=0, mode="constant") @ out
    out = np.ascontiguousarray(out[pad:pad + n])
    out.setflags(write=False)
    return out


def disc_model_total(image, error, centre, axis_ratio: float | None, pa_deg: float, psf_sigma: float,
                     scales=None, axis_ratios=None, oversample: int = 5, pad: int = 4,
                     with_axis_ratio_error: bool = False) -> tuple:
    """Total flux of the Hα map from a 2D exponential disc convolved with the PSF.

    The disc has the given centre and major-axis angle (``pa_deg``, photutils' convention,
    counter-clockwise from +x); its scale length r_d, its projected axis ratio (unless
    ``axis_ratio`` is given) and its flux are fitted. The flux enters linearly, so each
    trial (r_d, q) — r_d in spaxels, default 60 values from 0.1 to 12; q default 0.2 to 1 in
    steps of 0.1 — gets its weighted least-squares flux and the best χ² wins. The model is
    built on a grid ``oversample`` times finer than the spaxels, ``pad`` spaxels beyond the
    field, convolved with the Gaussian PSF (``psf_sigma`` spaxels, the optical one) and
    binned back, so the flux includes the light falling beyond the field. Every pixel with
    an error weighs in, so unlike a curve of growth's outer points the fit is not at the
    mercy of the noisiest apertures; and the axis ratio comes from the light, where a
    velocity field's inclination is degenerate with the rotation speed.

    Returns (total, r_d, q, fraction of the model's light inside the field); NaNs if the
    map has no usable pixel. ``with_axis_ratio_error`` appends q refined between the grid's
    points and its 1σ error (:func:`axis_ratio_from_profile`).
    """
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
    # PSF, spaxel binning and crop are linear and separable: one (spaxels × sub-pixels)
    # matrix per axis takes every trial disc to its model map at once
    m_y = psf_bin_matrix(ny, pad, oversample, psf_sigma * oversample)
    m_x = psf_bin_matrix(nx, pad, oversample, psf_sigma * oversample)
    best = (np.inf, np.nan, np.nan, np.nan, np.nan)
    profile = {}
    for q in axis_ratios:
        q = max(float(q), 0.05)
        r = np.hypot(u, v / q)
        sb = np.exp(-r[None] / scales[:, None, None]) / (2 * np.pi * scales[:, None, None] ** 2 * q * oversample**2)
        # a disc narrower than two sub-pixels is not resolved by the grid: the samples miss
        # the cusp's flux, but all of it lies inside the padded grid, so normalise by the sum
        narrow = scales * q < 2.0 / oversample
        sb[narrow] /= sb[narrow].sum(axis=(1, 2), keepdims=True)
        models = m_y @ sb @ m_x.T                                        # (n_scales, ny, nx)
        for rd, model in zip(scales, models):
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
    """q and its 1σ error from the χ² profile {q: min χ² over r_d}: the minimum of a parabola
    through the grid's best point and its neighbours (the grid's 0.1 steps are 4-6° of
    inclination), and half the range of q within Δχ² ≤ reduced χ² of the best fit."""
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
    """Inclination (deg) of a disc of intrinsic thickness ``q0`` seen with axis ratio ``q``,
    cos² i = (q² − q0²)/(1 − q0²) (q ≤ q0: edge-on), and its error from ``q_err``
    (half the difference of the inclinations at q ∓ q_err)."""
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
    """Curve of growth, extrapolation and the half-light semi-major axis (spaxels).

    ``extrapolation`` names what recovers the flux beyond the field: ``"gaussian"`` (a
    Gaussian curve of growth, KROSS §3.2), ``"exponential"`` (:func:`fit_exponential_tail`
    on the curve beyond two PSF radii ``psf_r_half`` [spaxels]; the Gaussian where too few
    points lie there or the tail is not significant) or ``"disc"`` (the total of a
    PSF-convolved exponential disc fitted to the whole map, :func:`disc_model_total`,
    passed as ``model_total``). The extrapolated total may exceed the measured one by at
    most ``max_extrapolation``: a profile fitted to a curve that has not turned over is
    unconstrained.
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
    r_half = _radius_at(radii, cog, 0.5 * total)
    # error of r½ from the curve's error at half light, through its local slope
    r_err = np.nan
    if np.isfinite(r_half):
        slope = np.interp(r_half, radii[1:], np.diff(cog) / np.diff(radii))
        e_half = np.interp(r_half, radii, cog_err)
        r_err = abs(e_half / slope) if slope > 0 else np.nan
    return SizeMeasurement(radii=radii, cog=cog, cog_err=cog_err, total_measured=total_measured, total_model=total,
                           recovered_fraction=total_measured / total if total > 0 else np.nan,
                           r_half=r_half, r_half_err=r_err, r_half_gauss=s * np.sqrt(2 * np.log(2)))


def _radius_at(radii, cog, level):
    """First radius where the (monotonised) curve of growth reaches ``level``."""
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


def gaussian_psf_r_half(fwhm: float, pixel_scale: float) -> float:
    """Curve-of-growth r½ (same units as ``fwhm``) of a circular Gaussian PSF integrated
    over square spaxels of ``pixel_scale``: the HWHM as the sampled data show it, for when
    only a FWHM is known (no star image to measure)."""
    from scipy.special import erf

    n = int(np.ceil(8 * fwhm / pixel_scale)) | 1
    edges = (np.arange(n + 1) - n / 2) * pixel_scale
    s2 = fwhm / (2 * np.sqrt(2 * np.log(2))) * np.sqrt(2)
    frac = np.diff(0.5 * erf(edges / s2))
    img = np.outer(frac, frac)
    c = (n - 1) / 2
    sm = half_light_radius(img, np.full_like(img, 1e-6), (c, c), max_extrapolation=1.0)
    return float(sm.r_half * pixel_scale)


def optical_hwhm(sampled_r_half: float, pixel_scale: float) -> float:
    """The optical HWHM of a Gaussian PSF whose spaxel-sampled curve-of-growth r½ is
    ``sampled_r_half`` (the inverse of :func:`gaussian_psf_r_half`, same units)."""
    from scipy.optimize import brentq

    f = lambda h: gaussian_psf_r_half(2 * h, pixel_scale) - sampled_r_half
    lo, hi = 0.05 * sampled_r_half, 1.5 * sampled_r_half
    if not (np.isfinite(sampled_r_half) and sampled_r_half > 0) or f(lo) > 0 or f(hi) < 0:
        return np.nan
    return float(brentq(f, lo, hi, xtol=1e-4 * sampled_r_half))


def psf_corrected_radius(r_half, hwhm):
    """Intrinsic r′½ = sqrt(r½² − HWHM²), resolved flag; unresolved → upper limit HWHM."""
    r_half, hwhm = np.asarray(r_half, float), np.asarray(hwhm, float)
    resolved = np.isfinite(r_half) & (r_half > hwhm)
    r_corr = np.where(resolved, np.sqrt(np.clip(r_half**2 - hwhm**2, 0, None)), hwhm)
    return r_corr, resolved


def size_error_budget(r_half, r_half_err, hwhm, seeing_variation: float = 0.2, psf_ellipticity: float = 0.1):
    """1σ error of r′½ from the curve of growth, a ±20% seeing variation and the PSF's
    ellipticity (treated as a ±e/2 spread of the HWHM), added in quadrature (KROSS §3.2)."""
    r_half, hwhm = np.asarray(r_half, float), np.asarray(hwhm, float)
    r_corr, resolved = psf_corrected_radius(r_half, hwhm)
    safe = np.where(r_corr > 0, r_corr, np.nan)
    d_cog = r_half / safe * np.asarray(r_half_err, float)          # ∂r′/∂r · σ_r
    d_hwhm_dr = hwhm / safe                                          # |∂r′/∂HWHM|
    d_seeing = d_hwhm_dr * seeing_variation * hwhm
    d_ell = d_hwhm_dr * 0.5 * np.asarray(psf_ellipticity, float) * hwhm
    return np.where(resolved, np.sqrt(d_cog**2 + d_seeing**2 + d_ell**2), np.nan)
