"""Errors of the disc fitted to a boxcar-smoothed velocity field (:mod:`redshift1.kmos.kinematics`).

The spaxel fits average a ``smooth``×``smooth`` boxcar, so neighbouring spaxels share noise:
:func:`boxcar_covariance` is the sandwich covariance that counts it, and
:func:`errors_holding` takes it over the parameters a fit leaves free.
:func:`profile_interval` is v_max's interval profiled over the turnover radius, which a
seeing-limited field rarely pins down.
"""
from __future__ import annotations

import numpy as np

__all__ = ["boxcar_covariance", "errors_holding", "profile_interval", "R_TURN_GRID"]

#: turnover radii [spaxel] over which :func:`profile_interval` profiles (the fit's bounds)
R_TURN_GRID = np.geomspace(0.05, 10.0, 161)


def errors_holding(result, held: np.ndarray, x: np.ndarray, y: np.ndarray, scaled_err: np.ndarray,
                   smooth: int) -> np.ndarray:
    """1σ errors of a least-squares fit to a boxcar-smoothed map (the sandwich covariance of
    :func:`boxcar_covariance`) with the ``held`` parameters fixed where they are.

    A parameter that sits at a bound it cannot cross, left in the covariance, lends its
    degeneracy to the others: with the turnover radius at its lower bound (a curve that is
    flat beyond the first spaxel; 38 of the paper preset's 109 constrained discs), v_max's
    errors came out three times its scatter (pulls 0.33 wide).

    Parameters
    ----------
    result : scipy.optimize.OptimizeResult
        The :func:`scipy.optimize.least_squares` result (``x``, ``jac``).
    held : numpy.ndarray
        (p,) bool: the parameters held fixed.
    x, y, scaled_err, smooth
        As :func:`boxcar_covariance`.

    Returns
    -------
    numpy.ndarray
        One error per parameter; NaN for the held ones.
    """
    free = ~np.asarray(held, bool)
    err = np.full(np.size(result.x), np.nan)
    if free.any():
        cov = boxcar_covariance(result.jac[:, free], x, y, scaled_err, smooth)
        err[free] = np.sqrt(np.clip(np.diag(cov), 0, None))
    return err


def boxcar_covariance(jac: np.ndarray, x: np.ndarray, y: np.ndarray, scaled_err: np.ndarray,
                      smooth: int) -> np.ndarray:
    """Parameter covariance of a least-squares fit to a boxcar-smoothed map (sandwich form).

    Spaxels averaged over a ``smooth``×``smooth`` boxcar share noise: two spaxels ``Δx, Δy``
    apart correlate as (s−|Δx|)(s−|Δy|)/s². Treating them as independent under-states the
    errors by up to the boxcar's width (×3 for the 3×3 default): on the paper preset the
    kinematic PA's pulls had 9 % beyond 3σ. With residuals ``r = J δθ + ε`` and
    Cov(ε) = R, the estimate's covariance is H⁻¹ JᵀRJ H⁻¹ with H = JᵀJ.

    Parameters
    ----------
    jac : numpy.ndarray
        (n + k, p) Jacobian of the weighted residuals: ``n`` spaxel rows, then ``k`` prior rows
        (independent, unit variance).
    x, y : numpy.ndarray
        (n,) the spaxels' coordinates.
    scaled_err : numpy.ndarray
        (n,) each spaxel residual's 1σ in the weighted units (its error times its weight).
    smooth : int
        The boxcar [spaxel]; 1: independent spaxels.

    Returns
    -------
    numpy.ndarray
        (p, p) covariance.
    """
    n = x.size
    rho = (np.clip(smooth - np.abs(x[:, None] - x[None, :]), 0, None)
           * np.clip(smooth - np.abs(y[:, None] - y[None, :]), 0, None)) / float(smooth * smooth)
    r = np.eye(jac.shape[0])
    r[:n, :n] = rho * np.outer(scaled_err, scaled_err)
    h_inv = np.linalg.inv(jac.T @ jac)
    return h_inv @ (jac.T @ r @ jac) @ h_inv


def profile_interval(unit_models: np.ndarray, v: np.ndarray, weight: np.ndarray,
                     delta_chi2: float) -> tuple[float, float, float]:
    """v_max's interval profiled over the turnover radius r_t (and the systemic offset).

    With r_t fixed the model ``v_max · U(r_t) + c`` is linear, so χ² is a parabola in v_max
    at each r_t; the profile is their lower envelope and the interval is where it lies within
    ``delta_chi2`` of its minimum (the union of each r_t's own interval). Where r_t is not
    pinned down (it lies inside the PSF for most z ≈ 1 discs) the Gaussian error of the fit
    mirrors the banana of r_t against v_max: over-stated where r_t is free, under-stated
    where it sits at its bound. On beam-smeared boxcar-noise draws
    (``tests/test_kmos_kinematics_errors``) the pulls against this interval had std 0.7-1.06
    for r_t from 0.1 to 2 spaxels, where the covariance errors gave 0.35-1.6.

    Parameters
    ----------
    unit_models : numpy.ndarray
        (k, n) model velocities of the n fitted spaxels at v_max = 1, one row per r_t of a
        grid fine enough to follow the profile (:data:`R_TURN_GRID` and the best fit's).
    v, weight : numpy.ndarray
        (n,) the fitted velocities and their weights (residuals are ``(model - v) * weight``).
    delta_chi2 : float
        The χ² rise of the interval, in the units of the weighted residuals (1 for
        independent unit-variance residuals; for the boxcar's, v_max's sandwich variance over
        its independent-spaxel one, times the reduced-χ² scale).

    Returns
    -------
    (float, float, float)
        v_max's lower and upper limit and the profile's best v_max (NaN if no r_t gives a
        determined fit).
    """
    u = np.asarray(unit_models, float) * weight           # (k, n) weighted columns
    w, b = np.asarray(weight, float), np.asarray(v, float) * weight
    s_uu, s_u1, s_11 = np.sum(u * u, axis=1), u @ w, float(w @ w)
    b_u, b_1 = u @ b, float(w @ b)
    det = s_uu * s_11 - s_u1 ** 2
    ok = det > 1e-12 * np.maximum(s_uu * s_11, 1e-300)
    if not ok.any():
        return np.nan, np.nan, np.nan
    det = np.where(ok, det, 1.0)
    best = (s_11 * b_u - s_u1 * b_1) / det                # least squares of (v_max, c) per r_t
    offset = (s_uu * b_1 - s_u1 * b_u) / det
    chi2 = np.where(ok, float(b @ b) - best * b_u - offset * b_1, np.inf)
    var = s_11 / det                                      # v_max's variance per r_t
    room = chi2.min() + delta_chi2 - chi2
    inside = ok & (room >= 0)
    half = np.sqrt(np.clip(room[inside] * var[inside], 0.0, None))
    return float(np.min(best[inside] - half)), float(np.max(best[inside] + half)), float(best[np.argmin(chi2)])
