"""PSF-convolved exponential disc models of an Hα map (KROSS §3.2 as the walk does it).

:func:`disc_model_total` fits the whole map with an exponential disc convolved with the PSF:
its total includes the light beyond the 2.8″ field (the curve of growth's extrapolation,
``extrapolation="disc"`` of :func:`redshift1.kmos.sizes.half_light_radius`) and its axis
ratio, refined by :func:`axis_ratio_from_profile`, gives the inclination of a thick disc
(:func:`inclination_from_axis_ratio`). :func:`disc_frame` is the sub-pixel grid the models
are drawn on (also by the optimal extraction, :mod:`redshift1.kmos.extraction`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

__all__ = ["disc_frame", "disc_model_total", "disc_model_trials", "DiscTrials", "axis_ratio_from_profile",
           "inclination_from_axis_ratio", "psf_covariance", "convolve_and_bin"]


def disc_frame(shape, centre, pa_deg: float, oversample: int = 5, pad: int = 6):
    """Major- and minor-axis offsets (spaxels) of the sub-pixels of a grid ``oversample`` times
    finer than a ``shape`` field and ``pad`` spaxels beyond it, for a disc centred at
    ``centre`` with its major axis at ``pa_deg``. The disc models of the size fit and of the
    optimal extraction are drawn on it.

    Parameters
    ----------
    shape : (int, int)
        The field's shape (ny, nx).
    centre : (float, float)
        The disc's centre (x, y), 0-based spaxels.
    pa_deg : float
        Major axis, degrees counter-clockwise from +x.
    oversample : int
        Sub-pixels per spaxel along each axis.
    pad : int
        Spaxels added beyond each edge.

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


def psf_covariance(psf_sigma: float, ellipticity: float, pa_deg: float) -> tuple[float, float, float]:
    """(Σxx, Σyy, Σxy) of an elliptical Gaussian PSF [spaxel²].

    Parameters
    ----------
    psf_sigma : float
        Geometric-mean σ [spaxel] (σ_major = σ/√q, σ_minor = σ√q, q = 1 − e).
    ellipticity : float
        1 − b/a.
    pa_deg : float
        Major axis, degrees counter-clockwise from +x (notebook 01's ``pa``).

    Returns
    -------
    tuple of float
    """
    q = 1.0 - float(np.clip(ellipticity, 0.0, 0.9))
    va, vb = psf_sigma ** 2 / q, psf_sigma ** 2 * q
    c, s = np.cos(np.radians(pa_deg)), np.sin(np.radians(pa_deg))
    return va * c * c + vb * s * s, va * s * s + vb * c * c, (va - vb) * s * c


def _shifted_columns(m: np.ndarray, k: int) -> np.ndarray:
    """``m`` times the shift by ``k`` sub-pixels: column ``j`` of the result is column ``j + k``
    of ``m`` (zero where that lies beyond the grid)."""
    out = np.zeros_like(m)
    n = m.shape[1]
    if k >= 0:
        out[:, :n - k] = m[:, k:]
    else:
        out[:, -k:] = m[:, :n + k]
    return out


def _psf_parts(shape, pad, oversample, psf_sigma, ellipticity, pa_deg, smooth):
    """An elliptical Gaussian PSF as separable matrices (M_y, M_x) for its diagonal part and,
    where its covariance has an off-diagonal term, the line along the sub-pixel diagonal:
    (shifts k, weights, sign of the diagonal), else None."""
    ny, nx = shape
    sxx, syy, sxy = psf_covariance(psf_sigma, ellipticity, pa_deg) if ellipticity > 0 else (psf_sigma ** 2,) * 2 + (0.0,)
    line = abs(sxy) * oversample ** 2              # sub-pixel², along x and along y
    if line < 0.05:
        line = 0.0
    sig_x = np.sqrt(max(sxx * oversample ** 2 - line, 1e-6))
    sig_y = np.sqrt(max(syy * oversample ** 2 - line, 1e-6))
    m_y = psf_bin_matrix(ny, pad, oversample, round(sig_y, 10), smooth)
    m_x = psf_bin_matrix(nx, pad, oversample, round(sig_x, 10), smooth)
    if line == 0.0:
        return m_y, m_x, None
    sig = np.sqrt(line)
    half = int(np.ceil(4 * sig))
    k = np.arange(-half, half + 1)
    w = np.exp(-0.5 * (k / sig) ** 2)
    return m_y, m_x, (k, w / w.sum(), 1 if sxy > 0 else -1)


