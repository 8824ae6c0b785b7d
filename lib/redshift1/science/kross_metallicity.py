"""KROSS §3.3 and §4.3: gas-phase metallicity from N2 and its trend with Δ(sSFR).

12+log(O/H) = 8.90 + 0.57 N2, N2 = log(f[NII]6583 / f(Hα)) (Pettini & Pagel 2004).
Each Hα-detected galaxy falls in one class:

* ``detected``      — S/N([NII]6583) > threshold: a metallicity;
* ``near_sky_line`` — not detected and [NII] within ``sky_distance_max_aa`` (7 Å, 2×FWHM)
  of a strong OH line (Rousselot et al. 2000, relative strength > 20): dropped from the
  metallicity analysis (but kept in the table);
* ``upper_limit``   — not detected away from sky lines: a 5σ [NII] flux (notebook 02)
  gives a metallicity upper limit (KROSS §3.3), shown in the tables and figures; the
  Z–Δ(sSFR) fit censors these galaxies where the detection threshold lies
  (:func:`fit_oh_delta`);
* ``no_halpha`` / ``not_measured`` — no Hα detection / no spectrum fit.
"""
from __future__ import annotations

import numpy as np
from astropy.table import Table

from .kross_flags import metallicity_flags
from ..columns import flags, strings, values
from .kross_tables import DELTA_EDGES, align, fit_with_error_terms
from .metallicity import PP04_SLOPE, n2_index, oh_from_n2
from .regression import UPPER, binned_means, spearman

LN10 = np.log(10.0)
CLASSES = ("detected", "near_sky_line", "upper_limit", "no_halpha", "not_measured")


def classify_nii(halpha_detected, snr_nii, sky_distance_aa, flux_ul, measured=None,
                 snr_min: float = 3.0, sky_distance_max_aa: float = 7.0) -> np.ndarray:
    """The [NII] class of each galaxy (see the module docstring).

    Parameters
    ----------
    halpha_detected : array_like of bool
        Hα detection.
    snr_nii : array_like
        S/N of [NII]6583.
    sky_distance_aa : array_like
        Distance of [NII] from the nearest strong OH line [Å].
    flux_ul : array_like
        5σ [NII] flux limit (a finite one is needed for ``upper_limit``).
    measured : array_like of bool, optional
        The spectrum was fitted (default: all).
    snr_min : float, optional
        S/N of a [NII] detection.
    sky_distance_max_aa : float, optional
        Closer to a sky line than this: ``near_sky_line``.

    Returns
    -------
    numpy.ndarray
        Object array of class names (:data:`CLASSES`).
    """
    ha = np.asarray(halpha_detected, bool)
    snr = np.asarray(snr_nii, float)
    d = np.asarray(sky_distance_aa, float)
    ul = np.asarray(flux_ul, float)
    measured = np.ones(ha.shape, bool) if measured is None else np.asarray(measured, bool)
    out = np.full(ha.shape, "not_measured", dtype=object)
    out[measured & ~ha] = "no_halpha"
    det = measured & ha & np.isfinite(snr) & (snr > snr_min)
    out[det] = "detected"
    nd = measured & ha & ~det
    near = nd & np.isfinite(d) & (d < sky_distance_max_aa)
    out[near] = "near_sky_line"
    out[nd & ~near & np.isfinite(ul) & (ul > 0)] = "upper_limit"
    return out


