"""The KROSS rows of the paper-vs-compendium table: values and 95 % intervals (notebook 12).

* :func:`kross_compendium_values` -- this run's numbers, from the products (``kross_fits.json``,
  ``kmos_psf.ecsv``);
* :func:`kross_truth_values` -- the same statistics on the true values of the same galaxies
  (:data:`KROSS_NOTES` says how each is defined);
* :func:`kross_compendium_intervals` / :func:`kross_truth_intervals` -- their 95 % intervals
  (:mod:`~redshift1.validation.intervals`): Poisson for counts, a seeded bootstrap over the
  galaxies (or PSF stars) for medians, means, extremes, widths and the Spearman p, the posterior
  for fitted slopes; the injected Z–Δ(sSFR) slope and the number of targets are exact.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u

from .. import constants as C
from ..kmos.spectra import sky_line_distance_aa
from ..science.kross_tables import flags, strings, values
from ..science.regression import spearman
from ..science.resolved import sigma_delta_sample
from .core import match_keys, robust_sigma
from .intervals import (Interval, bootstrap_interval, exact_interval, poisson_interval, posterior_interval,
                        row_rng)
from .kross import KrossInputs

__all__ = ["KROSS_NOTES", "kross_compendium_values", "kross_truth_values", "kross_compendium_intervals",
           "kross_truth_intervals", "KROSS_COUNT_KEYS"]

#: Rows that are counts of an observation's outcome (Poisson intervals)
KROSS_COUNT_KEYS = ("kross.n_halpha", "kross.n_resolved", "kross.n_unresolved", "kross.n_undetected", "kross.n_nii",
                    "kross.n_nii_near_sky", "kross.n_nii_upper_limit", "kross.n_hst")

KROSS_NOTES = {
    "kross.n_targets": "truth: galaxies in the truth catalogue",
    "kross.n_nii_near_sky": "truth: of the compendium's [NII] non-detections, those whose [NII] at the TRUE z lies "
                            "within the sky-distance cut of a strong OH line",
    "kross.n_nii_upper_limit": "truth: the other [NII] non-detections",
    "kross.psf_hwhm_mean": "truth: injected PSFs of the measured stars",
    "kross.median_sfr": "truth: true SFR of the same Hα-detected galaxies (also min/max)",
    "kross.median_r_half": "truth: true intrinsic r½ of the same resolved galaxies (also mean/min/max)",
    "kross.r_half_rel_err": "compendium: median quoted error; truth: actual 1.4826 MAD of r′½/r½_true − 1",
    "kross.resolved_ms_slope": "truth: emcee fit_line on the true Σ★, ΣSFR of the same galaxies",
    "kross.sigma_delta_slope": "truth: emcee fit_line on the true Δ(sSFR), ΣSFR of the same galaxies",
    "kross.spearman_p": "truth: Spearman test on the true values of the same resolved galaxies",
    "kross.size_starburst": "truth: mean true r½ of the resolved galaxies with TRUE Δ > 2 (MS: |log Δ| ≤ 0.3)",
    "kross.mean_oh": "truth: mean true 12+log(O/H) of the same [NII] detections",
    "kross.oh_delta_slope": "truth: the injected Relations.oh_delta_slope",
    "kross.oh_across_ms": "compendium/truth: |slope| x 0.6 dex",
    "kross.halpha_to_stellar_size": "truth: mean true r½(Hα)/r_e,★ of the same galaxies (injected 1.3 x 0.08 dex scatter)",
}


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
    v["kross.n_resolved"] = g("n_resolved")
    v["kross.n_unresolved"] = g("n_unresolved")
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
    for a in ("slope", "intercept", "scatter"):
        v[f"kross.resolved_ms_{a}"] = g(f"resolved_ms_{a}")
    v["kross.sigma_delta_slope"] = g("sigma_delta_slope")
    v["kross.spearman_p"] = g("spearman_p")
    v["kross.size_starburst"] = g("size_starburst_kpc")
    v["kross.size_ms"] = g("size_ms_kpc")
    v["kross.mean_oh"] = g("mean_oh")
    v["kross.oh_delta_slope"] = g("oh_delta_slope")
    v["kross.oh_across_ms"] = abs(g("oh_delta_slope")) * 2 * ms_band_dex
    v["kross.halpha_to_stellar_size"] = g("mean_halpha_to_stellar_size")
    v["kross.n_hst"] = g("n_hst")
    return v


def kross_truth_values(k: KrossInputs, tfits: dict, ms_band_dex: float = 0.3, starburst_min: float = 2.0,
                       sky_distance_aa: float = 7.0, sky_strength_min: float = 20.0) -> dict:
    """The same statistics on the true values of the same galaxies (see :data:`KROSS_NOTES`).

    Parameters
    ----------
    k : KrossInputs
        The run's products and truth (:func:`~redshift1.validation.kross.load_kross`).
    tfits : dict
        Truth-sample regressions (:func:`~redshift1.validation.kross.truth_fits`).
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
    for key, prefix in (("resolved_ms", "kross.resolved_ms"), ("sigma_delta", "kross.sigma_delta")):
        fit = tfits.get(key, (None, None))[0]
        if fit is not None:
            v[f"{prefix}_slope"] = fit.slope.median
            if key == "resolved_ms":
                v[f"{prefix}_intercept"] = fit.intercept.median
                v[f"{prefix}_scatter"] = fit.scatter.median
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
    s = {f"{prefix}.psf_hwhm_mean": (np.mean, [hwhm], True), f"{prefix}.psf_hwhm_min": (np.min, [hwhm], True),
         f"{prefix}.psf_hwhm_max": (np.max, [hwhm], True)}
    s[f"{prefix}.psf_ell_12"] = (np.mean, [ell[spec <= 2]], True)
    s[f"{prefix}.psf_ell_3"] = (np.mean, [ell[spec == 3]], True)
    return s


