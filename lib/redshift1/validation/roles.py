"""Injection–recovery of the ROLES walk (notebooks 07–10) against the mock truth.

* **Lines** -- every detection of ``ldss3_lines.ecsv`` is matched one-to-one to the lines the
  mock rendered into the same slit (``truth/roles_lines.ecsv``, [OII] doublet as one entry)
  within ``tol`` Å (:func:`~redshift1.validation.core.match_lines`). Unmatched adopted
  detections are false positives; injected lines inside the KG750 window in well-reduced
  slits give the detection completeness against injected flux and expected S/N. Matched
  adopted lines give the flux bias and pull width, and the wavelength offset.
* **Galaxies** -- ``roles_poii.ecsv`` / ``roles_galaxies.ecsv`` against
  ``truth/roles_galaxies.ecsv`` by id: an adopted line *is* [OII] when it lies within ``tol``
  of 3728.48 Å × (1 + z_true). That calibrates P([OII]) (fraction truly [OII] per P class,
  Σ P against the true count) and checks z([OII]), the mass at z([OII]) and the
  G10-corrected SFR against the true values.
* **Completeness** -- W per K bin against the true W: the fraction of catalogue galaxies
  truly in the [OII] window that have a good slit.
* **LF and SFRD** (:mod:`.roles_density`) -- against the same densities of the true population that the 1/V_max
  estimator counts (true z in the [OII] window and visible somewhere in it: K moved across the
  window reaching 22.5 < K ≤ 24, the true [OII] flux clearing the product's flux limit) over the
  window volume: nominal eq. 9 SFRs from the true flux for the nominal rows, true SFR-equivalent
  (eq. 9 / G10) for the G10 rows, the comparison sample from its truth weighted by 1/p_select.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from .. import constants as C
from ..science.poii import LINE_WINDOWS
from ..columns import column
from .core import Matched, completeness_curve, match_ids, match_lines, value_at_fraction

__all__ = ["RolesInputs", "load_roles", "line_matching", "line_completeness", "roles_matched", "poii_calibration",
           "poii_reliability",
           "completeness_vs_truth", "OII_REST", "KG750", "false_positives", "truly_oii"]

OII_REST = C.OII_3727.to_value(u.AA)
KG750 = (7040.0, 8010.0)


def _read(path: Path) -> Table | None:
    return Table.read(path) if Path(path).is_file() else None


@dataclass
class RolesInputs:
    """ROLES products of a run, the LDSS3 truth and the field areas (``None`` when absent).

    Attributes
    ----------
    truth, truth_lines, truth_slits, truth_highmass : `~astropy.table.Table`
        ``truth/roles_galaxies``, ``roles_lines``, ``roles_slits``, ``roles_highmass_truth``.
    truth_summary, areas : dict
        ``truth/roles_truth_summary.json``; the photometric area per field, arcmin².
    lines, slits, repeats, limits, poii, completeness, galaxies, lf, sfrd, highmass : `~astropy.table.Table`
        The run's products (:func:`load_roles`) and the high-mass comparison sample.
    """

    truth: Table
    truth_lines: Table
    truth_slits: Table | None
    truth_highmass: Table | None
    truth_summary: dict
    areas: dict
    lines: Table | None = None
    slits: Table | None = None
    repeats: Table | None = None
    limits: Table | None = None
    poii: Table | None = None
    completeness: Table | None = None
    galaxies: Table | None = None
    lf: Table | None = None
    sfrd: Table | None = None
    highmass: Table | None = None

    @property
    def adopt_sigma(self) -> float:
        params = (self.lines.meta.get("params") or {}) if self.lines is not None else {}
        return float(params.get("adopt_sigma", 4.0))

    def truth_col(self, ids, name: str) -> np.ndarray:
        idx = match_ids(ids, self.truth["id"])
        v = column(self.truth, name)
        return np.where(idx >= 0, v[np.clip(idx, 0, None)], np.nan)


def load_roles(products_dir, truth_dir, data_dir) -> RolesInputs:
    """Read the ROLES products of a run, the LDSS3 truth, and the field areas of the photometry.

    Parameters
    ----------
    products_dir, truth_dir, data_dir : path-like
        The run's products, the survey's ``truth/`` and its data folder.
    """
    p, t = Path(products_dir), Path(truth_dir)
    summ = t / "roles_truth_summary.json"
    areas = {}
    phot_dir = Path(data_dir) / "ldss3" / "photometry"
    for f in sorted(phot_dir.glob("*_photometry.ecsv")) if phot_dir.is_dir() else []:
        meta = Table.read(f).meta
        areas[str(meta.get("field", f.name.split("_")[0]))] = float(meta["area_arcmin2"])
    return RolesInputs(
        truth=Table.read(t / "roles_galaxies.ecsv"), truth_lines=Table.read(t / "roles_lines.ecsv"),
        truth_slits=_read(t / "roles_slits.ecsv"), truth_highmass=_read(t / "roles_highmass_truth.ecsv"),
        truth_summary=json.loads(summ.read_text()) if summ.is_file() else {}, areas=areas,
        lines=_read(p / "ldss3_lines.ecsv"), slits=_read(p / "ldss3_slits.ecsv"), repeats=_read(p / "ldss3_repeats.ecsv"),
        limits=_read(p / "ldss3_flux_limits.ecsv"), poii=_read(p / "roles_poii.ecsv"),
        completeness=_read(p / "roles_completeness.ecsv"), galaxies=_read(p / "roles_galaxies.ecsv"),
        lf=_read(p / "roles_lf.ecsv"), sfrd=_read(p / "roles_sfrd.ecsv"),
        highmass=_read(Path(data_dir) / "ldss3" / "comparison" / "highmass_z1.ecsv"))


# --------------------------------------------------------------------------- lines
def _slit_key(mask, slit):
    return [f"{m}/{int(s)}" for m, s in zip(np.asarray(mask), np.asarray(slit))]


def line_matching(r: RolesInputs, tol: float = 10.0) -> dict:
    """Match the line catalogue to the injected lines (see the module docstring).

    Returns a dict with ``truth_of_det`` (per catalogue row), ``det_of_truth`` (per truth line), ``good_truth``
    (truth lines inside 7040–8010 Å in slits reduced ``ok``), ``adopted`` (catalogue rows adopted),
    ``recovered`` (per truth line) and ``tol``.

    Parameters
    ----------
    r : RolesInputs
    tol : float, Å (line-matching tolerance)
    """
    lines, tl = r.lines, r.truth_lines
    tkeys = _slit_key(tl["mask"], tl["slit_id"])
    dkeys = _slit_key(lines["mask"], lines["slit_id"])
    tod, dot = match_lines(dkeys, column(lines, "wavelength"), tkeys, column(tl, "obs_wave"), tol)
    ok_slits = set(_slit_key(r.slits["mask"], r.slits["slit_id"])[i] for i in
                   np.flatnonzero(np.asarray(r.slits["status"]) == "ok")) if r.slits is not None else set(tkeys)
    good = np.array([k in ok_slits for k in tkeys]) & np.asarray(tl["in_window"], bool)
    adopted = np.asarray(lines["status"]) == "adopted"
    # recovered = matched to an ADOPTED detection (the raw catalogue's extra rows do not count)
    rec = np.zeros(len(tl), bool)
    has = dot >= 0
    rec[has] = adopted[dot[has]]
    return {"truth_of_det": tod, "det_of_truth": dot, "good_truth": good, "adopted": adopted, "recovered": rec,
            "tol": tol}


def line_completeness(r: RolesInputs, m: dict, flux_edges=None, snr_edges=None) -> dict:
    """Detection completeness of the injected lines (good slits, inside the filter) against
    injected flux and against the mock's expected matched-filter S/N; the 50 % points.

    Parameters
    ----------
    r : RolesInputs
    m : dict from :func:`line_matching`
    flux_edges, snr_edges : array_like, optional
    """
    tl = r.truth_lines
    g = m["good_truth"]
    flux = column(tl, "flux")[g]
    snr = column(tl, "snr_expected")[g]
    rec = m["recovered"][g]
    flux_edges = np.logspace(-18.5, -15.5, 13) if flux_edges is None else flux_edges
    snr_edges = np.array([0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 25, 50, 1000]) if snr_edges is None else snr_edges
    cf = completeness_curve(flux, rec, flux_edges)
    cs = completeness_curve(snr, rec, snr_edges)
    return {"vs_flux": cf, "vs_snr": cs, "flux50": value_at_fraction(cf, 0.5), "snr50": value_at_fraction(cs, 0.5),
            "n_injected": int(g.sum()), "n_recovered": int(rec.sum())}


def false_positives(r: RolesInputs, m: dict) -> dict:
    """Adopted detections matching no injected line; and of the unmatched raw-catalogue
    detections (adopted or below threshold), the fraction below the adoption threshold.

    Parameters
    ----------
    r : RolesInputs
    m : dict from :func:`line_matching`
    """
    lines = r.lines
    st = np.asarray(lines["status"])
    raw = np.isin(st, ["adopted", "below_threshold"])
    unmatched = m["truth_of_det"] < 0
    sig = column(lines, "sigma")
    n_slits = int((np.asarray(r.slits["status"]) == "ok").sum()) if r.slits is not None else 0
    fp = m["adopted"] & unmatched
    raw_un = raw & unmatched
    return {"n_adopted": int(m["adopted"].sum()), "n_false": int(fp.sum()),
            "fraction_false": float(fp.sum() / max(m["adopted"].sum(), 1)),
            "per_slit": float(fp.sum() / n_slits) if n_slits else np.nan,
            "raw_unmatched": int(raw_un.sum()),
            "raw_unmatched_below_adopt": float(np.mean(sig[raw_un] < r.adopt_sigma)) if raw_un.any() else np.nan}


def truly_oii(wave, z_true, tol):
    """Whether a line at ``wave`` is [OII] 3728 of a galaxy at ``z_true``.

    Parameters
    ----------
    wave : array_like
        Observed line wavelengths [Å].
    z_true : array_like
        True redshifts of the galaxies the lines belong to.
    tol : float
        Largest |λ − 3728.48 Å (1 + z_true)| [Å] still counted as [OII].

    Returns
    -------
    numpy.ndarray of bool
        False where either input is NaN.
    """
    with np.errstate(invalid="ignore"):
        return np.abs(np.asarray(wave, float) - OII_REST * (1 + np.asarray(z_true, float))) <= tol


def roles_matched(r: RolesInputs, m: dict) -> list[Matched]:
    """Matched measured/true pairs of the LDSS3 / ROLES quantities.

    Parameters
    ----------
    r : RolesInputs
    m : dict from :func:`line_matching`
    """
    out = []
    lines, tl = r.lines, r.truth_lines
    sel = m["adopted"] & (m["truth_of_det"] >= 0)
    j = m["truth_of_det"][sel]
    out.append(Matched("ROLES", "line flux", "adopted, matched", "ratio", "erg/s/cm²", column(tl, "flux")[j],
                       column(lines, "flux")[sel], column(lines, "flux_err")[sel], log_axes=True,
                       note="truth: total line flux above the atmosphere"))
    out.append(Matched("ROLES", "line wavelength", "adopted, matched", "difference", "Å", column(tl, "obs_wave")[j],
                       column(lines, "wavelength")[sel], note="no per-line wavelength error: no pull"))
    tol = m["tol"]
    if r.galaxies is not None:
        g = r.galaxies
        zt = r.truth_col(g["id"], "z_true")
        oii = truly_oii(column(g, "wavelength"), zt, tol)
        out.append(Matched("ROLES", "z([OII])", "detections truly [OII]", "difference", "", zt[oii],
                           column(g, "z_oii")[oii]))
        ins = oii & (np.asarray(g["status"]) == "in_sample")
        out.append(Matched("ROLES", "log M★ at z([OII])", "LF/SFRD sample, truly [OII]", "difference", "dex",
                           r.truth_col(g["id"], "logm_true")[ins], column(g, "logmstar")[ins],
                           note="SED mass at z_phot moved to z([OII]) (an input), against the true mass"))
        out.append(Matched("ROLES", "SFR([OII]), G10-corrected", "LF/SFRD sample, truly [OII]", "ratio", "M☉/yr",
                           r.truth_col(g["id"], "sfr_true")[ins], column(g, "sfr_g10")[ins], log_axes=True,
                           note="mock [OII] follows G10 on average with 0.15 dex scatter"))
    return out


def poii_calibration(r: RolesInputs, tol: float = 10.0, edges=(0.0, 0.05, 0.5, 0.95, 1.0)) -> tuple[Table, Table]:
    """P([OII]) against the truth: per P class the fraction of detections truly [OII]; per field
    Σ P against the true number of [OII] lines (detected ROLES targets).

    Parameters
    ----------
    r : RolesInputs
    tol : float, Å (line-matching tolerance)
    edges : sequence of float
    """
    p = r.poii
    det = (np.asarray(p["status"]) == "detected") & np.asarray(p["is_roles_target"], bool)
    zt = r.truth_col(p["id"], "z_true")
    truly = truly_oii(column(p, "wavelength"), zt, tol)
    pv = column(p, "p_oii")
    rows = []
    names = ("P = 0", "0 < P < 0.5", "0.5 ≤ P < 1", "P = 1")
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        s = det & (pv >= a) & ((pv <= b) if k == len(edges) - 2 else (pv < b))
        rows.append((names[k] if len(edges) == 5 else f"{a:g}-{b:g}", int(s.sum()),
                     float(np.mean(pv[s])) if s.any() else np.nan,
                     float(np.mean(truly[s])) if s.any() else np.nan))
    cal = Table(rows=rows, names=("p_class", "n", "mean_p", "fraction_truly_oii"), dtype=(str, int, float, float))
    fields = []
    for f in sorted(set(np.asarray(p["field"]).tolist())):
        s = det & (np.asarray(p["field"]) == f)
        fields.append((f, int(s.sum()), float(pv[s].sum()), int(truly[s].sum()),
                       float(np.mean((pv[s] - truly[s]) ** 2)) if s.any() else np.nan))
    per_field = Table(rows=fields, names=("field", "n_detected", "sum_p", "n_truly_oii", "brier"),
                      dtype=(str, int, float, int, float))
    return cal, per_field


def poii_reliability(r: RolesInputs, tol: float = 10.0, edges=(0.0, 1e-9, 0.2, 0.4, 0.6, 0.8, 1.0 - 1e-9, 1.0)) -> Table:
    """Reliability diagram of P([OII]) (issue 12): detected ROLES targets in bins of P (the first and last
    bins hold P = 0 and P = 1 exactly), with the mean P, the fraction truly [OII], its binomial 1-sigma error
    (from the mean P, at least that of one object in the bin) and ``calibrated`` = fraction within
    max(0.05, 2 sigma) of the mean P.

    Parameters
    ----------
    r : RolesInputs
    tol : float, Å (line-matching tolerance)
    edges : sequence of float
    """
    p = r.poii
    det = (np.asarray(p["status"]) == "detected") & np.asarray(p["is_roles_target"], bool)
    truly = truly_oii(column(p, "wavelength"), r.truth_col(p["id"], "z_true"), tol)
    pv = column(p, "p_oii")
    rows = []
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        s = det & (pv >= a) & ((pv <= b) if k == len(edges) - 2 else (pv < b))
        n = int(s.sum())
        if n == 0:
            rows.append((a, b, 0, np.nan, np.nan, np.nan, False))
            continue
        mp, fr = float(np.mean(pv[s])), float(np.mean(truly[s]))
        err = float(np.sqrt(max(mp * (1 - mp), 1.0 / n) / n))
        rows.append((a, b, n, mp, fr, err, bool(abs(fr - mp) <= max(0.05, 2 * err))))
    t = Table(rows=rows, names=("p_lo", "p_hi", "n", "mean_p", "fraction_truly_oii", "fraction_err", "calibrated"),
              dtype=(float, float, int, float, float, float, bool))
    t.meta["description"] = ("P([OII]) reliability: detected ROLES targets per P bin; truly [OII] = the adopted line "
                             f"within {tol:g} Å of 3728.48 Å (1 + z_true)")
    return t


def completeness_vs_truth(r: RolesInputs) -> Table:
    """W per field and K bin (notebook 09) beside the true W: targeted galaxies truly in the
    window over all catalogue galaxies truly in the window, same K bins.

    Parameters
    ----------
    r : RolesInputs
    """
    c = r.completeness
    win = LINE_WINDOWS["OII"]
    zt = column(r.truth, "z_true")
    k = column(r.truth, "K")
    field = np.asarray(r.truth["field"])
    inwin = (zt >= win[0]) & (zt <= win[1])
    ok = (np.asarray(r.slits["status"]) == "ok") & np.asarray(r.slits["is_roles_target"], bool)
    targeted = np.isin(np.asarray(r.truth["id"]), np.asarray(r.slits["object_id"])[ok])
    w_true, n_true = [], []
    for row in c:
        s = inwin & (field == row["field"]) & (k > float(row["K_lo"])) & (k <= float(row["K_hi"]))
        n_true.append(int(s.sum()))
        w_true.append(float((s & targeted).sum() / s.sum()) if s.any() else np.nan)
    t = Table({"field": c["field"], "bin": c["bin"], "K_lo": column(c, "K_lo"), "K_hi": column(c, "K_hi"),
               "W": column(c, "W"), "W_true": w_true, "n_true_in_window": n_true})
    return t
