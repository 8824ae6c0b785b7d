"""KROSS §4.1–4.2: star-formation and stellar-mass surface densities, the resolved main
sequence and ΣSFR along the main sequence.

* ΣSFR = SFR / (2π r′½²) — half the SFR inside the intrinsic Hα half-light radius (eq. 4).
  An unresolved galaxy has r′½ < HWHM, so with r′½ = HWHM its ΣSFR is a lower limit.
* Σ★ = f★(< r′½) M★ / (π r′½²), with f★ the fraction of the HST/F160W Sérsic light inside
  r′½ (constant M/L, total mass from the SED fit):
  f★(< r) = γ(2n, b_n (r/r_e)^(1/n)) / Γ(2n), with γ(2n, b_n) / Γ(2n) = ½ defining b_n.
  Both radii are semi-major axes of ellipses (the Hα curve of growth uses elliptical
  apertures; GALFIT's r_e is along the major axis), so the fraction is the one inside the
  ellipse of the Sérsic profile's own axis ratio. Galaxies without HST morphology have no
  Σ★ and are flagged, not dropped.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table
from scipy.special import gammainc, gammaincinv

from .kross_flags import resolved_flags
from ..columns import flags, strings, values
from .kross_tables import DELTA_EDGES, align, fit_with_error_terms
from .regression import LOWER, binned_means, spearman

LN10 = np.log(10.0)


def sersic_b(n):
    """b_n of the Sérsic profile I(r) ∝ exp(−b_n (r/r_e)^(1/n)): half the light inside r_e.

    Parameters
    ----------
    n : array_like
        Sérsic index.

    Returns
    -------
    numpy.ndarray
        b_n.
    """
    n = np.asarray(n, float)
    return gammaincinv(2 * n, 0.5)


def sersic_enclosed_fraction(r, r_e, n):
    """Fraction of a Sérsic profile's total light inside radius ``r``.

    Parameters
    ----------
    r : array_like
        Radius.
    r_e : array_like
        Effective radius, same unit.
    n : array_like
        Sérsic index.

    Returns
    -------
    numpy.ndarray
        Enclosed fraction.
    """
    r, r_e, n = (np.asarray(v, float) for v in (r, r_e, n))
    x = sersic_b(n) * np.clip(r / r_e, 0, None) ** (1.0 / n)
    return gammainc(2 * n, x)


def stellar_surface_density(logmstar, r_kpc, r_over_re, n):
    """log Σ★ = log(f★(<r) M★ / π r²) [M☉ kpc⁻²], and f★.

    Parameters
    ----------
    logmstar : array_like
        log10 M★ [Msun].
    r_kpc : array_like
        Radius r [kpc].
    r_over_re : array_like
        r / r_e,★ (dimensionless, e.g. both in arcsec).
    n : array_like
        Sérsic index of the stellar light.

    Returns
    -------
    log_sigma, f : numpy.ndarray
        log Σ★ and the enclosed stellar-light fraction f★.
    """
    f = sersic_enclosed_fraction(r_over_re, 1.0, n)
    r_kpc = np.asarray(r_kpc, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_sigma = np.asarray(logmstar, float) + np.log10(f) - np.log10(np.pi * r_kpc ** 2)
    return log_sigma, f


def dlogf_dlogr(r_over_re, n, h: float = 1e-3):
    """d log f★ / d log r of the enclosed Sérsic light (for propagating size errors).

    Parameters
    ----------
    r_over_re : array_like
        r / r_e.
    n : array_like
        Sérsic index.
    h : float, optional
        Step of the central difference [dex].

    Returns
    -------
    numpy.ndarray
        The logarithmic derivative.
    """
    r = np.asarray(r_over_re, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log10(sersic_enclosed_fraction(r * 10 ** h, 1.0, n))
                - np.log10(sersic_enclosed_fraction(r * 10 ** -h, 1.0, n))) / (2 * h)


def kross_resolved_table(sfr_table: Table, sizes: Table, hst: Table | None, targets: Table | None = None) -> Table:
    """One row per target: r′½, ΣSFR (value or lower limit), Σ★ where HST exists.

    ``status``: ``ok`` (resolved: ΣSFR and r′½ measured), ``lower_limit: unresolved …``
    (ΣSFR lower limit, r′½ upper limit: HWHM or notebook 03's bound), ``no size: …`` (Hα detected but no size
    from notebook 03), or the SFR table's status (undetected / skipped).
    ``sigma_star_status``: ``ok``, ``lower_limit`` (unresolved), ``no HST morphology``,
    ``n/a``. ``censored`` is the regression code of log ΣSFR: 0 value, +1 lower limit.

    Parameters
    ----------
    sfr_table : astropy.table.Table
        ``kross_sfr`` (notebook 04); its ids give the row order.
    sizes : astropy.table.Table
        ``kmos_sizes`` (notebook 03).
    hst : astropy.table.Table or None
        HST morphology (Sérsic fits), or None.
    targets : astropy.table.Table, optional
        Target catalogue.

    Returns
    -------
    astropy.table.Table
        One row per target with its flags.
    """
    ids = sfr_table["id"]
    n = len(ids)
    sz, sz_present = align(ids, sizes, "kmos_sizes")
    det = flags(sfr_table, "halpha_detected")
    r_kpc = values(sz, "r_half_corr_kpc", u.kpc)
    r_kpc_err = values(sz, "r_half_corr_err_kpc", u.kpc)
    r_as = values(sz, "r_half_corr_arcsec", u.arcsec)
    sz_status = strings(sz, "status")
    size_ok = sz_present & (sz_status == "ok") & np.isfinite(r_kpc) & (r_kpc > 0)
    resolved = flags(sz, "resolved") & size_ok
    unresolved = size_ok & ~resolved
    use = det & size_ok

    log_sfr, log_sfr_err = values(sfr_table, "log_sfr"), values(sfr_table, "log_sfr_err")
    logm, logm_err = values(sfr_table, "logmstar"), values(sfr_table, "logmstar_err")
    with np.errstate(divide="ignore", invalid="ignore"):
        sig_logr = np.where(resolved, r_kpc_err / r_kpc / LN10, 0.0)
        log_ssfr = np.where(use, log_sfr - np.log10(2 * np.pi * r_kpc ** 2), np.nan)
    log_ssfr_err = np.where(use, np.sqrt(log_sfr_err ** 2 + (2 * sig_logr) ** 2), np.nan)

    # HST Sérsic light inside r′½
    if hst is not None and len(hst):
        hs, h_present = align(ids, hst, "hst_morphology")
        re_as, n_ser = values(hs, "re_arcsec", u.arcsec), values(hs, "sersic_n")
    else:
        h_present = np.zeros(n, bool)
        re_as, n_ser = np.full(n, np.nan), np.full(n, np.nan)
    morph = h_present & np.isfinite(re_as) & (re_as > 0) & np.isfinite(n_ser) & (n_ser > 0)
    if targets is not None and "has_hst" in targets.colnames:
        listed_hst = flags(align(ids, targets, "targets")[0], "has_hst")
    else:
        listed_hst = morph
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(morph & size_ok, r_as / re_as, np.nan)
    log_sstar, f_star = stellar_surface_density(logm, r_kpc, ratio, np.where(morph, n_ser, 1.0))
    k_x = dlogf_dlogr(ratio, np.where(morph, n_ser, 1.0)) - 2.0          # d log Σ★ / d log r
    star_ok = use & morph & np.isfinite(log_sstar)
    log_sstar = np.where(star_ok, log_sstar, np.nan)
    log_sstar_err = np.where(star_ok, np.sqrt(logm_err ** 2 + (k_x * sig_logr) ** 2), np.nan)

    status, star_status = [], []
    sfr_status = strings(sfr_table, "status")
    for i in range(n):
        if not det[i]:
            status.append(sfr_status[i])
        elif not size_ok[i]:
            why = sz_status[i] if sz_present[i] else "missing from kmos_sizes"
            if sz_present[i] and "size_status" in sz.colnames and strings(sz, "size_status")[i] not in ("", "ok"):
                why = f"{why}; {strings(sz, 'size_status')[i]}"
            status.append(f"no size: {why}")
        elif resolved[i]:
            status.append("ok")
        else:
            status.append("lower_limit: unresolved (r′½ upper limit: the PSF HWHM or notebook 03's larger bound)")
        if not use[i]:
            star_status.append("n/a")
        elif not morph[i]:
            star_status.append("no HST morphology" + (" (has_hst but no fit row)" if listed_hst[i] else ""))
        elif not star_ok[i]:
            star_status.append("no Σ★: enclosed fraction undefined")
        else:
            star_status.append("ok" if resolved[i] else "lower_limit")

    t = Table()
    t["id"] = [str(i) for i in ids]
    t["status"] = status
    t["halpha_detected"] = det
    t["size_ok"] = size_ok
    t["resolved"] = resolved
    t["censored"] = np.where(unresolved & det, LOWER, 0).astype(int)
    t["logmstar"] = logm
    t["logmstar_err"] = logm_err
    t["log_sfr"] = log_sfr
    t["log_sfr_err"] = log_sfr_err
    t["log_delta_ssfr"] = values(sfr_table, "log_delta_ssfr")
    t["log_delta_ssfr_err"] = values(sfr_table, "log_delta_ssfr_err")
    t["r_half_kpc"] = np.where(size_ok, r_kpc, np.nan) * u.kpc
    t["r_half_kpc_err"] = np.where(resolved, r_kpc_err, np.nan) * u.kpc
    t["r_half_arcsec"] = np.where(size_ok, r_as, np.nan) * u.arcsec
    t["sigma_sfr"] = 10 ** log_ssfr * u.Msun / u.yr / u.kpc ** 2
    t["log_sigma_sfr"] = log_ssfr
    t["log_sigma_sfr_err"] = log_ssfr_err
    t["has_hst"] = morph
    t["re_star_arcsec"] = re_as * u.arcsec
    t["sersic_n"] = n_ser
    t["r_half_over_re_star"] = ratio
    t["f_star_inside"] = np.where(star_ok, f_star, np.nan)
    t["log_sigma_star"] = log_sstar
    t["log_sigma_star_err"] = log_sstar_err
    t["dlog_sigma_star_dlog_r"] = np.where(star_ok, k_x, np.nan)
    t["sigma_star_status"] = star_status
    t.meta["description"] = ("KROSS §4.1-4.2: ΣSFR = SFR/(2π r′½²) (lower limit where unresolved), "
                             "Σ★ = f★(<r′½) M★/(π r′½²) from the HST Sérsic profile")
    t.meta["ms_prescription"] = sfr_table.meta.get("ms_prescription", "")
    t["flags"] = resolved_flags(t, sizes)
    return t


def _sfr_size_terms(res: Table, m: np.ndarray):
    """Error terms of a subset: σ(log SFR), σ(log M★), σ(log r′½), d log Σ★/d log r."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sig_logr = values(res, "r_half_kpc_err")[m] / values(res, "r_half_kpc")[m] / LN10
    return (values(res, "log_sfr_err")[m], values(res, "logmstar_err")[m], np.nan_to_num(sig_logr),
            values(res, "dlog_sigma_star_dlog_r")[m])


