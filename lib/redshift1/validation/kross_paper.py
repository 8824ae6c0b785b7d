"""The KROSS rows of the paper-vs-compendium table: values and 95 % intervals (notebook 12).

* :func:`kross_compendium_values` -- this run's numbers, from the products (``kross_fits.json``,
  ``kmos_psf.ecsv``, ``kmos_sizes``, ``kross_resolved``);
* :func:`kross_truth_values` -- the same statistics on the true values of the same galaxies
  (:data:`KROSS_NOTES` says how each is defined);
* :func:`kross_compendium_intervals` / :func:`kross_truth_intervals` -- their 95 % intervals
  (:mod:`~redshift1.validation.intervals`): Poisson for counts, a seeded bootstrap over the
  galaxies (or PSF stars) for medians, means, widths, the least-squares lines and the Spearman p,
  order statistics for extremes (:func:`extreme_interval`), the posterior for the Z–Δ(sSFR)
  slope; the injected Z–Δ(sSFR) slope and the number of targets are exact.

Where the paper's number is defined by its own criterion or estimator, the row applies it to the
walk's measured products (docs/paper-vs-compendium.md): KROSS's resolution test r½ > HWHM
(:func:`resolved_by_kross_test`) and least-squares lines with the rms about them
(:func:`ols_line`). The walk's own choices (notebook 03's significance margin, emcee fits with
intrinsic scatter and limits) stay its defaults and are reported in ``kross_fits.json``.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from scipy import stats

from .. import constants as C
from ..kmos.spectra import sky_line_distance_aa
from ..science.kross_tables import flags, strings, values
from ..science.regression import spearman
from ..science.resolved import resolved_ms_sample, sigma_delta_sample
from .core import match_keys, robust_sigma
from .intervals import (CONFIDENCE, Interval, bootstrap_interval, exact_interval, poisson_interval,
                        posterior_interval, row_rng)
from .kross import KrossInputs, true_log_sigma_star

__all__ = ["KROSS_NOTES", "kross_compendium_values", "kross_truth_values", "kross_compendium_intervals",
           "kross_truth_intervals", "KROSS_COUNT_KEYS", "resolved_by_kross_test", "ols_line", "extreme_interval",
           "DETECTION_SNR"]

#: KROSS's detection threshold (M16 §2, §3.3: S/N > 3), applied to the truth's expected S/N
DETECTION_SNR = 3.0

#: Rows that are counts of an observation's outcome (Poisson intervals)
KROSS_COUNT_KEYS = ("kross.n_halpha", "kross.n_resolved", "kross.n_unresolved", "kross.n_undetected", "kross.n_nii",
                    "kross.n_nii_near_sky", "kross.n_nii_upper_limit", "kross.n_hst")

KROSS_NOTES = {
    "kross.n_targets": "truth: galaxies in the truth catalogue",
    "kross.n_halpha": "truth: targets whose true in-IFU Hα flux exceeds 3 x the error the walk's detection test faced "
                      "(the expected S/N > 3); undetected: the other targets",
    "kross.n_resolved": "compendium: KROSS's test r½ > HWHM on notebook 03's measured r½ and PSF r½ (the walk's own "
                        "stricter test is n_resolved of kross_fits.json); truth: of the walk's Hα detections, those "
                        "whose true intrinsic r½ exceeds the injected PSF's HWHM (unresolved: the others)",
    "kross.n_nii": "truth: of the walk's Hα detections, those whose true in-IFU [NII]6583 flux exceeds 3 x the error "
                   "the walk's [NII] detection test faced",
    "kross.n_hst": "truth: the same count (a catalogue fact, not a measurement)",
    "kross.n_nii_near_sky": "truth: of the compendium's [NII] non-detections, those whose [NII] at the TRUE z lies "
                            "within the sky-distance cut of a strong OH line",
    "kross.n_nii_upper_limit": "truth: the other [NII] non-detections",
    "kross.psf_hwhm_mean": "truth: injected PSFs of the measured stars",
    "kross.median_sfr": "truth: true SFR of the same Hα-detected galaxies (also min/max)",
    "kross.median_r_half": "truth: true intrinsic r½ of the same resolved galaxies (also mean/min/max)",
    "kross.r_half_rel_err": "compendium: median quoted error; truth: actual 1.4826 MAD of r′½/r½_true − 1",
    "kross.resolved_ms_slope": "compendium: least squares (the paper's) on the walk's resolved galaxies with Σ★, "
                               "scatter = rms about the line; truth: the same on their true Σ★, ΣSFR",
    "kross.sigma_delta_slope": "compendium: least squares (the paper's) on the walk's resolved galaxies; truth: the "
                               "same on their true Δ(sSFR), ΣSFR",
    "kross.min_sfr": "extremes (SFR, r′½): 95% order-statistic interval of the extreme of n draws from a lognormal "
                     "fitted to the sample, widened to hold the sample's own extreme",
    "kross.spearman_p": "truth: Spearman test on the true values of the same resolved galaxies",
    "kross.size_starburst": "truth: mean true r½ of the resolved galaxies with TRUE Δ > 2 (MS: |log Δ| ≤ 0.3)",
    "kross.mean_oh": "truth: mean true 12+log(O/H) of the same [NII] detections",
    "kross.oh_delta_slope": "truth: the injected Relations.oh_delta_slope",
    "kross.oh_across_ms": "compendium/truth: |slope| x 0.6 dex",
    "kross.halpha_to_stellar_size": "truth: mean true r½(Hα)/r_e,★ of the same galaxies (injected 1.3 x 0.08 dex scatter)",
}



# --------------------------------------------------------------------------- the paper's estimators
def resolved_by_kross_test(sizes) -> np.ndarray:
    """KROSS's resolution test (M16 §3.2) on notebook 03's measurements: the observed
    r½(Hα) larger than the PSF's r½ (its HWHM), with no significance margin.

    The walk's own test (notebook 03's ``resolved_significance``) also asks r½ to exceed the
    HWHM by 2σ(r½); the table applies the paper's criterion so that it compares like with like.

    Parameters
    ----------
    sizes : `~astropy.table.Table`
        ``kmos_sizes`` (columns ``status``, ``r_half_arcsec``, ``psf_r_half``).

    Returns
    -------
    numpy.ndarray
        bool per row.
    """
    r, h = values(sizes, "r_half_arcsec"), values(sizes, "psf_r_half")
    with np.errstate(invalid="ignore"):
        return (strings(sizes, "status") == "ok") & np.isfinite(r) & np.isfinite(h) & (r > h)


def _ols(x, y, axis=None):
    """Ordinary least-squares slope, intercept and rms residual (dof n − 2) of y on x; with
    ``axis=1``, one line per row of 2-D ``x``, ``y`` (bootstrap resamples)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xm, ym = x.mean(axis=axis, keepdims=True), y.mean(axis=axis, keepdims=True)
    dx, dy = x - xm, y - ym
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (dx * dy).sum(axis=axis, keepdims=True) / (dx * dx).sum(axis=axis, keepdims=True)
        intercept = ym - slope * xm
        n = x.shape[-1] if axis is not None else x.size
        rms = np.sqrt(((dy - slope * dx) ** 2).sum(axis=axis, keepdims=True) / max(n - 2, 1))
    sq = (lambda a: a.reshape(-1)) if axis is not None else (lambda a: float(a.ravel()[0]))
    return sq(slope), sq(intercept), sq(rms)


