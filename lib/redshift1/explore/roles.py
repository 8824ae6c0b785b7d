"""ROLES choices → detected sample, V_max, [OII] LF and SFR density (notebooks 09–10).

The slow steps of the walk (reduction, detection, the per-object P([OII]) of the photo-z
PDFs) are not redone: a different detection threshold re-selects lines from notebook 08's
raw catalogue (clean lines ≥ ``raw_sigma``; artefacts stay out), and the objects keep
notebook 09's P([OII]) ingredients (raw photo-z P, public and multi-line redshifts), so
that a new threshold or new clamps cost milliseconds. The sample cuts, V_max, LF and SFR
density use the functions of :mod:`redshift1.science` exactly as notebook 10
(:func:`redshift1.steps.lf_sfrd.lf_and_sfrd`) does -- the sample cuts are the one
:func:`redshift1.science.roles.sample_status` -- so at the walk's own choices they
reproduce its products (``tests/test_explore.py`` checks it).

* :func:`detections` — per object: detected at ``sigma_min``? and its line (most
  significant line; repeats on other masks within ``match_tol`` averaged with
  inverse-variance weights, one per mask) — the rule of
  :func:`redshift1.science.poii.assign_poii`.
* :func:`galaxies` — the [OII] candidates of a threshold with L, SFR, M★ at z([OII]),
  V_max and completeness (threshold-dependent, clamp-independent).
* :func:`sample` — P([OII]) for the clamps, the status of every candidate.
* :func:`luminosity_functions`, :func:`sfr_density` — the LF per field with the faint-end
  slope, ρ_SFR per mass bin for one SFR estimator (plus the higher-mass comparison sample).
"""
from __future__ import annotations

import warnings

import numpy as np
from astropy.table import Table, vstack

from ..cosmology import ROLES_COSMO
from ..science.lf import fit_faint_end, luminosity_function
from ..science.poii import LINE_GROUPS, LINE_REST, LINE_WINDOWS, clamp_p
from ..science.poii_calibration import calibrate_p, union_mean
from ..science.roles import completeness_of, sample_status
from ..science.sfr import g10_correction, line_luminosity, sfr_from_oii
from ..science.sfrd import comparison_sfrd, mass_at_z, sfrd_table
from ..science.vmax import flux_visibility, k_visibility, vmax, z_grid

__all__ = ["detections", "galaxies", "sample", "luminosity_functions", "sfr_density", "roles_numbers",
           "SFR_ESTIMATORS"]

#: the [OII]-SFR estimators: ROLES eq. 9, and eq. 9 divided by the G10 mass-dependent correction
SFR_ESTIMATORS = ("nominal", "g10")


def _in_window(z, name="OII"):
    a, b = LINE_WINDOWS[name]
    z = np.asarray(z, float)
    return (z >= a) & (z <= b)


def detections(data, sigma_min: float, match_tol: float = 8.0) -> dict:
    """The line of every object with a good ROLES slit, at a detection threshold.

    Returns a dict of arrays in the order of ``data.poii``: ``detected`` (bool),
    ``wavelength``, ``sigma``, ``flux``, ``flux_err``, ``n_repeat``. Objects that are
    fillers or have no good slit are never detected (as in notebook 09).
    """
    poii = data.poii
    n = len(poii)
    ids = np.asarray(poii["id"]).astype(str)
    cand = np.isin(np.asarray(poii["status"]).astype(str), ("detected", "no_line"))
    out = {"detected": np.zeros(n, bool), "wavelength": np.full(n, np.nan), "sigma": np.full(n, np.nan),
           "flux": np.full(n, np.nan), "flux_err": np.full(n, np.nan), "n_repeat": np.zeros(n, int)}
    L = data.lines
    if len(L) == 0:
        return out
    sig = np.asarray(L["sigma"], float)
    keep = sig >= sigma_min
    obj = np.asarray(L["object_id"]).astype(str)[keep]
    sig = sig[keep]
    wave = np.asarray(L["wavelength"], float)[keep]
    flux = np.asarray(L["flux"], float)[keep]
    ferr = np.asarray(L["flux_err"], float)[keep]
    mask = np.asarray(L["mask"]).astype(str)[keep]
    order = np.argsort(obj, kind="stable")
    obj, sig, wave, flux, ferr, mask = (a[order] for a in (obj, sig, wave, flux, ferr, mask))
    starts = np.flatnonzero(np.r_[True, obj[1:] != obj[:-1]])
    stops = np.r_[starts[1:], obj.size]
    row_of = {o: i for i, o in enumerate(ids)}
    for a, b in zip(starts, stops):
        i = row_of.get(obj[a])
        if i is None or not cand[i]:
            continue
        s, w = sig[a:b], wave[a:b]
        best = int(np.argmax(s))
        same = np.flatnonzero(np.abs(w - w[best]) <= match_tol)
        per_mask = {}
        for j in same:                      # one measurement per mask: the most significant
            m = mask[a + j]
            if m not in per_mask or s[j] > s[per_mask[m]]:
                per_mask[m] = j
        js = np.array(list(per_mask.values())) + a
        f, e = flux[js], ferr[js]
        okf = np.isfinite(f) & np.isfinite(e) & (e > 0)
        if okf.any():
            wt = 1 / e[okf] ** 2
            out["flux"][i] = float((wt * f[okf]).sum() / wt.sum())
            out["flux_err"][i] = float(1 / np.sqrt(wt.sum()))
        out["wavelength"][i] = float(np.mean(wave[js]))
        out["sigma"][i] = float(s[best])
        out["n_repeat"][i] = len(per_mask)
        out["detected"][i] = True
    return out