def _distribution_samples(sfr, r_half) -> dict:
    """Median/min/max SFR and median/mean/min/max r′½ of a sample (same statistics for both sides)."""
    return {"kross.median_sfr": (np.median, [sfr], True), "kross.min_sfr": (np.min, [sfr], True),
            "kross.max_sfr": (np.max, [sfr], True), "kross.median_r_half": (np.median, [r_half], True),
            "kross.mean_r_half": (np.mean, [r_half], True), "kross.min_r_half": (np.min, [r_half], True),
            "kross.max_r_half": (np.max, [r_half], True)}


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
    if k.sfr is not None and k.resolved is not None:
        sfr = values(k.sfr, "sfr")[flags(k.sfr, "halpha_detected")]
        ok = strings(k.resolved, "status") == "ok"
        r = values(k.resolved, "r_half_kpc")[ok]
        samples.update(_distribution_samples(sfr[np.isfinite(sfr)], r))
        samples["kross.r_half_rel_err"] = (np.nanmedian, [values(k.resolved, "r_half_kpc_err")[ok] / r], True)
    if k.resolved is not None:
        res = k.resolved
        ok = strings(res, "status") == "ok"
        ld, r = values(res, "log_delta_ssfr"), values(res, "r_half_kpc")
        samples["kross.size_starburst"] = (np.mean, [r[ok & (ld > np.log10(starburst_min))]], True)
        samples["kross.size_ms"] = (np.mean, [r[ok & (np.abs(ld) <= ms_band_dex)]], True)
        m = sigma_delta_sample(res, include_limits=False)
        samples["kross.spearman_p"] = (_spearman_p, [ld[m], values(res, "log_sigma_sfr")[m]], False)
        ratio = values(res, "r_half_over_re_star")[ok & flags(res, "has_hst")]
        samples["kross.halpha_to_stellar_size"] = (np.mean, [ratio[np.isfinite(ratio)]], True)
    if k.metallicity is not None:
        oh = values(k.metallicity, "oh12")[strings(k.metallicity, "nii_class") == "detected"]
        samples["kross.mean_oh"] = (np.mean, [oh[np.isfinite(oh)]], True)
    out.update(_sample_intervals(samples, seed, n_boot))
    f = k.fits
    for key, name in (("kross.resolved_ms_slope", "resolved_ms_slope"),
                      ("kross.resolved_ms_intercept", "resolved_ms_intercept"),
                      ("kross.resolved_ms_scatter", "resolved_ms_scatter"),
                      ("kross.sigma_delta_slope", "sigma_delta_slope"), ("kross.oh_delta_slope", "oh_delta_slope")):
        trip = [f.get(name), f.get(f"{name}_lo"), f.get(f"{name}_hi")]
        if all(x is not None for x in trip):
            out[key] = posterior_interval(*trip)
    if "kross.oh_delta_slope" in out:
        out["kross.oh_across_ms"] = _abs_scaled(out["kross.oh_delta_slope"], 2 * ms_band_dex)
    return {key: iv for key, iv in out.items() if np.isfinite(iv.lo)}