def ols_line(x, y) -> tuple[float, float, float]:
    """The papers' least-squares line (M16 §4.1 eq. 5, §4.2): slope, intercept and the rms
    scatter of y about it, on the finite pairs.

    Parameters
    ----------
    x, y : array_like
        Abscissa and ordinate (e.g. log Σ★ and log ΣSFR).

    Returns
    -------
    tuple of float
        ``(slope, intercept, rms)``; NaN with fewer than three finite pairs.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return np.nan, np.nan, np.nan
    return _ols(x[ok], y[ok])


def _ols_part(i):
    def stat(x, y, axis=None):
        return _ols(x, y, axis=axis)[i]
    return stat


def extreme_interval(x, which: str, confidence: float = CONFIDENCE) -> Interval:
    """95 % sampling interval of the smallest or largest of a sample (order statistics).

    A bootstrap cannot resample beyond the sample, so its interval of an extreme is the
    extreme itself and its nearest neighbour. Instead, a lognormal is fitted to the sample
    (mean and standard deviation of log x) and the interval is that of the extreme of n draws
    from it: the largest of n draws has P(max ≤ q) = F(q)ⁿ, so its quantiles are
    F⁻¹(u^(1/n)) at u = 0.025, 0.975 (the smallest: F⁻¹(1 − (1 − u)^(1/n))). The sample's
    own extreme is kept inside the interval (a tail heavier than the lognormal widens it on
    that side only).

    Parameters
    ----------
    x : array_like
        The sample (positive; non-finite and non-positive values are dropped).
    which : {"min", "max"}
    confidence : float
        Central probability of the interval.

    Returns
    -------
    Interval
        Method ``"extreme_order_statistic"``; ``"none"`` with fewer than three values.
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x) & (x > 0)]
    if x.size < 3 or which not in ("min", "max"):
        return Interval(np.nan, np.nan, "none")
    lx = np.log10(x)
    mu, sd, n = lx.mean(), lx.std(ddof=1), x.size
    u_ = np.array([0.5 - confidence / 2, 0.5 + confidence / 2])
    p = u_ ** (1 / n) if which == "max" else 1 - (1 - u_) ** (1 / n)
    lo, hi = np.sort(10 ** (mu + sd * stats.norm.ppf(p)))
    value = x.max() if which == "max" else x.min()
    return Interval(float(min(lo, value)), float(max(hi, value)), "extreme_order_statistic")



