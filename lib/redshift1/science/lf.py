"""1/V_max densities with effective-number Poisson errors (ROLES §4.1, eqs. 15-17).

For weights ``w_i = P_i / (V_max,i W_i)`` in a bin of width Δ:
``φ = Σ w / Δ``, ``W_eff = Σ w² / Σ w``, ``N_eff = Σ w / W_eff``, and the 1-sigma limits are
the Gehrels (1986) Poisson limits on ``N_eff`` (astropy ``poisson_conf_interval``,
``interval='frequentist-confidence'``) times ``W_eff / Δ``.
"""
from __future__ import annotations

import numpy as np
from astropy.stats import poisson_conf_interval
from astropy.table import Table
from scipy.optimize import curve_fit

__all__ = ["effective_poisson", "binned_density", "luminosity_function", "fit_faint_end"]


def effective_poisson(w):
    """Sum of a set of weights and its Poisson limits through the effective number of galaxies.

    W_eff = Σw² / Σw and N_eff = Σw / W_eff; the limits are Gehrels 1σ limits on N_eff
    times W_eff.

    Parameters
    ----------
    w : array_like
        Weights (non-finite and non-positive ones dropped).

    Returns
    -------
    tuple of float
        ``(sum, W_eff, N_eff, lo, hi)``; ``(0, nan, 0, 0, nan)`` without weights.
    """
    w = np.asarray(w, float)
    w = w[np.isfinite(w) & (w > 0)]
    if w.size == 0:
        return 0.0, np.nan, 0.0, 0.0, np.nan
    s = w.sum()
    weff = (w**2).sum() / s
    neff = s / weff
    lo, hi = poisson_conf_interval(neff, interval="frequentist-confidence")
    return float(s), float(weff), float(neff), float(lo * weff), float(hi * weff)


def binned_density(x, w, edges, extra=None) -> Table:
    """Σ w per unit x in bins of ``x`` with effective-number errors (:func:`effective_poisson`).

    Parameters
    ----------
    x : array_like
        Binned quantity.
    w : array_like
        Weights.
    edges : array_like
        Bin edges.
    extra : dict, optional
        ``{name: array}`` whose median per bin is reported (e.g. log M).

    Returns
    -------
    astropy.table.Table
        One row per bin: ``lo``, ``hi``, ``centre``, ``n_gal``, ``n_eff``, ``w_eff``,
        ``value``, ``value_lo``, ``value_hi`` and the ``extra`` medians.
    """
    x = np.asarray(x, float)
    w = np.asarray(w, float)
    edges = np.asarray(edges, float)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (x >= lo) & (x < hi) & np.isfinite(w) & (w > 0)
        s, weff, neff, l, h = effective_poisson(w[sel])
        d = hi - lo
        r = {"lo": lo, "hi": hi, "centre": 0.5 * (lo + hi), "n_gal": int(sel.sum()), "n_eff": neff, "w_eff": weff,
             "value": s / d, "value_lo": l / d, "value_hi": h / d if np.isfinite(h) else np.nan}
        for k, v in (extra or {}).items():
            vv = np.asarray(v, float)[sel]
            r[k] = float(np.median(vv)) if vv.size else np.nan
        rows.append(r)
    t = Table(rows=rows)
    return _empty_bin_limits(t, edges)


def _empty_bin_limits(t: Table, edges) -> Table:
    """Bins without galaxies: ``value_hi`` = the Gehrels 1-sigma upper limit for N = 0 (1.841) in
    units of the effective weight of the nearest bin with galaxies, flagged ``empty_bin`` in ``doubt``."""
    from ..ldss3.doubt import doubt_column
    if len(t) == 0:
        t["doubt"] = np.zeros(0, "U1")
        return t
    n = np.asarray(t["n_gal"], int)
    weff = np.asarray(t["w_eff"], float)
    full = np.flatnonzero((n > 0) & np.isfinite(weff))
    empty = n == 0
    centre = np.asarray(t["centre"], float)
    width = np.diff(np.asarray(edges, float))
    hi = np.asarray(t["value_hi"], float).copy()
    if full.size:
        hi_lim = poisson_conf_interval(0, interval="frequentist-confidence")[1]   # 1.841
        for i in np.flatnonzero(empty):
            j = full[np.argmin(np.abs(centre[full] - centre[i]))]
            hi[i] = hi_lim * weff[j] / width[i]
    t["value_hi"] = hi
    t["doubt"] = doubt_column([["empty_bin"] if e else [] for e in empty])
    return t


def luminosity_function(log_l, p, vmax, completeness, edges) -> Table:
    """[OII] LF per dex (ROLES eq. 15): weights ``P / (V_max W)``.

    Parameters
    ----------
    log_l : array_like
        log10 L([OII]) [erg/s].
    p : array_like
        P([OII]).
    vmax : array_like
        V_max [Mpc^3].
    completeness : array_like
        Completeness W.
    edges : array_like
        Bin edges [dex].

    Returns
    -------
    astropy.table.Table
        :func:`binned_density` with columns ``logl_lo``, ``logl_hi``, ``logl``, ``phi``,
        ``phi_lo``, ``phi_hi``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.asarray(p, float) / (np.asarray(vmax, float) * np.asarray(completeness, float))
    t = binned_density(log_l, w, edges)
    t.rename_columns(["lo", "hi", "centre", "value", "value_lo", "value_hi"],
                     ["logl_lo", "logl_hi", "logl", "phi", "phi_lo", "phi_hi"])
    return t


def fit_faint_end(lf: Table, logl_min: float, logl_max: float = np.inf):
    """Power law ``φ ∝ L^(α+1)`` (per dex; dN/dL ∝ L^α) fitted to the faint-end bins.

    Bins with ``logl_min <= log L < logl_max`` and φ > 0 count; errors from the mean of the
    log-space limits.

    Parameters
    ----------
    lf : astropy.table.Table
        :func:`luminosity_function` result.
    logl_min : float
        Lowest bin centre fitted.
    logl_max : float, optional
        Bins below this.

    Returns
    -------
    tuple
        ``(alpha, alpha_err, log_phi_at_41, n_bins)``; NaNs with fewer than two bins.
    """
    x = np.asarray(lf["logl"], float)
    y = np.asarray(lf["phi"], float)
    lo = np.asarray(lf["phi_lo"], float)
    hi = np.asarray(lf["phi_hi"], float)
    sel = (x >= logl_min) & (x < logl_max) & (y > 0) & np.isfinite(hi)
    if sel.sum() < 2:
        return np.nan, np.nan, np.nan, int(sel.sum())
    ly = np.log10(y[sel])
    err = 0.5 * (np.log10(hi[sel]) - np.log10(np.clip(lo[sel], 1e-300, None)))
    err = np.where(np.isfinite(err) & (err > 0), err, 0.3)
    f = lambda xx, a, b: a * (xx - 41.0) + b   # noqa: E731
    popt, pcov = curve_fit(f, x[sel], ly, p0=(-0.5, np.median(ly)), sigma=err, absolute_sigma=True)
    perr = np.sqrt(np.diag(pcov)) if np.all(np.isfinite(pcov)) else (np.nan, np.nan)
    return float(popt[0] - 1.0), float(perr[0]), float(popt[1]), int(sel.sum())
