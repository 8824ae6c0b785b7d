"""Every number of the two papers used as a comparison, and the paper-vs-compendium table.

This module is the only home of the papers' numbers (issue 14): Magdis et al. (2016, KROSS) and
Gilbank et al. (2010, ROLES), each with the section or table that gives it.

* :data:`PAPER_NUMBERS` -- every number the table compares: a stable ``key``, the row label (with
  its unit), the paper's value, the paper's quoted uncertainty or range (``lo``/``hi``, equal to
  the value where the paper quotes none), where the paper gives it, and a ``note`` saying why the
  row may legitimately differ (a mock choice, a geometric definition, a number the paper states
  only approximately). Ranges the papers quote are split into one row per end.
* :data:`KROSS_TABLE2` (KROSS Table 2: N and medians per subsample) and :data:`ROLES_TABLE2`
  (ROLES Table 2: ρ_SFR per mass bin with its errors, FORS2 and GDDS rows included) -- the
  comparison columns of notebooks 04 and 10.
* :data:`KROSS_PAPER`, :data:`KROSS_COUNTS`, :data:`KROSS_PSF` -- the KROSS numbers notebooks
  02–06 and their figures quote beside their measurements (counts, PSF ranges, slopes), derived
  from :data:`PAPER_NUMBERS` (no number is written twice).

These constants are for comparison only: the pipeline shows them beside its results (comparison
columns, reference lines) and never computes with them.

:func:`build_paper_table` puts the compendium's values (read from the products of a run) and the
truth (computed from the mock's truth files) beside them, each with its 95 % interval
(:mod:`~redshift1.validation.intervals`), and decides per row whether the compendium agrees with
the paper (``agrees``: the intervals overlap) and with the truth (``agrees_truth``: the
compendium's interval contains the truth value). :func:`markdown_table` renders it with the
summary line the README shows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
from astropy.table import Table

from ..errors import ParameterError
from ..io import atomic_path, write_table
from .intervals import CONFIDENCE, METHODS, Interval, interval_contains, intervals_overlap, summary_line

__all__ = ["PaperNumber", "PAPER_NUMBERS", "PAPER_VALUES", "KROSS_PAPER", "KROSS_COUNTS", "KROSS_PSF", "KROSS_TABLE2", "ROLES_TABLE2",
           "SFRD_UNIT_LABEL", "sfrd_key", "build_paper_table", "markdown_table", "table_summary", "write_paper_table",
           "format_value", "format_interval", "TABLE_COLUMNS", "KROSS", "ROLES"]

#: Columns of the paper-vs-compendium table (``quantity, paper, compendium, truth`` are the
#: original contract; the intervals, the two verdicts and the note were added by issue 13)
TABLE_COLUMNS = ("quantity", "paper", "paper_lo", "paper_hi", "compendium", "compendium_lo", "compendium_hi",
                 "truth", "truth_lo", "truth_hi", "agrees", "agrees_truth", "note")
SFRD_UNIT_LABEL = "10⁻³ M☉ yr⁻¹ Mpc⁻³ dex⁻¹"

KROSS = "Magdis+2016"
ROLES = "Gilbank+2010"


@dataclass(frozen=True)
class PaperNumber:
    """One number a paper reports.

    Parameters
    ----------
    key : str
        Stable identifier, e.g. ``"kross.n_targets"``.
    quantity : str
        The row label, with the unit in brackets.
    paper : float
        The published value.
    source : str
        Paper and section.
    lo, hi : float, optional
        The paper's quoted uncertainty or range around ``paper`` (default: ``paper``, i.e. the
        paper quotes none).
    note : str
        Why the compendium may legitimately differ from the paper on this row.
    """

    key: str
    quantity: str
    paper: float
    source: str
    lo: float | None = None
    hi: float | None = None
    note: str = ""

    @property
    def paper_lo(self) -> float:
        return float(self.paper if self.lo is None else self.lo)

    @property
    def paper_hi(self) -> float:
        return float(self.paper if self.hi is None else self.hi)


def sfrd_key(field: str, lo: float, hi: float) -> str:
    """Key of a ROLES Table 2 row: ``roles.sfrd.<field>.<lo>-<hi>`` (two decimals).

    Parameters
    ----------
    field : str
        The field or sample (e.g. ``"CDFS"``, ``"HIGHMASS"``).
    lo, hi : float
        The row's log stellar-mass bin edges (log M☉).

    Returns
    -------
    str
    """
    return f"roles.sfrd.{field}.{lo:.2f}-{hi:.2f}"


#: ROLES Table 2 (Gilbank et al. 2010, Table 2), ρ in 10⁻³ M☉ yr⁻¹ Mpc⁻³ dex⁻¹:
#: (field, log M lo, log M hi, median log M, ρ, ρ_lo, ρ_hi, N). The FORS2 and GDDS rows are the
#: paper's higher-mass comparison samples.
ROLES_TABLE2 = (
    ("CDFS", 8.50, 8.90, 8.77, 6.60, 2.61, 14.61, 49), ("CDFS", 8.90, 9.10, 9.02, 17.79, 15.34, 20.61, 55),
    ("CDFS", 9.10, 9.30, 9.19, 15.85, 13.63, 18.42, 53), ("CDFS", 9.30, 9.50, 9.36, 15.28, 12.78, 18.25, 42),
    ("FIRES", 8.50, 9.20, 9.09, 13.04, 2.63, 41.59, 30), ("FIRES", 9.20, 9.50, 9.37, 19.63, 9.32, 38.23, 33),
    ("FIRES", 9.50, 9.80, 9.64, 13.80, 10.86, 17.48, 23),
    ("FORS2", 9.80, 10.20, 10.04, 12.75, 10.21, 15.87, 31), ("FORS2", 10.20, 10.50, 10.42, 12.54, 9.81, 15.97, 21),
    ("FORS2", 10.50, 10.80, 10.61, 6.43, 4.71, 8.71, 15), ("FORS2", 10.80, 11.20, 11.04, 2.83, 1.71, 4.54, 6),
    ("GDDS", 9.80, 10.20, 9.96, 19.43, 14.02, 26.68, 13), ("GDDS", 10.20, 10.50, 10.30, 8.14, 6.18, 10.68, 17),
    ("GDDS", 10.50, 11.15, 10.75, 5.14, 4.29, 6.15, 36),
)

#: Notes shared by several rows
_APPROX = "the paper states this number only approximately (≈ / ~)"
_EXTREME_OS = ("an extreme of the sample: its interval is that of the extreme of as many draws from a lognormal "
               "fitted to the sample (order statistics), so it says how far another sample's extreme could reach")
_DESIGN = "a design number of the survey: the mock places the paper's number"
_SHALLOW = ("the mock's sky brightness and throughput, which the paper does not state, leave it ~2x shallower "
            "than ROLES at the same exposures (docs/mock-calibration.md, ROLES)")
_MOCK = "set by the mock universe's calibration to the published sample (docs/mock-calibration.md)"
_RESOLVED_TEST = ("KROSS's test (r½ > HWHM) applied to notebook 03's measured r½; the walk's own test "
                  "(r½ > HWHM + 2σ(r½), notebook 03's resolved_significance) is stricter: noise puts a point "
                  "source's r½ above the HWHM about half the time (kross_fits.json n_resolved/n_unresolved, "
                  "docs/paper-vs-compendium.md); truth: true intrinsic r½ > the injected HWHM; " + _MOCK)
_HIGHMASS = ("the paper's FORS2 sample is replaced by the mock's higher-mass comparison catalogue in the same "
             "bins; " + _MOCK)

PAPER_NUMBERS: tuple[PaperNumber, ...] = (
    # ---------------------------------------------------------------- KROSS (Magdis et al. 2016)
    PaperNumber("kross.n_targets", "KROSS targets", 487, f"{KROSS} §2", note=_DESIGN),
    PaperNumber("kross.n_halpha", "KROSS Hα detected (S/N > 3)", 437, f"{KROSS} §2", note=_MOCK),
    PaperNumber("kross.n_resolved", "KROSS Hα resolved", 374, f"{KROSS} §3.2", note=_RESOLVED_TEST),
    PaperNumber("kross.n_unresolved", "KROSS Hα unresolved", 63, f"{KROSS} §3.2", note=_RESOLVED_TEST),
    PaperNumber("kross.n_undetected", "KROSS Hα undetected", 50, f"{KROSS} §2", note=_MOCK),
    PaperNumber("kross.n_nii", "KROSS [NII] detected", 190, f"{KROSS} §3.3", note=_MOCK),
    PaperNumber("kross.n_nii_near_sky", "KROSS [NII] non-detections near a sky line", 113, f"{KROSS} §3.3",
                note=_MOCK),
    PaperNumber("kross.n_nii_upper_limit", "KROSS [NII] 5σ upper limits", 134, f"{KROSS} §3.3", note=_MOCK),
    PaperNumber("kross.psf_hwhm_mean", "KMOS PSF HWHM, mean [arcsec]", 0.31, f"{KROSS} §2",
                note="the mock draws the seeing of each pointing"),
    PaperNumber("kross.psf_hwhm_min", "KMOS PSF HWHM, smallest [arcsec]", 0.23, f"{KROSS} §2", note=_EXTREME_OS),
    PaperNumber("kross.psf_hwhm_max", "KMOS PSF HWHM, largest [arcsec]", 0.42, f"{KROSS} §2", note=_EXTREME_OS),
    PaperNumber("kross.psf_ell_12", "KMOS PSF ellipticity, spectrographs 1–2 (mean; paper: 0.05–0.1, mid-range)",
                0.075, f"{KROSS} §2", lo=0.05, hi=0.10,
                note="the paper quotes a range (0.05–0.1); the row compares the mean with it"),
    PaperNumber("kross.psf_ell_3", "KMOS PSF ellipticity, spectrograph 3 (mean; paper: 0.1–0.2, mid-range)",
                0.15, f"{KROSS} §2", lo=0.10, hi=0.20,
                note="the paper quotes a range (0.1–0.2); the row compares the mean with it"),
    PaperNumber("kross.median_sfr", "KROSS median SFR(Hα) [M☉/yr]", 7.0, f"{KROSS} §3.1", note=_MOCK),
    PaperNumber("kross.min_sfr", "KROSS smallest SFR(Hα) [M☉/yr]", 0.15, f"{KROSS} §3.1", note=_EXTREME_OS),
    PaperNumber("kross.max_sfr", "KROSS largest SFR(Hα) [M☉/yr]", 330.0, f"{KROSS} §3.1", note=_EXTREME_OS),
    PaperNumber("kross.median_r_half", "KROSS median intrinsic r′½ [kpc]", 5.1, f"{KROSS} §3.2", note=_MOCK),
    PaperNumber("kross.mean_r_half", "KROSS mean intrinsic r′½ [kpc]", 5.4, f"{KROSS} §3.2", note=_MOCK),
    PaperNumber("kross.min_r_half", "KROSS smallest intrinsic r′½ [kpc]", 1.4, f"{KROSS} §3.2", note=_EXTREME_OS),
    PaperNumber("kross.max_r_half", "KROSS largest intrinsic r′½ [kpc]", 22.3, f"{KROSS} §3.2", note=_EXTREME_OS + "; the 2.8″ IFU "
                "(≈ 22 kpc across at z = 0.86) caps what the walk can measure"),
    PaperNumber("kross.r_half_rel_err", "KROSS typical fractional r′½ error", 0.30, f"{KROSS} §3.2",
                note="'typical' error: the compendium quotes the median of its quoted errors"),
    PaperNumber("kross.resolved_ms_slope", "resolved MS slope (log ΣSFR vs log Σ★)", 0.91, f"{KROSS} §4.1 eq. 5",
                note="the paper's estimator on both sides: least squares on the walk's resolved galaxies with "
                     "HST (truth: their true values); the walk's own emcee fit with intrinsic scatter is in "
                     "kross_fits.json and validation_slopes"),
    PaperNumber("kross.resolved_ms_intercept", "resolved MS intercept", -8.21, f"{KROSS} §4.1 eq. 5",
                note="moves with the slope (the intercept is at log Σ★ = 0, far outside the data)"),
    PaperNumber("kross.resolved_ms_scatter", "resolved MS scatter [dex]", 0.25, f"{KROSS} §4.1",
                note="paper and compendium: rms of log ΣSFR about the least-squares line (the walk's fitted "
                     "intrinsic scatter is in kross_fits.json)"),
    PaperNumber("kross.sigma_delta_slope", "ΣSFR–Δ(sSFR) slope (ΣSFR ∝ Δ^b)", 1.09, f"{KROSS} §4.2",
                note="the paper's least squares on the resolved galaxies (its unresolved are limits in Fig. 3); "
                     "the walk's emcee fit with the unresolved as censored limits is in kross_fits.json"),
    PaperNumber("kross.spearman_p", "ΣSFR–Δ(sSFR) Spearman p", 3e-19, f"{KROSS} §4.2",
                note="a p-value scales steeply with the sample size and the correlation's strength"),
    PaperNumber("kross.size_starburst", "mean r′½ of starbursts (Δ > 2) [kpc]", 4.2, f"{KROSS} §4.2", lo=3.7,
                hi=4.7, note="paper: 4.2 ± 0.5 kpc"),
    PaperNumber("kross.size_ms", "mean r′½ of MS galaxies [kpc]", 5.2, f"{KROSS} §4.2", lo=4.9, hi=5.5,
                note="paper: 5.2 ± 0.3 kpc"),
    PaperNumber("kross.mean_oh", "mean 12+log(O/H) of [NII] detections", 8.64, f"{KROSS} §3.3", lo=8.62, hi=8.66,
                note="paper: 8.64 ± 0.02"),
    PaperNumber("kross.oh_delta_slope", "Z–Δ(sSFR) slope (Z ∝ Δ^b, 9.5 < log M★ < 10.5)", -0.32, f"{KROSS} §4.3",
                lo=-0.36, hi=-0.32, note="the paper gives −0.32 in §4.3 and −0.36 in the caption of Fig. 4"),
    PaperNumber("kross.oh_across_ms", "Z change across the MS band (±0.3 dex) [dex]", 0.2, f"{KROSS} §4.3",
                note=_APPROX),
    PaperNumber("kross.halpha_to_stellar_size", "r½(Hα) / stellar r_H (mean)", 1.3, f"{KROSS} §4.1",
                note=_APPROX + "; the compendium's mean is pulled up by small stellar sizes"),
    PaperNumber("kross.n_hst", "KROSS galaxies with HST F160W morphology", 117, f"{KROSS} §2", note=_MOCK),
    # ---------------------------------------------------------------- ROLES (Gilbank et al. 2010)
    PaperNumber("roles.n_masks", "ROLES LDSS3 masks", 18, f"{ROLES} Table 1", note=_DESIGN),
    PaperNumber("roles.slits_per_mask", "ROLES slits per mask (median; paper: 'an average of almost 200')", 200,
                f"{ROLES} §2.2", lo=190, hi=200,
                note="'an average of almost 200 objects in each mask': read as 190–200; the compendium quotes the "
                     "median over the masks, with its distribution-free (order-statistic) 95 % interval"),
    PaperNumber("roles.n_targets_cdfs", "ROLES CDFS targets (22.5 < K < 24)", 1849, f"{ROLES} §2.2", note=_DESIGN),
    PaperNumber("roles.n_targets_fires", "ROLES FIRES targets (22.5 < K < 24)", 533, f"{ROLES} §2.2", note=_DESIGN),
    PaperNumber("roles.n_detected_cdfs", "ROLES CDFS targets with a line detection", 246, f"{ROLES} §2.4",
                note=_MOCK),
    PaperNumber("roles.n_detected_fires", "ROLES FIRES targets with a line detection", 119, f"{ROLES} §2.4",
                note=_MOCK),
    PaperNumber("roles.n_repeats", "ROLES objects on repeated slits", 44, f"{ROLES} §2.4.3", note=_DESIGN),
    PaperNumber("roles.frac_irreproducible_below_4sigma", "fraction of irreproducible lines below 4σ", 0.95,
                f"{ROLES} §2.4.3"),
    PaperNumber("roles.repeat_wavelength_sigma", "repeat wavelength scatter σλ [Å]", 1.4, f"{ROLES} §2.4.3"),
    PaperNumber("roles.flux_pull_width", "repeat flux-error pull width", 0.9, f"{ROLES} §2.5, Fig. 10",
                note="read off the paper's Fig. 10 (a Gaussian of width 0.9σ)"),
    PaperNumber("roles.limit_dark", "4σ [OII] limit between sky lines [erg s⁻¹ cm⁻²]", 3e-18, f"{ROLES} §3.4.2",
                note=_APPROX + " ('approximately 3 × 10⁻¹⁸ in the deepest regions' of the shallowest mask's "
                     "curve); compendium: the same curve of its shallowest mask, 5th percentile over 7100–7950 Å; "
                     + _SHALLOW),
    PaperNumber("roles.limit_sky", "4σ [OII] limit under sky lines [erg s⁻¹ cm⁻²]", 1e-17, f"{ROLES} §3.4.2",
                note=_APPROX + " ('around 1 × 10⁻¹⁷ underneath the brighter sky lines'); compendium: the "
                     "shallowest mask's curve, 95th percentile over 7100–7950 Å; " + _SHALLOW),
    PaperNumber("roles.completeness_cdfs", "spectroscopic completeness, CDFS", 0.85, f"{ROLES} §3.3",
                note=_APPROX),
    PaperNumber("roles.completeness_fires", "spectroscopic completeness, FIRES", 0.7, f"{ROLES} §3.3",
                note=_APPROX),
    PaperNumber("roles.completeness_fires_faintest", "spectroscopic completeness, FIRES faintest K bin", 0.5,
                f"{ROLES} §3.3", note=_APPROX + " (read off the paper's Fig. 12)"),
    PaperNumber("roles.volume", "[OII] full-window volume [Mpc³]", 7.4e4, f"{ROLES} §3.4",
                note="geometry: 136.9 arcmin² over 0.889 < z < 1.149 (h = 0.7, Ωm = 0.3) is 8.1×10⁴ Mpc³; "
                     "the paper states 7.4×10⁴ — a definition we do not tune"),
    PaperNumber("roles.lf_alpha", "[OII] LF faint-end slope α", -1.5, f"{ROLES} §4.1",
                note=_APPROX + " ('α ~ −1.5, although this is not well constrained')"),
    PaperNumber("roles.lf_turnover", "[OII] LF incomplete below log L [erg/s]", 40.5, f"{ROLES} §4.1",
                note=_APPROX + "; the compendium's value is an edge of its 0.25 dex LF bins"),
    *(PaperNumber(sfrd_key(f, lo, hi),
                  f"ρ_SFR {f if f != 'FORS2' else 'higher-mass (paper: FORS2)'} {lo:.2f}–{hi:.2f} [{SFRD_UNIT_LABEL}]",
                  rho, f"{ROLES} Table 2", lo=rho_lo, hi=rho_hi, note=_HIGHMASS if f == "FORS2" else _MOCK)
      for f, lo, hi, _, rho, rho_lo, rho_hi, _ in ROLES_TABLE2 if f != "GDDS"),
)

#: ``{key: paper value}``
PAPER_VALUES: dict[str, float] = {p.key: float(p.paper) for p in PAPER_NUMBERS}
_BY_KEY = {p.key: p for p in PAPER_NUMBERS}


def _pm(key: str) -> tuple[float, float]:
    """``(value, half-width of the quoted interval)`` of a row."""
    p = _BY_KEY[key]
    return float(p.paper), round(0.5 * (p.paper_hi - p.paper_lo), 10)


def _k(name: str) -> float:
    return PAPER_VALUES[f"kross.{name}"]


#: The KROSS numbers notebooks 04–06 and their figures quote (Magdis et al. 2016; sections as in
#: :data:`PAPER_NUMBERS`, from which they are taken). ``(value, error)`` pairs where the paper
#: quotes an error.
KROSS_PAPER: dict = {
    **{n: int(_k(n)) for n in ("n_targets", "n_halpha", "n_resolved", "n_unresolved", "n_undetected", "n_nii",
                                "n_nii_near_sky", "n_nii_upper_limit", "n_hst")},
    "median_sfr": _k("median_sfr"), "sfr_range": (_k("min_sfr"), _k("max_sfr")),
    "median_r_half_kpc": _k("median_r_half"), "mean_r_half_kpc": _k("mean_r_half"),
    "r_half_range_kpc": (_k("min_r_half"), _k("max_r_half")),
    **{n: _k(n) for n in ("resolved_ms_slope", "resolved_ms_intercept", "resolved_ms_scatter", "sigma_delta_slope",
                           "spearman_p", "oh_delta_slope", "halpha_to_stellar_size", "oh_across_ms")},
    "size_starburst_kpc": _pm("kross.size_starburst"), "size_ms_kpc": _pm("kross.size_ms"),
    "mean_oh": _pm("kross.mean_oh"),
}

#: KROSS §2, §3.3: the detection counts notebook 02 puts beside its own
KROSS_COUNTS: dict[str, int] = {
    "targets": KROSS_PAPER["n_targets"], "halpha_detected": KROSS_PAPER["n_halpha"],
    "halpha_undetected": KROSS_PAPER["n_undetected"], "nii_detected": KROSS_PAPER["n_nii"],
    "nii_near_sky_line": KROSS_PAPER["n_nii_near_sky"], "nii_upper_limit": KROSS_PAPER["n_nii_upper_limit"],
}

#: KROSS §2: the KMOS PSF -- HWHM range and mean (arcsec), ellipticity range per spectrograph
KROSS_PSF: dict = {
    "hwhm_range": (_k("psf_hwhm_min"), _k("psf_hwhm_max")), "hwhm_mean": _k("psf_hwhm_mean"),
    "ellipticity": {1: (_BY_KEY["kross.psf_ell_12"].paper_lo, _BY_KEY["kross.psf_ell_12"].paper_hi),
                    2: (_BY_KEY["kross.psf_ell_12"].paper_lo, _BY_KEY["kross.psf_ell_12"].paper_hi),
                    3: (_BY_KEY["kross.psf_ell_3"].paper_lo, _BY_KEY["kross.psf_ell_3"].paper_hi)},
}

#: KROSS Table 2 (Magdis et al. 2016, Table 2): N, median r−z, median K, median SFR_SED per subsample
KROSS_TABLE2: dict[str, tuple] = {
    "Total": (KROSS_PAPER["n_targets"], 0.98, 21.1, 4.8),
    "Hα": (KROSS_PAPER["n_halpha"], 0.95, 21.2, 6.8),
    "Hα resolved": (KROSS_PAPER["n_resolved"], 0.90, 21.2, 7.2),
    "Hα unresolved": (KROSS_PAPER["n_unresolved"], 1.27, 20.6, 2.0),
    "Hα undetected": (KROSS_PAPER["n_undetected"], 1.32, 20.5, 1.2),
    "[NII]": (KROSS_PAPER["n_nii"], 0.95, 21.3, 6.0),
}


def _check_keys(values: Mapping, name: str, known) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ParameterError(f"{name} has values for unknown rows {unknown[:5]}")


def _as_float(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return np.nan
    return f


def _interval_of(value: float, given) -> Interval:
    """The interval given for a row, or the value alone (method ``"point"``) when none was computed."""
    if not np.isfinite(value):
        return Interval(np.nan, np.nan, "none")
    if given is None:
        return Interval(value, value, "point")
    lo, hi = _as_float(given[0]), _as_float(given[1])
    method = given[2] if len(given) > 2 else "given"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return Interval(value, value, "point")
    return Interval(min(lo, hi), max(lo, hi), str(method))


def build_paper_table(compendium: Mapping[str, float], truth: Mapping[str, float], preset: str = "",
                      seed=None, notes: Mapping[str, str] | None = None,
                      numbers: tuple[PaperNumber, ...] = PAPER_NUMBERS,
                      compendium_intervals: Mapping[str, Interval] | None = None,
                      truth_intervals: Mapping[str, Interval] | None = None) -> Table:
    """The paper-vs-compendium table: one row per paper number, in :data:`PAPER_NUMBERS` order.

    Parameters
    ----------
    compendium, truth : mapping of str to float
        Row key to value (missing or ``None`` → NaN).
    preset, seed
        Kept in the metadata (the run that wrote the values).
    notes : mapping of str to str, optional
        Row key to how the compendium and truth values are defined (metadata ``notes``).
    numbers : tuple of PaperNumber
        The rows.
    compendium_intervals, truth_intervals : mapping of str to Interval, optional
        Row key to the 95 % interval ``(lo, hi, method)`` of the value. A row with a value and
        no interval is compared as a point (method ``"point"``, said in its ``note``).

    Returns
    -------
    `~astropy.table.Table`
        Columns :data:`TABLE_COLUMNS`. ``agrees``: the paper's interval and the compendium's
        overlap; ``agrees_truth``: the compendium's interval contains the truth value (False
        where either is missing). The metadata holds the row keys, sources, preset, seed, the
        definitions (``notes``), the interval method of every value and the summary line.

    Raises
    ------
    ParameterError
        A key names no row (a typo would otherwise drop a value silently), or keys repeat.
    """
    keys = [p.key for p in numbers]
    if len(set(keys)) != len(keys):
        raise ParameterError("duplicate keys in the paper numbers")
    ci, ti = dict(compendium_intervals or {}), dict(truth_intervals or {})
    for values, name in ((compendium, "compendium"), (truth, "truth"), (ci, "compendium_intervals"),
                         (ti, "truth_intervals")):
        _check_keys(values, name, keys)
    comp = np.array([_as_float(compendium.get(k)) for k in keys])
    true = np.array([_as_float(truth.get(k)) for k in keys])
    c_int = [_interval_of(v, ci.get(k)) for k, v in zip(keys, comp)]
    t_int = [_interval_of(v, ti.get(k)) for k, v in zip(keys, true)]
    t = Table()
    t["quantity"] = [p.quantity for p in numbers]
    t["paper"] = np.array([float(p.paper) for p in numbers])
    t["paper_lo"] = np.array([p.paper_lo for p in numbers])
    t["paper_hi"] = np.array([p.paper_hi for p in numbers])
    t["compendium"] = comp
    t["compendium_lo"] = np.array([i.lo for i in c_int])
    t["compendium_hi"] = np.array([i.hi for i in c_int])
    t["truth"] = true
    t["truth_lo"] = np.array([i.lo for i in t_int])
    t["truth_hi"] = np.array([i.hi for i in t_int])
    t["agrees"] = intervals_overlap(t["paper_lo"], t["paper_hi"], t["compendium_lo"], t["compendium_hi"])
    t["agrees_truth"] = interval_contains(t["compendium_lo"], t["compendium_hi"], t["truth"])
    t["note"] = [_row_note(p, c, tr, ci_.method) for p, c, tr, ci_ in zip(numbers, comp, true, c_int)]
    t.meta["description"] = (
        "every number the papers report: the paper's value with its quoted uncertainty or range (paper_lo/hi, "
        "equal to the value where the paper quotes none), the compendium's value on this run's preset (from the "
        f"products) with its {CONFIDENCE:.0%} interval, and the mock's truth (same statistic on the true values, "
        "NaN where the number is an outcome of the observation with no truth) with its own sampling interval; "
        "agrees = the paper's and the compendium's intervals overlap; agrees_truth = the compendium's interval "
        "contains the truth value; note = why the row may legitimately differ")
    t.meta["preset"] = preset
    t.meta["seed"] = seed
    t.meta["keys"] = keys
    t.meta["sources"] = {p.key: p.source for p in numbers}
    t.meta["notes"] = {k: str(v) for k, v in (notes or {}).items() if k in keys}
    t.meta["confidence"] = CONFIDENCE
    t.meta["interval_methods"] = {k: {"compendium": c.method, "truth": ti_.method}
                                  for k, c, ti_ in zip(keys, c_int, t_int)}
    t.meta["methods"] = dict(METHODS)
    t.meta["summary"] = table_summary(t)
    return t


def _row_note(p: PaperNumber, comp: float, truth: float, method: str) -> str:
    parts = [p.note] if p.note else []
    if not np.isfinite(comp):
        parts.append("no compendium value in this run")
    elif method == "point":
        parts.append("no interval for the compendium's value: compared as a point")
    if not np.isfinite(truth):
        parts.append("no truth value")
    return "; ".join(parts)


def table_summary(table: Table) -> str:
    """The summary line of a paper-vs-compendium table:
    ``"N of M rows agree with the paper; K of M with the truth."``

    Parameters
    ----------
    table : `~astropy.table.Table`
        A paper-vs-compendium table (:func:`build_paper_table`).

    Returns
    -------
    str
    """
    return summary_line(int(np.sum(table["agrees"])), int(np.sum(table["agrees_truth"])), len(table))


def format_value(v: float) -> str:
    """Compact text of a table value: integers as integers, 3 significant digits otherwise,
    scientific notation outside 1e-3–1e5, '—' for NaN.

    Parameters
    ----------
    v : float or None
        The value (None counts as NaN).

    Returns
    -------
    str
    """
    if v is None or not np.isfinite(v):
        return "—"
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        mant, exp = f"{v:.2e}".split("e")
        return f"{mant}×10^{int(exp)}"
    digits = max(0, 2 - int(math.floor(math.log10(a)))) if a else 2
    return f"{v:.{digits}f}"



def format_interval(value: float, lo: float, hi: float) -> str:
    """``value [lo, hi]`` (the interval left out where it is the value alone; '—' for NaN).

    Parameters
    ----------
    value : float
        The value.
    lo, hi : float
        Its interval (left out if either is NaN or both equal the value).

    Returns
    -------
    str
    """
    text = format_value(value)
    if not np.isfinite(value) or not (np.isfinite(lo) and np.isfinite(hi)) or (lo == value == hi):
        return text
    return f"{text} [{format_value(lo)}, {format_value(hi)}]"


def markdown_table(table: Table, title: str | None = None) -> str:
    """The table in Markdown: the summary line, a one-line header, then per row the paper's, the
    compendium's and the truth's value with their intervals, both verdicts and the note.

    Parameters
    ----------
    table : `~astropy.table.Table`
        A paper-vs-compendium table (:func:`build_paper_table`).
    title : str or None
        Header sentence; default names the preset, seed, papers and how to read the columns.

    Returns
    -------
    str
        The Markdown text, ending in a newline.
    """
    preset = table.meta.get("preset", "")
    seed = table.meta.get("seed", "")
    seed = seed if "seed" in str(seed) else f"seed {seed}"   # "survey_seed 1, noise_seed 2" names itself
    conf = float(table.meta.get("confidence", 0.95))
    head = title or (f"Paper vs compendium — preset `{preset}`, {seed} "
                     f"(KROSS: Magdis et al. 2016; ROLES: Gilbank et al. 2010; — = not available). "
                     f"Paper: value [quoted uncertainty or range]; compendium and truth: value [{conf:.0%} interval]; "
                     "agrees: the paper's and the compendium's intervals overlap; truth ok: the compendium's "
                     "interval contains the truth.")
    lines = [table_summary(table), "", head, "",
             "| quantity | paper | compendium | truth | agrees | truth ok | note |",
             "|---|---:|---:|---:|:-:|:-:|---|"]
    yes = {True: "yes", False: "no"}
    for r in table:
        q = str(r["quantity"]).replace("|", "\\|")
        note = str(r["note"]).replace("|", "\\|")
        lines.append(f"| {q} | {format_interval(r['paper'], r['paper_lo'], r['paper_hi'])} | "
                     f"{format_interval(r['compendium'], r['compendium_lo'], r['compendium_hi'])} | "
                     f"{format_interval(r['truth'], r['truth_lo'], r['truth_hi'])} | {yes[bool(r['agrees'])]} | "
                     f"{yes[bool(r['agrees_truth'])]} | {note} |")
    return "\n".join(lines) + "\n"


def write_paper_table(table: Table, folder, name: str = "paper_vs_compendium") -> tuple[Path, Path]:
    """Write ``<folder>/<name>.ecsv`` and its Markdown copy ``<folder>/<name>.md`` (atomically).

    Parameters
    ----------
    table : `~astropy.table.Table`
        A paper-vs-compendium table (:func:`build_paper_table`).
    folder : path-like
        Where to write (the run's products folder).
    name : str
        File stem.

    Returns
    -------
    ecsv, md : `~pathlib.Path`
        The two files written.
    """
    folder = Path(folder)
    ecsv = write_table(table, folder / f"{name}.ecsv")
    md = folder / f"{name}.md"
    with atomic_path(md) as tmp:
        Path(tmp).write_text(markdown_table(table), encoding="utf-8")
    return ecsv, md
