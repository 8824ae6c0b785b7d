"""The LDSS3 data contract's schemas (``docs/data-format.md``, section LDSS3): the input tables'
columns, the raw frames' header keywords, and the optional header numbers with their defaults.

:mod:`redshift1.ldss3.survey_files` reads a survey folder against these;
``scripts/update_contract.py`` writes them into ``docs/data-format.md``.
"""
from __future__ import annotations

import numpy as np
import astropy.units as u
from astropy.table import Table

from .. import constants as C
from ..schema import Col, Key, TableSchema

__all__ = ["DESIGN", "PHOTOMETRY", "COMPARISON", "STANDARD_SPECTRUM", "SCHEMAS", "KEYWORDS", "OBSTYPES",
           "DESIGN_COLUMNS", "PHOTOMETRY_COLUMNS", "COMPARISON_COLUMNS", "RAW_KEYWORDS", "required_keywords",
           "header_number", "slit_length_px"]

_PIX = "pix"
#: ``masks/<mask>/design.ecsv`` (docs/data-format.md §4)
DESIGN = TableSchema("ldss3/masks/<mask>/design.ecsv", "mask design table", id_column="slit_id",
                     row_label="slit(s)", frame=True, columns=(
    Col("slit_id", meaning="1 … N, unique within the mask"),
    Col("object_id", meaning="catalogue id of the object in the slit (`id` in the photometry)"),
    Col("field", meaning="`CDFS` or `FIRES`"),
    Col("ra", "deg", kind="number", meaning="object position"),
    Col("dec", "deg", kind="number", meaning="object position"),
    Col("K", "mag", kind="number", meaning="catalogue K (AB)"),
    Col("tier", required=False, kind="number", meaning="0-based tier of the slit along x"),
    Col("slot_row", required=False, kind="number", meaning="0-based slot of the slit along y"),
    Col("x_lo", _PIX, kind="number", finite=True, meaning="first column of the slit's spectrum (its tier)"),
    Col("x_hi", _PIX, kind="number", finite=True, meaning="end of the columns `[x_lo, x_hi)`"),
    Col("x_ref", _PIX, kind="number", finite=True, meaning="column where λ = `lambda_ref` at zero flexure"),
    Col("lambda_ref", "Angstrom", kind="number", finite=True, meaning="reference wavelength (vacuum; 7525 Å)"),
    Col("dispersion", "Angstrom / pix", kind="number", finite=True, meaning="linear dispersion of this slit"),
    Col("a_row_lo", _PIX, kind="number", finite=True, meaning="region A rows `[lo, hi)` (16 rows under the slit)"),
    Col("a_row_hi", _PIX, kind="number", finite=True, meaning="end of region A"),
    Col("b_row_lo", _PIX, kind="number", finite=True, meaning="region B rows = region A + `SHUFFLE`"),
    Col("b_row_hi", _PIX, kind="number", finite=True, meaning="end of region B"),
    Col("slit_center_row", _PIX, required=False, kind="number",
        meaning="row of the slit centre in region A (`a_row_lo + 7.5`)"),
    Col("nod_a_row", _PIX, kind="number", finite=True, meaning="nominal object row at nod A (a region-A row)"),
    Col("nod_b_row", _PIX, kind="number", finite=True, meaning="nominal object row at nod B (`nod_a_row + NODPIX`)"),
    Col("is_roles_target", kind="bool", finite=True,
        meaning="a ROLES target: 22.5 < K < 24 selected by the photo-z weighting"),
    Col("is_repeat", kind="bool", finite=True, meaning="the object has slits on more than one mask"),
    Col("is_filler", kind="bool", finite=True, meaning="a filler from another programme (K outside 22.5–24)"),
    Col("is_standard_slit", kind="bool", finite=True, meaning="the flux standard was observed through this slit (§5)"),
))

#: ``photometry/<FIELD>_photometry.ecsv`` (§6)
PHOTOMETRY = TableSchema("ldss3/photometry/<FIELD>_photometry.ecsv", "photometric catalogue",
                         id_column="id", row_label="object(s)", columns=(
    Col("id", meaning="`<FIELD>-NNNNN`"),
    Col("field", meaning="`CDFS` or `FIRES`"),
    Col("pointing", required=False, meaning="nearest LDSS3 pointing (`CDFS.1`, `CDFS.2`, `FIRES`)"),
    Col("ra", "deg", kind="number", finite=True, meaning="position"),
    Col("dec", "deg", kind="number", finite=True, meaning="position"),
    Col("K", "mag", kind="number", finite=True, meaning="total K (AB)"),
    Col("K_err", "mag", kind="number", meaning="its 1σ error"),
    Col("logmstar", "dex(solMass)", kind="number",
        meaning="SED-fit stellar mass **at `z_phot`** (BG03 IMF); at another redshift, to first order "
                "`logM(z) = logmstar + 2 log10(d_L(z)/d_L(z_phot))`"),
    Col("logmstar_err", "dex", required=False, kind="number", meaning="its error"),
    Col("z_phot", kind="number", meaning="photometric redshift (PDF peak)"),
    Col("z_phot_lo", required=False, kind="number", meaning="16th percentile of the PDF"),
    Col("z_phot_hi", required=False, kind="number", meaning="84th percentile of the PDF"),
    Col("z_spec_public", required=False, kind="number", meaning="secure public spectroscopic redshift, NaN if none"),
    Col("pdf_row", meaning="row of this galaxy in the PDF file (integer ≥ 0)"),
))