def _paper_fit_data(k: KrossInputs, truth: bool) -> dict:
    """(x, y) of the resolved MS (log Σ★, log ΣSFR) and of ΣSFR–Δ(sSFR) (log Δ, log ΣSFR): the
    walk's measured values of its resolved galaxies (the paper fits its points; the unresolved
    are drawn as limits, M16 Fig. 3), or with ``truth`` the true values of the same galaxies
    (true ΣSFR = SFR / (2π r½²) of the true SFR and intrinsic r½)."""
    r = k.resolved
    have = k.truth_rows(r) >= 0
    ms, sd = resolved_ms_sample(r), sigma_delta_sample(r, include_limits=False)
    if not truth:
        y = values(r, "log_sigma_sfr")
        return {"resolved_ms": (values(r, "log_sigma_star")[ms], y[ms]),
                "sigma_delta": (values(r, "log_delta_ssfr")[sd], y[sd])}
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log10(k.t(r, "sfr") / (2 * np.pi * k.t(r, "r_half_kpc") ** 2))
    ms, sd = ms & have, sd & have
    return {"resolved_ms": (true_log_sigma_star(k, r)[ms], y[ms]),
            "sigma_delta": (k.t(r, "log_delta_ssfr")[sd], y[sd])}


def kross_compendium_values(k: KrossInputs, ms_band_dex: float = 0.3) -> dict:
    """The compendium's KROSS numbers (keys of :data:`~redshift1.validation.paper.PAPER_NUMBERS`).

    Parameters
    ----------
    k : KrossInputs
        The run's products and truth (:func:`~redshift1.validation.kross.load_kross`).
    ms_band_dex : float
        Half-width, dex, of the main-sequence band in Δ(sSFR) (notebook 05).

    Returns
    -------
    dict of str to float
        ``kross.*`` keys; NaN where the product or the summary entry is missing.
    """
    f = k.fits
    v = {}

    def g(name):
        x = f.get(name)
        return np.nan if x is None else float(x)

    v["kross.n_targets"] = g("sfr_n_targets")
    v["kross.n_halpha"] = g("sfr_n_halpha")
    if k.sizes is not None:
        # KROSS's test (r½ > HWHM) on the walk's measured r½: the paper's own criterion
        v["kross.n_resolved"] = float(resolved_by_kross_test(k.sizes).sum())
        v["kross.n_unresolved"] = g("sfr_n_halpha") - v["kross.n_resolved"]
    v["kross.n_undetected"] = (g("sfr_n_targets") - g("sfr_n_halpha"))
    v["kross.n_nii"] = g("n_detected")
    v["kross.n_nii_near_sky"] = g("n_near_sky_line")
    v["kross.n_nii_upper_limit"] = g("n_upper_limit")
    if k.psf is not None:
        ok = strings(k.psf, "status") == "ok"
        h = values(k.psf, "hwhm")[ok]
        e = values(k.psf, "ellipticity")[ok]
        spec = values(k.psf, "spectrograph")[ok]
        if h.size:
            v["kross.psf_hwhm_mean"], v["kross.psf_hwhm_min"], v["kross.psf_hwhm_max"] = h.mean(), h.min(), h.max()
        v["kross.psf_ell_12"] = float(np.mean(e[spec <= 2])) if np.any(spec <= 2) else np.nan
        v["kross.psf_ell_3"] = float(np.mean(e[spec == 3])) if np.any(spec == 3) else np.nan
    v["kross.median_sfr"] = g("sfr_median_sfr")
    v["kross.min_sfr"] = g("sfr_min_sfr")
    v["kross.max_sfr"] = g("sfr_max_sfr")
    for a in ("median", "mean", "min", "max"):
        v[f"kross.{a}_r_half"] = g(f"{a}_r_half_kpc")
    v["kross.r_half_rel_err"] = g("median_r_half_rel_err")
    if k.resolved is not None:
        # the papers' estimators (least squares; scatter = rms about the line) on the walk's points
        for key, (x, y) in _paper_fit_data(k, truth=False).items():
            slope, intercept, rms = ols_line(x, y)
            v[f"kross.{key}_slope"] = slope
            if key == "resolved_ms":
                v["kross.resolved_ms_intercept"], v["kross.resolved_ms_scatter"] = intercept, rms
    v["kross.spearman_p"] = g("spearman_p")
    v["kross.size_starburst"] = g("size_starburst_kpc")
    v["kross.size_ms"] = g("size_ms_kpc")
    v["kross.mean_oh"] = g("mean_oh")
    v["kross.oh_delta_slope"] = g("oh_delta_slope")
    v["kross.oh_across_ms"] = abs(g("oh_delta_slope")) * 2 * ms_band_dex
    v["kross.halpha_to_stellar_size"] = g("mean_halpha_to_stellar_size")
    v["kross.n_hst"] = g("n_hst")
    return v



