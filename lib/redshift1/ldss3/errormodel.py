"""The flux error budget of the LDSS3 lines (issue 12, item 5).

A line's flux scatters for reasons the pixel noise does not describe; each is measured on the
data themselves (never on a truth):

* **per-line aperture loss** -- galaxies differ in size and centring, so the part of their line
  inside the 5 x 5 box differs: the scatter of the bright lines' 5-of-21-column fraction and of
  their 5-row fraction about their mask's median (:func:`redshift1.ldss3.flux_corrections.flux_systematic`);
* **per-mask calibration** -- the slit/box-loss correction of a mask comes from a handful of
  bright lines; its standard error, after the mask's value has been shrunk towards the survey's
  (:func:`shrink_to_survey`: a noisy per-mask median must not add scatter), is common to every
  line of the mask;
* **aperture correction** -- the standard error of the survey's 5-of-21-column fraction;
* **blank-sky boxes** -- box fluxes at random blank places of a mask scatter more than their
  propagated pixel noise (resampling in the registration correlates neighbouring pixels; sky
  residuals): :func:`blank_box_noise_factor` scales the pixel noise of every box of the mask.

:func:`total_flux_error` adds them in quadrature to the pixel noise.
"""
from __future__ import annotations

import numpy as np
from astropy.stats import mad_std
from ..constants import MEDIAN_ERROR_FACTOR

__all__ = ["median_with_error", "shrink_to_survey", "total_flux_error", "blank_box_noise_factor"]