#: ``comparison/highmass_z1.ecsv`` (§7)
COMPARISON = TableSchema("ldss3/comparison/highmass_z1.ecsv", "comparison catalogue", id_column="id",
                         row_label="object(s)", meta=("survey_area_arcmin2",), columns=(
    Col("id", meaning="`HM-NNNN`"),
    Col("z", kind="number", finite=True, meaning="spectroscopic redshift"),
    Col("K", "mag", required=False, kind="number", meaning="K (AB)"),
    Col("logmstar", "dex(solMass)", kind="number", finite=True, meaning="SED stellar mass (BG03 IMF) at `z`"),
    Col("logmstar_err", "dex", required=False, kind="number", meaning="its error"),
    Col("f_OII", "erg / (s cm2)", kind="number", finite=True, meaning="measured [OII]3727 flux (may be ≤ 0)"),
    Col("f_OII_err", "erg / (s cm2)", kind="number", finite=True, meaning="its 1σ error"),
    Col("L_OII", "erg / s", kind="number", finite=True,
        meaning="luminosity from `f_OII` (0 where `f_OII ≤ 0`), ROLES cosmology"),
    Col("L_OII_err", "erg / s", required=False, kind="number", meaning="its 1σ error"),
    Col("detected", required=False, kind="bool", meaning="`f_OII > 4 f_OII_err`"),
    Col("weight", kind="number", finite=True,
        meaning="1 / sampling probability (footprint × colour sampling × redshift success)"),
))

#: ``calib/standard/<STDNAME>_spectrum.ecsv`` (§5)
STANDARD_SPECTRUM = TableSchema("ldss3/calib/standard/<STDNAME>_spectrum.ecsv", "standard-star spectrum",
                                frame=True, wavelength="wavelength", columns=(
    Col("wavelength", "Angstrom", kind="number", finite=True, meaning="vacuum wavelength, increasing"),
    Col("flux", "erg / (Angstrom s cm2)", kind="number", finite=True,
        meaning="the star above the atmosphere, smooth (no telluric features); a flux density per "
                "frequency (e.g. Jy) is converted"),
))

#: every LDSS3 input table, by its path in a survey folder
SCHEMAS = {s.path: s for s in (DESIGN, PHOTOMETRY, COMPARISON, STANDARD_SPECTRUM)}

