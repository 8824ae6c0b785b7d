"""Reliability of the line catalogue (ROLES §2.4.3): repeated slits and multi-line redshifts.

* :func:`repeat_matches` -- every detection of an object observed on several masks is
  looked for on each of its other masks (within ``tol`` Å); it is *reproduced* only if it
  is found on every one (ROLES' conservative rule). The reproduced pairs give the
  wavelength repeatability (:func:`wavelength_repeatability`, ROLES: sigma = 1.4 Å) and the
  flux pulls (:func:`flux_pulls`, ROLES Fig. 10: width 0.9).
* :func:`multiline_redshifts` -- in every slit with two or more lines, all identities
  from :data:`LINES` are tried; a redshift that puts a line from the list on every
  detection (within ``tol``) and passes the plausibility rules is the slit's multi-line
  redshift. Where no plausible combination exists the most significant line is kept
  and the fainter ones are marked spurious (at most one spurious line counted per slit).
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.stats import sigma_clipped_stats
from astropy.table import Table

from .. import constants as C

__all__ = ["LINES", "repeat_matches", "unique_pairs", "wavelength_repeatability", "flux_pulls", "multiline_redshifts",
           "cumulative_fraction_below"]

#: vacuum rest wavelengths (Å) of the lines considered for multi-line identifications
LINES = {
    "OII_3727": C.OII_3727.to_value(u.AA), "NeIII_3869": C.NEIII_3869.to_value(u.AA), "Hbeta": C.HBETA.to_value(u.AA),
    "OIII_4959": C.OIII_4959.to_value(u.AA), "OIII_5007": C.OIII_5007.to_value(u.AA),
    "NII_6548": C.NII_6548.to_value(u.AA), "Halpha": C.HALPHA.to_value(u.AA),
    "NII_6583": C.NII_6583.to_value(u.AA), "SII_6716": C.SII_6716.to_value(u.AA), "SII_6731": C.SII_6731.to_value(u.AA),
}


def repeat_matches(cat: Table, slits: Table, tol: float = 8.0, statuses=("adopted", "below_threshold")) -> Table:
    """Reproducibility of every detection of objects with slits on more than one mask.

    Only detections whose status is in ``statuses`` take part (artefacts do not).

    Parameters
    ----------
    cat : astropy.table.Table
        Line catalogue (``mask``, ``object_id``, ``wavelength``, ``sigma``, ``flux``,
        ``flux_err``, ``status``).
    slits : astropy.table.Table
        Every reduced slit (``mask``, ``object_id``, ``status``).
    tol : float, optional
        Match tolerance [Å].
    statuses : sequence of str, optional
        Line statuses that take part.

    Returns
    -------
    astropy.table.Table
        One row per such detection with ``n_other`` (other masks with a good slit of the
        object), ``n_found``, ``reproduced`` and, for the nearest match on the first other mask
        where it was found, ``dwave``, ``flux_other``, ``flux_err_other``; ``flux_err_indep`` and
        ``flux_err_indep_other`` are the two fluxes' errors without the terms common to both
        observations (the catalogue's ``flux_err_indep``; its ``flux_err`` where it has none).
    """
    ok_slit = np.asarray(slits["status"]) == "ok"
    obj_masks: dict = {}
    for o, m in zip(np.asarray(slits["object_id"])[ok_slit], np.asarray(slits["mask"])[ok_slit]):
        obj_masks.setdefault(o, set()).add(m)
    multi = {o for o, ms in obj_masks.items() if len(ms) > 1}
    use = np.isin(np.asarray(cat["status"]), statuses) & np.isin(np.asarray(cat["object_id"]), list(multi))
    c = cat[use]
    rows = []
    wave = np.asarray(c["wavelength"], float)
    indep = np.asarray(c["flux_err_indep" if "flux_err_indep" in c.colnames else "flux_err"], float)
    for i in range(len(c)):
        o, m = c["object_id"][i], c["mask"][i]
        others = sorted(obj_masks[o] - {m})
        found, dw, fo, eo, io = 0, np.nan, np.nan, np.nan, np.nan
        for om in others:
            sel = np.flatnonzero((np.asarray(c["object_id"]) == o) & (np.asarray(c["mask"]) == om))
            if sel.size == 0:
                continue
            d = wave[sel] - wave[i]
            j = int(np.argmin(np.abs(d)))
            if abs(d[j]) <= tol:
                found += 1
                if not np.isfinite(dw):
                    dw = float(d[j])
                    fo = float(c["flux"][sel[j]])
                    eo = float(c["flux_err"][sel[j]])
                    io = float(indep[sel[j]])
        rows.append({"mask": m, "slit_id": int(c["slit_id"][i]), "object_id": o, "field": c["field"][i],
                     "wavelength": float(wave[i]), "sigma": float(c["sigma"][i]), "flux": float(c["flux"][i]),
                     "flux_err": float(c["flux_err"][i]), "n_other": len(others), "n_found": found,
                     "reproduced": found == len(others), "dwave": dw, "flux_other": fo, "flux_err_other": eo,
                     "flux_err_indep": float(indep[i]), "flux_err_indep_other": io})
    names = ("mask", "slit_id", "object_id", "field", "wavelength", "sigma", "flux", "flux_err", "n_other",
             "n_found", "reproduced", "dwave", "flux_other", "flux_err_other", "flux_err_indep", "flux_err_indep_other")
    if not rows:
        return Table(names=names, dtype=(str, int, str, str, float, float, float, float, int, int, bool, float,
                                         float, float, float, float))
    t = Table(rows=rows, names=names)
    for cname in ("wavelength", "dwave"):
        t[cname].unit = u.AA
    for cname in ("flux", "flux_err", "flux_other", "flux_err_other", "flux_err_indep", "flux_err_indep_other"):
        t[cname].unit = u.erg / u.s / u.cm**2
    return t


def unique_pairs(rep: Table, min_sigma: float = 0.0):
    """Reproduced pairs counted once (the detection with the smaller mask name first).

    Parameters
    ----------
    rep : astropy.table.Table
        :func:`repeat_matches` result.
    min_sigma : float, optional
        Only detections at least this significant.

    Returns
    -------
    numpy.ndarray
        Row indices of ``rep``, one per pair.
    """
    sel = np.asarray(rep["reproduced"], bool) & np.isfinite(np.asarray(rep["dwave"], float)) \
        & (np.asarray(rep["sigma"], float) >= min_sigma)
    seen, keep = set(), []
    for i in np.flatnonzero(sel):
        key = (rep["object_id"][i], round(float(rep["wavelength"][i]) + 0.5 * float(rep["dwave"][i]), 0))
        if key in seen:
            continue
        seen.add(key)
        keep.append(i)
    return np.asarray(keep, int)


def wavelength_repeatability(rep: Table, min_sigma: float = 4.0):
    """Clipped standard deviation of the wavelength differences of reproduced lines.

    Parameters
    ----------
    rep : astropy.table.Table
        :func:`repeat_matches` result.
    min_sigma : float, optional
        Only pairs of lines at least this significant.

    Returns
    -------
    std : float
        3σ-clipped standard deviation [Å] (NaN with fewer than 3 pairs).
    n : int
        Pairs used.
    """
    k = unique_pairs(rep, min_sigma)
    if k.size < 3:
        return np.nan, int(k.size)
    d = np.asarray(rep["dwave"], float)[k]
    _, _, std = sigma_clipped_stats(d, sigma=3.0)
    return float(std), int(k.size)


def flux_pulls(rep: Table, min_sigma: float = 4.0):
    """``(f1 - f2) / sqrt(e1^2 + e2^2)`` of reproduced lines and their clipped width.

    ``e`` are the errors independent between the two masks (``flux_err_indep``: pixel noise and
    the mask's calibration, as ROLES Fig. 10 divides by the noise-frame errors): the line's aperture
    loss is common to both observations and cancels in the difference. Tables without that
    column use ``flux_err``.

    Parameters
    ----------
    rep : astropy.table.Table
        :func:`repeat_matches` result.
    min_sigma : float, optional
        Only pairs of lines at least this significant.

    Returns
    -------
    pulls : numpy.ndarray
        Finite pulls of the unique pairs.
    width : float
        3σ-clipped standard deviation (NaN with fewer than 3 pulls).
    """
    k = unique_pairs(rep, min_sigma)
    if k.size == 0:
        return np.zeros(0), np.nan
    ind = "flux_err_indep" in rep.colnames
    f1 = np.asarray(rep["flux"], float)[k]
    e1 = np.asarray(rep["flux_err_indep" if ind else "flux_err"], float)[k]
    f2 = np.asarray(rep["flux_other"], float)[k]
    e2 = np.asarray(rep["flux_err_indep_other" if ind else "flux_err_other"], float)[k]
    pull = (f1 - f2) / np.hypot(e1, e2)
    pull = pull[np.isfinite(pull)]
    if pull.size < 3:
        return pull, np.nan
    _, _, std = sigma_clipped_stats(pull, sigma=3.0)
    return pull, float(std)


def _plausible(ids, zs, wave_range):
    """ROLES' plausibility rules for a set of identified lines at redshift ``zs``."""
    ids = set(ids)
    lo, hi = wave_range

    def covered(name):
        w = LINES[name] * (1 + zs)
        return lo <= w <= hi
    if (ids & {"NII_6548", "NII_6583", "SII_6716", "SII_6731"}) and "Halpha" not in ids and covered("Halpha"):
        return False
    if "OIII_4959" in ids and "OIII_5007" not in ids and covered("OIII_5007"):
        return False
    if "NeIII_3869" in ids and "OII_3727" not in ids and covered("OII_3727"):
        return False
    if "NII_6548" in ids and "NII_6583" not in ids and covered("NII_6583"):
        return False
    return True


def multiline_redshifts(cat: Table, tol: float = 5.0, wave_range=(7000.0, 8050.0),
                        statuses=("adopted", "below_threshold"), secure_statuses=("adopted",)):
    """Multi-line redshifts per slit (see the module docstring).

    Only a secure line (status in ``secure_statuses``) that is *more significant* can reject
    another line (ROLES: the most significant line is kept): a line left unexplained by the
    best redshift, or by any redshift, is ``"spurious"`` only if a more significant secure line
    is explained by that redshift (or, with none, exists in the slit). Companions below the
    adoption threshold (noise peaks, mostly) are identified when they fit, but never overrule
    an adopted line.

    Parameters
    ----------
    cat : astropy.table.Table
        Line catalogue.
    tol : float, optional
        Wavelength tolerance of an identification [Å].
    wave_range : tuple of float, optional
        Observed range in which a companion line could be seen [Å].
    statuses : sequence of str, optional
        Line statuses considered.
    secure_statuses : sequence of str, optional
        Statuses of secure lines.

    Returns
    -------
    slits : astropy.table.Table
        One row per slit holding two or more lines: ``mask``, ``slit_id``, ``object_id``,
        ``n_lines``, ``consistent`` (every line explained), ``n_secure_lines`` (explained lines
        with a status in ``secure_statuses``), ``secure`` (two or more of them: a secure
        redshift), ``z_multi``, ``lines`` identified.
    verdict : numpy.ndarray
        Over ``cat`` rows: ``"consistent"``, ``"spurious"`` (unexplained in its slit; only the
        fainter lines), ``"single"`` (alone in its slit) or ``""`` (not considered).
    """
    verdict = np.array([""] * len(cat), dtype="U12")
    use = np.isin(np.asarray(cat["status"]), statuses)
    keys = list(zip(np.asarray(cat["mask"]), np.asarray(cat["slit_id"])))
    groups: dict = {}
    for i in np.flatnonzero(use):
        groups.setdefault(keys[i], []).append(i)
    names = list(LINES)
    rest = np.array([LINES[n] for n in names])
    rows = []
    for (m, sid), idx in groups.items():
        if len(idx) == 1:
            verdict[idx[0]] = "single"
            continue
        idx = sorted(idx, key=lambda i: -float(cat["sigma"][i]))
        w = np.asarray(cat["wavelength"], float)[idx]
        best = None
        for j, wj in enumerate(w):
            for ln in names:
                z = wj / LINES[ln] - 1
                if z < 0:
                    continue
                pred = rest * (1 + z)
                d = np.abs(w[:, None] - pred[None, :])
                k = np.argmin(d, axis=1)
                match = d[np.arange(len(w)), k] <= tol
                ids = [names[kk] for kk, mm in zip(k, match) if mm]
                if match.sum() < 2 or len(set(ids)) < match.sum():
                    continue
                if not _plausible(ids, z, wave_range):
                    continue
                zz = float(np.mean(w[match] / rest[k[match]] - 1))
                score = (int(match.sum()), float(np.asarray(cat["sigma"], float)[np.asarray(idx)[match]].sum()))
                if best is None or score > best[0]:
                    best = (score, zz, match, ids)
        secure = np.array([cat["status"][i] in secure_statuses for i in idx], bool)
        if best is None:
            verdict[idx[0]] = "single"
            # a fainter line is unexplained next to a brighter *secure* one (idx is sorted by sigma)
            for k, i in enumerate(idx[1:], start=1):
                verdict[i] = "spurious" if secure[:k].any() else "single"
            rows.append({"mask": m, "slit_id": int(sid), "object_id": cat["object_id"][idx[0]],
                         "n_lines": len(idx), "consistent": False, "n_secure_lines": 0, "secure": False,
                         "z_multi": np.nan, "lines": ""})
            continue
        _, zz, match, ids = best
        for k, (i, mm) in enumerate(zip(idx, match)):
            if mm:
                verdict[i] = "consistent"
            elif (secure & match)[:k].any():
                verdict[i] = "spurious"        # a more significant secure line has a redshift that leaves it out
            else:
                verdict[i] = "single"          # only fainter or sub-threshold lines disagree with it
        n_sec = int(sum(1 for i, mm in zip(idx, match) if mm and cat["status"][i] in secure_statuses))
        rows.append({"mask": m, "slit_id": int(sid), "object_id": cat["object_id"][idx[0]], "n_lines": len(idx),
                     "consistent": bool(match.all()), "n_secure_lines": n_sec, "secure": n_sec >= 2,
                     "z_multi": zz, "lines": ",".join(ids)})
    names_ = ("mask", "slit_id", "object_id", "n_lines", "consistent", "n_secure_lines", "secure", "z_multi", "lines")
    t = Table(rows=rows, names=names_) if rows else Table(names=names_, dtype=(str, int, str, int, bool, int, bool,
                                                                              float, str))
    return t, verdict


def cumulative_fraction_below(sig, threshold: float = 4.0) -> float:
    """Fraction of the values below ``threshold`` (e.g. of spurious lines below 4 sigma).

    Parameters
    ----------
    sig : array_like
        Values.
    threshold : float, optional
        The threshold.

    Returns
    -------
    float
        The fraction (NaN for no value).
    """
    sig = np.asarray(sig, float)
    return float((sig < threshold).mean()) if sig.size else np.nan
