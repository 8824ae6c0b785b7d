"""Doubt made visible: per-object flags, their meaning in words, and counts for summaries.

Every per-object product table of the KMOS walk (notebooks 01-06) carries a ``flags``
column: comma-separated names from :data:`FLAG_WORDS`, empty when the measurement hit no
bound, cap, fallback or non-detection. ``docs/flags.md`` lists them.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

#: every flag name and what it says, in words (the text output and the notebooks use these)
FLAG_WORDS = {
    # measured at all?
    "not_measured": "not measured (unreadable cube, no spectrum or no PSF; see status)",
    # line fits (notebook 02, fit-cube)
    "not_detected": "Hα not detected (no line passing the S/N, width and channel tests)",
    "line_in_masked_channels": "Hα falls on channels masked as band edge or failed noise model",
    "width_at_bound": "line width at a bound of the fit",
    "width_unphysical": "line broader than any galaxy's Hα (intrinsic σ above the physical limit)",
    "z_at_window_edge": "fitted redshift at the edge of the search window around the guess",
    "fit_not_converged": "line fit did not converge",
    "noise_rescaled": "NOISE extension under-states the scatter by > 1.5x; errors scaled up by the data's own",
    "extraction_fallback": "no disc model of the Hα map for the optimal aperture: every valid spaxel summed",
    "line_profile_gaussian": "the rotation-broadened profile could not be fitted: fluxes from one Gaussian",
    "nii_near_sky_line": "[NII] undetected next to a strong OH line (dropped from metallicities)",
    "nii_upper_limit": "[NII] undetected: 5σ upper limit",
    # sizes (notebook 03, fit-cube)
    "extrapolation_capped": "curve-of-growth extrapolation hit its cap: the total flux is capped and r½ lies near the "
                            "field's edge, not a bound either way (paper preset: r′½ ×1.27 median over 30)",
    "unresolved": "unresolved: r½ ≤ PSF HWHM, the size is an upper limit",
    "no_disc_fit": "no rotating-disc fit: centred on the Hα light, round apertures",
    "kinematics_unconstrained": "disc fitted but inclination or v_max not constrained by the data",
    "vmax_from_line_centres": "v_max from the Gaussian line centres (too few first moments to refit it): ~3-4 % low",
    "rturn_at_bound": "rotation curve's turnover radius at its lower bound: v_max is the plateau beyond the first "
                      "spaxel, low where the curve still rises; its upper error (v_max_err_hi, profiled over the "
                      "turnover radius) allows for that",
    "no_psf": "no PSF given: r½ not corrected for the seeing",
    "blind_redshift": "no catalogue redshift: Hα searched over the whole band (sky residuals can mislead)",
    "psf_fallback": "no PSF star of its own: the spectrograph's survey mean PSF",
    # PSF stars (notebook 01)
    "psf_fit_at_bound": "PSF fit at a bound of its parameters",
    # science tables (notebooks 04-06)
    "flux_not_extrapolated": "no size: the SFR uses the Hα flux over the IFU only",
    "sfr_upper_limit": "Hα undetected: SFR is an upper limit",
    "sigma_sfr_lower_limit": "unresolved: ΣSFR is a lower limit",
    "no_size": "Hα detected but no size: no ΣSFR",
    "metallicity_from_limit": "[NII] undetected: metallicity is an upper limit",
    "no_metallicity": "no metallicity ([NII] near a sky line, or no Hα)",
}


def join_flags(names, words: dict | None = None) -> str:
    """One table cell: the names, comma-separated, in a stable order, without repeats.

    Parameters
    ----------
    names : iterable of str
        Flag names (empty strings are skipped).
    words : dict, optional
        The vocabulary the names must come from (default :data:`FLAG_WORDS`; the ROLES
        tables use :data:`redshift1.ldss3.doubt.DOUBT_WORDS`).
    """
    words = FLAG_WORDS if words is None else words
    seen = []
    for n in names:
        if n and n not in seen:
            if n not in words:
                raise ValueError(f"unknown flag {n!r}; add it to the vocabulary ({', '.join(sorted(words)[:3])}, ...)")
            seen.append(n)
    return ",".join(seen)


def split_flags(cell) -> list[str]:
    """The names in one ``flags`` cell."""
    s = str(cell).strip()
    return [f for f in s.split(",") if f] if s and s not in ("--", "nan") else []


def column_cells(col) -> list[str]:
    """The cells of a flag column as strings (masked cells, as an ECSV read gives for empty
    strings, are empty)."""
    if hasattr(col, "filled"):
        col = col.filled("")
    return [str(c) for c in np.asarray(col).tolist()]


def flag_counts(table, column: str = "flags") -> Counter:
    """How many rows carry each flag (none when the table has no such column)."""
    if column not in getattr(table, "colnames", ()):
        return Counter()
    return Counter(f for cell in column_cells(table[column]) for f in split_flags(cell))


def flag_summary(table, noun: str = "galaxies", column: str = "flags") -> str:
    """A sentence: how many rows are flagged and by what, e.g.
    ``"12 of 60 galaxies are flagged: 8 not_detected, 4 extrapolation_capped."``"""
    n = len(table)
    if n == 0 or column not in table.colnames:
        return f"0 of {n} {noun} are flagged."
    flagged = int(sum(bool(split_flags(c)) for c in column_cells(table[column])))
    if flagged == 0:
        return f"0 of {n} {noun} are flagged."
    counts = flag_counts(table, column)
    parts = ", ".join(f"{k} {name}" for name, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{flagged} of {n} {noun} are flagged: {parts}."


def flag_sentences(names) -> list[str]:
    """Each flag of one object in words (for text output)."""
    return [f"{n}: {FLAG_WORDS.get(n, n)}" for n in names]


def flags_column(rows, words: dict | None = None) -> np.ndarray:
    """A string column from per-row lists of names (checked against ``words``, default
    :data:`FLAG_WORDS`)."""
    cells = [join_flags(r, words) for r in rows]
    width = max([1] + [len(c) for c in cells])
    return np.array(cells, dtype=f"U{width}")