def convolve_and_bin(sb: np.ndarray, shape, pad: int, oversample: int, psf_sigma: float,
                     ellipticity: float = 0.0, pa_deg: float = 0.0, smooth: int = 1) -> np.ndarray:
    """Sub-pixel disc images convolved with the PSF, summed per spaxel and cropped to the field.

    KMOS PSFs have ellipticities of 0.05-0.2 (notebook 01): a round PSF of the same
    geometric-mean FWHM puts a point source's light 1.5-4 % more into a central aperture than
    the real one, so a round-PSF model of a compact source is a disc too wide. An elliptical
    Gaussian's covariance splits exactly into a diagonal part (a Gaussian along x times one
    along y: the separable matrices of :func:`psf_bin_matrix`) and a line along the
    sub-pixel diagonal (1, ±1) of variance 2|Σxy|, whose shifts fold into those matrices.

    Parameters
    ----------
    sb : numpy.ndarray
        (..., (ny + 2 pad) oversample, (nx + 2 pad) oversample) sub-pixel images.
    shape : (int, int)
        The field (ny, nx).
    pad, oversample : int
        The grid (:func:`disc_frame`).
    psf_sigma : float
        Geometric-mean σ of the PSF [spaxel].
    ellipticity, pa_deg : float
        The PSF's 1 − b/a and major-axis angle (degrees counter-clockwise from +x); 0: round.
    smooth : int, optional
        A ``smooth``-spaxel boxcar applied after binning (:func:`psf_bin_matrix`).

    Returns
    -------
    numpy.ndarray
        (..., ny, nx) model maps.
    """
    ny, nx = shape
    m_y, m_x, shifts = _psf_parts(shape, pad, oversample, psf_sigma, ellipticity, pa_deg, smooth)
    if shifts is None:
        return m_y @ sb @ m_x.T
    # the diagonal line is a weighted sum of images shifted by (k, ±k) sub-pixels; a shift moves
    # into the matrices (M_y S_k sb S_k'ᵀ M_xᵀ), so all of it is two matrix products per shift
    # on binned rows, not a pass over the sub-pixel stack per shift (2-3x faster, same numbers)
    k, w, sign = shifts
    t = sb @ np.concatenate([_shifted_columns(m_x, int(sign * kk)) for kk in k]).T    # (..., H, n_k nx)
    out = np.zeros(sb.shape[:-2] + (ny, nx))
    for i, (kk, wk) in enumerate(zip(k, w)):
        out += wk * (_shifted_columns(m_y, int(kk)) @ t[..., i * nx:(i + 1) * nx])
    return out


@lru_cache(maxsize=8)
def psf_operator(shape, pad: int, oversample: int, psf_sigma: float, ellipticity: float = 0.0,
                 pa_deg: float = 0.0, smooth: int = 1) -> np.ndarray:
    """:func:`convolve_and_bin` as one matrix: ``(A @ sb.ravel()).reshape(shape)`` equals
    ``convolve_and_bin(sb, shape, ...)`` for one sub-pixel image.

    The elliptical PSF is a weighted sum over sub-pixel shifts k of separable operators
    (M_y S_k) ⊗ (M_x S'_k), each a Kronecker product, so the matrix costs a few milliseconds;
    applying it to one image is then a single matrix-vector product, several times faster
    than the per-shift products where a fit calls it thousands of times with one PSF.

    Parameters
    ----------
    shape : (int, int)
        The field (ny, nx).
    pad, oversample : int
        The grid (:func:`disc_frame`).
    psf_sigma, ellipticity, pa_deg : float
        As :func:`convolve_and_bin`.
    smooth : int, optional
        As :func:`convolve_and_bin`.

    Returns
    -------
    numpy.ndarray
        (ny nx, H W) read-only matrix, H, W the sub-pixel grid's rows and columns.
    """
    m_y, m_x, shifts = _psf_parts(shape, pad, oversample, psf_sigma, ellipticity, pa_deg, smooth)
    if shifts is None:
        out = np.kron(m_y, m_x)
    else:
        k, w, sign = shifts
        out = sum(wk * np.kron(_shifted_columns(m_y, int(kk)), _shifted_columns(m_x, int(sign * kk)))
                  for kk, wk in zip(k, w))
    out.setflags(write=False)
    return out


