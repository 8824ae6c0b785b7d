"""The ROLES science steps of notebooks 09 and 10, as functions of the run folders.

* :func:`redshift_step` (09) -- P([OII]) per observed object (:mod:`.poii`), counts per
  P class and field, spectroscopic completeness per K bin; products ``roles_poii.ecsv``
  and ``roles_completeness.ecsv``.
* :func:`lf_sfrd_step` (10) -- V_max (K limit and the wavelength-dependent [OII] limit),
  the [OII] luminosity function and its faint-end slope, SFR([OII]) and the SFR density
  per mass bin (nominal and G10-corrected, plus the higher-mass comparison sample and the
  §4.2.1 test with upper limits); products ``roles_galaxies.ecsv``, ``roles_lf.ecsv``,
  ``roles_sfrd.ecsv``, ``roles_table2_vs_paper.ecsv`` and ``table2_sfrd.ecsv``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table, vstack

from ..cosmology import ROLES_COSMO
from ..errors import DataFormatError, MissingInputError
from ..io import write_table
from ..ldss3.doubt import completeness_doubts, poii_doubts
from ..ldss3 import io as lio
from ..ldss3.reduce import survey_root
from .lf import fit_faint_end, luminosity_function
from ..ldss3.purity import chance_reproduction, neiii_fraction, purity_from_repeats
from .poii import LINE_REST, LINE_WINDOWS, assign_poii, calibrate_p, completeness, oii_line_density
from .sfr import g10_correction, line_luminosity, sfr_from_oii
from ..validation.paper import ROLES_TABLE2
from .sfrd import RHO_UNIT, TABLE2_COLUMNS, comparison_sfrd, mass_at_z, sfrd_table
from .vmax import flux_visibility, k_visibility, vmax, window_volume, z_grid

__all__ = ["redshift_step", "lf_sfrd_step", "LFResult", "DEFAULT_MASS_BINS", "load_fields"]

#: ROLES Table 2 mass bins (log M*): CDFS, FIRES and the higher-mass comparison sample
DEFAULT_MASS_BINS = {"CDFS": [8.5, 8.9, 9.1, 9.3, 9.5], "FIRES": [8.5, 9.2, 9.5, 9.8],
                     "HIGHMASS": [9.8, 10.2, 10.5, 10.8, 11.2]}


def _need(path: Path, step: str) -> Path:
    if not Path(path).is_file():
        raise MissingInputError(f"{path}: missing; run {step} first")
    return Path(path)


def load_fields(data_dir, fields):
    """Photometric catalogues and photo-z PDFs of the fields: ``({field: table}, {field: (z, pdf, ids)})``."""
    root = survey_root(data_dir)
    phot = {f: lio.read_photometry(root, f) for f in fields}
    pdfs = {f: lio.read_photoz_pdf(root, f) for f in fields}
    return phot, pdfs


def redshift_step(data_dir, products_dir, clamp_lo: float = 0.1, clamp_hi: float = 0.9,
                  k_range=(22.5, 24.0), k_step: float = 0.25, use_zspec: bool = False, calibrate: bool = True):
    """P([OII]) and completeness (09). Returns ``(poii, completeness, counts, (phot, pdfs))``.

    ``calibrate``: multiply ROLES' P by the probability that the line is real and not [NeIII]
    (:func:`redshift1.science.poii.calibrate_p`); False gives the paper's P."""
    products = Path(products_dir)
    slits = Table.read(_need(products / "ldss3_slit_summary.ecsv", "08_ldss3_detect"))
    lines = Table.read(_need(products / "ldss3_lines.ecsv", "08_ldss3_detect"))
    ml = Table.read(_need(products / "ldss3_multiline.ecsv", "08_ldss3_detect"))
    fields = sorted(set(np.asarray(slits["field"]).tolist()))
    phot, pdfs = load_fields(data_dir, fields)
    poii = assign_poii(slits, lines, ml, phot, pdfs, clamp_lo, clamp_hi)
    if calibrate:      # issue 12: P([OII]) that matches the fraction truly [OII]
        rep_path = products / "ldss3_repeats.ecsv"
        rep = Table.read(rep_path) if rep_path.is_file() else None
        calibrate_p(poii, purity_from_repeats(rep, chance_reproduction(lines, rep)), neiii_fraction(lines),
                    line_density=oii_line_density(poii, phot, pdfs))
    # completeness per K bin and field (galaxies with a good slit)
    good_tgt = np.asarray(slits["status"]) == "ok"
    good_tgt &= np.asarray(slits["is_roles_target"], bool)
    targeted = set(np.asarray(slits["object_id"])[good_tgt].tolist())
    comp = []
    for f in fields:
        z, pdf, _ = pdfs[f]
        c = completeness(phot[f], z, pdf, targeted, k_range, k_step, use_zspec=use_zspec)
        c.add_column([f] * len(c), name="field", index=0)
        comp.append(c)
    comp = vstack(comp)
    comp.meta["description"] = ("spectroscopic completeness W = N_slit / N_phot per K bin, N = sum over galaxies of "
                                "the photo-z PDF integrated over the [OII] window (ROLES eqs. 10-11)")
    comp.meta["window"] = list(LINE_WINDOWS["OII"])
    comp.meta["use_zspec"] = use_zspec
    counts = p_class_counts(poii)
    poii["doubt"] = poii_doubts(poii, lines, clamp_lo, clamp_hi)       # issue 17: doubt visible
    comp["doubt"] = completeness_doubts(comp)
    write_table(poii, products / "roles_poii.ecsv")
    write_table(comp, products / "roles_completeness.ecsv")
    return poii, comp, counts, (phot, pdfs)