def _truth_counts(k: KrossInputs) -> dict:
    """The counts the truth defines (see :data:`KROSS_NOTES`): detectable = true in-IFU line
    flux above :data:`DETECTION_SNR` × the error the walk's detection test faced (the detection
    circle's, in the field's units; the flux error where a table has no such column);
    resolved = true intrinsic r½ above the injected PSF's HWHM; the HST count is a catalogue fact."""
    v = {}
    s = k.spectra
    if s is not None:
        have = k.truth_rows(s) >= 0
        fov = k.t(s, "flux_halpha_fov")

        def detection_err(line):
            name = f"flux_{line}_err_detection"
            return values(s, name) if name in s.colnames else values(s, f"flux_{line}_err")
        with np.errstate(divide="ignore", invalid="ignore"):
            det = have & (fov / detection_err("halpha") > DETECTION_SNR)
            nii = k.t(s, "flux_nii6583") * fov / k.t(s, "flux_halpha")
            nii_det = flags(s, "halpha_detected") & have & (nii / detection_err("nii6583") > DETECTION_SNR)
        v["kross.n_halpha"] = float(det.sum())
        v["kross.n_undetected"] = float(have.sum() - det.sum())
        v["kross.n_nii"] = float(nii_det.sum())
    if k.sfr is not None:
        meas = flags(k.sfr, "halpha_detected") & (k.truth_rows(k.sfr) >= 0)
        with np.errstate(invalid="ignore"):
            res = meas & (k.t(k.sfr, "r_half_arcsec") > k.t(k.sfr, "psf_fwhm") / 2)
        v["kross.n_resolved"] = float(res.sum())
        v["kross.n_unresolved"] = float((meas & ~res).sum())
    if k.resolved is not None and "has_hst" in k.resolved.colnames:
        v["kross.n_hst"] = float(np.sum(flags(k.resolved, "has_hst")))
    return v