def galaxies(data, sigma_min: float, n_z: int = 400) -> Table:
    """The [OII] candidates detected at ``sigma_min`` with L, SFRs, M★, V_max, W.

    ``base_status`` holds the cuts that do not depend on P([OII]) (``outside_window``,
    ``below_flux_limit``, ``outside_k_range``, else ``ok``; from
    :func:`redshift1.science.roles.sample_status`); ``p_fixed`` is P([OII]) where a secure
    redshift sets it (NaN where the photo-z decides, ``p_raw``).

    Parameters
    ----------
    data : redshift1.explore.state.ExploreData
        The walk's products as the explorer holds them.
    sigma_min : float
        Detection threshold (σ).
    n_z : int
        Points of the redshift grid of the [OII] window.

    Returns
    -------
    `~astropy.table.Table`
        One row per candidate; ``meta["k_range"]`` is the walk's K range.
    """
    det = detections(data, sigma_min)
    poii = data.poii
    s = det["detected"]
    g = Table()
    for c in ("id", "field", "K", "z_phot", "logmstar_phot", "z_spec_public", "z_multi", "p_oii_photoz_raw",
              "p_union_photoz", *(f"p_window_{grp}" for grp in LINE_GROUPS)):
        if c in poii.colnames:
            g[c] = np.asarray(poii[c])[s]
    for c in ("wavelength", "sigma", "flux", "flux_err", "n_repeat"):
        g[c] = det[c][s]
    wavelength = np.asarray(g["wavelength"], float)
    z = wavelength / LINE_REST["OII"] - 1
    flux = np.asarray(g["flux"], float)
    kmag = np.asarray(g["K"], float)
    fields = np.asarray(g["field"]).astype(str)
    k_range = data.walk.k_range
    lim_here = np.interp(wavelength, data.limit_wave, data.limit_flux, left=np.nan, right=np.nan)
    status = sample_status(z, flux, lim_here, kmag, k_range)      # the cuts that do not depend on P([OII])
    status[status == "in_sample"] = "ok"
    zz = np.where(np.isfinite(z), z, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lum = line_luminosity(np.where(flux > 0, flux, np.nan), zz, ROLES_COSMO).value
        logl = np.log10(lum)
    sfr = sfr_from_oii(lum).value
    logm = mass_at_z(np.asarray(g["logmstar_phot"], float), np.asarray(g["z_phot"], float), zz)
    zg, dzg = z_grid(LINE_WINDOWS["OII"], n_z)
    vm = np.zeros(len(g))
    W = np.full(len(g), np.nan)
    if len(g):
        vis = k_visibility(kmag, zz, zg, k_range, ROLES_COSMO, True) & \
            flux_visibility(np.where(np.isfinite(flux), flux, 0.0), zz, zg, data.limit_wave, data.limit_flux,
                            ROLES_COSMO)
        for f in set(fields.tolist()):
            sel = fields == f
            vm[sel] = vmax(vis[sel], zg, dzg, data.areas.get(f, np.nan))
            W[sel] = completeness_of(data.completeness, f, kmag[sel])
    zsp = np.asarray(g["z_spec_public"], float)
    zm = np.asarray(g["z_multi"], float)
    p_fixed = np.where(np.isfinite(zsp), _in_window(zsp).astype(float),
                       np.where(np.isfinite(zm), _in_window(zm).astype(float), np.nan))
    g["z_oii"] = z
    g["flux_limit"] = lim_here
    g["log_l_oii"] = logl
    g["sfr_oii"] = sfr
    g["logmstar"] = logm
    g["sfr_g10"] = sfr / g10_correction(logm)
    g["vmax"] = vm
    g["completeness"] = W
    g["p_fixed"] = p_fixed
    g["p_source"] = np.where(np.isfinite(zsp), "zspec_public", np.where(np.isfinite(zm), "multiline", "photoz"))
    g["base_status"] = status
    g.meta["sigma_min"] = sigma_min
    g.meta["k_range"] = list(k_range)
    cal = poii.meta.get("p_calibration")
    if cal:
        g.meta["p_calibration"] = cal
        g.meta["mean_union"] = union_mean(poii) if "p_union_photoz" in poii.colnames else np.nan
    return g


def _calibrated(gal: Table, p, cal: dict, clamp_lo: float, clamp_hi: float):
    """P([OII]), ``p_real`` and ``p_not_neiii`` of the candidates, calibrated as notebook 09 did
    (its ``p_calibration``)."""
    work = Table({"status": np.full(len(gal), "detected"), "p_source": np.asarray(gal["p_source"]),
                  "wavelength": np.asarray(gal["wavelength"], float), "sigma": np.asarray(gal["sigma"], float),
                  "p_oii": p, "p_class": np.full(len(gal), ""), "z_spec_public": np.asarray(gal["z_spec_public"], float)})
    for c in gal.colnames:
        if c == "p_union_photoz" or c.startswith("p_window_"):
            work[c] = gal[c]
    union = cal.get("union") or {}
    if cal.get("wavelength_likelihood"):
        warnings.warn("notebook 09 weighed lines by the photo-z density at their wavelength; the explorer does not "
                      "hold the PDFs and leaves that factor out of P([OII])", stacklevel=3)
    calibrate_p(work, cal["purity"], cal["neiii"], spec_tol=float(cal.get("spec_tol_aa", 10.0)),
                union_outliers=union.get("outlier_fraction"), line_mixture=cal.get("line_mixture") is not None,
                clamps=(clamp_lo, clamp_hi), mean_union=gal.meta.get("mean_union"))
    return tuple(np.asarray(work[c], float) for c in ("p_oii", "p_real", "p_not_neiii"))


def sample(gal: Table, clamp_lo: float, clamp_hi: float) -> Table:
    """P([OII]) for the clamps (photo-z objects only) and each candidate's ``status``
    (:func:`redshift1.science.roles.sample_status`, the walk's selection).

    Where notebook 09 calibrated P([OII]) (``p_calibration`` in its table's metadata), the same
    :func:`redshift1.science.poii_calibration.calibrate_p` is applied with the walk's purity, [NeIII] and
    photo-z-outlier measurements (the line mixture is refitted to the candidates of the threshold).

    Parameters
    ----------
    gal : `~astropy.table.Table`
        :func:`galaxies`.
    clamp_lo, clamp_hi : float
        P([OII]) below ``clamp_lo`` is 0, above ``clamp_hi`` 1.

    Returns
    -------
    `~astropy.table.Table`
        ``gal`` with ``p_oii`` and ``status`` (and, calibrated, ``p_real`` and ``p_not_neiii``).
    """
    t = gal.copy(copy_data=False)
    p_photo = clamp_p(np.asarray(gal["p_oii_photoz_raw"], float), clamp_lo, clamp_hi)
    pf = np.asarray(gal["p_fixed"], float)
    p = np.where(np.isfinite(pf), pf, p_photo)
    cal = gal.meta.get("p_calibration")
    if cal:
        p, real, not_ne = _calibrated(gal, p, cal, clamp_lo, clamp_hi)
        t["p_real"], t["p_not_neiii"] = real, not_ne
    status = sample_status(gal["z_oii"], gal["flux"], gal["flux_limit"], gal["K"], gal.meta["k_range"], p,
                           gal["vmax"], gal["completeness"])
    t["p_oii"] = p
    t["status"] = status
    t.meta["clamps"] = [clamp_lo, clamp_hi]
    return t


def luminosity_functions(gal: Table, edges, fit_range) -> tuple[Table, dict]:
    """The [OII] LF per field (1/V_max, effective-number errors) and the faint-end slopes."""
    ins = np.asarray(gal["status"]) == "in_sample"
    fields = sorted(set(np.asarray(gal["field"]).astype(str).tolist()))
    logl, p = np.asarray(gal["log_l_oii"], float), np.asarray(gal["p_oii"], float)
    vm, W = np.asarray(gal["vmax"], float), np.asarray(gal["completeness"], float)
    lfs = []
    for f in fields:
        s = ins & (np.asarray(gal["field"]).astype(str) == f)
        t = luminosity_function(logl[s], p[s], vm[s], W[s], np.asarray(edges, float))
        t.add_column([f] * len(t), name="field", index=0)
        lfs.append(t)
    lf = vstack(lfs) if lfs else Table(names=("field", "logl", "phi", "phi_lo", "phi_hi", "n_gal"),
                                       dtype=(str, float, float, float, float, int))
    slopes = {}
    a, ae, norm, nb = fit_faint_end(lf, fit_range[0], fit_range[1]) if len(lf) else (np.nan,) * 3 + (0,)
    slopes["both_fields"] = {"alpha": a, "alpha_err": ae, "log_phi_41": norm, "n_bins": nb}
    for f in fields:
        a, ae, norm, nb = fit_faint_end(lf[np.asarray(lf["field"]) == f], fit_range[0], fit_range[1])
        slopes[f] = {"alpha": a, "alpha_err": ae, "log_phi_41": norm, "n_bins": nb}
    return lf, slopes


def highmass_sfrd(data, estimator: str) -> Table | None:
    """ρ_SFR of the higher-mass comparison sample (its own mass bins, as in notebook 10)."""
    if data.comparison is None:
        return None
    t = comparison_sfrd(data.comparison, list(data.walk.mass_bins["HIGHMASS"]), g10=estimator == "g10",
                        name="HIGHMASS")
    t["sfr_estimator"] = estimator
    return t


def sfr_density(gal: Table, mass_bins: dict, estimator: str, highmass: Table | None = None) -> Table:
    """ρ_SFR per stellar-mass bin of each field for one SFR estimator (ROLES eq. 18)."""
    if estimator not in SFR_ESTIMATORS:
        raise ValueError(f"sfr_estimator must be one of {SFR_ESTIMATORS}, not {estimator!r}")
    ins = np.asarray(gal["status"]) == "in_sample"
    fields = sorted(set(np.asarray(gal["field"]).astype(str).tolist()))
    sfr = np.asarray(gal["sfr_oii" if estimator == "nominal" else "sfr_g10"], float)
    logm, p = np.asarray(gal["logmstar"], float), np.asarray(gal["p_oii"], float)
    vm, W = np.asarray(gal["vmax"], float), np.asarray(gal["completeness"], float)
    tabs = []
    for f in fields:
        s = ins & (np.asarray(gal["field"]).astype(str) == f)
        t = sfrd_table(f, logm[s], sfr[s], p[s], vm[s], W[s], list(mass_bins.get(f, mass_bins["CDFS"])))
        t["sfr_estimator"] = estimator
        tabs.append(t)
    if highmass is not None:
        tabs.append(highmass)
    return vstack(tabs)


def roles_numbers(gal: Table, slopes: dict, sfrd: Table) -> dict:
    """Sample sizes per field, the faint-end slope and ρ_SFR integrated over each field's bins."""
    ins = np.asarray(gal["status"]) == "in_sample"
    fld = np.asarray(gal["field"]).astype(str)
    out = {"n_detected": len(gal), "n_in_sample": int(ins.sum()),
           "alpha": slopes.get("both_fields", {}).get("alpha", np.nan),
           "alpha_err": slopes.get("both_fields", {}).get("alpha_err", np.nan),
           "sum_p": float(np.asarray(gal["p_oii"], float)[ins].sum())}
    for f in sorted(set(fld.tolist())):
        out[f"n_in_sample_{f}"] = int((ins & (fld == f)).sum())
    sf = np.asarray(sfrd["field"]).astype(str)
    for f in sorted(set(sf.tolist())):
        s = sf == f
        width = np.asarray(sfrd["logm_hi"], float)[s] - np.asarray(sfrd["logm_lo"], float)[s]
        out[f"rho_sfr_{f}"] = float(np.nansum(np.asarray(sfrd["rho_sfr"], float)[s] * width))
    return out
