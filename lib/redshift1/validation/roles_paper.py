"""The ROLES rows of the paper-vs-compendium table: values and 95 % intervals (notebook 12).

* :func:`roles_compendium_values` -- this run's numbers, from the products (``ldss3_*.ecsv``,
  ``roles_*.ecsv``);
* :func:`roles_truth_values` -- the same statistics on the mock's truth (:data:`ROLES_NOTES`);
* :func:`roles_compendium_intervals` / :func:`roles_truth_intervals` -- their 95 % intervals
  (:mod:`~redshift1.validation.intervals`): Poisson for counts, scaled Poisson on the effective
  number for the ρ_SFR bins, binomial for fractions and completeness, the order statistics for
  the median slits per mask, a seeded bootstrap over lines or the limit curve's wavelengths for
  widths and percentiles, the fit error for α, a Poisson resampling of the LF bins
  (compendium) or a bootstrap of the injected lines (truth) for the turnover; the design numbers
  and the volume are exact.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.stats import sigma_clipped_stats
from astropy.table import Table

from ..cosmology import ROLES_COSMO
from ..ldss3.flux_limits import shallowest_mask_limits
from ..ldss3.reliability import flux_pulls, unique_pairs, wavelength_repeatability
from ..science.lf import fit_faint_end
from ..science.poii import LINE_WINDOWS
from ..science.sfr import line_luminosity
from ..science.vmax import window_volume
from ..columns import column
from .core import completeness_curve, value_at_fraction
from .intervals import (Interval, binomial_interval, bootstrap_interval, exact_interval, poisson_interval,
                        posterior_interval, row_rng, scaled_poisson_interval)
from .paper import PAPER_VALUES, sfrd_key
from .roles import RolesInputs, completeness_vs_truth, false_positives
from .roles_density import combined_phi, lf_turnover

__all__ = ["ROLES_NOTES", "roles_compendium_values", "roles_truth_values", "roles_compendium_intervals",
           "roles_truth_intervals", "roles_notes", "median_order_interval"]

#: Log-luminosity bins of the truth's 50 % line-completeness point (the turnover's truth)
TURNOVER_EDGES = np.arange(39.0, 42.51, 0.25)

ROLES_NOTES = {
    "roles.n_targets_cdfs": "truth: targets the mock placed (roles_truth_summary.json)",
    "roles.n_detected_cdfs": "compendium: ROLES targets with an adopted line; truth: the mock's expected number of "
                             "targets with a line above the threshold",
    "roles.n_repeats": "compendium: objects with good slits on 2+ masks; truth: repeated galaxies placed",
    "roles.frac_irreproducible_below_4sigma": "truth: of the raw-catalogue detections matching no injected line, "
                                              "the fraction below 4σ",
    "roles.repeat_wavelength_sigma": "truth: √2 x clipped σ of λ_det − λ_true (a repeat difference has two errors)",
    "roles.flux_pull_width": "truth: clipped σ of (f − f_true)/σ_f of adopted matched lines",
    "roles.limit_dark": "compendium: the 4σ curve of the shallowest mask (the paper's conservative limit, §3.4.2, "
                        "Fig. 13), its 5th percentile over 7100–7950 Å ('the deepest regions')",
    "roles.limit_sky": "compendium: the 4σ curve of the shallowest mask, its 95th percentile over 7100–7950 Å "
                       "('underneath the brighter sky lines')",
    "roles.completeness_cdfs": "truth: targeted / catalogue galaxies with TRUE z in the window, 22.5 < K ≤ 24",
    "roles.volume": "compendium: window volume of the fields' areas; truth: the same from the truth areas",
    "roles.lf_alpha": "truth: the same faint-end fit on the true LF of the galaxies in the window visible somewhere in it",
    "roles.lf_turnover": "compendium: from the peak of the LF (both fields) faintwards, the lower edge of the last bin "
                         "above half the peak, its interval widened by half a bin (a binned reading); truth: log L "
                         "where the detection completeness of the true [OII] lines reaches 50 %",
    "roles.sfrd": "ρ_SFR rows: nominal eq. 9 SFRs; truth: the same estimator with true fluxes, masses and z of the "
                  "galaxies in the window visible somewhere in it (K range, flux limit; higher-mass: truth weighted "
                  "by 1/p_select)",
}


def roles_compendium_values(r: RolesInputs, pct_dark: float = 5.0, pct_sky: float = 95.0) -> dict:
    """The compendium's ROLES numbers (keys of :data:`~redshift1.validation.paper.PAPER_NUMBERS`).

    Parameters
    ----------
    r : RolesInputs
        The run's products and truth (:func:`~redshift1.validation.roles.load_roles`).
    pct_dark, pct_sky : float
        Percentiles of the shallowest mask's flux-limit curve taken as its limit between and under
        the sky lines (:func:`~redshift1.ldss3.flux_limits.shallowest_mask_limits`).

    Returns
    -------
    dict of str to float
        ``roles.*`` keys of the products present.
    """
    v = {}
    if r.slits is not None:
        masks, counts = np.unique(np.asarray(r.slits["mask"]), return_counts=True)
        v["roles.n_masks"] = float(masks.size)
        v["roles.slits_per_mask"] = float(np.median(counts))
    if r.poii is not None:
        p = r.poii
        tgt = np.asarray(p["is_roles_target"], bool)
        det = np.asarray(p["status"]) == "detected"
        for f in ("CDFS", "FIRES"):
            s = tgt & (np.asarray(p["field"]) == f)
            v[f"roles.n_targets_{f.lower()}"] = float(s.sum())
            v[f"roles.n_detected_{f.lower()}"] = float((s & det).sum())
        v["roles.n_repeats"] = float(np.sum(column(p, "n_good_slits") >= 2))
    if r.repeats is not None:
        rep = r.repeats
        nrep = ~np.asarray(rep["reproduced"], bool) if len(rep) else np.zeros(0, bool)
        sig = column(rep, "sigma") if len(rep) else np.zeros(0)
        v["roles.frac_irreproducible_below_4sigma"] = float(np.mean(sig[nrep] < r.adopt_sigma)) if nrep.any() else np.nan
        v["roles.repeat_wavelength_sigma"] = wavelength_repeatability(rep, r.adopt_sigma)[0] if len(rep) else np.nan
        v["roles.flux_pull_width"] = flux_pulls(rep, r.adopt_sigma)[1] if len(rep) else np.nan
    if r.limits is not None:
        lim = shallowest_mask_limits(r.limits, pct_dark=pct_dark, pct_sky=pct_sky)
        v["roles.limit_dark"], v["roles.limit_sky"] = lim["dark"], lim["sky"]
    if r.completeness is not None:
        c = r.completeness
        for f in ("CDFS", "FIRES"):
            s = (np.asarray(c["field"]) == f) & (np.asarray(c["bin"]) == "all")
            if s.any():
                v[f"roles.completeness_{f.lower()}"] = float(column(c, "W")[s][0])
        s = (np.asarray(c["field"]) == "FIRES") & (np.asarray(c["bin"]) != "all")
        if s.any():
            v["roles.completeness_fires_faintest"] = float(column(c, "W")[s][np.argmax(column(c, "K_lo")[s])])
    fields = sorted(set(np.asarray(r.poii["field"]).tolist())) if r.poii is not None else sorted(r.areas)
    if all(f in r.areas for f in fields) and fields:
        v["roles.volume"] = float(sum(window_volume(r.areas[f]) for f in fields))
    if r.lf is not None:
        fe = (r.lf.meta.get("faint_end") or {}).get("both_fields") or {}
        v["roles.lf_alpha"] = float(fe.get("alpha", np.nan))
        if all(f in r.areas for f in set(np.asarray(r.lf["field"]).tolist())):
            x, phi = combined_phi(r.lf, r.areas)
            v["roles.lf_turnover"] = lf_turnover(x, phi)
    if r.sfrd is not None:
        s = r.sfrd
        for row in s[np.asarray(s["sfr_estimator"]) == "nominal"]:
            f = "FORS2" if row["field"] == "HIGHMASS" else str(row["field"])
            key = sfrd_key(f, float(u.Quantity(row["logm_lo"]).value), float(u.Quantity(row["logm_hi"]).value))
            if key in PAPER_VALUES:
                v[key] = float(u.Quantity(row["rho_sfr"]).value) * 1e3
    return v


def roles_truth_values(r: RolesInputs, m: dict | None, tlf: Table | None, tsfrd: Table | None) -> dict:
    """The ROLES truth numbers (see :data:`ROLES_NOTES`).

    Parameters
    ----------
    r : RolesInputs
        The run's products and truth (:func:`~redshift1.validation.roles.load_roles`).
    m : dict or None
        The line matching (:func:`~redshift1.validation.roles.line_matching`); None: no line rows.
    tlf : `~astropy.table.Table` or None
        The true LF (:func:`~redshift1.validation.roles.truth_lf`).
    tsfrd : `~astropy.table.Table` or None
        The true ρ_SFR (:func:`~redshift1.validation.roles.truth_sfrd`).

    Returns
    -------
    dict of str to float
        ``roles.*`` keys that the truth defines.
    """
    v = {}
    ts = r.truth_summary
    if r.truth_slits is not None:
        masks, counts = np.unique(np.asarray(r.truth_slits["mask"]), return_counts=True)
        v["roles.n_masks"] = float(masks.size)
        v["roles.slits_per_mask"] = float(np.median(counts))
    for f in ("CDFS", "FIRES"):
        if f in ts.get("n_targets", {}):
            v[f"roles.n_targets_{f.lower()}"] = float(ts["n_targets"][f])
        if f in ts.get("n_expected_detections", {}):
            v[f"roles.n_detected_{f.lower()}"] = float(ts["n_expected_detections"][f])
    if "n_repeat_galaxies" in ts:
        v["roles.n_repeats"] = float(sum(ts["n_repeat_galaxies"].values()))
    if m is not None and r.lines is not None:
        fp = false_positives(r, m)
        v["roles.frac_irreproducible_below_4sigma"] = fp["raw_unmatched_below_adopt"]
        sel = m["adopted"] & (m["truth_of_det"] >= 0)
        j = m["truth_of_det"][sel]
        if sel.sum() >= 3:
            dw = column(r.lines, "wavelength")[sel] - column(r.truth_lines, "obs_wave")[j]
            v["roles.repeat_wavelength_sigma"] = float(np.sqrt(2) * sigma_clipped_stats(dw, sigma=3.0)[2])
            pull = (column(r.lines, "flux")[sel] - column(r.truth_lines, "flux")[j]) / column(r.lines, "flux_err")[sel]
            pull = pull[np.isfinite(pull)]
            if pull.size >= 3:
                v["roles.flux_pull_width"] = float(sigma_clipped_stats(pull, sigma=3.0)[2])
    if r.completeness is not None and r.slits is not None:
        cv = completeness_vs_truth(r)
        for f in ("CDFS", "FIRES"):
            s = (np.asarray(cv["field"]) == f) & (np.asarray(cv["bin"]) == "all")
            if s.any():
                v[f"roles.completeness_{f.lower()}"] = float(cv["W_true"][s][0])
        s = (np.asarray(cv["field"]) == "FIRES") & (np.asarray(cv["bin"]) != "all")
        if s.any():
            v["roles.completeness_fires_faintest"] = float(np.asarray(cv["W_true"])[s][np.argmax(cv["K_lo"][s])])
    if r.areas:
        win = LINE_WINDOWS["OII"]
        fields = sorted(set(np.asarray(r.truth["field"]).tolist()) & set(r.areas))
        omega = sum(r.areas[f] for f in fields) * (np.pi / 180 / 60) ** 2
        vol = (ROLES_COSMO.comoving_volume(win[1]) - ROLES_COSMO.comoving_volume(win[0])).to_value(u.Mpc ** 3)
        v["roles.volume"] = float(vol * omega / (4 * np.pi))
    if tlf is not None and r.lf is not None:
        lo, hi = (r.lf.meta.get("fit_range") or [40.6, 42.0])
        v["roles.lf_alpha"] = fit_faint_end(tlf, lo, hi)[0]
    if m is not None and r.galaxies is not None:
        # 50 % detection completeness of the true [OII] lines, in log L
        tl = r.truth_lines
        g = m["good_truth"] & (np.asarray(tl["line"]) == "OII_3727")
        if g.any():
            z = r.truth_col(tl["object_id"], "z_true")[g]
            lum = line_luminosity(column(tl, "flux")[g], z, ROLES_COSMO).value
            curve = completeness_curve(np.log10(lum), m["recovered"][g], TURNOVER_EDGES,
                                       geometric=False)
            v["roles.lf_turnover"] = value_at_fraction(curve, 0.5, log=False)
    if tsfrd is not None:
        for row in tsfrd[np.asarray(tsfrd["sfr_estimator"]) == "nominal"]:
            f = "FORS2" if row["field"] == "HIGHMASS" else str(row["field"])
            key = sfrd_key(f, float(row["logm_lo"]), float(row["logm_hi"]))
            if key in PAPER_VALUES:
                v[key] = float(row["rho_true"]) * 1e3
    return v


def roles_notes() -> dict:
    """:data:`ROLES_NOTES` for the rows of the table (the ρ_SFR note on every Table 2 row)."""
    notes = {k: v for k, v in ROLES_NOTES.items() if k in PAPER_VALUES}
    notes.update({k: ROLES_NOTES["roles.sfrd"] for k in PAPER_VALUES if k.startswith("roles.sfrd.")})
    return notes


# --------------------------------------------------------------------------- intervals
def _clipped_std(x) -> float:
    return float(sigma_clipped_stats(x, sigma=3.0)[2])


def _boot(key: str, stat, arrays, seed: int, n_boot: int, vectorised: bool = False) -> Interval:
    return bootstrap_interval(stat, *arrays, n_boot=n_boot, seed=row_rng(key, seed), vectorised=vectorised)


def _per_mask_counts(slits: Table) -> np.ndarray:
    return np.unique(np.asarray(slits["mask"]), return_counts=True)[1].astype(float)


def median_order_interval(x, confidence: float = 0.95) -> Interval:
    """Distribution-free interval of the median of ``x``: the order statistics x_(k), x_(n+1-k)
    with the largest k whose binomial coverage is at least ``confidence``.

    A bootstrap of the median of a few discrete values (18 masks) only ever returns values of the
    sample and flips between clusters of them; the order-statistic interval says the same without
    resampling noise and keeps its coverage for any distribution.

    Parameters
    ----------
    x : array_like
        The sample (NaN dropped).
    confidence : float
        Minimum coverage.

    Returns
    -------
    Interval
        method ``"median_order_statistic"``; NaN limits for fewer than 6 values (no k reaches 95 %).
    """
    from scipy.stats import binom
    v = np.sort(np.asarray(x, float)[np.isfinite(np.asarray(x, float))])
    n = v.size
    k = np.arange(1, n // 2 + 1)
    # P(x_(k) <= median <= x_(n+1-k)) = P(k <= B(n, 1/2) <= n - k), falling with k
    ok = k[binom.cdf(n - k, n, 0.5) - binom.cdf(k - 1, n, 0.5) >= confidence]
    best = int(ok.max()) if ok.size else 0
    if best == 0:
        return Interval(np.nan, np.nan, "none")
    return Interval(float(v[best - 1]), float(v[n - best]), "median_order_statistic")


def _design_and_counts(v: dict) -> dict:
    out = {}
    for key in ("roles.n_masks", "roles.n_targets_cdfs", "roles.n_targets_fires", "roles.volume"):
        if np.isfinite(v.get(key, np.nan)):
            out[key] = exact_interval(v[key])
    for key in ("roles.n_detected_cdfs", "roles.n_detected_fires", "roles.n_repeats"):
        if np.isfinite(v.get(key, np.nan)):
            out[key] = poisson_interval(v[key])
    return out


def _turnover_poisson(lf: Table, areas: dict, key: str, seed: int, n_boot: int) -> Interval:
    """Interval of :func:`~redshift1.validation.roles.lf_turnover` when every LF bin's φ is
    redrawn with the Poisson noise of its effective number (a parametric bootstrap), widened by
    half an LF bin on each side: the turnover is read off the bins' edges, so it is known to a
    bin however many draws agree (the paper preset's draws all gave 40.5 or 40.75 against a
    continuous truth of 40.46)."""
    rng = row_rng(key, seed)
    neff = np.nan_to_num(column(lf, "n_eff"))
    phi = np.nan_to_num(column(lf, "phi"))
    vals = []
    for _ in range(n_boot):
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(neff > 0, rng.poisson(neff) / np.where(neff > 0, neff, 1), 0.0)
        t = lf.copy(copy_data=False)
        t["phi"] = phi * scale
        x, p = combined_phi(t, areas)
        vals.append(lf_turnover(x, p))
    vals = np.asarray(vals, float)
    vals = vals[np.isfinite(vals)]
    if vals.size < n_boot // 2:
        return Interval(np.nan, np.nan, "none")
    lo, hi = np.percentile(vals, [2.5, 97.5])
    x, _ = combined_phi(lf, areas)
    half_bin = 0.5 * float(np.median(np.diff(np.sort(np.asarray(x, float))))) if np.size(x) > 1 else 0.0
    return Interval(float(lo) - half_bin, float(hi) + half_bin, "bootstrap")


def roles_compendium_intervals(r: RolesInputs, values_: dict, pct_dark: float = 5.0, pct_sky: float = 95.0,
                               seed: int = 0, n_boot: int = 1000) -> dict:
    """95 % intervals of the compendium's ROLES numbers (``values_`` from :func:`roles_compendium_values`).

    Parameters
    ----------
    r : RolesInputs
        The run's products and truth.
    values_ : dict
        The compendium's values.
    pct_dark, pct_sky : float
        Percentiles of the flux-limit curve as in :func:`roles_compendium_values`.
    seed : int
        Seed of the bootstraps (per row, :func:`~redshift1.validation.intervals.row_rng`).
    n_boot : int
        Resamples per bootstrap.

    Returns
    -------
    dict of str to Interval
    """
    out = _design_and_counts(values_)
    if r.slits is not None:
        out["roles.slits_per_mask"] = median_order_interval(_per_mask_counts(r.slits))
    if r.repeats is not None and len(r.repeats):
        rep = r.repeats
        nrep = ~np.asarray(rep["reproduced"], bool)
        out["roles.frac_irreproducible_below_4sigma"] = binomial_interval(
            np.sum(column(rep, "sigma")[nrep] < r.adopt_sigma), nrep.sum())
        k = unique_pairs(rep, r.adopt_sigma)
        if k.size >= 3:
            out["roles.repeat_wavelength_sigma"] = _boot("roles.repeat_wavelength_sigma", _clipped_std,
                                                         [column(rep, "dwave")[k]], seed, n_boot)
        pulls = flux_pulls(rep, r.adopt_sigma)[0]
        if pulls.size >= 3:
            out["roles.flux_pull_width"] = _boot("roles.flux_pull_width", _clipped_std, [pulls], seed, n_boot)
    if r.limits is not None:
        # the curve's sampling over its wavelengths (the noise spectrum itself averages ~200 slits
        # and is known to < 1 %)
        curve = shallowest_mask_limits(r.limits)["values"]
        if curve.size >= 3:
            for key, pct in (("roles.limit_dark", pct_dark), ("roles.limit_sky", pct_sky)):
                out[key] = _boot(key, lambda x, axis, q=pct: np.percentile(x, q, axis=axis), [curve], seed, n_boot, True)
    if r.completeness is not None:
        c = r.completeness
        rows = {f"roles.completeness_{f.lower()}": (np.asarray(c["field"]) == f) & (np.asarray(c["bin"]) == "all")
                for f in ("CDFS", "FIRES")}
        s = (np.asarray(c["field"]) == "FIRES") & (np.asarray(c["bin"]) != "all")
        if s.any():
            last = np.flatnonzero(s)[np.argmax(column(c, "K_lo")[s])]
            rows["roles.completeness_fires_faintest"] = np.arange(len(c)) == last
        for key, sel in rows.items():
            if sel.any():
                i = np.flatnonzero(sel)[0]
                out[key] = binomial_interval(column(c, "N_slit")[i], column(c, "N_phot")[i])
    if r.lf is not None:
        fe = (r.lf.meta.get("faint_end") or {}).get("both_fields") or {}
        a, ae = float(fe.get("alpha", np.nan)), float(fe.get("alpha_err", np.nan))
        out["roles.lf_alpha"] = posterior_interval(a, a - ae, a + ae)
        if np.isfinite(values_.get("roles.lf_turnover", np.nan)) and "n_eff" in r.lf.colnames:
            out["roles.lf_turnover"] = _turnover_poisson(r.lf, r.areas, "roles.lf_turnover", seed, n_boot)
    if r.sfrd is not None:
        for row in r.sfrd[np.asarray(r.sfrd["sfr_estimator"]) == "nominal"]:
            key = _sfrd_row_key(row)
            if key in values_:
                out[key] = scaled_poisson_interval(values_[key], float(row["n_eff"]))
    return {key: iv for key, iv in out.items() if np.isfinite(iv.lo)}


def _sfrd_row_key(row) -> str:
    f = "FORS2" if row["field"] == "HIGHMASS" else str(row["field"])
    return sfrd_key(f, float(u.Quantity(row["logm_lo"]).value), float(u.Quantity(row["logm_hi"]).value))


def _turnover_truth(r: RolesInputs, m: dict, key: str, seed: int, n_boot: int) -> Interval:
    """Bootstrap over the injected [OII] lines of the 50 % completeness point in log L."""
    tl = r.truth_lines
    g = m["good_truth"] & (np.asarray(tl["line"]) == "OII_3727")
    if g.sum() < 3:
        return Interval(np.nan, np.nan, "none")
    z = r.truth_col(tl["object_id"], "z_true")[g]
    logl = np.log10(line_luminosity(column(tl, "flux")[g], z, ROLES_COSMO).value)
    rec = m["recovered"][g].astype(float)
    centre = 0.5 * (TURNOVER_EDGES[1:] + TURNOVER_EDGES[:-1])

    def point(x, y):
        n = np.histogram(x, TURNOVER_EDGES)[0]
        k = np.histogram(x, TURNOVER_EDGES, weights=y)[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
        return value_at_fraction({"centre": centre, "fraction": frac}, 0.5, log=False)

    return _boot(key, point, [logl, rec], seed, n_boot)


def roles_truth_intervals(r: RolesInputs, m: dict | None, tlf: Table | None, tsfrd: Table | None, values_: dict,
                          seed: int = 0, n_boot: int = 1000) -> dict:
    """95 % sampling intervals of the ROLES truth numbers (same methods as the compendium's on the
    true values; ``values_`` from :func:`roles_truth_values`).

    Parameters
    ----------
    r : RolesInputs
        The run's products and truth (:func:`~redshift1.validation.roles.load_roles`).
    m : dict or None
        The line matching (:func:`~redshift1.validation.roles.line_matching`); None: no line rows.
    tlf : `~astropy.table.Table` or None
        The true LF (:func:`~redshift1.validation.roles.truth_lf`).
    tsfrd : `~astropy.table.Table` or None
        The true ρ_SFR (:func:`~redshift1.validation.roles.truth_sfrd`).
    values_ : dict
        The truth values (:func:`roles_truth_values`).
    seed : int
        Seed of the bootstraps (per row, :func:`~redshift1.validation.intervals.row_rng`).
    n_boot : int
        Resamples per bootstrap.

    Returns
    -------
    dict of str to Interval
    """
    out = _design_and_counts(values_)
    if r.truth_slits is not None:
        out["roles.slits_per_mask"] = median_order_interval(_per_mask_counts(r.truth_slits))
    if m is not None and r.lines is not None:
        fp = false_positives(r, m)
        n = fp["raw_unmatched"]
        if n and np.isfinite(fp["raw_unmatched_below_adopt"]):
            out["roles.frac_irreproducible_below_4sigma"] = binomial_interval(
                round(fp["raw_unmatched_below_adopt"] * n), n)
        sel = m["adopted"] & (m["truth_of_det"] >= 0)
        j = m["truth_of_det"][sel]
        if sel.sum() >= 3:
            dw = column(r.lines, "wavelength")[sel] - column(r.truth_lines, "obs_wave")[j]
            out["roles.repeat_wavelength_sigma"] = _boot("roles.repeat_wavelength_sigma",
                                                         lambda x: np.sqrt(2) * _clipped_std(x), [dw], seed, n_boot)
            pull = (column(r.lines, "flux")[sel] - column(r.truth_lines, "flux")[j]) / column(r.lines, "flux_err")[sel]
            out["roles.flux_pull_width"] = _boot("roles.flux_pull_width", _clipped_std, [pull], seed, n_boot)
    if r.completeness is not None and r.slits is not None:
        cv = completeness_vs_truth(r)
        for key, f, faintest in (("roles.completeness_cdfs", "CDFS", False), ("roles.completeness_fires", "FIRES", False),
                                 ("roles.completeness_fires_faintest", "FIRES", True)):
            s = (np.asarray(cv["field"]) == f) & ((np.asarray(cv["bin"]) != "all") if faintest
                                                   else (np.asarray(cv["bin"]) == "all"))
            if s.any():
                i = np.flatnonzero(s)[np.argmax(column(cv, "K_lo")[s])] if faintest else np.flatnonzero(s)[0]
                n = float(cv["n_true_in_window"][i])
                out[key] = binomial_interval(round(float(cv["W_true"][i]) * n), n)
    if tlf is not None and r.lf is not None:
        lo, hi = (r.lf.meta.get("fit_range") or [40.6, 42.0])
        a, ae = fit_faint_end(tlf, lo, hi)[:2]
        out["roles.lf_alpha"] = posterior_interval(a, a - ae, a + ae)
    if m is not None and r.galaxies is not None:
        out["roles.lf_turnover"] = _turnover_truth(r, m, "roles.lf_turnover", seed, n_boot)
    if tsfrd is not None and "n_true_eff" in tsfrd.colnames:
        for row in tsfrd[np.asarray(tsfrd["sfr_estimator"]) == "nominal"]:
            key = _sfrd_row_key(row)
            if key in values_:
                out[key] = scaled_poisson_interval(values_[key], float(row["n_true_eff"]))
    return {key: iv for key, iv in out.items() if np.isfinite(iv.lo)}