def kross_truth_values(k: KrossInputs, tfits: dict, ms_band_dex: float = 0.3, starburst_min: float = 2.0,
                       sky_distance_aa: float = 7.0, sky_strength_min: float = 20.0) -> dict:
    """The same statistics on the true values of the same galaxies (see :data:`KROSS_NOTES`).

    Parameters
    ----------
    k : KrossInputs
        The run's products and truth (:func:`~redshift1.validation.kross.load_kross`).
    tfits : dict
        Truth-sample regressions (:func:`~redshift1.validation.kross.truth_fits`); the table's
        slope rows use the paper's least squares instead, so they are not read here (the walk's
        own fits are checked against them in ``validation_slopes``).
    ms_band_dex, starburst_min : float
        The main-sequence band (dex) and the starburst threshold (linear Δ(sSFR)) of notebook 05.
    sky_distance_aa, sky_strength_min : float
        Notebook 02's "near sky" distance (observed Å) and strong-sky-line strength, applied to
        the true redshifts of the [NII] non-detections.

    Returns
    -------
    dict of str to float
        ``kross.*`` keys that the truth defines.
    """
    v = {"kross.n_targets": float(len(k.truth))}
    v.update(_truth_counts(k))
    if k.metallicity is not None:
        m = k.metallicity
        cls = strings(m, "nii_class")
        nd = np.isin(cls, ["near_sky_line", "upper_limit"]) & (k.truth_rows(m) >= 0)
        if nd.any():
            lam_um = C.NII_6583.to_value(u.um) * (1 + k.t(m, "z")[nd])
            near = sky_line_distance_aa(lam_um, sky_strength_min) < sky_distance_aa
            v["kross.n_nii_near_sky"] = float(near.sum())
            v["kross.n_nii_upper_limit"] = float((~near).sum())
        det = (cls == "detected") & (k.truth_rows(m) >= 0)
        if det.any():
            v["kross.mean_oh"] = float(np.mean(k.t(m, "oh12")[det]))
    if k.psf is not None and k.truth_psf is not None:
        idx = match_keys(k.psf, k.truth_psf, ("pointing", "spectrograph"))
        ok = (strings(k.psf, "status") == "ok") & (idx >= 0)
        if ok.any():
            h = values(k.truth_psf, "hwhm")[idx[ok]]
            e = values(k.truth_psf, "ellipticity")[idx[ok]]
            spec = values(k.truth_psf, "spectrograph")[idx[ok]]
            v["kross.psf_hwhm_mean"], v["kross.psf_hwhm_min"], v["kross.psf_hwhm_max"] = h.mean(), h.min(), h.max()
            v["kross.psf_ell_12"] = float(np.mean(e[spec <= 2])) if np.any(spec <= 2) else np.nan
            v["kross.psf_ell_3"] = float(np.mean(e[spec == 3])) if np.any(spec == 3) else np.nan
    if k.sfr is not None:
        det = flags(k.sfr, "halpha_detected") & (k.truth_rows(k.sfr) >= 0)
        s = k.t(k.sfr, "sfr")[det]
        if s.size:
            v["kross.median_sfr"], v["kross.min_sfr"], v["kross.max_sfr"] = np.median(s), s.min(), s.max()
    r = k.resolved
    if r is not None:
        ok = (strings(r, "status") == "ok") & (k.truth_rows(r) >= 0)
        rt = k.t(r, "r_half_kpc")[ok]
        if rt.size:
            v["kross.median_r_half"], v["kross.mean_r_half"] = np.median(rt), np.mean(rt)
            v["kross.min_r_half"], v["kross.max_r_half"] = rt.min(), rt.max()
            v["kross.r_half_rel_err"] = robust_sigma(values(r, "r_half_kpc")[ok] / rt - 1)
        ld = k.t(r, "log_delta_ssfr")
        sb = ok & (ld > np.log10(starburst_min))
        ms = ok & (np.abs(ld) <= ms_band_dex)
        v["kross.size_starburst"] = float(np.mean(k.t(r, "r_half_kpc")[sb])) if sb.any() else np.nan
        v["kross.size_ms"] = float(np.mean(k.t(r, "r_half_kpc")[ms])) if ms.any() else np.nan
        sp_m = sigma_delta_sample(r, include_limits=False) & (k.truth_rows(r) >= 0)
        sig_true = np.log10(k.t(r, "sfr") / (2 * np.pi * k.t(r, "r_half_kpc") ** 2))
        v["kross.spearman_p"] = spearman(ld[sp_m], sig_true[sp_m]).p
        hst = ok & flags(r, "has_hst")
        if hst.any():
            v["kross.halpha_to_stellar_size"] = float(np.mean(k.t(r, "r_half_arcsec")[hst]
                                                              / k.t(r, "re_star_arcsec")[hst]))
    if r is not None:
        for key, (x, y) in _paper_fit_data(k, truth=True).items():
            slope, intercept, rms = ols_line(x, y)
            v[f"kross.{key}_slope"] = slope
            if key == "resolved_ms":
                v["kross.resolved_ms_intercept"], v["kross.resolved_ms_scatter"] = intercept, rms
    if "oh_delta_slope" in k.relations:
        v["kross.oh_delta_slope"] = float(k.relations["oh_delta_slope"])
        v["kross.oh_across_ms"] = abs(float(k.relations["oh_delta_slope"])) * 2 * ms_band_dex
    return v