def resolved_ms_sample(res: Table) -> np.ndarray:
    """Galaxies of the resolved-MS fit: resolved, Hα-detected, with Σ★ (HST).

    Parameters
    ----------
    res : astropy.table.Table
        :func:`kross_resolved_table` result.

    Returns
    -------
    numpy.ndarray
        bool mask in table order.
    """
    return (strings(res, "status") == "ok") & (strings(res, "sigma_star_status") == "ok")


def fit_resolved_ms(res: Table, method: str = "emcee", min_points: int = 5, **kwargs):
    """log ΣSFR = intercept + slope · log Σ★ with intrinsic scatter (KROSS eq. 5).

    Errors: σ(log SFR) in y, σ(log M★) in x, and the r′½ error, which moves a point by
    (−2, d log Σ★/d log r − 2) × σ(log r) and enters through the projected residual
    (:func:`~redshift1.science.kross_tables.fit_with_error_terms`).

    Parameters
    ----------
    res : astropy.table.Table
        :func:`kross_resolved_table` result.
    method : str, optional
        ``"emcee"`` or ``"ols"`` (the paper's least squares).
    min_points : int, optional
        Fewer galaxies: no fit.
    **kwargs
        Passed to :func:`~redshift1.science.regression.fit_line`.

    Returns
    -------
    LinearRelationFit or None
        The fit; None with fewer than ``min_points`` galaxies.
    """
    m = resolved_ms_sample(res)
    if m.sum() < min_points:
        return None
    s_sfr, s_m, s_r, k_x = _sfr_size_terms(res, m)
    return fit_with_error_terms(values(res, "log_sigma_star")[m], values(res, "log_sigma_sfr")[m],
                                x_only_err=s_m, y_only_err=s_sfr, shared=[(s_r, -2.0, k_x)],
                                method=method, **kwargs)


