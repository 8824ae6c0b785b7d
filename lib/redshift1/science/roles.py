"""The ROLES science of notebooks 09 and 10 on the walk's products: the algorithms that
:mod:`redshift1.steps.ldss3_redshifts` and :mod:`redshift1.steps.lf_sfrd` orchestrate.

* :func:`likely_oii_objects` -- objects whose photo-z makes their line [OII] (08's aperture
  correction);
* :func:`completeness_per_field` and :func:`p_class_counts` -- notebook 09's completeness
  per K bin (ROLES eqs. 10-11) and the counts per P([OII]) class;
* :func:`sample_status` -- **the** ROLES sample selection (window, flux limit, K range,
  P([OII]), V_max, completeness), used by notebook 10 and the explorer alike;
* :func:`lf_galaxies`, :func:`lf_per_field`, :func:`sfrd_per_mass_bin`,
  :func:`upper_limits`, :func:`table2_vs_paper` -- the stages of notebook 10: V_max
  (K limit and the wavelength-dependent [OII] limit), the [OII] LF and its faint-end slope,
  the SFR density per mass bin (nominal and G10-corrected, the higher-mass comparison
  sample, and the §4.2.1 test with upper limits).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table, vstack

from ..cosmology import ROLES_COSMO
from ..errors import Redshift1Error
from ..ldss3 import survey_files as lio
from ..ldss3.reduce import survey_root
from .lf import fit_faint_end, luminosity_function
from .poii import LINE_REST, LINE_WINDOWS, completeness, p_oii
from .sfr import g10_correction, line_luminosity, sfr_from_oii
from ..validation.paper import ROLES_TABLE2
from .sfrd import RHO_UNIT, TABLE2_COLUMNS, comparison_sfrd, mass_at_z, sfrd_table
from .vmax import flux_visibility, k_visibility, vmax

__all__ = ["DEFAULT_MASS_BINS", "SAMPLE_STATUS", "load_fields", "likely_oii_objects", "completeness_per_field",
           "p_class_counts", "completeness_of", "sample_status", "lf_galaxies", "lf_per_field", "sfrd_per_mass_bin",
           "upper_limits", "table2", "table2_vs_paper"]

#: ROLES Table 2 mass bins (log M*): CDFS, FIRES and the higher-mass comparison sample
DEFAULT_MASS_BINS = {"CDFS": [8.5, 8.9, 9.1, 9.3, 9.5], "FIRES": [8.5, 9.2, 9.5, 9.8],
                     "HIGHMASS": [9.8, 10.2, 10.5, 10.8, 11.2]}

#: the ROLES sample selection, in the order the cuts apply (a galaxy gets the first it fails)
SAMPLE_STATUS = {
    "in_sample": "in the LF and SFR-density sample",
    "outside_window": "z([OII]) outside the [OII] window of the filter",
    "below_flux_limit": "line flux below the adopted mask's flux limit at its wavelength",
    "outside_k_range": "K outside the ROLES selection range",
    "p_oii_zero": "P([OII]) = 0",
    "vmax_zero": "V_max = 0 (not visible anywhere in the window)",
    "no_completeness": "no spectroscopic completeness at its K",
}


def load_fields(data_dir, fields):
    """Photometric catalogues and photo-z PDFs of the fields.

    Parameters
    ----------
    data_dir : path-like
        The survey folder (or its ``ldss3`` folder).
    fields : iterable of str
        Field names (``CDFS``, ``FIRES``).

    Returns
    -------
    photometry : dict of str to `~astropy.table.Table`
    pdfs : dict of str to tuple
        Per field ``(z_grid, pdf, ids)``.
    """
    root = survey_root(data_dir)
    phot = {f: lio.read_photometry(root, f) for f in fields}
    pdfs = {f: lio.read_photoz_pdf(root, f) for f in fields}
    return phot, pdfs


def likely_oii_objects(root, slits: Table, min_p: float = 0.9):
    """Objects on slits whose photo-z PDF puts more than ``min_p`` of the four line windows'
    probability in the [OII] window: their bright lines calibrate the [OII] aperture correction.

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder.
    slits : `~astropy.table.Table`
        Slits with ``field`` and ``object_id``.
    min_p : float
        Raw P([OII]) above which an object counts.

    Returns
    -------
    set of str or None
        The object ids; None when the photometry cannot be read (then all bright lines are used).
    """
    out = set()
    try:
        for f in sorted(set(np.asarray(slits["field"]).tolist())):
            phot = lio.read_photometry(root, f)
            z, pdf, _ = lio.read_photoz_pdf(root, f)
            on = np.isin(np.asarray(phot["id"]), np.asarray(slits["object_id"]))
            rows = np.asarray(phot["pdf_row"], int)[on]
            if np.any(rows >= pdf.shape[0]):        # named by 09 (assign_poii); here: no selection
                return None
            raw, _ = p_oii(z, pdf[rows])
            out |= set(np.asarray(phot["id"])[on][raw > min_p].tolist())
    except Redshift1Error:
        return None
    return out


def completeness_per_field(slits: Table, phot: dict, pdfs: dict, k_range, k_step: float,
                           use_zspec: bool = False) -> Table:
    """Spectroscopic completeness per K bin and field (ROLES eqs. 10-11), from the ROLES targets
    with a good slit.

    Parameters
    ----------
    slits : `~astropy.table.Table`
        Notebook 08's slit summary (``status``, ``is_roles_target``, ``object_id``).
    phot, pdfs : dict
        Per field, the photometric catalogue and ``(z_grid, pdf, ids)`` (:func:`load_fields`).
    k_range : tuple of float
        K limits of the selection.
    k_step : float
        Width of the K bins (mag).
    use_zspec : bool
        Delta functions at public spectroscopic redshifts instead of the PDFs.

    Returns
    -------
    `~astropy.table.Table`
        One row per field and K bin (and each field's ``all`` row), with ``W``.
    """
    good_tgt = np.asarray(slits["status"]) == "ok"
    good_tgt &= np.asarray(slits["is_roles_target"], bool)
    targeted = set(np.asarray(slits["object_id"])[good_tgt].tolist())
    comp = []
    for f in sorted(phot):
        z, pdf, _ = pdfs[f]
        c = completeness(phot[f], z, pdf, targeted, k_range, k_step, use_zspec=use_zspec)
        c.add_column([f] * len(c), name="field", index=0)
        comp.append(c)
    comp = vstack(comp)
    comp.meta["description"] = ("spectroscopic completeness W = N_slit / N_phot per K bin, N = sum over galaxies of "
                                "the photo-z PDF integrated over the [OII] window (ROLES eqs. 10-11)")
    comp.meta["window"] = list(LINE_WINDOWS["OII"])
    comp.meta["use_zspec"] = use_zspec
    return comp


def p_class_counts(poii: Table) -> Table:
    """Detected ROLES targets per field by P([OII]) class (P < 0.1 -> 0, 0.1-0.9, > 0.9 -> 1).

    Parameters
    ----------
    poii : `~astropy.table.Table`
        Notebook 09's per-object table (``roles_poii.ecsv``).

    Returns
    -------
    `~astropy.table.Table`
        Per field: detected, the three P classes, the sum of P and the number of targets.
    """
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


def completeness_of(comp: Table, fld: str, k) -> np.ndarray:
    """Completeness W of galaxies of magnitude ``k`` in field ``fld`` (NaN outside the K bins).

    Parameters
    ----------
    comp : `~astropy.table.Table`
        Notebook 09's completeness table (``roles_completeness.ecsv``).
    fld : str
        Field.
    k : array-like
        K magnitudes (AB).

    Returns
    -------
    ndarray
        W of each galaxy's K bin (bins are ``K_lo < K <= K_hi``).
    """
    c = comp[(np.asarray(comp["field"]) == fld) & (np.asarray(comp["bin"]) != "all")]
    lo, hi, w = (np.asarray(c[n], float) for n in ("K_lo", "K_hi", "W"))
    k = np.asarray(k, float)
    out = np.full(k.shape, np.nan)
    for a, b, ww in zip(lo, hi, w):
        out[(k > a) & (k <= b)] = ww
    return out


def sample_status(z, flux, flux_limit, k, k_range, p_oii=None, vmax=None, completeness=None) -> np.ndarray:
    """The ROLES sample selection of detected galaxies: each one's :data:`SAMPLE_STATUS`.

    The cuts apply in order (a galaxy gets the first it fails): [OII] window, flux limit,
    K range, then -- when given -- P([OII]) > 0, V_max > 0 and a completeness > 0. Notebook
    10 (:func:`lf_galaxies`) and the explorer (:mod:`redshift1.explore.roles`) both select
    with this function.

    Parameters
    ----------
    z : array-like
        Redshift if the line is [OII].
    flux, flux_limit : array-like
        Line flux and the adopted flux limit at the line's wavelength (same unit; NaN fails).
    k : array-like
        K magnitude (AB).
    k_range : tuple of float
        ``(bright, faint)``: in range when ``bright < K <= faint``.
    p_oii, vmax, completeness : array-like, optional
        P([OII]), V_max and W; a cut is skipped when its quantity is None.

    Returns
    -------
    ndarray of str
        ``in_sample`` or the name of the first cut failed.
    """
    z, flux, flux_limit, k = (np.asarray(a, float) for a in (z, flux, flux_limit, k))
    zwin = LINE_WINDOWS["OII"]
    status = np.array(["in_sample"] * len(z), dtype="U24")
    status[~((z >= zwin[0]) & (z <= zwin[1]))] = "outside_window"
    status[(status == "in_sample") & ~(flux >= flux_limit)] = "below_flux_limit"
    status[(status == "in_sample") & ~((k > k_range[0]) & (k <= k_range[1]))] = "outside_k_range"
    if p_oii is not None:       # a NaN P([OII]) is not a zero one
        status[(status == "in_sample") & (np.asarray(p_oii, float) <= 0)] = "p_oii_zero"
    for name, value in (("vmax_zero", vmax), ("no_completeness", completeness)):
        if value is not None:   # NaN fails these: no volume, no completeness
            status[(status == "in_sample") & ~(np.asarray(value, float) > 0)] = name
    return status


def lf_galaxies(poii: Table, comp: Table, area: dict, lim_wave, lim_flux, k_range, kcorr: bool, zg, dzg) -> Table:
    """Notebook 10's sample: the detected galaxies with L([OII]), SFR (eq. 9), M* at z([OII]),
    V_max (K limit and the wavelength-dependent [OII] limit), completeness and ``status``
    (:func:`sample_status`).

    Parameters
    ----------
    poii : `~astropy.table.Table`
        Notebook 09's per-object table (only ``status == "detected"`` rows are used).
    comp : `~astropy.table.Table`
        Notebook 09's completeness table.
    area : dict of str to float
        Field area (arcmin²).
    lim_wave, lim_flux : ndarray
        The adopted flux-limit curve: wavelength (Å) and flux (erg/s/cm²).
    k_range : tuple of float
        K limits.
    kcorr : bool
        Differential K-band k-correction in V_max.
    zg, dzg : ndarray
        Redshift grid of the [OII] window and its steps (:func:`redshift1.science.vmax.z_grid`).

    Returns
    -------
    `~astropy.table.Table`
        ``roles_galaxies.ecsv`` (without its ``flux_limit_mask`` and ``limit_nsigma`` metadata).
    """
    g = poii[np.asarray(poii["status"]) == "detected"]
    fields = sorted(area)
    z = np.asarray(g["z_oii"], float)
    flux = np.asarray(g["flux"], float)
    p = np.asarray(g["p_oii"], float)
    kmag = np.asarray(g["K"], float)
    lim_here = np.interp(np.asarray(g["wavelength"], float), lim_wave, lim_flux, left=np.nan, right=np.nan)
    zz = np.where(np.isfinite(z), z, 1.0)
    lum = line_luminosity(np.where(flux > 0, flux, np.nan), zz, ROLES_COSMO).value
    logl = np.log10(lum)
    sfr = sfr_from_oii(lum).value
    logm = mass_at_z(np.asarray(g["logmstar_phot"], float), np.asarray(g["z_phot"], float), zz)
    vis_k = k_visibility(kmag, zz, zg, k_range, ROLES_COSMO, kcorr)
    vis_f = flux_visibility(np.where(np.isfinite(flux), flux, 0.0), zz, zg, lim_wave, lim_flux, ROLES_COSMO)
    vm = np.zeros(len(g))
    W = np.zeros(len(g))
    for f in fields:
        s = np.asarray(g["field"]) == f
        vm[s] = vmax(vis_k[s] & vis_f[s], zg, dzg, area[f])
        W[s] = completeness_of(comp, f, kmag[s])
    status = sample_status(z, flux, lim_here, kmag, k_range, p, vm, W)
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
    return gal


def _columns(gal: Table, in_sample, field: str, *names):
    s = in_sample & (np.asarray(gal["field"]) == field)
    return [np.asarray(gal[n], float)[s] for n in names]


def lf_per_field(gal: Table, fields, lf_edges, fit_range) -> tuple[Table, dict]:
    """The [OII] luminosity function per field (1/V_max, Gehrels errors on effective numbers)
    and its faint-end power-law slope, per field and for both fields.

    Parameters
    ----------
    gal : `~astropy.table.Table`
        :func:`lf_galaxies` (``status == "in_sample"`` rows are used).
    fields : list of str
        Fields, in the order of the table's rows (a field without galaxies gets empty bins).
    lf_edges : array-like
        log L([OII]) bin edges.
    fit_range : tuple of float
        log L range of the faint-end fit.

    Returns
    -------
    lf : `~astropy.table.Table`
        ``roles_lf.ecsv``.
    slopes : dict
        ``{"both_fields" | field: {"alpha", "alpha_err", "log_phi_41", "n_bins"}}``.
    """
    ins = np.asarray(gal["status"]) == "in_sample"
    lfs, slopes = [], {}
    for f in fields:
        logl, p, vm, W = _columns(gal, ins, f, "log_l_oii", "p_oii", "vmax", "completeness")
        t = luminosity_function(logl, p, vm, W, lf_edges)
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
    return lf, slopes


def sfrd_per_mass_bin(gal: Table, fields, mass_bins: dict, comparison: Table | None = None,
                      upper: Table | None = None, upper_field: str = "CDFS") -> Table:
    """SFR density per stellar-mass bin (ROLES eq. 18), nominal and G10-corrected, per field;
    the higher-mass comparison sample; and the §4.2.1 test (``rho_sfr_with_limits``).

    Parameters
    ----------
    gal : `~astropy.table.Table`
        :func:`lf_galaxies`.
    fields : list of str
        Fields, in the order of the table's rows.
    mass_bins : dict of str to list of float
        log M* bin edges per field and ``HIGHMASS``; fields without their own use ``CDFS``'s.
    comparison : `~astropy.table.Table`, optional
        The higher-mass comparison catalogue (rows ``HIGHMASS``).
    upper : `~astropy.table.Table`, optional
        :func:`upper_limits` of ``upper_field`` (None or empty: no §4.2.1 column values).
    upper_field : str
        The field of ``upper``.

    Returns
    -------
    `~astropy.table.Table`
        ``roles_sfrd.ecsv``.
    """
    ins = np.asarray(gal["status"]) == "in_sample"
    sfr = np.asarray(gal["sfr_oii"], float)
    logm_all = np.asarray(gal["logmstar"], float)
    tabs = []
    for kind, sfr_k in (("nominal", sfr), ("g10", sfr / g10_correction(logm_all))):
        for f in fields:
            s = ins & (np.asarray(gal["field"]) == f)
            logm, p, vm, W = _columns(gal, ins, f, "logmstar", "p_oii", "vmax", "completeness")
            t = sfrd_table(f, logm, sfr_k[s], p, vm, W, mass_bins.get(f, mass_bins["CDFS"]))
            t["sfr_estimator"] = kind
            tabs.append(t)
    if comparison is not None:
        for kind, g10 in (("nominal", False), ("g10", True)):
            t = comparison_sfrd(comparison, mass_bins["HIGHMASS"], g10=g10, name="HIGHMASS")
            t["sfr_estimator"] = kind
            tabs.append(t)
    sfrd = vstack(tabs)
    sfrd["rho_sfr_with_limits"] = np.nan * RHO_UNIT
    if upper is not None and len(upper):
        f = upper_field
        um = np.asarray(upper["status"]) == "in_sample"
        own = _columns(gal, ins, f, "logmstar", "sfr_oii", "p_oii", "vmax", "completeness")
        add = [np.asarray(upper[n], float)[um] for n in ("logmstar", "sfr_oii", "p_oii", "vmax", "completeness")]
        lm, sf, pp, vv, ww = (np.concatenate([a, b]) for a, b in zip(own, add))
        t = sfrd_table(f, lm, sf, pp, vv, ww, mass_bins.get(f, mass_bins["CDFS"]))
        sel = (np.asarray(sfrd["field"]) == f) & (np.asarray(sfrd["sfr_estimator"]) == "nominal")
        sfrd["rho_sfr_with_limits"][np.flatnonzero(sel)] = np.asarray(t["rho_sfr"], float)
    sfrd.meta["description"] = ("SFR density per stellar-mass bin (ROLES eq. 18): nominal [OII] SFR (eq. 9) and "
                                "G10-corrected; HIGHMASS = the higher-mass comparison sample; "
                                "rho_sfr_with_limits: with 4-sigma upper limits of undetected targets added (§4.2.1)")
    return sfrd


def table2(sfrd: Table) -> Table:
    """ROLES Table 2 rebuilt: the nominal rows of :func:`sfrd_per_mass_bin` (``table2_sfrd.ecsv``).

    Parameters
    ----------
    sfrd : `~astropy.table.Table`
        :func:`sfrd_per_mass_bin`.

    Returns
    -------
    `~astropy.table.Table`
        The Table 2 columns, with the cosmology and IMF in its metadata.
    """
    t = sfrd[np.asarray(sfrd["sfr_estimator"]) == "nominal"][list(TABLE2_COLUMNS)]
    t.meta = {"description": "ROLES Table 2 rebuilt: nominal [OII] SFR density per stellar-mass bin and field "
                             "(rho in Msun/yr/Mpc3/dex; lo/hi = 1-sigma Gehrels limits on effective numbers)",
              "cosmology": "h=0.7, Om=0.3, OL=0.7", "imf": "BG03 (as the masses)",
              "highmass": "HIGHMASS = the higher-mass comparison sample (comparison/highmass_z1.ecsv)"}
    return t


def upper_limits(poii, products, fld, nsigma, zg, dzg, area, comp, k_range, kcorr, lim_wave, lim_flux):
    """§4.2.1: 4-sigma [OII] upper limits of the undetected targets of one field.

    Objects whose secure public redshift is outside the window are left out; the weight is
    the clamped probability that the galaxy lies in the [OII] window (∫_[OII] p(z) dz: no
    line was seen, so the ratio to the other line windows does not apply); the redshift is the PDF peak inside the [OII] window
    (approximated by the photo-z when it lies inside, else the nearest window edge); the
    limit is ``nsigma`` x the 5x5-box flux error of the object's (deepest) slit there.

    Parameters
    ----------
    poii : `~astropy.table.Table`
        Notebook 09's per-object table (``status == "no_line"`` rows of field ``fld`` are used).
    products : path-like
        Products folder holding ``ldss3_slit_summary.ecsv`` and ``ldss3_slit_noise.fits``.
    fld : str
        The field.
    nsigma : float
        The limit in units of the box flux error.
    zg, dzg : ndarray
        Redshift grid of the [OII] window and its steps.
    area : dict of str to float
        Field areas (arcmin²).
    comp : `~astropy.table.Table`
        Notebook 09's completeness table.
    k_range : tuple of float
        K limits.
    kcorr : bool
        Differential K-band k-correction in V_max.
    lim_wave, lim_flux : ndarray
        The adopted flux-limit curve (Å, erg/s/cm²).

    Returns
    -------
    `~astropy.table.Table` or None
        ``roles_upper_limits.ecsv`` (empty without undetected targets); None when notebook
        08's noise products are absent.
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
    W = completeness_of(comp, fld, kmag)
    status[(status == "in_sample") & ~(vm > 0)] = "vmax_zero"
    status[(status == "in_sample") & ~(W > 0)] = "no_completeness"
    t = Table({"id": u_["id"], "field": u_["field"], "K": u_["K"], "z": z, "p_oii": p,
               "flux_limit": lim * u.erg / u.s / u.cm**2, "sfr_oii": sfr * u.Msun / u.yr,
               "logmstar": logm * u.dex(u.Msun), "vmax": vm * u.Mpc**3, "completeness": W, "status": status})
    t.meta["description"] = (f"§4.2.1 test: {nsigma:g}-sigma [OII] upper limits of undetected {fld} targets at the "
                             "photo-z (clipped to the window)")
    return t


def table2_vs_paper(table2: Table) -> Table:
    """The rebuilt Table 2 beside ROLES' own (paper numbers as comparison columns only).

    Parameters
    ----------
    table2 : `~astropy.table.Table`
        :func:`table2` (``table2_sfrd.ecsv``).

    Returns
    -------
    `~astropy.table.Table`
        ``roles_table2_vs_paper.ecsv``: ``table2`` plus the ``paper_*`` columns (NaN, or -1
        for ``paper_n_gal``, where the paper has no such bin).
    """
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