# --------------------------------------------------------------------------- intervals
def _sample_intervals(samples: dict, seed: int, n_boot: int) -> dict:
    """Bootstrap intervals of ``{key: (statistic, arrays, vectorised)}``."""
    out = {}
    for key, (stat, arrays, vec) in samples.items():
        if all(np.size(a) for a in arrays):
            out[key] = bootstrap_interval(stat, *arrays, n_boot=n_boot, seed=row_rng(key, seed), vectorised=vec)
    return out


def _abs_scaled(iv: Interval, factor: float) -> Interval:
    """The interval of ``|x| × factor`` from that of ``x``."""
    a, b = sorted((abs(iv.lo) * factor, abs(iv.hi) * factor))
    if iv.lo <= 0 <= iv.hi:
        a = 0.0
    return Interval(a, b, iv.method)


def _spearman_p(x, y) -> float:
    return spearman(x, y).p


def _psf_samples(prefix: str, hwhm, ell, spec) -> dict:
    s = {f"{prefix}.psf_hwhm_mean": (np.mean, [hwhm], True)}
    s[f"{prefix}.psf_ell_12"] = (np.mean, [ell[spec <= 2]], True)
    s[f"{prefix}.psf_ell_3"] = (np.mean, [ell[spec == 3]], True)
    return s


def _distribution_samples(sfr, r_half) -> dict:
    """Median SFR and median/mean r′½ of a sample (same statistics for both sides; the
    extremes are in :func:`_extreme_intervals`)."""
    return {"kross.median_sfr": (np.median, [sfr], True), "kross.median_r_half": (np.median, [r_half], True),
            "kross.mean_r_half": (np.mean, [r_half], True)}


def _extreme_intervals(sfr, r_half) -> dict:
    """Order-statistic intervals (:func:`extreme_interval`) of the smallest/largest SFR and r′½."""
    return {f"kross.{w}_{name}": extreme_interval(x, w) for name, x in (("sfr", sfr), ("r_half", r_half))
            for w in ("min", "max")}


def _fit_samples(data: dict) -> dict:
    """Bootstrap samples of the least-squares slope/intercept/rms of :func:`_paper_fit_data`."""
    out = {}
    for key, (x, y) in data.items():
        parts = ("slope", "intercept", "scatter") if key == "resolved_ms" else ("slope",)
        for i, part in enumerate(parts):
            out[f"kross.{key}_{part}"] = (_ols_part(i), [x, y], True)
    return out