def sigma_delta_sample(res: Table, include_limits: bool = True) -> np.ndarray:
    """Galaxies of the ΣSFR–Δ(sSFR) relation: resolved, plus unresolved lower limits.

    Parameters
    ----------
    res : astropy.table.Table
        :func:`kross_resolved_table` result.
    include_limits : bool, optional
        Include the unresolved lower limits.

    Returns
    -------
    numpy.ndarray
        bool mask in table order.
    """
    st = strings(res, "status")
    m = st == "ok"
    if include_limits:
        m |= np.array([s.startswith("lower_limit") for s in st])
    return m & np.isfinite(values(res, "log_delta_ssfr")) & np.isfinite(values(res, "log_sigma_sfr"))


def fit_sigma_delta(res: Table, method: str = "emcee", include_limits: bool = True, min_points: int = 5,
                    **kwargs):
    """log ΣSFR = intercept + slope · log Δ(sSFR), unresolved galaxies as censored lower limits.

    The SFR error is common to both axes (kx = ky = 1), the r′½ error only in y, the mass
    error only in x (through the MS slope: the part of σ(log Δ) that is not σ(log SFR)).

    Parameters
    ----------
    res : astropy.table.Table
        :func:`kross_resolved_table` result.
    method : str, optional
        ``"emcee"`` or ``"ols"``.
    include_limits : bool, optional
        False drops the limits (what the paper's least squares did).
    min_points : int, optional
        Fewer galaxies: no fit.
    **kwargs
        Passed to :func:`~redshift1.science.regression.fit_line`.

    Returns
    -------
    LinearRelationFit or None
        The fit; None with fewer than ``min_points`` galaxies.
    """
    m = sigma_delta_sample(res, include_limits)
    if m.sum() < min_points:
        return None
    s_sfr, s_m, s_r, _ = _sfr_size_terms(res, m)
    s_delta = values(res, "log_delta_ssfr_err")[m]
    s_mass = np.sqrt(np.clip(s_delta ** 2 - s_sfr ** 2, 0, None))
    cens = values(res, "censored")[m].astype(int)
    return fit_with_error_terms(values(res, "log_delta_ssfr")[m], values(res, "log_sigma_sfr")[m],
                                x_only_err=s_mass, y_only_err=2 * s_r,
                                shared=[(s_sfr, 1.0, 1.0)], censored=cens, method=method, **kwargs)


