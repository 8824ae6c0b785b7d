"""The tables the mock writes from its catalogues: the public photometric catalogue, the
photo-z PDF file, and the truth table of every photometric galaxy."""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table, vstack

from .fields import CONTRACT_VERSION, K_CATALOGUE_LIMIT, K_RANGE, ZGRID, FieldSpec
from .survey import Survey

PHOT_COLUMNS = ("id", "field", "pointing", "ra", "dec", "K", "K_err", "logmstar", "logmstar_err",
                "z_phot", "z_phot_lo", "z_phot_hi", "z_spec_public", "pdf_row")


def photometry_table(t: Table, spec: FieldSpec) -> Table:
    """The public K-selected photometric catalogue of one field (data contract, section LDSS3).

    Parameters
    ----------
    t : astropy.table.Table
        The field's catalogue with truth (from :func:`~.survey.build_survey`).
    spec : FieldSpec
        The field.

    Returns
    -------
    astropy.table.Table
        The columns of :data:`PHOT_COLUMNS`, rounded as written, with units and metadata.
    """
    out = Table()
    out["id"] = t["id"]
    out["field"] = t["field"]
    out["pointing"] = t["pointing"]
    out["ra"] = np.round(np.asarray(t["ra"]), 6) * u.deg
    out["dec"] = np.round(np.asarray(t["dec"]), 6) * u.deg
    out["K"] = np.round(np.asarray(t["K"]), 3) * u.mag
    out["K_err"] = np.round(np.asarray(t["K_err"]), 3) * u.mag
    out["logmstar"] = np.round(np.asarray(t["logmstar"]), 3) * u.dex(u.Msun)
    out["logmstar_err"] = np.full(len(t), 0.1) * u.dex
    out["z_phot"] = np.round(np.asarray(t["z_phot"]), 4)
    out["z_phot_lo"] = np.round(np.asarray(t["z_phot_lo"]), 4)
    out["z_phot_hi"] = np.round(np.asarray(t["z_phot_hi"]), 4)
    out["z_spec_public"] = t["z_spec_public"]
    out["pdf_row"] = np.arange(len(t))
    out.meta.update({
        "description": f"K-selected photometric catalogue of the ROLES {spec.name} field (mock), K_AB < "
                       f"{K_CATALOGUE_LIMIT}",
        "contract": f"redshift1 LDSS3 data contract {CONTRACT_VERSION} (docs/data-format.md, section LDSS3)",
        "field": spec.name,
        "area_arcmin2": spec.area_arcmin2,
        "pointings": {k: list(v) for k, v in spec.pointings.items()},
        "magnitudes": "AB, total",
        "K_selection_roles": list(K_RANGE),
        "logmstar": "SED-fit stellar mass at z_phot (BG03 IMF); to first order it scales with the "
                    "luminosity distance: logM(z) = logmstar + 2 log10(d_L(z) / d_L(z_phot))",
        "z_phot_lo_hi": "16th and 84th percentiles of the PDF",
        "z_spec_public": "secure public spectroscopic redshift, NaN if none",
        "pdf": f"photometric-redshift PDFs in {spec.name}_photoz_pdf.fits, row pdf_row",
    })
    return out


def pdf_hdul(t: Table, pdf: np.ndarray, spec: FieldSpec) -> fits.HDUList:
    """The photometric-redshift PDF file of one field: ZGRID, PDF (one row per galaxy) and IDS.

    Parameters
    ----------
    t : astropy.table.Table
        The field's catalogue (row order = PDF row order).
    pdf : numpy.ndarray
        PDFs on :data:`ZGRID`, shape (len(t), len(ZGRID)).
    spec : FieldSpec
        The field.

    Returns
    -------
    astropy.io.fits.HDUList
    """
    h = fits.Header()
    h["FIELD"] = spec.name
    h["CONTRACT"] = CONTRACT_VERSION
    h["COMMENT"] = "Photometric-redshift PDFs: PDF[i, j] = p(z_j) of catalogue row pdf_row = i"
    prim = fits.PrimaryHDU(header=h)
    zh = fits.ImageHDU(ZGRID.astype(np.float64), name="ZGRID")
    zh.header["BUNIT"] = ("", "redshift")
    ph = fits.ImageHDU(pdf, name="PDF")
    ph.header["BUNIT"] = ("", "probability density per unit z")
    ph.header["NORM"] = ("sum(PDF[i]) * DZ = 1", "normalisation")
    ph.header["DZ"] = (float(ZGRID[1] - ZGRID[0]), "grid step")
    ids = fits.BinTableHDU(Table({"id": np.asarray(t["id"]).astype("U16"), "pdf_row": np.arange(len(t))}), name="IDS")
    return fits.HDUList([prim, zh, ph, ids])


TRUTH_GAL_COLUMNS = ("id", "field", "pointing", "ra", "dec", "z_true", "logm_true", "sfr_true", "log_delta",
                     "quenched", "is_cluster", "av", "oh", "K_true", "K", "m7500", "fwhm_int", "sigma_kms",
                     "z_phot", "photz_kind", "_pwin", "logmstar", "roles_target", "n_masks", "masks", "_injected")


def truth_galaxy_table(sv: Survey) -> Table:
    """Truth of every photometric galaxy of the survey (all fields stacked).

    Parameters
    ----------
    sv : Survey
        The built survey.

    Returns
    -------
    astropy.table.Table
        :data:`TRUTH_GAL_COLUMNS` plus every line flux ``f_*``, with units.
    """
    tabs = []
    for f, t in sv.cats.items():
        cols = list(TRUTH_GAL_COLUMNS) + [c for c in t.colnames if c.startswith("f_")]
        tt = t[cols].copy()
        tt.rename_column("_pwin", "p_window_photoz")
        tt.rename_column("_injected", "injected")
        tabs.append(tt)
    out = vstack(tabs, metadata_conflicts="silent")
    units = {"ra": u.deg, "dec": u.deg, "sfr_true": u.Msun / u.yr, "av": u.mag, "K_true": u.mag, "K": u.mag,
             "m7500": u.mag, "fwhm_int": u.arcsec, "sigma_kms": u.km / u.s, "log_delta": u.dex,
             "logm_true": u.dex(u.Msun), "logmstar": u.dex(u.Msun)}
    for c, un in units.items():
        out[c].unit = un
    for c in out.colnames:
        if c.startswith("f_"):
            out[c].unit = u.erg / u.s / u.cm**2
    out.meta = {"description": "ROLES mock truth: every photometric galaxy",
                "units": "sfr_true Msun/yr (BG03/Chabrier-like, as the Relations main sequence); f_* erg/s/cm2 "
                         "(f_OII_3727 = doublet total); fwhm_int arcsec; sigma_kms km/s; av mag",
                "p_window_photoz": "integral of the photo-z PDF over the [OII] window (used for targeting)"}
    return out