def kross_truth_intervals(k: KrossInputs, tfits: dict, values_: dict, ms_band_dex: float = 0.3,
                          starburst_min: float = 2.0, seed: int = 0, n_boot: int = 1000) -> dict:
    """95 % sampling intervals of the KROSS truth numbers: the same statistics as
    :func:`kross_truth_values`, bootstrapped over the same galaxies' true values; the truth-sample
    regressions' own posteriors; the injected Z–Δ(sSFR) slope is exact.

    Parameters
    ----------
    k : KrossInputs
        The run's products and truth (:func:`~redshift1.validation.kross.load_kross`).
    tfits : dict
        Truth-sample regressions (:func:`~redshift1.validation.kross.truth_fits`).
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
    r = k.resolved
    if k.sfr is not None and r is not None:
        det = flags(k.sfr, "halpha_detected") & (k.truth_rows(k.sfr) >= 0)
        ok = (strings(r, "status") == "ok") & (k.truth_rows(r) >= 0)
        rt = k.t(r, "r_half_kpc")[ok]
        samples.update(_distribution_samples(k.t(k.sfr, "sfr")[det], rt))
        samples["kross.r_half_rel_err"] = (robust_sigma, [values(r, "r_half_kpc")[ok] / rt - 1], False)
    if r is not None:
        ok = (strings(r, "status") == "ok") & (k.truth_rows(r) >= 0)
        ld, rt = k.t(r, "log_delta_ssfr"), k.t(r, "r_half_kpc")
        samples["kross.size_starburst"] = (np.mean, [rt[ok & (ld > np.log10(starburst_min))]], True)
        samples["kross.size_ms"] = (np.mean, [rt[ok & (np.abs(ld) <= ms_band_dex)]], True)
        m = sigma_delta_sample(r, include_limits=False) & (k.truth_rows(r) >= 0)
        sig_true = np.log10(k.t(r, "sfr") / (2 * np.pi * rt ** 2))
        samples["kross.spearman_p"] = (_spearman_p, [ld[m], sig_true[m]], False)
        hst = ok & flags(r, "has_hst")
        samples["kross.halpha_to_stellar_size"] = (np.mean, [k.t(r, "r_half_arcsec")[hst]
                                                             / k.t(r, "re_star_arcsec")[hst]], True)
    if k.metallicity is not None:
        det = (strings(k.metallicity, "nii_class") == "detected") & (k.truth_rows(k.metallicity) >= 0)
        samples["kross.mean_oh"] = (np.mean, [k.t(k.metallicity, "oh12")[det]], True)
    out.update(_sample_intervals(samples, seed, n_boot))
    for name, prefix in (("resolved_ms", "kross.resolved_ms"), ("sigma_delta", "kross.sigma_delta")):
        fit = tfits.get(name, (None, None))[0]
        if fit is None:
            continue
        cols = ("slope", "intercept", "scatter") if name == "resolved_ms" else ("slope",)
        for c, col in zip(cols, range(3)):
            est = getattr(fit, c)
            out[f"{prefix}_{c}"] = posterior_interval(est.median, est.lo, est.hi, samples=fit.samples[:, col])
    if "oh_delta_slope" in k.relations:
        out["kross.oh_delta_slope"] = exact_interval(k.relations["oh_delta_slope"])
        out["kross.oh_across_ms"] = exact_interval(values_.get("kross.oh_across_ms", np.nan))
    return {key: iv for key, iv in out.items() if np.isfinite(iv.lo)}