def _counts(v: dict) -> dict:
    out = {k: poisson_interval(v[k]) for k in KROSS_COUNT_KEYS if np.isfinite(v.get(k, np.nan))}
    if np.isfinite(v.get("kross.n_targets", np.nan)):
        out["kross.n_targets"] = exact_interval(v["kross.n_targets"])
    return out


def kross_compendium_intervals(k: KrossInputs, values_: dict, ms_band_dex: float = 0.3,
                               starburst_min: float = 2.0, seed: int = 0, n_boot: int = 1000) -> dict:
    """95 % intervals of the compendium's KROSS numbers (``values_`` from :func:`kross_compendium_values`).

    Parameters
    ----------
    k : KrossInputs
        The run's products and truth.
    values_ : dict
        The compendium's values (counts are read from there).
    ms_band_dex, starburst_min : float
        The main-sequence band and the starburst threshold of notebook 05 (size rows).
    seed : int
        Seed of the bootstraps (each row draws from :func:`~redshift1.validation.intervals.row_rng`).
    n_boot : int
        Resamples per bootstrap.

    Returns
    -------
    dict of str to Interval
    """
    out = _counts(values_)
    samples = {}
    if k.psf is not None:
        ok = strings(k.psf, "status") == "ok"
        samples.update(_psf_samples("kross", values(k.psf, "hwhm")[ok], values(k.psf, "ellipticity")[ok],
                                    values(k.psf, "spectrograph")[ok]))
        out.update({f"kross.psf_hwhm_{w}": extreme_interval(values(k.psf, "hwhm")[ok], w) for w in ("min", "max")})
    if k.sfr is not None and k.resolved is not None:
        sfr = values(k.sfr, "sfr")[flags(k.sfr, "halpha_detected")]
        ok = strings(k.resolved, "status") == "ok"
        r = values(k.resolved, "r_half_kpc")[ok]
        samples.update(_distribution_samples(sfr[np.isfinite(sfr)], r))
        out.update(_extreme_intervals(sfr, r))
        samples["kross.r_half_rel_err"] = (np.nanmedian, [values(k.resolved, "r_half_kpc_err")[ok] / r], True)
    if k.resolved is not None:
        res = k.resolved
        ok = strings(res, "status") == "ok"
        ld, r = values(res, "log_delta_ssfr"), values(res, "r_half_kpc")
        samples["kross.size_starburst"] = (np.mean, [r[ok & (ld > np.log10(starburst_min))]], True)
        samples["kross.size_ms"] = (np.mean, [r[ok & (np.abs(ld) <= ms_band_dex)]], True)
        m = sigma_delta_sample(res, include_limits=False)
        samples["kross.spearman_p"] = (_spearman_p, [ld[m], values(res, "log_sigma_sfr")[m]], False)
        samples.update(_fit_samples(_paper_fit_data(k, truth=False)))
        ratio = values(res, "r_half_over_re_star")[ok & flags(res, "has_hst")]
        samples["kross.halpha_to_stellar_size"] = (np.mean, [ratio[np.isfinite(ratio)]], True)
    if k.metallicity is not None:
        oh = values(k.metallicity, "oh12")[strings(k.metallicity, "nii_class") == "detected"]
        samples["kross.mean_oh"] = (np.mean, [oh[np.isfinite(oh)]], True)
    out.update(_sample_intervals(samples, seed, n_boot))
    f = k.fits
    for key, name in (("kross.oh_delta_slope", "oh_delta_slope"),):
        trip = [f.get(name), f.get(f"{name}_lo"), f.get(f"{name}_hi")]
        if all(x is not None for x in trip):
            out[key] = posterior_interval(*trip)
    if "kross.oh_delta_slope" in out:
        out["kross.oh_across_ms"] = _abs_scaled(out["kross.oh_delta_slope"], 2 * ms_band_dex)
    return {key: iv for key, iv in out.items() if np.isfinite(iv.lo)}