def median_with_error(x, min_n: int = 3):
    """Median of ``x`` and its standard error.

    The error is √(π/2) × ``mad_std`` / sqrt(n), the asymptotic error of a median.

    Parameters
    ----------
    x : array_like
        Values (non-finite ones dropped).
    min_n : int, optional
        Fewer finite values give an infinite error.

    Returns
    -------
    median, error : float
        ``(nan, inf)`` for no finite value; ``(median, inf)`` with fewer than ``min_n``.
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.inf
    med = float(np.median(x))
    if x.size < min_n:
        return med, np.inf
    return med, MEDIAN_ERROR_FACTOR * float(mad_std(x)) / np.sqrt(x.size)


def shrink_to_survey(values, errors, survey_value: float, survey_error: float = 0.0):
    """Empirical-Bayes shrinkage of per-mask estimates towards the survey's value.

    The masks' true values scatter by ``tau`` (Paule-Mandel: the ``tau`` for which the weighted
    chi-square of the estimates about their weighted mean equals its degrees of freedom; 0 when
    the errors explain the spread); a mask's estimate ``v`` with error ``e`` becomes
    ``s + w (v - s)`` with ``w = tau^2 / (tau^2 + e^2)``, and its error
    ``sqrt(w e^2 + (1 - w)^2 survey_error^2)``. Masks without an estimate (NaN or infinite
    error) take the survey's value with error ``hypot(tau, survey_error)``.

    Parameters
    ----------
    values, errors : array_like
        Per-mask estimates and their 1σ errors.
    survey_value : float
        The survey's estimate ``s``.
    survey_error : float, optional
        Its error.

    Returns
    -------
    shrunk, error : numpy.ndarray
        Shrunk estimates and their errors.
    tau : float
        Scatter of the masks' true values.
    """
    v = np.asarray(values, float)
    e = np.asarray(errors, float)
    ok = np.isfinite(v) & np.isfinite(e)
    if ok.sum() >= 3:
        tau2 = _between_variance(v[ok], e[ok])
    elif ok.sum() >= 1:
        tau2 = np.inf            # one or two masks: nothing to learn the spread from; keep their own values
    else:
        tau2 = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(ok, tau2 / (tau2 + e**2), 0.0) if np.isfinite(tau2) else ok.astype(float)
    w = np.nan_to_num(w, nan=1.0)
    shrunk = np.where(ok, survey_value + w * (np.where(ok, v, 0.0) - survey_value), survey_value)
    tau_err = np.sqrt(tau2) if np.isfinite(tau2) else np.nan
    err = np.where(ok, np.sqrt(w * np.where(ok, e, 0.0) ** 2 + (1 - w) ** 2 * survey_error**2),
                   np.hypot(np.nan_to_num(tau_err), survey_error))
    return shrunk, err, float(np.sqrt(tau2)) if np.isfinite(tau2) else np.nan


def _between_variance(v, e, n_iter: int = 60) -> float:
    """Paule-Mandel between-mask variance: ``sum w (v - mean_w)^2 = n - 1`` with ``w = 1/(e^2 + tau^2)``."""
    def excess(t2):
        w = 1.0 / (e**2 + t2)
        mu = np.sum(w * v) / np.sum(w)
        return float(np.sum(w * (v - mu) ** 2) - (v.size - 1))
    if excess(0.0) <= 0:
        return 0.0
    lo, hi = 0.0, float(np.var(v)) * 10 + 1e-12
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


def total_flux_error(flux, stat_err, *fractional):
    """``sqrt(stat_err^2 + flux^2 (sum of fractional^2))``.

    Every fractional term (scalars or per-line arrays) scales with the flux; NaN terms count as zero.

    Parameters
    ----------
    flux : array_like
        Fluxes.
    stat_err : array_like
        Their statistical errors.
    *fractional : float or array_like
        Relative error terms.

    Returns
    -------
    numpy.ndarray
        Total errors.
    """
    f = np.abs(np.asarray(flux, float))
    frac2 = np.zeros(np.shape(f))
    for t in fractional:
        frac2 = frac2 + np.nan_to_num(np.asarray(t, float)) ** 2
    return np.sqrt(np.asarray(stat_err, float) ** 2 + f**2 * frac2)


def blank_box_noise_factor(sci, noise, good, sigma, box_lo, box_hi, continuum, half: int = 2,
                           n_per_slit: int = 40, margin: int = 60, seed: int = 0, box_flux=None):
    """How much a box flux scatters more than its propagated pixel noise says, on blank sky.

    Boxes of ``(2 half + 1)^2`` pixels at random places inside the slits' extraction boxes, all
    pixels good and no significance above 3 within two pixels, continuum subtracted like a
    line's. The factor is the robust standard deviation (``mad_std``) of flux / error, never
    below 1 (correlated noise from the registration's resampling, sky residuals).

    Parameters
    ----------
    sci, noise : numpy.ndarray
        (n_slit, n_row, n_col) sky-subtracted spectra and 1σ noise.
    good : numpy.ndarray
        bool, usable pixels.
    sigma : numpy.ndarray
        Significance cube (boxes near a detection are avoided).
    box_lo, box_hi : array_like
        First and last row of each slit's extraction box.
    continuum : numpy.ndarray
        Continuum estimate subtracted from each box.
    half : int, optional
        Half-size of the box [pixel].
    n_per_slit : int, optional
        Boxes tried per slit.
    margin : int, optional
        Columns left out at each end [pixel].
    seed : int, optional
        Seed of the random positions.
    box_flux : callable
        The box photometry of the line catalogue (:func:`redshift1.ldss3.fluxes.box_flux`),
        passed in so that the boxes are measured exactly as the lines are.

    Returns
    -------
    factor : float
        The noise factor (1 with fewer than 50 boxes).
    n_boxes : int
        Boxes used.
    """
    rng = np.random.default_rng(seed)
    ns, ny, nx = np.shape(sci)
    s_, r_, c_ = [], [], []
    pad = half + 2
    for i in range(ns):
        lo, hi = int(box_lo[i]) + half, int(box_hi[i]) - half
        if hi - lo < 1 or nx - 2 * margin < 10:
            continue
        rr = rng.integers(lo, hi, n_per_slit)
        cc = rng.integers(margin, nx - margin, n_per_slit)
        for r, c in zip(rr, cc):
            win = good[i, r - half:r + half + 1, c - half:c + half + 1]
            sg = sigma[i, max(r - pad, 0):r + pad + 1, c - pad:c + pad + 1]
            if win.size == (2 * half + 1) ** 2 and win.all() and np.all(np.abs(sg) < 3.0):
                s_.append(i)
                r_.append(r)
                c_.append(c)
    if len(s_) < 50:
        return 1.0, len(s_)
    f, e, _, _ = box_flux(sci, noise, good, np.array(s_), np.array(r_), np.array(c_), half, half, continuum)
    z = f / e
    z = z[np.isfinite(z)]
    return max(float(mad_std(z)), 1.0), int(z.size)
