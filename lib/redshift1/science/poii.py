"""Which line is it? P([OII]) from photometric-redshift PDFs, and spectroscopic completeness
(ROLES §2.5 and §3.3).

* :data:`LINE_WINDOWS` -- redshift windows in which the KG750 filter (7040-8010 Å) sees
  [OII]3727, Hβ, [OIII]5007 and Hα (vacuum rest wavelengths; ROLES: 0.889-1.149,
  0.406-0.648 for Hβ/[OIII], 0.073-0.220).
* :func:`p_oii` -- ``P = ∫_[OII] p(z) dz / ∫_(union of the four windows) p(z) dz``, set to 0
  below ``clamp_lo`` and to 1 above ``clamp_hi``.
* :func:`assign_poii` -- per observed object: the adopted line, P([OII]) with secure
  spectroscopic redshifts (public, then our multi-line) taking precedence, its class.
* the calibrated P([OII]) (the line is real and not [NeIII]) is :mod:`redshift1.science.poii_calibration`.
* :func:`completeness` -- ``W_k = N_slit,k / N_phot,k`` with ``N = Σ ∫_window p(z) dz`` in
  K bins (ROLES eqs. 10-11).
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from .. import constants as C
from ..errors import DataFormatError

__all__ = ["LINE_REST", "LINE_WINDOWS", "LINE_GROUPS", "window_integrals", "p_oii", "clamp_p", "p_class", "assign_poii",
           "completeness", "summed_nz"]

#: vacuum rest wavelengths (Å) of the lines whose windows enter P([OII])
LINE_REST = {"OII": C.OII_3727.to_value(u.AA), "Hbeta": C.HBETA.to_value(u.AA),
             "OIII": C.OIII_5007.to_value(u.AA), "Halpha": C.HALPHA.to_value(u.AA)}


def _windows(band=C.KG750_WINDOW):
    return {k: (band[0] / lam - 1.0, band[1] / lam - 1.0) for k, lam in LINE_REST.items()}


#: redshift windows of the four lines in the KG750 band
LINE_WINDOWS = _windows()
#: the windows' union in three disjoint groups (Hβ and [OIII]5007 overlap): the identities a line can have
LINE_GROUPS = {"OII": LINE_WINDOWS["OII"], "Hbeta_OIII": (LINE_WINDOWS["OIII"][0], LINE_WINDOWS["Hbeta"][1]),
               "Halpha": LINE_WINDOWS["Halpha"]}


def window_integrals(zgrid, pdf, windows=None):
    """∫ p(z) dz over each window and over their union (rows of ``pdf`` are galaxies).

    The grid is treated as bins of width ``dz`` centred on the grid points; a bin counts with
    the fraction of it inside the window.

    Parameters
    ----------
    zgrid : array_like
        Redshift grid of the PDFs.
    pdf : array_like
        (n_gal, n_z) photo-z PDFs.
    windows : dict, optional
        ``{line: (z_lo, z_hi)}`` (default :data:`LINE_WINDOWS`).

    Returns
    -------
    dict
        ``{line: (n_gal,) integrals}`` and ``"union"``.
    """
    windows = windows or LINE_WINDOWS
    z = np.asarray(zgrid, float)
    dz = np.gradient(z)
    lo_e, hi_e = z - dz / 2, z + dz / 2
    pdf = np.atleast_2d(np.asarray(pdf, float))
    out = {}
    union = np.zeros(z.size)
    for name, (a, b) in windows.items():
        frac = np.clip((np.minimum(hi_e, b) - np.maximum(lo_e, a)) / dz, 0, 1)
        out[name] = pdf @ (frac * dz)
        union = np.maximum(union, frac)
    out["union"] = pdf @ (union * dz)
    return out


def clamp_p(p, lo: float = 0.1, hi: float = 0.9):
    """ROLES' clamps: P < lo -> 0, P > hi -> 1.

    Parameters
    ----------
    p : array_like
        Probabilities.
    lo, hi : float, optional
        The clamps.

    Returns
    -------
    numpy.ndarray
        Clamped probabilities.
    """
    p = np.asarray(p, float)
    return np.where(p < lo, 0.0, np.where(p > hi, 1.0, p))


def p_oii(zgrid, pdf, clamp_lo: float = 0.1, clamp_hi: float = 0.9):
    """P([OII]) of every PDF row: the [OII] window over the union of the four windows.

    Parameters
    ----------
    zgrid : array_like
        Redshift grid.
    pdf : array_like
        (n_gal, n_z) photo-z PDFs.
    clamp_lo, clamp_hi : float, optional
        ROLES' clamps (:func:`clamp_p`).

    Returns
    -------
    p_raw, p_clamped : numpy.ndarray
        Before and after the clamps (0 where the PDF misses every window).
    """
    w = window_integrals(zgrid, pdf)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(w["union"] > 0, w["OII"] / w["union"], 0.0)
    return raw, clamp_p(raw, clamp_lo, clamp_hi)


def p_class(p):
    """'0' (P = 0), 'fractional' (0 < P < 1) or '1' (P = 1).

    Parameters
    ----------
    p : array_like
        Probabilities.

    Returns
    -------
    numpy.ndarray
        str array of classes.
    """
    p = np.asarray(p, float)
    return np.where(p <= 0, "0", np.where(p >= 1, "1", "fractional"))


def _in_window(z, name="OII"):
    a, b = LINE_WINDOWS[name]
    z = np.asarray(z, float)
    return (z >= a) & (z <= b)


def assign_poii(slits: Table, lines: Table, multiline: Table, photometry: dict, pdfs: dict,
                clamp_lo: float = 0.1, clamp_hi: float = 0.9, match_tol: float = 8.0) -> Table:
    """One row per object with a slit (ROLES targets and fillers), from the line catalogue.

    ``slits``: all reduced slits (``mask``, ``slit_id``, ``object_id``, ``field``,
    ``status``, ``is_roles_target``); ``lines``: the line catalogue with ``status``;
    ``multiline``: :func:`~redshift1.ldss3.reliability.multiline_redshifts` slits;
    ``photometry`` / ``pdfs``: per field the catalogue and ``(zgrid, pdf, ids)``.

    The object's line is its most significant adopted line; repeated detections of that
    line on other masks (within ``match_tol`` Å) are averaged with inverse-variance
    weights. ``p_source`` says where P comes from: ``zspec_public`` (a secure public
    redshift: P = 1 if it puts [OII] in the window, else 0), ``multiline`` (our own
    multi-line redshift, same rule), ``photoz`` (the PDF, clamped). ``p_window_photoz`` is
    the clamped probability that the galaxy lies in the [OII] window at all (∫_[OII] p(z) dz,
    for galaxies without a line, ROLES §4.2.1); ``p_union_photoz`` the (unclamped) probability that
    it lies in any of the four windows, where a listed line can be seen, and ``p_window_<group>`` in
    each of :data:`LINE_GROUPS`. ``status``:
    ``detected``, ``no_line`` (no adopted line), ``no_good_slit``, ``filler`` or
    ``not_in_photometry`` (the slit's ``object_id`` is in no field's catalogue: the object
    keeps its row, with NaN photometry and P, and is left out of everything that needs them).
    ``pdf_norm`` is the integral of the object's photo-z PDF as read (1 if it was normalised;
    :func:`redshift1.ldss3.survey_files.read_photoz_pdf` renormalises and records the others).
    A ``pdf_row`` beyond the PDF file's rows raises :class:`~redshift1.errors.DataFormatError`.

    Parameters
    ----------
    slits : astropy.table.Table
        All reduced slits (``mask``, ``slit_id``, ``object_id``, ``field``, ``status``,
        ``is_roles_target``).
    lines : astropy.table.Table
        The line catalogue with ``status``.
    multiline : astropy.table.Table
        :func:`~redshift1.ldss3.reliability.multiline_redshifts` slits.
    photometry : dict
        ``{field: photometric catalogue}``.
    pdfs : dict
        ``{field: (zgrid, pdf, ids)}``.
    clamp_lo, clamp_hi : float, optional
        ROLES' clamps of the photo-z P.
    match_tol : float, optional
        Repeated detections of the line within this [Å] are averaged.

    Returns
    -------
    astropy.table.Table
        One row per object with a slit.
    """
    rows = []
    lines_ok = lines[np.asarray(lines["status"]) == "adopted"] if len(lines) else lines
    ml_z = {}
    for r in multiline:
        if np.isfinite(r["z_multi"]) and r["secure"]:
            ml_z[r["object_id"]] = float(r["z_multi"])
    objects = list(dict.fromkeys(np.asarray(slits["object_id"]).tolist()))
    sl_obj = np.asarray(slits["object_id"])
    for field, phot in photometry.items():
        zgrid, pdf, ids = pdfs[field]
        row_of = {i: r for i, r in zip(np.asarray(phot["id"]), np.asarray(phot["pdf_row"], int))}
        cat_of = {i: k for k, i in enumerate(np.asarray(phot["id"]))}
        norm_of = (dict(zip(np.asarray(ids["pdf_row"], int).tolist(), np.asarray(ids["pdf_norm"], float).tolist()))
                   if "pdf_norm" in getattr(ids, "colnames", ()) else {})
        fobjs = [o for o in objects if o in cat_of]
        if not fobjs:
            continue
        prow = np.array([row_of[o] for o in fobjs])
        beyond = (prow < 0) | (prow >= np.shape(pdf)[0])
        if beyond.any():
            raise DataFormatError(f"{field}_photometry.ecsv: pdf_row of object(s) "
                                  f"{', '.join(np.asarray(fobjs)[beyond][:5].tolist())} is beyond the "
                                  f"{np.shape(pdf)[0]} rows of {field}_photoz_pdf.fits")
        raw, clamped = p_oii(zgrid, pdf[prow], clamp_lo, clamp_hi)
        p_win = window_integrals(zgrid, pdf[prow], {"OII": LINE_WINDOWS["OII"]})["OII"]
        p_union = window_integrals(zgrid, pdf[prow])["union"]
        groups = window_integrals(zgrid, pdf[prow], LINE_GROUPS)
        for k, o in enumerate(fobjs):
            ph = phot[cat_of[o]]
            s = slits[sl_obj == o]
            good = np.asarray(s["status"]) == "ok"
            target = bool(np.any(np.asarray(s["is_roles_target"], bool)))
            li = lines_ok[np.asarray(lines_ok["object_id"]) == o] if len(lines_ok) else lines_ok
            rec = {"id": o, "field": field, "K": float(ph["K"]), "K_err": float(ph["K_err"]),
                   "logmstar_phot": float(ph["logmstar"]), "z_phot": float(ph["z_phot"]),
                   "z_spec_public": float(ph["z_spec_public"]) if "z_spec_public" in phot.colnames else np.nan,
                   "is_roles_target": target, "n_slits": int(len(s)), "n_good_slits": int(good.sum()),
                   "masks": ",".join(np.asarray(s["mask"]).tolist()), "n_lines": int(len(li)),
                   "wavelength": np.nan, "sigma": np.nan, "flux": np.nan, "flux_err": np.nan, "n_repeat": 0,
                   "mask_best": "", "slit_best": -1, "z_multi": ml_z.get(o, np.nan),
                   "p_oii_photoz_raw": float(raw[k]), "p_oii_photoz": float(clamped[k]),
                   "p_window_photoz": float(clamp_p(p_win[k], clamp_lo, clamp_hi)),
                   "p_union_photoz": float(p_union[k]),
                   **{f"p_window_{g}": float(groups[g][k]) for g in LINE_GROUPS},
                   "pdf_norm": float(norm_of.get(int(prow[k]), 1.0))}
            if not target:
                status = "filler"
            elif not good.any():
                status = "no_good_slit"
            elif len(li) == 0:
                status = "no_line"
            else:
                status = "detected"
                b = li[int(np.argmax(np.asarray(li["sigma"], float)))]
                same = li[np.abs(np.asarray(li["wavelength"], float) - float(b["wavelength"])) <= match_tol]
                # one measurement per mask: the most significant
                per_mask = {}
                for r in same:
                    if r["mask"] not in per_mask or r["sigma"] > per_mask[r["mask"]]["sigma"]:
                        per_mask[r["mask"]] = r
                f = np.array([float(r["flux"]) for r in per_mask.values()])
                e = np.array([float(r["flux_err"]) for r in per_mask.values()])
                wv = np.array([float(r["wavelength"]) for r in per_mask.values()])
                okf = np.isfinite(f) & np.isfinite(e) & (e > 0)
                if okf.any():
                    w = 1 / e[okf] ** 2
                    rec["flux"] = float((w * f[okf]).sum() / w.sum())
                    rec["flux_err"] = float(1 / np.sqrt(w.sum()))
                rec["wavelength"] = float(np.mean(wv))
                rec["sigma"] = float(b["sigma"])
                rec["n_repeat"] = len(per_mask)
                rec["mask_best"] = str(b["mask"])
                rec["slit_best"] = int(b["slit_id"])
            # P([OII]): secure redshifts first
            zsp = rec["z_spec_public"]
            if status == "detected" and np.isfinite(zsp):
                p, src = float(_in_window(zsp)), "zspec_public"
            elif status == "detected" and np.isfinite(rec["z_multi"]):
                p, src = float(_in_window(rec["z_multi"])), "multiline"
            else:
                p, src = rec["p_oii_photoz"], "photoz"
            rec["p_oii"] = p
            rec["p_source"] = src
            rec["p_class"] = str(p_class(p))
            rec["z_oii"] = rec["wavelength"] / LINE_REST["OII"] - 1 if status == "detected" else np.nan
            rec["status"] = status
            rows.append(rec)
    # slits whose object is in no catalogue: flagged, never dropped
    seen = {r["id"] for r in rows}
    for o in objects:
        if o in seen:
            continue
        s = slits[sl_obj == o]
        li = lines_ok[np.asarray(lines_ok["object_id"]) == o] if len(lines_ok) else lines_ok
        rows.append({"id": o, "field": str(s["field"][0]), "K": np.nan, "K_err": np.nan, "logmstar_phot": np.nan,
                     "z_phot": np.nan, "z_spec_public": np.nan,
                     "is_roles_target": bool(np.any(np.asarray(s["is_roles_target"], bool))), "n_slits": int(len(s)),
                     "n_good_slits": int((np.asarray(s["status"]) == "ok").sum()),
                     "masks": ",".join(np.asarray(s["mask"]).tolist()), "n_lines": int(len(li)),
                     "wavelength": np.nan, "sigma": np.nan, "flux": np.nan, "flux_err": np.nan, "n_repeat": 0,
                     "mask_best": "", "slit_best": -1, "z_multi": ml_z.get(o, np.nan), "p_oii_photoz_raw": np.nan,
                     "p_oii_photoz": np.nan, "p_window_photoz": np.nan, "p_union_photoz": np.nan,
                     **{f"p_window_{g}": np.nan for g in LINE_GROUPS}, "pdf_norm": np.nan, "p_oii": np.nan,
                     "p_source": "none", "p_class": "none", "z_oii": np.nan, "status": "not_in_photometry"})
    t = Table(rows=rows)
    if len(t):
        t["K"].unit = t["K_err"].unit = u.mag
        t["logmstar_phot"].unit = u.dex(u.Msun)
        t["wavelength"].unit = u.AA
        t["flux"].unit = t["flux_err"].unit = u.erg / u.s / u.cm**2
    t.meta["description"] = ("ROLES objects with slits: adopted line, P([OII]) (photo-z PDF over the four line "
                             "windows, clamped; secure spectroscopic redshifts take precedence)")
    t.meta["windows"] = {k: [round(a, 4), round(b, 4)] for k, (a, b) in LINE_WINDOWS.items()}
    t.meta["clamps"] = [clamp_lo, clamp_hi]
    return t


def summed_nz(zgrid, pdf, zspec=None):
    """Σ p(z) of a set of galaxies (a delta function at ``zspec`` where finite).

    Parameters
    ----------
    zgrid : array_like
        Redshift grid.
    pdf : array_like
        (n_gal, n_z) photo-z PDFs.
    zspec : array_like, optional
        Spectroscopic redshifts (NaN where none).

    Returns
    -------
    numpy.ndarray
        (n_z,) summed N(z).
    """
    pdf = np.atleast_2d(np.asarray(pdf, float)).copy()
    if zspec is not None:
        z = np.asarray(zgrid, float)
        dz = np.gradient(z)
        for i, zs in enumerate(np.asarray(zspec, float)):
            if np.isfinite(zs):
                pdf[i] = 0.0
                j = int(np.argmin(np.abs(z - zs)))
                pdf[i, j] = 1.0 / dz[j]
    return pdf.sum(axis=0)


def completeness(photometry: Table, zgrid, pdf, targeted_ids, k_range=(22.5, 24.0), k_step: float = 0.25,
                 window=None, use_zspec: bool = False) -> Table:
    """Spectroscopic completeness per K bin (ROLES eqs. 10-11).

    ``N_phot,k`` sums ∫_window p(z) dz over all catalogue galaxies of the bin, ``N_slit,k``
    over those in ``targeted_ids`` (galaxies with a good slit); ``W_k = N_slit / N_phot``.

    Parameters
    ----------
    photometry : astropy.table.Table
        Photometric catalogue (``K``, ``pdf_row``, ``id``).
    zgrid : array_like
        Redshift grid of the PDFs.
    pdf : array_like
        Photo-z PDFs (rows indexed by ``pdf_row``).
    targeted_ids : iterable
        Ids of the galaxies with a good slit.
    k_range : tuple of float, optional
        K range [mag].
    k_step : float, optional
        Bin width [mag].
    window : tuple of float, optional
        Redshift window (default [OII]'s).
    use_zspec : bool, optional
        A public spectroscopic redshift replaces the PDF by a delta function.

    Returns
    -------
    astropy.table.Table
        One row per K bin; the last row (``K_lo = k_range[0]``, ``K_hi = k_range[1]``,
        ``bin = 'all'``) is the whole range.
    """
    window = window or LINE_WINDOWS["OII"]
    k = np.asarray(photometry["K"], float)
    rows_pdf = np.asarray(photometry["pdf_row"], int)
    p = np.asarray(pdf, float)[rows_pdf]
    if use_zspec and "z_spec_public" in photometry.colnames:
        zs = np.asarray(photometry["z_spec_public"], float)
        has = np.isfinite(zs)
        pw = window_integrals(zgrid, p, {"w": window})["w"]
        pw[has] = ((zs[has] >= window[0]) & (zs[has] <= window[1])).astype(float)
    else:
        pw = window_integrals(zgrid, p, {"w": window})["w"]
    tgt = np.isin(np.asarray(photometry["id"]), np.asarray(list(targeted_ids)))
    edges = np.round(np.arange(k_range[0], k_range[1] + k_step / 2, k_step), 4)
    rows = []
    for lo, hi, name in list(zip(edges[:-1], edges[1:], [f"{a:.2f}-{b:.2f}" for a, b in zip(edges[:-1], edges[1:])])) \
            + [(k_range[0], k_range[1], "all")]:
        sel = (k > lo) & (k <= hi)
        n_p = float(pw[sel].sum())
        n_s = float(pw[sel & tgt].sum())
        rows.append({"bin": name, "K_lo": lo, "K_hi": hi, "n_phot": int(sel.sum()), "n_slit": int((sel & tgt).sum()),
                     "N_phot": n_p, "N_slit": n_s, "W": n_s / n_p if n_p > 0 else np.nan})
    t = Table(rows=rows)
    t["K_lo"].unit = t["K_hi"].unit = u.mag
    return t