def kross_metallicity_table(spectra: Table, sfr_table: Table, resolved: Table | None = None,
                            snr_min: float = 3.0, sky_distance_max_aa: float = 7.0) -> Table:
    """One row per target: N2, 12+log(O/H) (value or upper limit), class, Δ(sSFR), r′½.

    Hα detection follows the SFR table (notebook 04); the [NII] class is re-derived here from
    notebook 02's S/N, sky-line distance and 5σ limit so the thresholds are parameters
    (``nii_class_02`` keeps 02's own class). ``censored`` is 0 for a value and −1 for an
    upper limit; other classes carry NaN metallicities. ``oh12_err`` is the measurement error
    only (PP04's 0.18 dex calibration scatter is not added). ``oh12_threshold`` is, for the
    upper limits, the metallicity at which [NII] would have reached the detection S/N
    (``snr_min`` times the detection aperture's error, in the field's units): where the
    Z–Δ(sSFR) fit censors them.

    Parameters
    ----------
    spectra : astropy.table.Table
        ``kmos_spectra`` (notebook 02).
    sfr_table : astropy.table.Table
        ``kross_sfr`` (notebook 04); its ids give the row order.
    resolved : astropy.table.Table, optional
        ``kross_resolved`` (notebook 05) for r′½ and the resolved flag.
    snr_min : float, optional
        S/N of a [NII] detection.
    sky_distance_max_aa : float, optional
        [NII] closer to a strong OH line than this [Å] is ``near_sky_line``.

    Returns
    -------
    astropy.table.Table
        One row per target with its flags.
    """
    ids = sfr_table["id"]
    sp, present = align(ids, spectra, "kmos_spectra")
    ha = flags(sfr_table, "halpha_detected")
    measured = present & np.array([s == "ok" for s in strings(sp, "status")])
    f_ha, e_ha = values(sp, "flux_halpha"), values(sp, "flux_halpha_err")
    f_n, e_n = values(sp, "flux_nii6583"), values(sp, "flux_nii6583_err")
    ul = values(sp, "flux_nii6583_ul")
    cls = classify_nii(ha, values(sp, "snr_nii6583"), values(sp, "nii_sky_distance_aa"), ul, measured,
                       snr_min, sky_distance_max_aa)
    det, lim = cls == "detected", cls == "upper_limit"
    # both lines are scaled to the field by the same aperture correction: its error cancels
    # in their ratio (adding it twice made the paper preset's O/H pulls 0.67 wide)
    corr_rel = values(sp, "aperture_correction_err") if "aperture_correction_err" in sp.colnames else 0.0
    corr_rel = np.nan_to_num(corr_rel)
    # the two fluxes come from one fit sharing z, width and continuum: their errors correlate
    # (ρ ≈ 0.15-0.4, larger for broad lines) and the ratio's error is smaller than the
    # quadrature sum (on the paper preset the O/H pulls were 0.83 wide without it)
    rho = np.nan_to_num(values(sp, "flux_corr_halpha_nii")) if "flux_corr_halpha_nii" in sp.colnames else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        n2 = np.where(det, n2_index(f_n, f_ha), np.where(lim, n2_index(ul, f_ha), np.nan))
        e_detect = values(sp, "flux_nii6583_err_detection") if "flux_nii6583_err_detection" in sp.colnames else e_n
        n2_threshold = np.where(lim, n2_index(snr_min * np.where(np.isfinite(e_detect), e_detect, e_n), f_ha), np.nan)
        rel_ha = np.sqrt(np.clip((e_ha / f_ha) ** 2 - corr_rel ** 2, 0.0, None))
        rel_n = np.sqrt(np.clip((e_n / f_n) ** 2 - corr_rel ** 2, 0.0, None))
        var = np.clip(rel_n ** 2 + rel_ha ** 2 - 2 * rho * rel_n * rel_ha, 0.0, None)
        n2_err = np.where(det, np.sqrt(var) / LN10, np.nan)
    oh = oh_from_n2(n2)

    status = []
    for c in cls:
        status.append({"detected": "ok", "upper_limit": "upper_limit",
                       "near_sky_line": f"rejected: [NII] within {sky_distance_max_aa:g} Å of a sky line",
                       "no_halpha": "no Hα detection", "not_measured": "not measured (no spectrum fit)"}[c])
    t = Table()
    t["id"] = [str(i) for i in ids]
    t["status"] = status
    t["nii_class"] = cls.astype(str)
    t["nii_class_02"] = strings(sp, "nii_class") if "nii_class" in sp.colnames else ""
    t["halpha_detected"] = ha
    t["snr_nii6583"] = values(sp, "snr_nii6583")
    t["nii_sky_distance_aa"] = values(sp, "nii_sky_distance_aa")
    t["n2"] = n2
    t["n2_err"] = n2_err
    t["oh12"] = oh
    t["oh12_err"] = PP04_SLOPE * n2_err
    t["oh12_err_halpha"] = np.where(det | lim, PP04_SLOPE * rel_ha / LN10, np.nan)
    t["oh12_threshold"] = oh_from_n2(n2_threshold)
    t["censored"] = np.where(lim, UPPER, 0).astype(int)
    t["logmstar"] = values(sfr_table, "logmstar")
    t["log_sfr_err"] = values(sfr_table, "log_sfr_err")
    t["log_delta_ssfr"] = values(sfr_table, "log_delta_ssfr")
    t["log_delta_ssfr_err"] = values(sfr_table, "log_delta_ssfr_err")
    if resolved is not None:
        rs, _ = align(ids, resolved, "kross_resolved")
        t["resolved"] = flags(rs, "resolved")
        t["r_half_kpc"] = values(rs, "r_half_kpc")
        t["r_half_kpc"].unit = "kpc"
    t.meta.update({"description": "KROSS §3.3: 12+log(O/H) = 8.90 + 0.57 N2 (PP04); upper limits from 5σ [NII]",
                   "snr_min": snr_min, "sky_distance_max_aa": sky_distance_max_aa,
                   "ms_prescription": sfr_table.meta.get("ms_prescription", "")})
    t["flags"] = metallicity_flags(t)
    return t