def sigma_delta_statistics(res: Table, edges=DELTA_EDGES) -> dict:
    """Spearman test and mean log ΣSFR in Δ(sSFR) bins (KROSS §4.2, Fig. 3 right).

    The Spearman test and the bin means use the resolved galaxies (a limit is not a value);
    ``spearman_with_limits`` also ranks the lower limits at their limit values.

    Parameters
    ----------
    res : astropy.table.Table
        :func:`kross_resolved_table` result.
    edges : sequence of float, optional
        Δ(sSFR) bin edges (linear).

    Returns
    -------
    dict
        ``spearman``, ``spearman_with_limits`` (:class:`~redshift1.science.regression.SpearmanResult`)
        and ``bins`` (a table with, per bin, the mean and the number of lower limits left out).
    """
    m = sigma_delta_sample(res, include_limits=False)
    lim = sigma_delta_sample(res, include_limits=True) & ~m
    x, y = values(res, "log_delta_ssfr"), values(res, "log_sigma_sfr")
    sp = spearman(x[m], y[m])
    sp_all = spearman(x[m | lim], y[m | lim])
    bins = binned_means(10 ** x[m], y[m], edges)
    lx = 10 ** x[lim]
    bins["n_lower_limits"] = [int(np.sum((lx >= lo) & ((lx <= hi) if i == len(bins) - 1 else (lx < hi))))
                              for i, (lo, hi) in enumerate(zip(bins["x_lo"], bins["x_hi"]))]
    bins.rename_column("x_mean", "delta_mean")
    bins.rename_column("mean", "log_sigma_sfr_mean")
    bins.rename_column("x_lo", "delta_lo")
    bins.rename_column("x_hi", "delta_hi")
    return {"spearman": sp, "spearman_with_limits": sp_all, "bins": bins}