def p_class_counts(poii: Table) -> Table:
    """Detected ROLES targets per field by P([OII]) class (P < 0.1 -> 0, 0.1-0.9, > 0.9 -> 1)."""
    rows = []
    det = np.asarray(poii["status"]) == "detected"
    for f in sorted(set(np.asarray(poii["field"]).tolist())):
        s = det & (np.asarray(poii["field"]) == f)
        cls = np.asarray(poii["p_class"])[s]
        rows.append({"field": f, "detected": int(s.sum()), "P=0": int((cls == "0").sum()),
                     "0<P<1": int((cls == "fractional").sum()), "P=1": int((cls == "1").sum()),
                     "sum_P": float(np.asarray(poii["p_oii"], float)[s].sum()),
                     "targets": int(((np.asarray(poii["field"]) == f) & np.asarray(poii["is_roles_target"], bool)).sum())})
    return Table(rows=rows)


@dataclass
class LFResult:
    galaxies: Table
    lf: Table
    slope: dict
    sfrd: Table
    table2: Table
    comparison: Table
    limit: Table
    limit_mask: str
    volumes: dict
    upper_limits: Table | None = None
    summary: dict = field(default_factory=dict)


def _completeness_of(comp: Table, fld: str, k):
    c = comp[(np.asarray(comp["field"]) == fld) & (np.asarray(comp["bin"]) != "all")]
    lo, hi, w = (np.asarray(c[n], float) for n in ("K_lo", "K_hi", "W"))
    k = np.asarray(k, float)
    out = np.full(k.shape, np.nan)
    for a, b, ww in zip(lo, hi, w):
        out[(k > a) & (k <= b)] = ww
    return out