def class_counts(met: Table) -> dict:
    """Number of galaxies per [NII] class, and [NII] non-detections among the Hα-detected.

    Parameters
    ----------
    met : astropy.table.Table
        :func:`kross_metallicity_table` result.

    Returns
    -------
    dict
        ``n_<class>`` for each class and ``n_nii_nondetected``.
    """
    cls = strings(met, "nii_class")
    out = {f"n_{c}": int(np.sum(cls == c)) for c in CLASSES}
    out["n_nii_nondetected"] = out["n_near_sky_line"] + out["n_upper_limit"]
    return out


def mean_metallicity(met: Table) -> dict:
    """Mean 12+log(O/H) of the [NII] detections, its standard error, median and spread.

    Parameters
    ----------
    met : astropy.table.Table
        :func:`kross_metallicity_table` result.

    Returns
    -------
    dict
        ``mean_oh``, ``mean_oh_err``, ``median_oh``, ``std_oh``, ``n_oh``.
    """
    oh = values(met, "oh12")[strings(met, "nii_class") == "detected"]
    oh = oh[np.isfinite(oh)]
    n = oh.size
    return {"mean_oh": float(np.mean(oh)) if n else np.nan,
            "mean_oh_err": float(np.std(oh, ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
            "median_oh": float(np.median(oh)) if n else np.nan,
            "std_oh": float(np.std(oh, ddof=1)) if n > 1 else np.nan, "n_oh": n}


def z_delta_sample(met: Table, mass_min: float = 9.5, mass_max: float = 10.5, include_limits: bool = True):
    """Galaxies of the Z–Δ(sSFR) trend: detections (+ upper limits) at mass_min < log M★ < mass_max.

    Parameters
    ----------
    met : astropy.table.Table
        :func:`kross_metallicity_table` result.
    mass_min, mass_max : float, optional
        Stellar-mass range [log Msun].
    include_limits : bool, optional
        Include the upper limits.

    Returns
    -------
    numpy.ndarray
        bool mask in table order.
    """
    logm = values(met, "logmstar")
    cls = strings(met, "nii_class")
    keep = (cls == "detected") | ((cls == "upper_limit") if include_limits else False)
    return keep & (logm > mass_min) & (logm < mass_max) & np.isfinite(values(met, "log_delta_ssfr")) \
        & np.isfinite(values(met, "oh12"))


def fit_oh_delta(met: Table, mass_min: float = 9.5, mass_max: float = 10.5, method: str = "emcee",
                 include_limits: bool = True, min_points: int = 5, limits: str = "detection_threshold", **kwargs):
    """12+log(O/H) = intercept + slope · log Δ(sSFR), upper limits censored (KROSS §4.3).

    The Hα flux error is common to N2 (−0.57/ln10 per relative error) and log Δ (+1/ln10);
    the [NII] error is y-only, the mass and A_V parts of σ(log Δ) x-only
    (:func:`~redshift1.science.kross_tables.fit_with_error_terms`).

    How a non-detection enters (``limits``):

    * ``"detection_threshold"`` (default) -- what the data say: the measured [NII] fell below
      the detection S/N. The galaxy is censored at the metallicity of that threshold
      (``oh12_threshold``). Noise carries galaxies across the threshold both ways (detections
      whose true line lies below it, non-detections whose true line lies above), and the two
      roughly cancel: on samples drawn with Gaussian flux noise (``tests/test_kross_oh_limits``)
      the slope's mean pull was −0.1 to +0.1 over 8 draws per setting, where adding the
      threshold's own measurement error (a log-space Tobit likelihood) left it 0.3–1.3σ steep.
    * ``"paper"`` -- KROSS's: the 5σ limit (``oh12``) as a bound on the true metallicity.
      A 5σ bound for a 3σ detection leaves almost every non-detection unconstraining, so the
      fit follows the detections, which the S/N cut selects metal-rich where Hα is faint: on
      the paper preset's 255 galaxies the slope came out −0.368 ± 0.023 against −0.342 for
      the same galaxies' true values, and 3.5–5σ steep on the drawn samples.

    Parameters
    ----------
    met : astropy.table.Table
        :func:`kross_metallicity_table` result.
    mass_min, mass_max : float, optional
        Stellar-mass range [log Msun].
    method : str, optional
        ``"emcee"`` or ``"ols"`` (the paper's least squares).
    include_limits : bool, optional
        Fit the upper limits as censored points.
    min_points : int, optional
        Fewer galaxies: no fit.
    limits : {"detection_threshold", "paper"}, optional
        Where the upper limits are censored (see above).
    **kwargs
        Passed to :func:`~redshift1.science.regression.fit_line`.

    Returns
    -------
    LinearRelationFit or None
        The fit; None with fewer than ``min_points`` galaxies.
    """
    if limits not in ("detection_threshold", "paper"):
        raise ValueError(f"limits must be 'detection_threshold' or 'paper', not {limits!r}")
    m = z_delta_sample(met, mass_min, mass_max, include_limits)
    if m.sum() < min_points:
        return None
    cens = values(met, "censored")[m].astype(int)
    y = values(met, "oh12")[m]
    e_ha = np.nan_to_num(values(met, "oh12_err_halpha")[m] / PP04_SLOPE)      # σ(log f_Hα)
    e_y = values(met, "oh12_err")[m]
    if limits == "detection_threshold" and np.any(cens != 0):
        if "oh12_threshold" not in met.colnames:
            raise ValueError("limits='detection_threshold' needs the column oh12_threshold "
                             "(kross_metallicity_table); use limits='paper' for a table without it")
        y = np.where(cens != 0, values(met, "oh12_threshold")[m], y)
    e_y_only = np.sqrt(np.clip(np.nan_to_num(e_y) ** 2 - (PP04_SLOPE * e_ha) ** 2, 0, None))
    e_x_only = np.sqrt(np.clip(values(met, "log_delta_ssfr_err")[m] ** 2 - e_ha ** 2, 0, None))
    return fit_with_error_terms(values(met, "log_delta_ssfr")[m], y,
                                x_only_err=e_x_only, y_only_err=e_y_only,
                                shared=[(e_ha, -PP04_SLOPE, 1.0)], censored=cens, method=method, **kwargs)


def oh_delta_bins(met: Table, mass_min: float = 9.5, mass_max: float = 10.5, edges=DELTA_EDGES) -> Table:
    """Mean 12+log(O/H) of the detections in Δ(sSFR) bins (KROSS Fig. 4, red boxes).

    Parameters
    ----------
    met : astropy.table.Table
        :func:`kross_metallicity_table` result.
    mass_min, mass_max : float, optional
        Stellar-mass range [log Msun].
    edges : sequence of float, optional
        Δ(sSFR) bin edges (linear).

    Returns
    -------
    astropy.table.Table
        :func:`~redshift1.science.regression.binned_means` per bin (``delta_lo``, ``delta_hi``)
        with the number of upper limits per bin that the mean leaves out.
    """
    m = z_delta_sample(met, mass_min, mass_max, include_limits=False)
    lim = z_delta_sample(met, mass_min, mass_max, include_limits=True) & ~m
    d = 10 ** values(met, "log_delta_ssfr")
    bins = binned_means(d[m], values(met, "oh12")[m], edges)
    bins["n_upper_limits"] = [int(np.sum(lim & (d >= lo) & ((d <= hi) if i == len(bins) - 1 else (d < hi))))
                              for i, (lo, hi) in enumerate(zip(bins["x_lo"], bins["x_hi"]))]
    bins.rename_column("x_lo", "delta_lo")
    bins.rename_column("x_hi", "delta_hi")
    bins.rename_column("x_mean", "delta_mean")
    bins.rename_column("mean", "oh12_mean")
    return bins


def oh_size_trend(met: Table, mass_edges=(9.0, 9.75, 10.25, 11.5)) -> Table:
    """Spearman test of 12+log(O/H) vs r′½ in stellar-mass bins (resolved detections; §4.3).

    Parameters
    ----------
    met : astropy.table.Table
        :func:`kross_metallicity_table` result.
    mass_edges : sequence of float, optional
        Stellar-mass bin edges [log Msun].

    Returns
    -------
    astropy.table.Table
        ``logm_lo``, ``logm_hi``, ``n``, ``spearman_rho``, ``spearman_p`` and
        ``frac_3_7_kpc`` (fraction with 3 < r′½ < 7 kpc) per bin.
    """
    det = (strings(met, "nii_class") == "detected") & flags(met, "resolved")
    logm, r, oh = values(met, "logmstar"), values(met, "r_half_kpc"), values(met, "oh12")
    rows = []
    for lo, hi in zip(mass_edges[:-1], mass_edges[1:]):
        m = det & (logm >= lo) & (logm < hi) & np.isfinite(r) & np.isfinite(oh)
        sp = spearman(r[m], oh[m])
        rows.append((lo, hi, int(m.sum()), sp.rho, sp.p,
                     float(np.mean((r[m] > 3) & (r[m] < 7))) if m.any() else np.nan))
    return Table(rows=rows, names=("logm_lo", "logm_hi", "n", "spearman_rho", "spearman_p", "frac_3_7_kpc"),
                 dtype=(float, float, int, float, float, float))
