"""Doubt made visible in the ROLES/LDSS3 products: flag names, their meaning, counts.

Per-row product tables of notebooks 07-10 carry a ``doubt`` column (the line table already has an
integer ``flags`` bit mask, hence the other name; the helpers are those of :mod:`redshift1.flags`): comma-separated names
from :data:`DOUBT_WORDS`, empty when the result hit no bound, cap, fallback or
non-detection. :func:`doubt_summary` turns a table into the sentence the notebooks and
``detect-lines`` print.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..flags import column_cells, flag_counts, flag_summary, flags_column, join_flags, split_flags

__all__ = ["DOUBT_WORDS", "join_doubts", "split_doubts", "doubt_counts", "doubt_summary", "doubt_column",
           "slit_doubts", "poii_doubts", "completeness_doubts"]

#: every flag and what it says, in words
DOUBT_WORDS = {
    # line catalogue (08, detect-lines)
    "uncalibrated": "no flux standard: flux is NaN, the counts (electrons) are kept",
    "apcorr_analytic": "too few bright lines: the spectral aperture correction is the analytic estimate",
    "seeing_survey_median": "too few bright lines on its mask: slit-loss correction from the survey median",
    "box_mirrored": "bad pixels in the 5x5 flux box replaced by their mirror images",
    "box_incomplete": "pixels of the 5x5 flux box missing (no good mirror): flux is a lower limit",
    "slit_unregistered": "no sky-line registration of its slit: design wavelength solution",
    "extended_profile": "its spatial profile is wider than its mask's bright lines: its own slit/box-loss correction "
                        "(clearly wider) or that loss in its flux error (marginally wider)",
    "singlet_apcorr": "identified by a multi-line redshift as a single line (not the [OII] doublet): the spectral "
                      "aperture correction of single lines",
    # slits (07)
    "mostly_bad": "fewer than half of the slit's extraction-box pixels are good",
    "off_frame": "slit not on the detector frame: not reduced",
    # redshifts / P([OII]) (09)
    "p_clamped": "P([OII]) at a clamp of the photo-z weighting",
    "pdf_renormalised": "photo-z PDF renormalised (integral off by more than 1%)",
    "no_line": "no adopted line: not a detection",
    "no_good_slit": "no reduced slit: not observed",
    "line_doubt": "its best line carries a doubt flag in the line catalogue",
    "purity_unmeasured": "no purity curve could be fitted to the repeat detections (too few, or all or none "
                         "reproduced): P([OII]) takes the line as real",
    "maybe_spurious": "its line is more likely noise than real (p_real < 0.5, from the repeats): P([OII]) is small",
    "maybe_neiii": "a lone line at 7040-7307 Å: it may be [NeIII]3869 of a galaxy whose [OII] is below the "
                   "filter (P([OII]) lowered by the measured [NeIII] fraction)",
    "no_galaxies": "no catalogue galaxy in the K bin: completeness undefined",
    # luminosity function / SFR density (10)
    "empty_bin": "no galaxy in the bin: value_hi is the 1-sigma upper limit (Gehrels N = 0 -> 1.841 times the "
                 "effective weight of the nearest bin with galaxies)",
}


def join_doubts(names) -> str:
    """One table cell: the names, comma-separated, stable order, no repeats (unknown names refused).

    Parameters
    ----------
    names : iterable of str
        Names of :data:`DOUBT_WORDS`.

    Returns
    -------
    str
        The cell.
    """
    return join_flags(names, DOUBT_WORDS)


#: the names in one ``doubt`` cell
split_doubts = split_flags


def doubt_column(rows) -> np.ndarray:
    """A string column from per-row lists of names.

    Parameters
    ----------
    rows : sequence of list of str
        The names of each row (:data:`DOUBT_WORDS`).

    Returns
    -------
    numpy.ndarray
        One cell (:func:`join_doubts`) per row.
    """
    return flags_column(rows, DOUBT_WORDS)


def doubt_counts(table, column: str = "doubt") -> Counter:
    """How many rows carry each flag.

    Parameters
    ----------
    table : astropy.table.Table
        A table with a doubt column.
    column : str, optional
        Its name.

    Returns
    -------
    collections.Counter
        ``{name: rows}``.
    """
    return flag_counts(table, column)


def doubt_summary(table, noun: str = "lines", column: str = "doubt") -> str:
    """A sentence with the counts of flagged rows.

    For example ``"3 of 18 lines are flagged: 2 box_mirrored, 1 uncalibrated."``

    Parameters
    ----------
    table : astropy.table.Table
        A table with a doubt column.
    noun : str, optional
        What a row is, plural.
    column : str, optional
        The doubt column's name.

    Returns
    -------
    str
        The sentence.
    """
    return flag_summary(table, noun, column)


def slit_doubts(slits) -> np.ndarray:
    """``doubt`` of every reduced slit, from its ``status`` (notebook 07).

    Parameters
    ----------
    slits : astropy.table.Table
        The reduced slits (``status``).

    Returns
    -------
    numpy.ndarray
        One doubt cell per slit.
    """
    word = {"no_sky_registration": "slit_unregistered", "mostly_bad": "mostly_bad", "off_frame": "off_frame"}
    return doubt_column([[word[s]] if s in word else [] for s in np.asarray(slits["status"]).tolist()])


def poii_doubts(poii, lines=None, clamp_lo: float = 0.1, clamp_hi: float = 0.9, match_tol: float = 8.0) -> np.ndarray:
    """``doubt`` of every object of ``roles_poii`` (notebook 09).

    Not a detection (``no_line``, ``no_good_slit``), P([OII]) at a clamp of the photo-z
    weighting (``p_clamped``), a renormalised PDF, a best line with a doubt of its own
    (``line_doubt``), and the doubts of the calibrated P([OII]) of a photo-z detection.

    Parameters
    ----------
    poii : astropy.table.Table
        The P([OII]) table (its ``meta["p_calibration"]`` too).
    lines : astropy.table.Table, optional
        The line catalogue with its ``doubt`` column.
    clamp_lo, clamp_hi : float, optional
        The clamps of the photo-z P([OII]).
    match_tol : float, optional
        A line within this of the object's wavelength [Å] is its best line.

    Returns
    -------
    numpy.ndarray
        One doubt cell per object.
    """
    line_doubt = {}       # (mask, slit) -> wavelengths of its adopted lines that carry a doubt
    if lines is not None and len(lines) and "doubt" in lines.colnames:
        st = np.asarray(lines["status"]) if "status" in lines.colnames else np.full(len(lines), "adopted")
        wv = np.asarray(lines["wavelength"], float) if "wavelength" in lines.colnames else np.full(len(lines), np.nan)
        for m, sl, d, s_, w in zip(np.asarray(lines["mask"]), np.asarray(lines["slit_id"]), column_cells(lines["doubt"]),
                                   st, wv):
            if split_doubts(d) and s_ == "adopted":
                line_doubt.setdefault((str(m), int(sl)), []).append(w)
    rows = []
    for r in poii:
        f = []
        st = str(r["status"])
        if st == "no_line":
            f.append("no_line")
        elif st == "no_good_slit":
            f.append("no_good_slit")
        raw = float(r["p_oii_photoz_raw"]) if "p_oii_photoz_raw" in poii.colnames else np.nan
        if str(r["p_source"]) == "photoz" and np.isfinite(raw) and (raw < clamp_lo or raw > clamp_hi):
            f.append("p_clamped")
        if "pdf_norm" in poii.colnames and np.isfinite(float(r["pdf_norm"])) and abs(float(r["pdf_norm"]) - 1) > 0.01:
            f.append("pdf_renormalised")
        ws = line_doubt.get((str(r["mask_best"]), int(r["slit_best"])), [])
        w0 = float(r["wavelength"]) if "wavelength" in poii.colnames else np.nan
        if st == "detected" and any(not (np.isfinite(w) and np.isfinite(w0)) or abs(w - w0) <= match_tol for w in ws):
            f.append("line_doubt")
        if st == "detected" and str(r["p_source"]) == "photoz":
            f.extend(_calibration_doubts(r, poii))
        rows.append(f)
    return doubt_column(rows)


def _calibration_doubts(r, poii) -> list:
    """Doubts of the calibrated P([OII]) of a photo-z detection (:func:`redshift1.science.poii_calibration.calibrate_p`)."""
    cal = poii.meta.get("p_calibration") or {}
    if not cal:
        return []
    f = []
    if not np.isfinite(float((cal.get("purity") or {}).get("sigma0", -np.inf))):
        f.append("purity_unmeasured")
    if "p_real" in poii.colnames and float(r["p_real"]) < 0.5:
        f.append("maybe_spurious")
    if "p_not_neiii" in poii.colnames and float(r["p_not_neiii"]) < 1.0:
        f.append("maybe_neiii")
    return f


def completeness_doubts(comp) -> np.ndarray:
    """``doubt`` of every K bin of the completeness table (notebook 09): no galaxy to define ``W``.

    Parameters
    ----------
    comp : astropy.table.Table
        The completeness table (``W``).

    Returns
    -------
    numpy.ndarray
        One doubt cell per bin.
    """
    return doubt_column([["no_galaxies"] if not np.isfinite(float(w)) else [] for w in np.asarray(comp["W"], float)])