def lf_sfrd_step(data_dir, products_dir, figures_dir, mass_bins=None, lf_edges=None, fit_range=(40.6, 42.0),
                 limit_nsigma: float = 4.0, limit_mask: str = "", k_range=(22.5, 24.0), kcorr: bool = True,
                 upper_limit_field: str = "CDFS", n_z: int = 400) -> LFResult:
    """V_max, [OII] LF, SFR density per mass bin (10); see the module docstring.

    Every table goes to ``products_dir``; ``figures_dir`` is accepted for the notebooks' common
    call signature, but this step draws no figure (notebook 10 does).
    """
    products = Path(products_dir)
    mass_bins = {**DEFAULT_MASS_BINS, **(mass_bins or {})}
    lf_edges = np.round(np.arange(39.5, 42.76, 0.25), 3) if lf_edges is None else np.asarray(lf_edges, float)
    poii = Table.read(_need(products / "roles_poii.ecsv", "09_ldss3_redshifts"))
    comp = Table.read(_need(products / "roles_completeness.ecsv", "09_ldss3_redshifts"))
    lim_tab = Table.read(_need(products / "ldss3_flux_limits.ecsv", "08_ldss3_detect"))
    lim_wave = np.asarray(lim_tab["wavelength"], float)
    masks = [c for c in lim_tab.colnames if c != "wavelength"]
    if limit_mask:
        if limit_mask not in masks:
            raise DataFormatError(f"{products / 'ldss3_flux_limits.ecsv'}: no mask {limit_mask!r}")
        lmask = limit_mask
    else:
        lmask = str(lim_tab.meta.get("shallowest_mask", masks[0]))
    scale = limit_nsigma / float(lim_tab.meta.get("nsigma", 4.0))
    lim_flux = np.asarray(lim_tab[lmask], float) * scale
    fields = sorted(set(np.asarray(poii["field"]).tolist()))
    phot, _ = load_fields(data_dir, fields)
    area = {f: float(phot[f].meta.get("area_arcmin2", np.nan)) for f in fields}
    zg, dzg = z_grid(LINE_WINDOWS["OII"], n_z)

    # ---------------------------------------------------------------- the sample
    g = poii[np.asarray(poii["status"]) == "detected"]
    z = np.asarray(g["z_oii"], float)
    flux = np.asarray(g["flux"], float)
    p = np.asarray(g["p_oii"], float)
    kmag = np.asarray(g["K"], float)
    lim_here = np.interp(np.asarray(g["wavelength"], float), lim_wave, lim_flux, left=np.nan, right=np.nan)
    status = np.array(["in_sample"] * len(g), dtype="U24")
    zwin = LINE_WINDOWS["OII"]
    status[~((z >= zwin[0]) & (z <= zwin[1]))] = "outside_window"
    status[(status == "in_sample") & ~(flux >= lim_here)] = "below_flux_limit"
    status[(status == "in_sample") & ~((kmag > k_range[0]) & (kmag <= k_range[1]))] = "outside_k_range"
    status[(status == "in_sample") & (p <= 0)] = "p_oii_zero"
    zz = np.where(np.isfinite(z), z, 1.0)
    lum = line_luminosity(np.where(flux > 0, flux, np.nan), zz, ROLES_COSMO).value
    logl = np.log10(lum)
    sfr = sfr_from_oii(lum).value
    logm = mass_at_z(np.asarray(g["logmstar_phot"], float), np.asarray(g["z_phot"], float), zz)
    vis_k = k_visibility(kmag, zz, zg, k_range, ROLES_COSMO, kcorr)
    vis_f = flux_visibility(np.where(np.isfinite(flux), flux, 0.0), zz, zg, lim_wave, lim_flux, ROLES_COSMO)
    vm = np.zeros(len(g))
    for f in fields:
        s = np.asarray(g["field"]) == f
        vm[s] = vmax(vis_k[s] & vis_f[s], zg, dzg, area[f])
    W = np.zeros(len(g))
    for f in fields:
        s = np.asarray(g["field"]) == f
        W[s] = _completeness_of(comp, f, kmag[s])
    status[(status == "in_sample") & ~(vm > 0)] = "vmax_zero"
    status[(status == "in_sample") & ~(W > 0)] = "no_completeness"
    gal = Table()
    for c in ("id", "field", "K", "z_phot", "wavelength", "sigma", "flux", "flux_err", "p_oii", "p_source"):
        gal[c] = g[c]
    gal["z_oii"] = z
    gal["flux_limit"] = lim_here * u.erg / u.s / u.cm**2
    gal["log_l_oii"] = logl * u.dex(u.erg / u.s)
    gal["sfr_oii"] = sfr * u.Msun / u.yr
    gal["logmstar"] = logm * u.dex(u.Msun)
    gal["sfr_g10"] = sfr / g10_correction(logm) * u.Msun / u.yr
    gal["vmax"] = vm * u.Mpc**3
    gal["completeness"] = W
    gal["status"] = status
    gal.meta["description"] = ("ROLES [OII] detections with V_max (K limit + wavelength-dependent [OII] limit), "
                               "L([OII]), SFR (eq. 9), mass at z([OII]); status says whether in the LF/SFRD sample")
    gal.meta["flux_limit_mask"] = lmask
    gal.meta["limit_nsigma"] = limit_nsigma
    ins = status == "in_sample"

    # ---------------------------------------------------------------- luminosity function
    lfs, slopes = [], {}
    for f in fields:
        s = ins & (np.asarray(gal["field"]) == f)
        t = luminosity_function(logl[s], p[s], vm[s], W[s], lf_edges)
        t.add_column([f] * len(t), name="field", index=0)
        lfs.append(t)
    lf = vstack(lfs)
    for c in ("phi", "phi_lo", "phi_hi"):
        lf[c].unit = u.Mpc**-3 / u.dex
    a, ae, norm, nb = fit_faint_end(lf, fit_range[0], fit_range[1])
    slopes["both_fields"] = {"alpha": a, "alpha_err": ae, "log_phi_41": norm, "n_bins": nb}
    for f in fields:
        a, ae, norm, nb = fit_faint_end(lf[np.asarray(lf["field"]) == f], fit_range[0], fit_range[1])
        slopes[f] = {"alpha": a, "alpha_err": ae, "log_phi_41": norm, "n_bins": nb}
    lf.meta["description"] = "[OII] luminosity function per field (1/V_max, Gehrels errors on effective numbers)"
    lf.meta["faint_end"] = slopes
    lf.meta["fit_range"] = list(fit_range)

    # ---------------------------------------------------------------- SFR density
    tabs = []
    for kind, sfr_k in (("nominal", sfr), ("g10", sfr / g10_correction(logm))):
        for f in fields:
            s = ins & (np.asarray(gal["field"]) == f)
            t = sfrd_table(f, logm[s], sfr_k[s], p[s], vm[s], W[s], mass_bins.get(f, mass_bins["CDFS"]))
            t["sfr_estimator"] = kind
            tabs.append(t)
    comp_tab = None
    try:
        comp_tab = lio.read_comparison(survey_root(data_dir))
    except MissingInputError:
        comp_tab = None
    if comp_tab is not None:
        for kind, g10 in (("nominal", False), ("g10", True)):
            t = comparison_sfrd(comp_tab, mass_bins["HIGHMASS"], g10=g10, name="HIGHMASS")
            t["sfr_estimator"] = kind
            tabs.append(t)
    sfrd = vstack(tabs)
    # §4.2.1: add 4-sigma upper limits of undetected targets
    ul = upper_limits(poii, products, upper_limit_field, limit_nsigma, zg, dzg, area, comp, k_range, kcorr,
                      lim_wave, lim_flux)
    sfrd["rho_sfr_with_limits"] = np.nan * RHO_UNIT
    if ul is not None and len(ul):
        f = upper_limit_field
        s = ins & (np.asarray(gal["field"]) == f)
        um = np.asarray(ul["status"]) == "in_sample"
        lm = np.concatenate([logm[s], np.asarray(ul["logmstar"], float)[um]])
        sf = np.concatenate([sfr[s], np.asarray(ul["sfr_oii"], float)[um]])
        pp = np.concatenate([p[s], np.asarray(ul["p_oii"], float)[um]])
        vv = np.concatenate([vm[s], np.asarray(ul["vmax"], float)[um]])
        ww = np.concatenate([W[s], np.asarray(ul["completeness"], float)[um]])
        t = sfrd_table(f, lm, sf, pp, vv, ww, mass_bins.get(f, mass_bins["CDFS"]))
        sel = (np.asarray(sfrd["field"]) == f) & (np.asarray(sfrd["sfr_estimator"]) == "nominal")
        sfrd["rho_sfr_with_limits"][np.flatnonzero(sel)] = np.asarray(t["rho_sfr"], float)
    sfrd.meta["description"] = ("SFR density per stellar-mass bin (ROLES eq. 18): nominal [OII] SFR (eq. 9) and "
                                "G10-corrected; HIGHMASS = the higher-mass comparison sample; "
                                "rho_sfr_with_limits: with 4-sigma upper limits of undetected targets added (§4.2.1)")
    table2 = sfrd[np.asarray(sfrd["sfr_estimator"]) == "nominal"][list(TABLE2_COLUMNS)]
    table2.meta = {"description": "ROLES Table 2 rebuilt: nominal [OII] SFR density per stellar-mass bin and field "
                                  "(rho in Msun/yr/Mpc3/dex; lo/hi = 1-sigma Gehrels limits on effective numbers)",
                   "cosmology": "h=0.7, Om=0.3, OL=0.7", "imf": "BG03 (as the masses)",
                   "highmass": "HIGHMASS = the higher-mass comparison sample (comparison/highmass_z1.ecsv)"}
    cmp = table2_vs_paper(table2)
    # ---------------------------------------------------------------- products
    limit = Table({"wavelength": lim_wave * u.AA, "flux_limit": lim_flux * u.erg / u.s / u.cm**2})
    limit.meta["mask"] = lmask
    write_table(gal, products / "roles_galaxies.ecsv")
    write_table(lf, products / "roles_lf.ecsv")
    write_table(sfrd, products / "roles_sfrd.ecsv")
    write_table(cmp, products / "roles_table2_vs_paper.ecsv")
    if ul is not None:
        write_table(ul, products / "roles_upper_limits.ecsv")
    write_table(table2, products / "table2_sfrd.ecsv")
    volumes = {f: window_volume(area[f]) for f in fields}
    volumes["total"] = sum(volumes.values())
    summary = {"n_in_sample": {f: int((ins & (np.asarray(gal["field"]) == f)).sum()) for f in fields},
               "status_counts": {s: int((status == s).sum()) for s in np.unique(status)},
               "window_volume_Mpc3": volumes, "faint_end": slopes, "flux_limit_mask": lmask}
    return LFResult(gal, lf, slopes, sfrd, table2, cmp, limit, lmask, volumes, ul, summary)


