"""The ROLES luminosity function and SFR density against the mock truth (notebook 12).

The truth counts what the 1/V_max estimator counts: galaxies whose true z lies in the [OII]
window and that are visible somewhere in it (K moved across the window reaching
22.5 < K ≤ 24, the true [OII] flux clearing the product's flux limit), over the window
volume: nominal eq. 9 SFRs from the true flux for the nominal rows, true SFR-equivalent
(eq. 9 / G10) for the G10 rows, the comparison sample from its truth weighted by
1/p_select. The inputs are :class:`redshift1.validation.roles.RolesInputs`.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table, vstack

from ..cosmology import ROLES_COSMO
from ..science.lf import fit_faint_end, luminosity_function
from ..science.poii import LINE_WINDOWS
from ..science.sfr import g10_correction, line_luminosity, sfr_from_oii
from ..science.vmax import window_volume
from ..columns import column
from .core import asymmetric_pulls, check_slope, recovery_stats, robust_sigma
from .roles import RolesInputs
from ..constants import MEDIAN_ERROR_FACTOR

__all__ = ["selected_truth", "product_flux_limit", "truth_lf", "lf_vs_truth", "combined_phi", "lf_turnover",
           "truth_sfrd", "effective_number", "sfrd_vs_truth", "ratio_rows", "density_recovery_rows",
           "roles_slope_checks"]


def selected_truth(r: RolesInputs, field: str, k_range=(22.5, 24.0)):
    """The true galaxies of ``field`` that the LF/SFRD estimator counts (issue 12): in the [OII] window and
    *visible somewhere in it* -- their K, moved across the window, reaches the K range, and their true [OII]
    flux, moved likewise, clears the product's flux limit. The 1/V_max estimator weights a galaxy seen at z
    by V_window / V_max to stand for the galaxies like it where it would not be seen, so its expectation is
    the density of these galaxies, not that of those inside the K range at their own z (fewer by the
    visibility fraction).

    Parameters
    ----------
    r : RolesInputs
        The walk's products and the mock truth.
    field : str
        ``"CDFS"`` or ``"FIRES"``.
    k_range : tuple of float
        The K selection (ROLES §2: 22.5 < K ≤ 24).

    Returns
    -------
    numpy.ndarray of bool
        One entry per row of the truth catalogue: counted by the estimator.
    """
    from ..science.vmax import flux_visibility, k_visibility, z_grid
    win = LINE_WINDOWS["OII"]
    zt = column(r.truth, "z_true")
    k = column(r.truth, "K")
    sel = (np.asarray(r.truth["field"]) == field) & (zt >= win[0]) & (zt <= win[1]) & np.isfinite(k)
    if not sel.any():
        return sel
    zg, _ = z_grid(win, 200)
    vis = k_visibility(k[sel], zt[sel], zg, k_range)
    limit = product_flux_limit(r)
    if limit is not None:
        vis &= flux_visibility(np.nan_to_num(column(r.truth, "f_OII_3727")[sel]), zt[sel], zg, *limit)
    out = np.zeros(len(r.truth), bool)
    out[np.flatnonzero(sel)] = vis.any(axis=1)
    return out


def product_flux_limit(r: RolesInputs):
    """``(wavelength, flux)`` of the [OII] limit the LF product used (mask, n-sigma from its meta), or None.

    Parameters
    ----------
    r : RolesInputs
        The walk's products (``roles_galaxies.ecsv`` and ``ldss3_flux_limits.ecsv``).

    Returns
    -------
    tuple of numpy.ndarray, or None
        Wavelength [Å] and limiting flux [erg s⁻¹ cm⁻²]; None without those products.
    """
    if r.limits is None or r.galaxies is None:
        return None
    mask = str(r.galaxies.meta.get("flux_limit_mask", ""))
    if mask not in r.limits.colnames:
        return None
    scale = float(r.galaxies.meta.get("limit_nsigma", 4.0)) / float(r.limits.meta.get("nsigma", 4.0))
    return column(r.limits, "wavelength"), column(r.limits, mask) * scale


def truth_lf(r: RolesInputs, k_range=(22.5, 24.0)) -> Table:
    """The true [OII] LF per field of the population the estimator counts (:func:`selected_truth`;
    LF bins of the product).

    Parameters
    ----------
    r : RolesInputs
    k_range : (float, float), K magnitudes of the ROLES selection
    """
    lf = r.lf
    edges_by_field = {}
    for f in sorted(set(np.asarray(lf["field"]).tolist())):
        s = np.asarray(lf["field"]) == f
        edges_by_field[f] = np.append(column(lf, "logl_lo")[s], column(lf, "logl_hi")[s][-1])
    tabs = []
    for f, edges in edges_by_field.items():
        s = selected_truth(r, f, k_range)
        lum = line_luminosity(column(r.truth, "f_OII_3727")[s], column(r.truth, "z_true")[s], ROLES_COSMO).value
        vol = window_volume(r.areas[f])
        with np.errstate(divide="ignore"):
            t = luminosity_function(np.log10(lum), np.ones(s.sum()), np.full(s.sum(), vol), np.ones(s.sum()), edges)
        t.add_column([f] * len(t), name="field", index=0)
        tabs.append(t)
    return vstack(tabs)


def lf_vs_truth(r: RolesInputs, tlf: Table) -> Table:
    """Measured φ beside the true φ per field and bin, with ratios and asymmetric pulls.

    Parameters
    ----------
    r : RolesInputs
    tlf : `~astropy.table.Table` from :func:`truth_lf`
    """
    lf = r.lf
    out = Table({"field": lf["field"], "logl": column(lf, "logl"), "n_gal": column(lf, "n_gal"),
                 "phi": column(lf, "phi"), "phi_lo": column(lf, "phi_lo"), "phi_hi": column(lf, "phi_hi"),
                 "phi_true": column(tlf, "phi"), "n_true": column(tlf, "n_gal")})
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["phi"] / out["phi_true"]
    out["pull"] = asymmetric_pulls(out["phi"], out["phi_lo"], out["phi_hi"], out["phi_true"])
    return out


def combined_phi(t: Table, areas: dict, col: str = "phi") -> tuple[np.ndarray, np.ndarray]:
    """``(logl, phi)``: window-volume-weighted φ (column ``col``) of all fields per LF bin (shared bins).

    Parameters
    ----------
    t : `~astropy.table.Table`
    areas : dict, arcmin² per field
    col : str
    """
    fields = sorted(set(np.asarray(t["field"]).tolist()))
    x = column(t, "logl")[np.asarray(t["field"]) == fields[0]]
    num = np.zeros(x.size)
    den = 0.0
    for f in fields:
        v = window_volume(areas[f])
        num += np.nan_to_num(column(t, col)[np.asarray(t["field"]) == f]) * v
        den += v
    return x, num / den


def lf_turnover(logl, phi, fraction: float = 0.5) -> float:
    """Where an LF turns over: from its maximum towards fainter L, the lower edge of the last bin
    with φ ≥ ``fraction`` × the maximum (bins of equal width, ``logl`` their centres).

    Parameters
    ----------
    logl, phi : array_like
    fraction : float
    """
    x = np.asarray(logl, float)
    y = np.nan_to_num(np.asarray(phi, float))
    if x.size < 2 or not np.any(y > 0):
        return np.nan
    half = 0.5 * (x[1] - x[0])
    k = int(np.argmax(y))
    while k > 0 and y[k - 1] >= fraction * y.max():
        k -= 1
    return float(x[k] - half)


def truth_sfrd(r: RolesInputs, k_range=(22.5, 24.0)) -> Table:
    """True ρ_SFR in the bins of ``roles_sfrd.ecsv`` (see the module docstring): columns
    ``rho_true`` (the estimator's definition with true fluxes and masses), ``rho_true_sfr``
    (Σ true SFR of the same selection), ``rho_true_all`` (true SFR, no K cut) and ``n_true_eff``
    (the effective number (Σw)²/Σw² of the terms of ``rho_true``: its Poisson sampling noise).

    Parameters
    ----------
    r : RolesInputs
    k_range : (float, float), K magnitudes of the ROLES selection
    """
    s = r.sfrd
    win = LINE_WINDOWS["OII"]
    rows = []
    for row in s:
        f, est = str(row["field"]), str(row["sfr_estimator"])
        lo, hi = float(u.Quantity(row["logm_lo"]).value), float(u.Quantity(row["logm_hi"]).value)
        if f == "HIGHMASS":
            h = r.truth_highmass
            if h is None or r.highmass is None:
                rows.append((np.nan, np.nan, np.nan, np.nan))
                continue
            area = float(r.highmass.meta["survey_area_arcmin2"])
            window = tuple(r.highmass.meta.get("z_window", (0.889, 1.149)))
            vol = window_volume(area, window)
            z, lm = column(h, "z"), column(h, "logm_true")
            sel = np.asarray(h["selected"], bool) & (lm >= lo) & (lm < hi) & (z >= window[0]) & (z <= window[1])
            w = 1.0 / column(h, "p_select")[sel]
            lum = line_luminosity(column(h, "f_OII_true")[sel], z[sel], ROLES_COSMO).value
            sfr = sfr_from_oii(lum).value
            if est == "g10":
                sfr = sfr / g10_correction(lm[sel])
            rho = np.sum(w * sfr) / vol / (hi - lo)
            rho_sfr = np.sum(w * column(h, "sfr_true")[sel]) / vol / (hi - lo)
            rows.append((rho, rho_sfr, rho_sfr, effective_number(w * sfr)))
            continue
        vol = window_volume(r.areas[f])
        lm = column(r.truth, "logm_true")
        zt = column(r.truth, "z_true")
        sel = selected_truth(r, f, k_range) & (lm >= lo) & (lm < hi)
        lum = line_luminosity(column(r.truth, "f_OII_3727")[sel], zt[sel], ROLES_COSMO).value
        sfr = sfr_from_oii(lum).value
        if est == "g10":
            sfr = sfr / g10_correction(lm[sel])
        allsel = ((np.asarray(r.truth["field"]) == f) & (zt >= win[0]) & (zt <= win[1]) & (lm >= lo) & (lm < hi))
        rows.append((np.sum(sfr) / vol / (hi - lo), np.sum(column(r.truth, "sfr_true")[sel]) / vol / (hi - lo),
                     np.sum(column(r.truth, "sfr_true")[allsel]) / vol / (hi - lo), effective_number(sfr)))
    a = np.array(rows, float).reshape(-1, 4)
    t = Table({"field": s["field"], "sfr_estimator": s["sfr_estimator"], "logm_lo": column(s, "logm_lo"),
               "logm_hi": column(s, "logm_hi"), "rho_sfr": column(s, "rho_sfr"), "rho_sfr_lo": column(s, "rho_sfr_lo"),
               "rho_sfr_hi": column(s, "rho_sfr_hi"), "n_gal": column(s, "n_gal"),
               "rho_true": a[:, 0], "rho_true_sfr": a[:, 1], "rho_true_all": a[:, 2], "n_true_eff": a[:, 3]})
    t.meta["unit"] = "Msun / (yr Mpc3 dex)"
    return t


def effective_number(w) -> float:
    """``(Σw)² / Σw²`` of the finite weights (0 when there are none).

    Parameters
    ----------
    w : array_like
    """
    w = np.asarray(w, float)
    w = w[np.isfinite(w)]
    s2 = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def sfrd_vs_truth(tsfrd: Table) -> Table:
    """Ratios and asymmetric pulls of ρ_SFR against ``rho_true`` (columns ``ratio``, ``pull``).

    Parameters
    ----------
    tsfrd : `~astropy.table.Table` from :func:`truth_sfrd`
    """
    t = tsfrd.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        t["ratio"] = t["rho_sfr"] / t["rho_true"]
    t["pull"] = asymmetric_pulls(t["rho_sfr"], t["rho_sfr_lo"], t["rho_sfr_hi"], t["rho_true"])
    return t


def ratio_rows(survey, quantity, sample, unit, note, ratio, pulls) -> dict:
    """A recovery row from per-bin ratios (measured/true) and pulls already computed.

    Parameters
    ----------
    survey, quantity, sample, unit, note : str
        The row's labels in ``validation_recovery.ecsv``.
    ratio, pulls : array_like
        Per-bin measured/true ratios and pulls (non-finite entries ignored).

    Returns
    -------
    dict
        One ``kind="ratio"`` row: median ratio as ``bias`` with its error, robust scatter and
        the pull statistics.
    """
    ratio = np.asarray(ratio, float)
    ratio = ratio[np.isfinite(ratio)]
    pulls = np.asarray(pulls, float)
    pulls = pulls[np.isfinite(pulls)]
    st = recovery_stats(pulls, np.zeros(pulls.size), np.ones(pulls.size))
    st.update({"n": int(ratio.size), "bias": float(np.median(ratio)) if ratio.size else np.nan,
               "scatter": robust_sigma(ratio)})
    st["bias_err"] = float(MEDIAN_ERROR_FACTOR * st["scatter"] / np.sqrt(ratio.size)) if ratio.size else np.nan
    return {"survey": survey, "quantity": quantity, "sample": sample, "kind": "ratio", "unit": unit, "note": note,
            **st}


def density_recovery_rows(lf_cmp: Table | None, sfrd_cmp: Table | None, comp_truth: Table | None) -> list[dict]:
    """Recovery rows of the binned quantities: LF φ and ρ_SFR (measured/true per bin with
    measured galaxies and a non-zero truth; pulls from the asymmetric Poisson limits) and W.

    Parameters
    ----------
    lf_cmp, sfrd_cmp, comp_truth : `~astropy.table.Table` or None
    """
    rows = []
    if lf_cmp is not None:
        s = (column(lf_cmp, "n_gal") > 0) & (column(lf_cmp, "phi_true") > 0)
        rows.append(ratio_rows("ROLES", "[OII] LF φ", "bins with measured galaxies", "Mpc⁻³ dex⁻¹",
                                "truth: galaxies in the window visible somewhere in it (K range, flux limit); pulls from asymmetric errors",
                                column(lf_cmp, "ratio")[s], column(lf_cmp, "pull")[s]))
    if sfrd_cmp is not None:
        for est in ("nominal", "g10"):
            s = ((np.asarray(sfrd_cmp["sfr_estimator"]) == est) & (column(sfrd_cmp, "n_gal") > 0)
                 & (column(sfrd_cmp, "rho_true") > 0))
            rows.append(ratio_rows("ROLES", f"ρ_SFR ({est})", "mass bins with galaxies", "M☉ yr⁻¹ Mpc⁻³ dex⁻¹",
                                    "truth: the estimator on true values; pulls from asymmetric errors",
                                    column(sfrd_cmp, "ratio")[s], column(sfrd_cmp, "pull")[s]))
    if comp_truth is not None:
        s = (np.asarray(comp_truth["bin"]) != "all") & np.isfinite(column(comp_truth, "W_true"))
        rows.append({"survey": "ROLES", "quantity": "completeness W", "sample": "K bins", "kind": "difference",
                     "unit": "", "note": "W from photo-z PDFs against the true W; no error on W: no pull",
                     **recovery_stats(column(comp_truth, "W")[s], column(comp_truth, "W_true")[s])})
    return rows


def roles_slope_checks(r: RolesInputs, tlf: Table) -> list:
    """The faint-end LF slope against the same fit to the true LF.

    Parameters
    ----------
    r : RolesInputs
    tlf : `~astropy.table.Table` from :func:`truth_lf`
    """
    checks = []
    if r.lf is None:
        return checks
    fe = (r.lf.meta.get("faint_end") or {}).get("both_fields") or {}
    lo, hi = (r.lf.meta.get("fit_range") or [40.6, 42.0])
    a_true, ae_true, _, nb = fit_faint_end(tlf, lo, hi)
    if fe and np.isfinite(a_true):
        a, ae = float(fe.get("alpha", np.nan)), float(fe.get("alpha_err", np.nan))
        checks.append(check_slope("[OII] LF faint-end slope α", (a, a - ae, a + ae), a_true, "truth sample",
                                  (a_true - ae_true, a_true + ae_true), n_points=int(fe.get("n_bins", 0)),
                                  note=f"fit_faint_end on the true LF (visible galaxies in the window), {lo:g} ≤ log L < {hi:g}"))
    return checks


#: public names of the truth selection, for the per-stage trace (:mod:`redshift1.validation.roles_trace`)