def kross_truth_intervals(k: KrossInputs, tfits: dict, values_: dict, ms_band_dex: float = 0.3,
                          starburst_min: float = 2.0, seed: int = 0, n_boot: int = 1000) -> dict:
    """95 % sampling intervals of the KROSS truth numbers: the same statistics as
    :func:`kross_truth_values`, bootstrapped over the same galaxies' true values (extremes: order
    statistics, :func:`extreme_interval`); the injected Z–Δ(sSFR) slope is exact.

    Parameters
    ----------
    k : KrossInputs
        The run's products and truth (:func:`~redshift1.validation.kross.load_kross`).
    tfits : dict
        Truth-sample regressions (:func:`~redshift1.validation.kross.truth_fits`); the table's
        slope rows use the paper's least squares instead, so they are not read here (the walk's
        own fits are checked against them in ``validation_slopes``).
    values_ : dict
        The truth values (:func:`kross_truth_values`; counts are read from there).
    ms_band_dex, starburst_min : float
        The main-sequence band and the starburst threshold of notebook 05 (size rows).
    seed : int
        Seed of the bootstraps (each row draws from :func:`~redshift1.validation.intervals.row_rng`).
    n_boot : int
        Resamples per bootstrap.

    Returns
    -------
    dict of str to Interval
    """
    out = _counts(values_)
    samples = {}
    if k.psf is not None and k.truth_psf is not None:
        idx = match_keys(k.psf, k.truth_psf, ("pointing", "spectrograph"))
        ok = (strings(k.psf, "status") == "ok") & (idx >= 0)
        j = idx[ok]
        samples.update(_psf_samples("kross", values(k.truth_psf, "hwhm")[j], values(k.truth_psf, "ellipticity")[j],
                                    values(k.truth_psf, "spectrograph")[j]))
        out.update({f"kross.psf_hwhm_{w}": extreme_interval(values(k.truth_psf, "hwhm")[j], w) for w in ("min", "max")})
    r = k.resolved
    if k.sfr is not None and r is not None:
        det = flags(k.sfr, "halpha_detected") & (k.truth_rows(k.sfr) >= 0)
        ok = (strings(r, "status") == "ok") & (k.truth_rows(r) >= 0)
        rt = k.t(r, "r_half_kpc")[ok]
        samples.update(_distribution_samples(k.t(k.sfr, "sfr")[det], rt))
        out.update(_extreme_intervals(k.t(k.sfr, "sfr")[det], rt))
        samples["kross.r_half_rel_err"] = (robust_sigma, [values(r, "r_half_kpc")[ok] / rt - 1], False)
    if r is not None:
        ok = (strings(r, "status") == "ok") & (k.truth_rows(r) >= 0)
        ld, rt = k.t(r, "log_delta_ssfr"), k.t(r, "r_half_kpc")
        samples["kross.size_starburst"] = (np.mean, [rt[ok & (ld > np.log10(starburst_min))]], True)
        samples["kross.size_ms"] = (np.mean, [rt[ok & (np.abs(ld) <= ms_band_dex)]], True)
        m = sigma_delta_sample(r, include_limits=False) & (k.truth_rows(r) >= 0)
        sig_true = np.log10(k.t(r, "sfr") / (2 * np.pi * rt ** 2))
        samples["kross.spearman_p"] = (_spearman_p, [ld[m], sig_true[m]], False)
        samples.update(_fit_samples(_paper_fit_data(k, truth=True)))
        hst = ok & flags(r, "has_hst")
        samples["kross.halpha_to_stellar_size"] = (np.mean, [k.t(r, "r_half_arcsec")[hst]
                                                             / k.t(r, "re_star_arcsec")[hst]], True)
    if k.metallicity is not None:
        det = (strings(k.metallicity, "nii_class") == "detected") & (k.truth_rows(k.metallicity) >= 0)
        samples["kross.mean_oh"] = (np.mean, [k.t(k.metallicity, "oh12")[det]], True)
    out.update(_sample_intervals(samples, seed, n_boot))
    if "oh_delta_slope" in k.relations:
        out["kross.oh_delta_slope"] = exact_interval(k.relations["oh_delta_slope"])
        out["kross.oh_across_ms"] = exact_interval(values_.get("kross.oh_across_ms", np.nan))
    return {key: iv for key, iv in out.items() if np.isfinite(iv.lo)}