def upper_limits(poii, products, fld, nsigma, zg, dzg, area, comp, k_range, kcorr, lim_wave, lim_flux):
    """§4.2.1: 4-sigma [OII] upper limits of the undetected targets of one field.

    Objects whose secure public redshift is outside the window are left out; the weight is
    the clamped probability that the galaxy lies in the [OII] window (∫_[OII] p(z) dz: no
    line was seen, so the ratio to the other line windows does not apply); the redshift is the PDF peak inside the [OII] window
    (approximated by the photo-z when it lies inside, else the nearest window edge); the
    limit is ``nsigma`` x the 5x5-box flux error of the object's (deepest) slit there.
    """
    summ_p = Path(products) / "ldss3_slit_summary.ecsv"
    noise_p = Path(products) / "ldss3_slit_noise.fits"
    if not summ_p.is_file() or not noise_p.is_file():
        return None
    summ = Table.read(summ_p)
    with fits.open(noise_p) as h:
        noise = np.asarray(h[0].data, float)
        wave = np.asarray(h["WAVE"].data, float)
    u_ = poii[(np.asarray(poii["field"]) == fld) & (np.asarray(poii["status"]) == "no_line")]
    if len(u_) == 0:
        return Table()
    zsp = np.asarray(u_["z_spec_public"], float)
    zw = LINE_WINDOWS["OII"]
    p = np.asarray(u_["p_window_photoz"], float)
    status = np.array(["in_sample"] * len(u_), dtype="U24")
    secure_out = np.isfinite(zsp) & ~((zsp >= zw[0]) & (zsp <= zw[1]))
    p = np.where(np.isfinite(zsp) & ~secure_out, 1.0, p)
    status[secure_out] = "secure_z_outside"
    status[(status == "in_sample") & (p <= 0)] = "p_oii_zero"
    z = np.clip(np.asarray(u_["z_phot"], float), zw[0] + 1e-3, zw[1] - 1e-3)
    z = np.where(np.isfinite(zsp) & ~secure_out, zsp, z)
    lam = LINE_REST["OII"] * (1 + z)
    lim = np.full(len(u_), np.nan)
    objs = np.asarray(summ["object_id"])
    for i, o in enumerate(np.asarray(u_["id"])):
        rows = np.asarray(summ["noise_row"])[objs == o]
        if rows.size == 0:
            continue
        v = np.array([np.interp(lam[i], wave, noise[r], left=np.nan, right=np.nan) for r in rows])
        if np.isfinite(v).any():
            lim[i] = nsigma * np.nanmin(v)
    status[(status == "in_sample") & ~np.isfinite(lim)] = "no_noise"
    kmag = np.asarray(u_["K"], float)
    status[(status == "in_sample") & ~((kmag > k_range[0]) & (kmag <= k_range[1]))] = "outside_k_range"
    lum = line_luminosity(np.where(np.isfinite(lim), lim, 1e-30), z, ROLES_COSMO).value
    sfr = sfr_from_oii(lum).value
    logm = mass_at_z(np.asarray(u_["logmstar_phot"], float), np.asarray(u_["z_phot"], float), z)
    vis = k_visibility(kmag, z, zg, k_range, ROLES_COSMO, kcorr) & \
        flux_visibility(np.where(np.isfinite(lim), lim, 0), z, zg, lim_wave, lim_flux, ROLES_COSMO)
    vm = vmax(vis, zg, dzg, area[fld])
    W = _completeness_of(comp, fld, kmag)
    status[(status == "in_sample") & ~(vm > 0)] = "vmax_zero"
    status[(status == "in_sample") & ~(W > 0)] = "no_completeness"
    t = Table({"id": u_["id"], "field": u_["field"], "K": u_["K"], "z": z, "p_oii": p,
               "flux_limit": lim * u.erg / u.s / u.cm**2, "sfr_oii": sfr * u.Msun / u.yr,
               "logmstar": logm * u.dex(u.Msun), "vmax": vm * u.Mpc**3, "completeness": W, "status": status})
    t.meta["description"] = (f"§4.2.1 test: {nsigma:g}-sigma [OII] upper limits of undetected {fld} targets at the "
                             "photo-z (clipped to the window)")
    return t