#: columns every mask design table must have
DESIGN_COLUMNS = DESIGN.required
#: columns every photometric catalogue must have
PHOTOMETRY_COLUMNS = PHOTOMETRY.required
#: columns of the higher-mass comparison sample
COMPARISON_COLUMNS = COMPARISON.required
#: the kinds of N&S frame (``OBSTYPE``)
OBSTYPES = ("SCIENCE", "DARK", "STANDARD")
_ALL = OBSTYPES
_LIT = ("SCIENCE", "STANDARD")         # frames taken with the shutter open: a dark has no airmass
#: the header keywords of raw frames, darks and standards (docs/data-format.md §3)
KEYWORDS = (
    Key(("TELESCOP", "INSTRUME"), "str", "`'Magellan II (Clay)'`, `'LDSS3'`"),
    Key(("OBSTYPE",), "str", "`SCIENCE`, `DARK` or `STANDARD`", _ALL),
    Key(("OBJECT",), "str", "mask name, `N&S dark`, or the standard star"),
    Key(("MASKNAME",), "str", "the mask (`none` for darks); must match the folder", _ALL),
    Key(("FIELD", "POINTING"), "str", "`CDFS`/`FIRES`; `CDFS.1`, `CDFS.2` or `FIRES` (ROLES Table 1)"),
    Key(("RA", "DEC"), "deg", "pointing centre (ICRS); science frames only"),
    Key(("EXPNUM",), "int", "exposure number within the mask sequence (1, 2, …)"),
    Key(("DATE-OBS",), "ISO UTC", "start of the exposure", _ALL),
    Key(("AIRMASS",), "float", "mean airmass, 1–10 (darks: not required and not read; a dark has no airmass)",
        _LIT),
    Key(("EXPTIME",), "s", "total shutter-open time = 2 × `NODTIME` (2400 s for ROLES; 0 for darks)", _ALL),
    Key(("NODTIME",), "s", "shutter-open time per nod position = `NCYCLES × TCYCLE` (1200 s; 0 for darks)", _ALL),
    Key(("DARKTIME",), "s", "erase to read-out"),
    Key(("NCYCLES",), "int", "N&S cycles (20)", _ALL),
    Key(("TCYCLE",), "s", "exposure per nod position per cycle (60 s)"),
    Key(("NODPIX",), "pix", "nod A → B along the slit, +y (6); smaller than `SHUFFLE`", _ALL),
    Key(("NODARCS",), "arcsec", "nod A → B (1.2)"),
    Key(("SHUFFLE",), "pix", "charge shuffle; region B = region A + `SHUFFLE` rows (16)", _ALL),
    Key(("GAIN",), "e⁻/ADU", "1.0: pixels are electrons", _ALL),
    Key(("RDNOISE",), "e⁻", "read noise per pixel per read-out (3.4)", _ALL),
    Key(("BUNIT",), "str", "`electron`"),
    Key(("FILTER",), "str", "`KG750` (half maxima 7040 and 8010 Å)", _ALL),
    Key(("GRISM",), "str", "`MED-RED` (300 l/mm)"),
    Key(("DISPAXIS",), "int", "1: dispersion along x, wavelength increasing"),
    Key(("DISPERS",), "Å/pix", "nominal dispersion (2.7); per-slit values are in the design"),
    Key(("SPECRES",), "Å", "resolution FWHM (11.4)"),
    Key(("PIXSCALE",), "arcsec/pix", "spatial scale (0.189)"),
    Key(("SLITWID", "SLITLEN"), "arcsec", "slit width (0.8) and length (3.0)"),
    Key(("AIRORVAC",), "str", "`vac` (air wavelengths are an error)", _ALL),
    Key(("PIXORIG",), "int", "0: design-table pixel indices are 0-based"),
    Key(("NTIERS", "TIERWID", "NSLOTROW"), "int, pix, int", "geometry of §2"),
    Key(("STDNAME",), "str", "the flux standard (e.g. `LTT3864`); names `<STDNAME>_spectrum.ecsv`", ("STANDARD",)),
    Key(("STDSLIT",), "int", "`slit_id` of the design row the star was observed through", ("STANDARD",)),
)


def required_keywords(obstype: str | None) -> tuple[str, ...]:
    """The keywords a frame of this ``OBSTYPE`` must carry.

    Parameters
    ----------
    obstype : str or None
        ``SCIENCE``, ``DARK`` or ``STANDARD``; None: those every frame must carry.

    Returns
    -------
    tuple of str
    """
    kinds = OBSTYPES if obstype not in OBSTYPES else (obstype,)
    return tuple(n for k in KEYWORDS if k.required_for and all(x in k.required_for for x in kinds) for n in k.names)


#: header keywords every raw N&S frame (science, dark, standard) must carry
RAW_KEYWORDS = required_keywords(None)


def header_number(header, key: str, default: float) -> float:
    """An optional (not ●) positive header number of the data contract.

    Parameters
    ----------
    header : `~astropy.io.fits.Header` or mapping
        The frame's header.
    key : str
        Keyword, e.g. ``"SPECRES"``, ``"PIXSCALE"``, ``"SLITWID"``.
    default : float
        Value used when the keyword is absent, not a number, not finite or not positive.

    Returns
    -------
    float
        The keyword's value, else ``default``.
    """
    try:
        v = float(header.get(key, default))
    except (TypeError, ValueError):
        return float(default)
    return v if np.isfinite(v) and v > 0 else float(default)


def slit_length_px(header, design: Table, pixscale_default: float | None = None) -> float:
    """Slit length in detector pixels: ``SLITLEN`` (else the design's ``slit_length_arcsec``,
    else 3 arcsec) over ``PIXSCALE`` (else ``pixscale_default``).

    Parameters
    ----------
    header : `~astropy.io.fits.Header` or mapping
        A raw frame's header.
    design : `~astropy.table.Table`
        The mask design (:func:`~redshift1.ldss3.survey_files.read_design`).
    pixscale_default : float, optional
        Arcsec per pixel when the header has no usable ``PIXSCALE``; default LDSS3's
        (:data:`redshift1.constants.LDSS3_PIXSCALE`).

    Returns
    -------
    float
        Slit length (pixels).
    """
    try:
        length_default = float(design.meta.get("slit_length_arcsec", 3.0))
    except (TypeError, ValueError):
        length_default = 3.0
    if pixscale_default is None:
        pixscale_default = C.LDSS3_PIXSCALE.to_value(u.arcsec)
    scale = header_number(header, "PIXSCALE", pixscale_default)
    length = header_number(header, "SLITLEN", length_default)
    return length / scale