@lru_cache(maxsize=64)
def psf_bin_matrix(n: int, pad: int, oversample: int, sigma_sub: float, smooth: int = 1) -> np.ndarray:
    """The matrix that takes a row of model sub-pixels to observed spaxels.

    It smooths a row of sub-pixels with a Gaussian of σ ``sigma_sub`` sub-pixels
    (``scipy.ndimage.gaussian_filter1d``, zero beyond the grid, truncated at 4σ), sums each
    spaxel's ``oversample`` sub-pixels, applies a ``smooth``-spaxel boxcar
    (``uniform_filter1d``, zero beyond) and drops the ``pad`` spaxels either side. The PSF,
    binning, boxcar and crop are linear and act on each axis apart, so
    ``M_y @ image @ M_x.T`` equals those filters applied to an image in turn (to rounding),
    for a stack of images at once and at a fraction of the cost.

    Parameters
    ----------
    n : int
        Spaxels along the axis (without padding).
    pad : int
        Padding spaxels either side of the model grid.
    oversample : int
        Sub-pixels per spaxel.
    sigma_sub : float
        σ of the Gaussian PSF [sub-pixels].
    smooth : int, optional
        Boxcar size [spaxels]; 1 for none.

    Returns
    -------
    numpy.ndarray
        Read-only (n, (n + 2 pad) oversample) matrix (cached).
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
                     with_axis_ratio_error: bool = False, fit_background: bool = False,
                     psf_ellipticity: float = 0.0, psf_pa: float = 0.0) -> tuple:
    """Total flux of the Hα map from a 2D exponential disc convolved with the PSF.

    The disc has the given centre and major-axis angle; its scale length r_d, its projected
    axis ratio (unless ``axis_ratio`` is given) and its flux are fitted. The flux enters
    linearly, so each trial (r_d, q) gets its weighted least-squares flux and the best χ²
    wins. The model is built on a grid ``oversample`` times finer than the spaxels, ``pad``
    spaxels beyond the field, convolved with the Gaussian PSF and binned back, so the flux
    includes the light falling beyond the field. Every pixel with an error weighs in, so
    unlike a curve of growth's outer points the fit is not at the mercy of the noisiest
    apertures; and the axis ratio comes from the light, where a velocity field's
    inclination is degenerate with the rotation speed.

    Parameters
    ----------
    image, error : ndarray
        The Hα map and its 1σ noise.
    centre : (float, float)
        The disc's centre (x, y), 0-based spaxels.
    axis_ratio : float or None
        A fixed axis ratio; None fits it over ``axis_ratios``.
    pa_deg : float
        Major axis, degrees counter-clockwise from +x (photutils' convention).
    psf_sigma : float
        The optical PSF's σ, spaxels.
    scales : array_like, optional
        Trial r_d, spaxels (default 60 values from 0.1 to 12, log-spaced).
    axis_ratios : array_like, optional
        Trial q (default 0.2 to 1 in steps of 0.1).
    oversample, pad : int
        The model grid (:func:`disc_frame`).
    with_axis_ratio_error : bool
        Also return q refined between the grid's points and its 1σ
        (:func:`axis_ratio_from_profile`).
    fit_background : bool
        Fit a constant under the disc as well (a second linear parameter) and return it and
        its 1σ last. Sky residuals common to the spaxels add such a pedestal to an Hα map;
        over the ~200 spaxels of the field it can hold a third of a compact source's flux.
    psf_ellipticity, psf_pa : float
        The PSF's 1 − b/a and major axis (degrees counter-clockwise from +x); 0 is a round PSF
        (:func:`convolve_and_bin`).

    Returns
    -------
    tuple of float
        (total, r_d, q, fraction of the model's light inside the field), then (q refined,
        q error) with ``with_axis_ratio_error``; NaNs (four) if the map has fewer than three
        usable pixels.
    """
    trials = disc_model_trials(image, error, centre, pa_deg, psf_sigma, scales=scales,
                               axis_ratios=[axis_ratio] if axis_ratio is not None else axis_ratios,
                               oversample=oversample, pad=pad, fit_background=fit_background,
                               psf_ellipticity=psf_ellipticity, psf_pa=psf_pa)
    if trials is None:
        return np.nan, np.nan, np.nan, np.nan
    best = (np.inf, np.nan, np.nan, np.nan, np.nan)
    bkg = (np.nan, np.nan)
    profile = {}
    for i, q in enumerate(trials.axis_ratios):
        chi2 = trials.chi2[i]
        if not np.isfinite(chi2).any():
            continue
        k = int(np.nanargmin(chi2))             # the first of equal minima, as a loop over r_d would take
        profile[q] = min(profile.get(q, np.inf), float(chi2[k]))
        if chi2[k] < best[0]:
            best = (chi2[k], trials.flux[i, k], trials.scales[k], q, trials.models[i, k].sum())
            if fit_background:
                bkg = (trials.background[i, k], trials.background_err[i, k])
    out = tuple(float(v) for v in best[1:])
    if with_axis_ratio_error:
        out = out + axis_ratio_from_profile(profile, trials.n_pixels - 2 - int(fit_background))
    return out + (tuple(float(v) for v in bkg) if fit_background else ())


class DiscTrials(NamedTuple):
    """Every trial disc of :func:`disc_model_trials`: index ``[i, k]`` is axis ratio ``i``, scale ``k``.

    Attributes
    ----------
    scales, axis_ratios : numpy.ndarray
        Trial r_d (spaxels) and q (at least 0.05).
    models : numpy.ndarray
        (nq, ns, ny, nx) the PSF-convolved, spaxel-binned models of unit total light.
    flux, chi2 : numpy.ndarray
        (nq, ns) weighted least-squares flux of each model and its χ² (NaN where unusable).
    background, background_err : numpy.ndarray
        (nq, ns) the fitted constant and its 1σ (NaN without ``fit_background``).
    n_pixels : int
        Map pixels with a finite value and a positive error.
    """

    scales: np.ndarray
    axis_ratios: np.ndarray
    models: np.ndarray
    flux: np.ndarray
    chi2: np.ndarray
    background: np.ndarray
    background_err: np.ndarray
    n_pixels: int


def disc_model_trials(image, error, centre, pa_deg: float, psf_sigma: float, scales=None, axis_ratios=None,
                      oversample: int = 5, pad: int = 4, fit_background: bool = False,
                      psf_ellipticity: float = 0.0, psf_pa: float = 0.0) -> DiscTrials | None:
    """Fit every trial exponential disc (r_d, q) of :func:`disc_model_total` to an Hα map.

    The whole χ² surface, not only its minimum: what the data allow of a quantity that
    depends on the disc (an aperture correction, :func:`redshift1.kmos.extraction.optimal_extraction`)
    follows from it.

    Parameters
    ----------
    image, error, centre, pa_deg, psf_sigma, scales, axis_ratios, oversample, pad, fit_background, psf_ellipticity, psf_pa
        As for :func:`disc_model_total` (``axis_ratios`` is the list of trial q; a fixed q is a
        list of one).

    Returns
    -------
    DiscTrials or None
        None if the map has fewer than three usable pixels.
    """
    img = np.asarray(image, float)
    err = np.asarray(error, float)
    good = np.isfinite(img) & np.isfinite(err) & (err > 0)
    if good.sum() < 3:
        return None
    ny, nx = img.shape
    scales = np.geomspace(0.1, 12.0, 60) if scales is None else np.asarray(scales, float)
    axis_ratios = np.arange(0.2, 1.01, 0.1) if axis_ratios is None else np.atleast_1d(np.asarray(axis_ratios, float))
    axis_ratios = np.maximum(axis_ratios, 0.05)
    u, v = disc_frame((ny, nx), centre, pa_deg, oversample, pad)
    w = np.where(good, 1.0 / np.where(good, err, 1.0) ** 2, 0.0)
    y = np.where(good, img, 0.0)
    shape = (len(axis_ratios), len(scales))
    models = np.empty(shape + (ny, nx))
    flux, chi2, b, b_err = (np.empty(shape) for _ in range(4))
    # PSF, spaxel binning and crop are linear: every trial disc of one q goes to its model map
    # at once (separable matrices for a round PSF, one FFT for an elliptical one)
    for i, q in enumerate(axis_ratios):
        r = np.hypot(u, v / q)
        sb = np.exp(-r[None] / scales[:, None, None]) / (2 * np.pi * scales[:, None, None] ** 2 * q * oversample**2)
        # a disc narrower than two sub-pixels is not resolved by the grid: the samples miss
        # the cusp's flux, but all of it lies inside the padded grid, so normalise by the sum
        narrow = scales * q < 2.0 / oversample
        sb[narrow] /= sb[narrow].sum(axis=(1, 2), keepdims=True)
        models[i] = convolve_and_bin(sb, (ny, nx), pad, oversample, psf_sigma, psf_ellipticity, psf_pa)
        flux[i], chi2[i], b[i], b_err[i] = _linear_fits(models[i], y, w, fit_background)
    return DiscTrials(scales, axis_ratios, models, flux, chi2, b, b_err, int(good.sum()))


def _linear_fits(models, y, w, fit_background: bool):
    """Weighted least squares of y = flux · model (+ b) for a stack of models at once.

    Returns flux, χ², b and σ(b) per model (NaN χ² where the model has no weight, or the
    two-parameter system is singular; b and σ(b) NaN without ``fit_background``).
    """
    a11 = np.einsum("yx,nyx->n", w, models * models)
    r1 = np.einsum("yx,nyx->n", w * y, models)
    nan = np.full(len(models), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if fit_background:
            a12, a22, r2 = np.einsum("yx,nyx->n", w, models), w.sum(), (w * y).sum()
            det = a11 * a22 - a12 ** 2
            ok = det > 0
            flux = np.where(ok, (a22 * r1 - a12 * r2) / det, np.nan)
            b = np.where(ok, (a11 * r2 - a12 * r1) / det, np.nan)
            b_err = np.where(ok, np.sqrt(a11 / det), np.nan)
        else:
            ok = a11 > 0
            flux = np.where(ok, r1 / a11, np.nan)
            b, b_err = nan, nan
        resid = y - flux[:, None, None] * models - (b[:, None, None] if fit_background else 0.0)
        chi2 = np.where(ok, np.einsum("yx,nyx->n", w, resid * resid), np.nan)
    return flux, chi2, b, b_err


def axis_ratio_from_profile(profile: dict, dof: int) -> tuple[float, float]:
    """q and its 1σ error from the χ² profile {q: min χ² over r_d}.

    The minimum of a parabola through the grid's best point and its neighbours (the grid's
    0.1 steps are 4-6° of inclination), and half the range of q within Δχ² ≤ reduced χ² of
    the best fit, at least one grid step.

    Parameters
    ----------
    profile : dict
        Trial q to the lowest χ² over r_d.
    dof : int
        Degrees of freedom of the fit (for the reduced χ²).

    Returns
    -------
    q, q_err : float
        NaNs with fewer than two trial q or no finite χ².
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
    """Inclination of a disc of intrinsic thickness ``q0`` seen with axis ratio ``q``:
    cos² i = (q² − q0²)/(1 − q0²) (q ≤ q0: edge-on).

    Parameters
    ----------
    q : float
        Observed axis ratio b/a.
    q_err : float
        Its 1σ (NaN: none).
    q0 : float
        Intrinsic thickness of the disc.

    Returns
    -------
    inclination, inclination_err : float
        Degrees; the error is half the difference of the inclinations at q ∓ q_err (NaN
        without ``q_err``); both NaN for a non-finite ``q``.
    """
    def inc(x):
        c2 = np.clip((np.clip(x, 0, 1) ** 2 - q0**2) / (1 - q0**2), 0.0, 1.0)
        return float(np.degrees(np.arccos(np.sqrt(c2))))
    if not np.isfinite(q):
        return np.nan, np.nan
    err = 0.5 * abs(inc(q - q_err) - inc(q + q_err)) if np.isfinite(q_err) else np.nan
    return inc(q), err