def size_by_ms_position(res: Table, starburst_min: float = 2.0, ms_band_dex: float = 0.3) -> Table:
    """Mean intrinsic r′½ of starbursts vs main-sequence galaxies (KROSS §4.2).

    Resolved galaxies only; error = std/√n. ``n_unresolved`` counts the unresolved galaxies of
    each class (not in the mean).

    Parameters
    ----------
    res : astropy.table.Table
        :func:`kross_resolved_table` result.
    starburst_min : float, optional
        Starbursts have Δ(sSFR) above this.
    ms_band_dex : float, optional
        Main-sequence galaxies have |log Δ| ≤ this.

    Returns
    -------
    astropy.table.Table
        ``class``, ``n``, ``n_unresolved``, ``mean_r_half_kpc``, ``err_kpc``, ``median_r_half_kpc``.
    """
    ld = values(res, "log_delta_ssfr")
    r = values(res, "r_half_kpc")
    ok = strings(res, "status") == "ok"
    unres = np.array([s.startswith("lower_limit") for s in strings(res, "status")])
    classes = {"starburst": ld > np.log10(starburst_min),
               "main sequence": np.abs(ld) <= ms_band_dex,
               "below MS": ld < -ms_band_dex}
    rows = []
    for name, c in classes.items():
        v = r[c & ok]
        nv = v.size
        rows.append((name, nv, int((c & unres).sum()), float(np.mean(v)) if nv else np.nan,
                     float(np.std(v, ddof=1) / np.sqrt(nv)) if nv > 1 else np.nan,
                     float(np.median(v)) if nv else np.nan))
    t = Table(rows=rows, names=("class", "n", "n_unresolved", "mean_r_half_kpc", "err_kpc", "median_r_half_kpc"),
              dtype=(str, int, int, float, float, float))
    t.meta["definition"] = f"starburst: Δ(sSFR) > {starburst_min}; main sequence: |log Δ| ≤ {ms_band_dex}"
    return t


def size_summary(res: Table) -> dict:
    """Median / mean / range of r′½ of the resolved galaxies and r′½ / r_e,★ (HST).

    Parameters
    ----------
    res : astropy.table.Table
        :func:`kross_resolved_table` result.

    Returns
    -------
    dict
        Counts (resolved, unresolved, no size, HST, resolved-MS sample) and the size statistics.
    """
    ok = strings(res, "status") == "ok"
    r = values(res, "r_half_kpc")[ok]
    rel = values(res, "r_half_kpc_err")[ok] / r
    ratio = values(res, "r_half_over_re_star")[ok & flags(res, "has_hst")]
    ratio = ratio[np.isfinite(ratio)]
    return {
        "n_resolved": int(ok.sum()),
        "n_unresolved": int(sum(s.startswith("lower_limit") for s in res["status"])),
        "n_no_size": int(sum(s.startswith("no size") for s in res["status"])),
        "n_hst": int(np.sum(flags(res, "has_hst"))),
        "n_resolved_ms_sample": int(resolved_ms_sample(res).sum()),
        "median_r_half_kpc": float(np.median(r)) if r.size else np.nan,
        "mean_r_half_kpc": float(np.mean(r)) if r.size else np.nan,
        "min_r_half_kpc": float(np.min(r)) if r.size else np.nan,
        "max_r_half_kpc": float(np.max(r)) if r.size else np.nan,
        "median_r_half_rel_err": float(np.nanmedian(rel)) if r.size else np.nan,
        "mean_halpha_to_stellar_size": float(np.mean(ratio)) if ratio.size else np.nan,
        "median_halpha_to_stellar_size": float(np.median(ratio)) if ratio.size else np.nan,
    }