def table2_vs_paper(table2: Table) -> Table:
    """The rebuilt Table 2 beside ROLES' own (paper numbers as comparison columns only)."""
    paper = {(f if f != "FORS2" else "HIGHMASS", lo, hi): (med, r, rl, rh, n)
             for f, lo, hi, med, r, rl, rh, n in ROLES_TABLE2 if f != "GDDS"}
    t = table2.copy()
    cols = {"paper_logm_median": [], "paper_rho_sfr": [], "paper_rho_sfr_lo": [], "paper_rho_sfr_hi": [],
            "paper_n_gal": []}
    for r in t:
        key = (r["field"], round(float(r["logm_lo"]), 2), round(float(r["logm_hi"]), 2))
        v = paper.get(key)
        cols["paper_logm_median"].append(v[0] if v else np.nan)
        for k, j in (("paper_rho_sfr", 1), ("paper_rho_sfr_lo", 2), ("paper_rho_sfr_hi", 3)):
            cols[k].append(v[j] * 1e-3 if v else np.nan)
        cols["paper_n_gal"].append(v[4] if v else -1)
    for k, v in cols.items():
        t[k] = v
    for k in ("paper_rho_sfr", "paper_rho_sfr_lo", "paper_rho_sfr_hi"):
        t[k].unit = RHO_UNIT
    t.meta = {"description": "rebuilt Table 2 beside ROLES Table 2 (paper values: comparison only; HIGHMASS is "
                             "compared with the paper's FORS2 rows, which use the same mass bins)"}
    return t
