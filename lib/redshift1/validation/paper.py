"""The papers' numbers and the paper-vs-compendium table.

:data:`PAPER_NUMBERS` holds every number the two papers report once, as
published by Magdis et al. (2016, KROSS) and Gilbank et al. (2010, ROLES): a stable
``key``, the row label (with its unit), the paper's value and where the paper gives it.
Ranges the papers quote are split into one row per end; "≈" values enter as quoted.
These constants are for comparison only: nothing in the pipeline reads them.

:func:`build_paper_table` puts the compendium's values (read from the products of a run)
and the truth (computed from the mock's truth files) beside them:
``quantity, paper, compendium, truth`` -- one row per number, NaN where a value does not
exist (e.g. no truth for a count of detections, which is an outcome of the observation).
:func:`markdown_table` renders it as the Markdown copy the README shows.
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

__all__ = ["PaperNumber", "PAPER_NUMBERS", "PAPER_VALUES", "SFRD_UNIT_LABEL", "sfrd_key", "build_paper_table",
           "markdown_table", "write_paper_table", "format_value", "TABLE_COLUMNS"]

TABLE_COLUMNS = ("quantity", "paper", "compendium", "truth")
SFRD_UNIT_LABEL = "10⁻³ M☉ yr⁻¹ Mpc⁻³ dex⁻¹"


@dataclass(frozen=True)
class PaperNumber:
    """One number a paper reports."""

    key: str          # stable identifier, e.g. "kross.n_targets"
    quantity: str     # the row label, with the unit in brackets
    paper: float      # the published value
    source: str       # paper and section


def sfrd_key(field: str, lo: float, hi: float) -> str:
    """Key of a ROLES Table 2 row: ``roles.sfrd.<field>.<lo>-<hi>`` (two decimals)."""
    return f"roles.sfrd.{field}.{lo:.2f}-{hi:.2f}"


_K = "Magdis+2016"
_R = "Gilbank+2010"

#: ROLES Table 2 (ρ_SFR in 10⁻³ M☉ yr⁻¹ Mpc⁻³ dex⁻¹): (field, log M lo, log M hi, ρ). The
#: higher-mass rows are the paper's FORS2 sample; the compendium's higher-mass comparison
#: sample uses the same bins.
_ROLES_TABLE2 = (
    ("CDFS", 8.50, 8.90, 6.60), ("CDFS", 8.90, 9.10, 17.79), ("CDFS", 9.10, 9.30, 15.85), ("CDFS", 9.30, 9.50, 15.28),
    ("FIRES", 8.50, 9.20, 13.04), ("FIRES", 9.20, 9.50, 19.63), ("FIRES", 9.50, 9.80, 13.80),
    ("FORS2", 9.80, 10.20, 12.75), ("FORS2", 10.20, 10.50, 12.54), ("FORS2", 10.50, 10.80, 6.43),
    ("FORS2", 10.80, 11.20, 2.83),
)

PAPER_NUMBERS: tuple[PaperNumber, ...] = (
    # ---------------------------------------------------------------- KROSS (Magdis et al. 2016)
    PaperNumber("kross.n_targets", "KROSS targets", 487, f"{_K} §2"),
    PaperNumber("kross.n_halpha", "KROSS Hα detected (S/N > 3)", 437, f"{_K} §2"),
    PaperNumber("kross.n_resolved", "KROSS Hα resolved", 374, f"{_K} §3.2"),
    PaperNumber("kross.n_unresolved", "KROSS Hα unresolved", 63, f"{_K} §3.2"),
    PaperNumber("kross.n_undetected", "KROSS Hα undetected", 50, f"{_K} §2"),
    PaperNumber("kross.n_nii", "KROSS [NII] detected", 190, f"{_K} §3.3"),
    PaperNumber("kross.n_nii_near_sky", "KROSS [NII] non-detections near a sky line", 113, f"{_K} §3.3"),
    PaperNumber("kross.n_nii_upper_limit", "KROSS [NII] 5σ upper limits", 134, f"{_K} §3.3"),
    PaperNumber("kross.psf_hwhm_mean", "KMOS PSF HWHM, mean [arcsec]", 0.31, f"{_K} §2"),
    PaperNumber("kross.psf_hwhm_min", "KMOS PSF HWHM, smallest [arcsec]", 0.23, f"{_K} §2"),
    PaperNumber("kross.psf_hwhm_max", "KMOS PSF HWHM, largest [arcsec]", 0.42, f"{_K} §2"),
    PaperNumber("kross.psf_ell_12", "KMOS PSF ellipticity, spectrographs 1–2 (mean; paper: 0.05–0.1, mid-range)",
                0.075, f"{_K} §2"),
    PaperNumber("kross.psf_ell_3", "KMOS PSF ellipticity, spectrograph 3 (mean; paper: 0.1–0.2, mid-range)",
                0.15, f"{_K} §2"),
    PaperNumber("kross.median_sfr", "KROSS median SFR(Hα) [M☉/yr]", 7.0, f"{_K} §3.1"),
    PaperNumber("kross.min_sfr", "KROSS smallest SFR(Hα) [M☉/yr]", 0.15, f"{_K} §3.1"),
    PaperNumber("kross.max_sfr", "KROSS largest SFR(Hα) [M☉/yr]", 330.0, f"{_K} §3.1"),
    PaperNumber("kross.median_r_half", "KROSS median intrinsic r′½ [kpc]", 5.1, f"{_K} §3.2"),
    PaperNumber("kross.mean_r_half", "KROSS mean intrinsic r′½ [kpc]", 5.4, f"{_K} §3.2"),
    PaperNumber("kross.min_r_half", "KROSS smallest intrinsic r′½ [kpc]", 1.4, f"{_K} §3.2"),
    PaperNumber("kross.max_r_half", "KROSS largest intrinsic r′½ [kpc]", 22.3, f"{_K} §3.2"),
    PaperNumber("kross.r_half_rel_err", "KROSS typical fractional r′½ error", 0.30, f"{_K} §3.2"),
    PaperNumber("kross.resolved_ms_slope", "resolved MS slope (log ΣSFR vs log Σ★)", 0.91, f"{_K} §4.1 eq. 5"),
    PaperNumber("kross.resolved_ms_intercept", "resolved MS intercept", -8.21, f"{_K} §4.1 eq. 5"),
    PaperNumber("kross.resolved_ms_scatter", "resolved MS scatter [dex]", 0.25, f"{_K} §4.1"),
    PaperNumber("kross.sigma_delta_slope", "ΣSFR–Δ(sSFR) slope (ΣSFR ∝ Δ^b)", 1.09, f"{_K} §4.2"),
    PaperNumber("kross.spearman_p", "ΣSFR–Δ(sSFR) Spearman p", 3e-19, f"{_K} §4.2"),
    PaperNumber("kross.size_starburst", "mean r′½ of starbursts (Δ > 2) [kpc]", 4.2, f"{_K} §4.2"),
    PaperNumber("kross.size_ms", "mean r′½ of MS galaxies [kpc]", 5.2, f"{_K} §4.2"),
    PaperNumber("kross.mean_oh", "mean 12+log(O/H) of [NII] detections", 8.64, f"{_K} §3.3"),
    PaperNumber("kross.oh_delta_slope", "Z–Δ(sSFR) slope (Z ∝ Δ^b, 9.5 < log M★ < 10.5)", -0.32, f"{_K} §4.3"),
    PaperNumber("kross.oh_across_ms", "Z change across the MS band (±0.3 dex) [dex]", 0.2, f"{_K} §4.3"),
    PaperNumber("kross.halpha_to_stellar_size", "r½(Hα) / stellar r_H (mean)", 1.3, f"{_K} §4.1"),
    PaperNumber("kross.n_hst", "KROSS galaxies with HST F160W morphology", 117, f"{_K} §2"),
    # ---------------------------------------------------------------- ROLES (Gilbank et al. 2010)
    PaperNumber("roles.n_masks", "ROLES LDSS3 masks", 18, f"{_R} Table 1"),
    PaperNumber("roles.slits_per_mask", "ROLES slits per mask (median; paper: ~200)", 200, f"{_R} §2.2"),
    PaperNumber("roles.n_targets_cdfs", "ROLES CDFS targets (22.5 < K < 24)", 1849, f"{_R} §2.2"),
    PaperNumber("roles.n_targets_fires", "ROLES FIRES targets (22.5 < K < 24)", 533, f"{_R} §2.2"),
    PaperNumber("roles.n_detected_cdfs", "ROLES CDFS targets with a line detection", 246, f"{_R} §2.4"),
    PaperNumber("roles.n_detected_fires", "ROLES FIRES targets with a line detection", 119, f"{_R} §2.4"),
    PaperNumber("roles.n_repeats", "ROLES objects on repeated slits", 44, f"{_R} §2.4.3"),
    PaperNumber("roles.frac_irreproducible_below_4sigma", "fraction of irreproducible lines below 4σ", 0.95,
                f"{_R} §2.4.3"),
    PaperNumber("roles.repeat_wavelength_sigma", "repeat wavelength scatter σλ [Å]", 1.4, f"{_R} §2.4.3"),
    PaperNumber("roles.flux_pull_width", "repeat flux-error pull width", 0.9, f"{_R} §2.5, Fig. 10"),
    PaperNumber("roles.limit_dark", "4σ [OII] limit between sky lines [erg s⁻¹ cm⁻²]", 3e-18, f"{_R} §3.4.2"),
    PaperNumber("roles.limit_sky", "4σ [OII] limit under sky lines [erg s⁻¹ cm⁻²]", 1e-17, f"{_R} §3.4.2"),
    PaperNumber("roles.completeness_cdfs", "spectroscopic completeness, CDFS", 0.85, f"{_R} §3.3"),
    PaperNumber("roles.completeness_fires", "spectroscopic completeness, FIRES", 0.7, f"{_R} §3.3"),
    PaperNumber("roles.completeness_fires_faintest", "spectroscopic completeness, FIRES faintest K bin", 0.5,
                f"{_R} §3.3"),
    PaperNumber("roles.volume", "[OII] full-window volume [Mpc³]", 7.4e4, f"{_R} §3.4"),
    PaperNumber("roles.lf_alpha", "[OII] LF faint-end slope α", -1.5, f"{_R} §4.1"),
    PaperNumber("roles.lf_turnover", "[OII] LF incomplete below log L [erg/s]", 40.5, f"{_R} §4.1"),
    *(PaperNumber(sfrd_key(f, lo, hi),
                  f"ρ_SFR {f if f != 'FORS2' else 'higher-mass (paper: FORS2)'} {lo:.2f}–{hi:.2f} [{SFRD_UNIT_LABEL}]",
                  rho, f"{_R} Table 2")
      for f, lo, hi, rho in _ROLES_TABLE2),
)

#: ``{key: paper value}``
PAPER_VALUES: dict[str, float] = {p.key: float(p.paper) for p in PAPER_NUMBERS}


def _check_keys(values: Mapping[str, float], name: str, known) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ParameterError(f"{name} has values for unknown rows {unknown[:5]}")


def _as_float(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return np.nan
    return f


def build_paper_table(compendium: Mapping[str, float], truth: Mapping[str, float], preset: str = "",
                      seed=None, notes: Mapping[str, str] | None = None,
                      numbers: tuple[PaperNumber, ...] = PAPER_NUMBERS) -> Table:
    """The paper-vs-compendium table: one row per paper number, in :data:`PAPER_NUMBERS` order.

    ``compendium`` and ``truth`` map row keys to values (missing or ``None`` → NaN); a key
    that names no row raises :class:`~redshift1.errors.ParameterError` (a typo would
    otherwise drop a value silently). Columns: ``quantity, paper, compendium, truth``;
    the meta holds the row keys, sources, preset, seed and the notes (how the compendium
    and truth values of a row are defined).
    """
    keys = [p.key for p in numbers]
    if len(set(keys)) != len(keys):
        raise ParameterError("duplicate keys in the paper numbers")
    _check_keys(compendium, "compendium", keys)
    _check_keys(truth, "truth", keys)
    t = Table()
    t["quantity"] = [p.quantity for p in numbers]
    t["paper"] = np.array([float(p.paper) for p in numbers])
    t["compendium"] = np.array([_as_float(compendium.get(k)) for k in keys])
    t["truth"] = np.array([_as_float(truth.get(k)) for k in keys])
    t.meta["description"] = ("every number the papers report: the paper's value, the compendium's value on this run's "
                             "preset (from the products) and the mock's truth (same statistic on the true values, "
                             "NaN where the number is an outcome of the observation with no truth)")
    t.meta["preset"] = preset
    t.meta["seed"] = seed
    t.meta["keys"] = keys
    t.meta["sources"] = {p.key: p.source for p in numbers}
    t.meta["notes"] = {k: str(v) for k, v in (notes or {}).items() if k in keys}
    return t


def format_value(v: float) -> str:
    """Compact text of a table value: integers as integers, 3 significant digits otherwise,
    scientific notation outside 1e-3–1e5, '—' for NaN."""
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


def markdown_table(table: Table, title: str | None = None) -> str:
    """A plain Markdown table of ``quantity | paper | compendium | truth`` under a one-line header."""
    preset = table.meta.get("preset", "")
    seed = table.meta.get("seed", "")
    seed = seed if "seed" in str(seed) else f"seed {seed}"   # "survey_seed 1, noise_seed 2" names itself
    head = title or (f"Paper vs compendium — preset `{preset}`, {seed} "
                     f"(KROSS: Magdis et al. 2016; ROLES: Gilbank et al. 2010; — = not available)")
    lines = [head, "", "| quantity | paper | compendium | truth |", "|---|---:|---:|---:|"]
    for r in table:
        q = str(r["quantity"]).replace("|", "\\|")
        lines.append(f"| {q} | {format_value(r['paper'])} | {format_value(r['compendium'])} | "
                     f"{format_value(r['truth'])} |")
    return "\n".join(lines) + "\n"


def write_paper_table(table: Table, folder, name: str = "paper_vs_compendium") -> tuple[Path, Path]:
    """Write ``<folder>/<name>.ecsv`` and its Markdown copy ``<folder>/<name>.md`` (atomically)."""
    folder = Path(folder)
    ecsv = write_table(table, folder / f"{name}.ecsv")
    md = folder / f"{name}.md"
    with atomic_path(md) as tmp:
        Path(tmp).write_text(markdown_table(table), encoding="utf-8")
    return ecsv, md
