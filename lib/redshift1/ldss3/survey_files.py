"""Readers for LDSS3 nod-and-shuffle data laid out as in ``docs/data-format.md, section LDSS3``.

Everything the ROLES pipeline reads from a survey folder goes through these functions,
which check the data contract and raise :class:`~redshift1.errors.DataFormatError`
(a file breaks the contract) or :class:`~redshift1.errors.MissingInputError` (a file is
absent), always naming the file. They assume nothing the contract does not say, so a
folder of real LDSS3 data converted to the contract reads the same way as the mock.

Layout (relative to the ``ldss3`` folder)::

    manifest.json
    photometry/<FIELD>_photometry.ecsv, photometry/<FIELD>_photoz_pdf.fits
    comparison/highmass_z1.ecsv
    calib/bpm.fits, calib/darks/*.fits, calib/standard/standard_*.fits,
    calib/standard/<STAR>_spectrum.ecsv
    masks/<mask>/design.ecsv, masks/<mask>/raw/<mask>_<NNN>.fits
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..errors import DataFormatError, MissingInputError
from .file_checks import natural_key, need_file, one_line, open_fits_checked, read_checked_table, some_ids
from .survey_schema import (COMPARISON, COMPARISON_COLUMNS, DESIGN, DESIGN_COLUMNS, KEYWORDS, OBSTYPES, PHOTOMETRY,
                            PHOTOMETRY_COLUMNS, RAW_KEYWORDS, SCHEMAS, STANDARD_SPECTRUM, header_number,
                            required_keywords, slit_length_px)

__all__ = [
    "DESIGN", "PHOTOMETRY", "COMPARISON", "STANDARD_SPECTRUM", "SCHEMAS", "KEYWORDS",
    "DESIGN_COLUMNS", "PHOTOMETRY_COLUMNS", "COMPARISON_COLUMNS", "RAW_KEYWORDS",
    "RawFrame", "MaskData", "find_root", "read_manifest", "list_masks", "read_design",
    "read_frame", "read_raw_frames", "read_darks", "read_bpm", "read_mask", "read_photometry",
    "read_photoz_pdf", "read_comparison", "read_standard", "header_number", "slit_length_px", "OBSTYPES",
    "required_keywords",
]



@dataclass
class RawFrame:
    """One N&S exposure: its path, primary header and (optionally) its pixels in electrons.

    Attributes
    ----------
    path : `~pathlib.Path`
        The raw FITS file.
    header : `~astropy.io.fits.Header`
        Its primary header.
    data : numpy.ndarray or None
        The pixels in electrons; None until :meth:`load` reads them.
    """

    path: Path
    header: fits.Header
    data: np.ndarray | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def __getitem__(self, key):
        return self.header[key]

    def load(self) -> np.ndarray:
        if self.data is None:
            self.data = read_frame(self.path).data
        return self.data


@dataclass
class MaskData:
    """Everything needed to reduce one slit mask.

    Attributes
    ----------
    name : str
        The mask's name (its folder name).
    path : `~pathlib.Path`
        The ``masks/<mask>`` folder.
    design : `~astropy.table.Table`
        The mask design, one row per slit.
    frames, darks : list of RawFrame
        The science exposures and the survey's N&S darks.
    bpm : numpy.ndarray or None
        The CCD's bad-pixel mask (bool, True = bad).
    """

    name: str
    path: Path
    design: Table
    frames: list = field(default_factory=list)
    darks: list = field(default_factory=list)
    bpm: np.ndarray | None = None


# --------------------------------------------------------------------------- helpers
def find_root(path) -> Path:
    """The ``ldss3`` folder from itself, a survey folder holding ``ldss3/``, or a mask folder.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    `~pathlib.Path`

    Raises
    ------
    MissingInputError
        No ``ldss3`` folder there.
    """
    p = Path(path)
    for cand in (p, p / "ldss3", p.parent.parent):
        if (cand / "masks").is_dir() or (cand / "manifest.json").is_file():
            return cand
    raise MissingInputError(f"{p}: not an LDSS3 data folder (no masks/ or manifest.json)")


# --------------------------------------------------------------------------- survey level
def read_manifest(root) -> dict:
    """The survey's ``manifest.json`` (what wrote the data, and its files).

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder (or anything :func:`find_root` accepts).

    Returns
    -------
    dict
    """
    root = find_root(root)
    path = need_file(root / "manifest.json", "manifest")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: invalid JSON ({one_line(exc)})") from None


def list_masks(root) -> list[str]:
    """Names of the masks (sub-folders of ``masks/`` holding a ``design.ecsv``), natural order.

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder (or anything :func:`find_root` accepts).

    Returns
    -------
    list of str
    """
    root = find_root(root)
    mdir = need_file(root / "masks", "masks folder")
    return sorted((p.name for p in mdir.iterdir() if (p / "design.ecsv").is_file()), key=natural_key)


#: design columns holding 0-based pixel indices (must be integers), and other numbers the reduction uses
_DESIGN_PIXELS = ("x_lo", "x_hi", "a_row_lo", "a_row_hi", "b_row_lo", "b_row_hi")
_DESIGN_NUMBERS = ("x_ref", "lambda_ref", "dispersion", "nod_a_row", "nod_b_row")
_DESIGN_FLAGS = ("is_roles_target", "is_repeat", "is_filler", "is_standard_slit")


def read_design(mask_dir) -> Table:
    """A mask's design table (``masks/<mask>/design.ecsv``), checked against the contract.

    Raises :class:`DataFormatError` naming the file (and the slit ids at fault) for missing
    columns, no rows, non-unique or non-integer ``slit_id``, missing (masked) or non-finite
    pixel and wavelength-solution values, non-integer pixel indices, empty column or row
    ranges, a non-positive dispersion, non-boolean flags or a malformed ``frame_shape``.
    Whether a slit lies on the detector is *not* checked here (the design does not know
    the frame): :func:`redshift1.ldss3.reduce.reduce_mask` flags such slits ``off_frame``.

    Parameters
    ----------
    mask_dir : path-like
        The ``masks/<mask>`` folder.

    Returns
    -------
    `~astropy.table.Table`
        The design, its metadata (``field``, ``frame_shape``, ...) kept.
    """
    p = Path(mask_dir)
    path = p if p.suffix == ".ecsv" else p / "design.ecsv"
    t = read_checked_table(path, DESIGN)
    if len(t) == 0:
        raise DataFormatError(f"{path}: mask design table has no slits (no rows)")
    if t["slit_id"].dtype.kind not in "iu" or np.ma.is_masked(t["slit_id"]):
        raise DataFormatError(f"{path}: slit_id must be integers (found {t['slit_id'].dtype})")
    if len(set(t["slit_id"])) != len(t):
        raise DataFormatError(f"{path}: slit_id values are not unique")
    sid = np.asarray(t["slit_id"])
    for c in _DESIGN_PIXELS + _DESIGN_NUMBERS + _DESIGN_FLAGS:
        col = t[c]
        kinds = "biu" if c in _DESIGN_FLAGS else "iuf"
        if col.dtype.kind not in kinds:
            raise DataFormatError(f"{path}: column {c} holds {col.dtype} values, not "
                                  f"{'booleans' if c in _DESIGN_FLAGS else 'numbers'}")
        missing = np.ma.getmaskarray(col)
        if missing.any():
            raise DataFormatError(f"{path}: column {c} has no value for slit(s) {some_ids(sid[missing])}")
        v = np.asarray(col, float)
        if c in _DESIGN_FLAGS:
            bad = ~np.isin(v, (0.0, 1.0))
        elif c in _DESIGN_PIXELS:
            bad = ~np.isfinite(v) | (v != np.round(v))
        else:
            bad = ~np.isfinite(v)
        if bad.any():
            what = ("not 0/1" if c in _DESIGN_FLAGS
                    else "not a finite integer" if c in _DESIGN_PIXELS else "not finite")
            raise DataFormatError(f"{path}: column {c} is {what} for slit(s) {some_ids(sid[bad])}")
    for lo, hi in (("x_lo", "x_hi"), ("a_row_lo", "a_row_hi"), ("b_row_lo", "b_row_hi")):
        bad = np.asarray(t[hi], float) <= np.asarray(t[lo], float)
        if bad.any():
            raise DataFormatError(f"{path}: {hi} <= {lo} (empty range) for slit(s) {some_ids(sid[bad])}")
    bad = np.asarray(t["dispersion"], float) <= 0
    if bad.any():
        raise DataFormatError(f"{path}: dispersion <= 0 for slit(s) {some_ids(sid[bad])}")
    fs = t.meta.get("frame_shape")
    if fs is not None:
        try:
            ok = len(fs) == 2 and all(int(v) == v and int(v) > 0 for v in fs)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise DataFormatError(f"{path}: meta frame_shape = {fs!r} is not [NAXIS2, NAXIS1]")
    return t


def read_frame(path, load_data: bool = True, keywords=RAW_KEYWORDS) -> RawFrame:
    """One raw N&S frame: float pixels in electrons in the primary HDU plus its header.

    Parameters
    ----------
    path : path-like
        The FITS file.
    load_data : bool
        Read the pixels (False: the header only).
    keywords : tuple of str
        Keywords the header must carry (:func:`required_keywords`).

    Returns
    -------
    RawFrame
    """
    path = Path(path)
    if not load_data:
        need_file(path, "raw frame")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                header = fits.getheader(path, 0)
        except Exception as exc:  # noqa: BLE001
            raise DataFormatError(f"{path}: unreadable FITS header ({one_line(exc)})") from None
        bad = [" ".join(str(w.message).split()) for w in caught if "truncat" in str(w.message).lower()]
        if bad:
            raise DataFormatError(f"{path}: damaged FITS file ({bad[0]})")
        data = None
    else:
        with open_fits_checked(path) as hdul:
            header = hdul[0].header.copy()
            data = hdul[0].data
            if data is None or data.ndim != 2:
                raise DataFormatError(f"{path}: primary HDU holds no 2-D image")
            data = np.asarray(data, dtype=np.float32)
    _check_header(path, header, keywords)
    return RawFrame(path, header, data)


def _header_value(path, header, key):
    try:
        return header[key]
    except Exception as exc:  # noqa: BLE001 - an unparsable card (astropy VerifyError) is a contract breach
        raise DataFormatError(f"{path}: header keyword {key} is unreadable ({one_line(exc)})") from None


def _check_header(path, header, keywords) -> None:
    """The ● keywords of the contract: present, of the right type, with sensible values."""
    obstype = _header_value(path, header, "OBSTYPE") if "OBSTYPE" in header else None
    obstype = obstype.strip().upper() if isinstance(obstype, str) else None   # which keywords it needs
    keywords = tuple(dict.fromkeys(tuple(keywords) + required_keywords(obstype)))
    missing = [k for k in keywords if k not in header]
    if missing:
        raise DataFormatError(f"{path}: header lacks keyword(s) {', '.join(missing)}")
    v = {k: _header_value(path, header, k) for k in keywords}

    def number(key, integer=False, lo=None, hi=None, lo_open=False):
        if key not in v:
            return None
        x = v[key]
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not np.isfinite(x) \
                or (integer and float(x) != int(x)):
            raise DataFormatError(f"{path}: {key}={x!r} is not a finite {'integer' if integer else 'number'}")
        if (lo is not None and (x <= lo if lo_open else x < lo)) or (hi is not None and x > hi):
            rng = f"{'>' if lo_open else '>='} {lo}" if hi is None else f"in [{lo}, {hi}]"
            raise DataFormatError(f"{path}: {key}={x!r} is out of range (must be {rng})")
        return int(x) if integer else float(x)

    for k in ("OBSTYPE", "MASKNAME", "FILTER", "AIRORVAC", "DATE-OBS"):
        if k in v and not isinstance(v[k], str):
            raise DataFormatError(f"{path}: {k}={v[k]!r} is not a string")
    if "AIRORVAC" in v and v["AIRORVAC"].strip().lower() != "vac":
        raise DataFormatError(f"{path}: AIRORVAC={v['AIRORVAC']!r}, the contract requires 'vac'")
    kind = v.get("OBSTYPE", "").strip().upper()
    if "OBSTYPE" in v and kind not in ("SCIENCE", "DARK", "STANDARD"):
        raise DataFormatError(f"{path}: OBSTYPE={v['OBSTYPE']!r} is not SCIENCE, DARK or STANDARD")
    if "GAIN" in v and number("GAIN") != 1.0:
        raise DataFormatError(f"{path}: GAIN={v['GAIN']}, frames must be in electrons (GAIN = 1)")
    shut = kind != "DARK"                       # darks have EXPTIME = NODTIME = 0
    number("EXPTIME", lo=0, lo_open=shut)
    number("NODTIME", lo=0, lo_open=shut)
    number("AIRMASS", lo=1.0, hi=10.0)
    number("RDNOISE", lo=0)
    number("NCYCLES", integer=True, lo=1)
    ny = header.get("NAXIS2", 0) if header.get("NAXIS", 0) == 2 else 0
    shuffle = number("SHUFFLE", integer=True, lo=1, hi=max(int(ny) - 1, 1) if ny else None)
    nod = number("NODPIX", integer=True, lo=1)
    if shuffle is not None and nod is not None and nod >= shuffle:
        raise DataFormatError(f"{path}: NODPIX={nod} is not smaller than SHUFFLE={shuffle}")


def read_raw_frames(mask_dir, load_data: bool = True) -> list[RawFrame]:
    """All raw science frames of a mask (``masks/<mask>/raw/*.fits``), ordered by name.

    Parameters
    ----------
    mask_dir : path-like
        The ``masks/<mask>`` folder.
    load_data : bool
        Read the pixels (False: headers only).

    Returns
    -------
    list of RawFrame
    """
    rdir = need_file(Path(mask_dir) / "raw", "raw-frame folder")
    paths = sorted(rdir.glob("*.fits"), key=lambda p: natural_key(p.name))
    if not paths:
        raise MissingInputError(f"{rdir}: no raw frames (*.fits)")
    frames = [read_frame(p, load_data) for p in paths]
    name = Path(mask_dir).name
    for f in frames:
        if str(f.header["MASKNAME"]).strip() != name:
            raise DataFormatError(f"{f.path}: MASKNAME={f.header['MASKNAME']!r} but the frame is in mask folder {name!r}")
    return frames


def read_darks(root, load_data: bool = True) -> list[RawFrame]:
    """The N&S darks (``calib/darks/*.fits``).

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder (or anything :func:`find_root` accepts).
    load_data : bool
        Read the pixels (False: headers only).

    Returns
    -------
    list of RawFrame
    """
    ddir = need_file(find_root(root) / "calib" / "darks", "darks folder")
    paths = sorted(ddir.glob("*.fits"), key=lambda p: natural_key(p.name))
    if not paths:
        raise MissingInputError(f"{ddir}: no N&S darks (*.fits)")
    return [read_frame(p, load_data) for p in paths]


def read_bpm(root) -> np.ndarray:
    """The bad-pixel mask (``calib/bpm.fits``) as a boolean array, True = bad.

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder (or anything :func:`find_root` accepts).

    Returns
    -------
    ndarray of bool
    """
    path = find_root(root) / "calib" / "bpm.fits"
    with open_fits_checked(path) as hdul:
        data = hdul[0].data
        if data is None or data.ndim != 2:
            raise DataFormatError(f"{path}: primary HDU holds no 2-D mask")
        return np.asarray(data) != 0


def read_mask(mask_dir, load_data: bool = True) -> MaskData:
    """Design, raw frames, N&S darks and bad-pixel mask of one mask folder (``masks/<mask>``).

    Parameters
    ----------
    mask_dir : path-like
        The ``masks/<mask>`` folder.
    load_data : bool
        Read the pixels (False: headers only).

    Returns
    -------
    MaskData
    """
    mask_dir = need_file(Path(mask_dir), "mask folder")
    root = find_root(mask_dir.parent.parent)
    design = read_design(mask_dir)
    frames = read_raw_frames(mask_dir, load_data)
    darks = read_darks(root, load_data)
    bpm = read_bpm(root)
    shape = tuple(design.meta.get("frame_shape", ())) or None
    for f in frames + darks:
        fshape = (int(f.header["NAXIS2"]), int(f.header["NAXIS1"]))
        if fshape != bpm.shape:
            raise DataFormatError(f"{f.path}: frame shape {fshape} differs from the bad-pixel mask {bpm.shape}")
        if shape and fshape != shape:
            raise DataFormatError(f"{f.path}: frame shape {fshape} differs from the design's frame_shape {shape}")
    return MaskData(mask_dir.name, mask_dir, design, frames, darks, bpm)


def read_photometry(root, field: str) -> Table:
    """The K-selected photometric catalogue of a field (``id`` unique, ``pdf_row`` integers >= 0).

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder (or anything :func:`find_root` accepts).
    field : str
        ``CDFS`` or ``FIRES`` (``photometry/<FIELD>_photometry.ecsv``).

    Returns
    -------
    `~astropy.table.Table`
    """
    path = find_root(root) / "photometry" / f"{field}_photometry.ecsv"
    t = read_checked_table(path, PHOTOMETRY)
    ids = np.asarray(t["id"])
    if len(set(ids.tolist())) != len(t):
        u, n = np.unique(ids, return_counts=True)
        raise DataFormatError(f"{path}: duplicate id(s) {some_ids(u[n > 1])}")
    rows = t["pdf_row"]
    if rows.dtype.kind not in "iu" or np.ma.is_masked(rows) or (len(t) and np.min(rows) < 0):
        raise DataFormatError(f"{path}: pdf_row must be integers >= 0 (rows of {field}_photoz_pdf.fits)")
    return t


#: a PDF whose integral differs from 1 by more than this is renormalised (and says so)
PDF_NORM_TOLERANCE = 0.01


def read_photoz_pdf(root, field: str):
    """Photo-z PDFs of a field: ``(zgrid, pdf, ids)`` with ``pdf[row]`` for ``ids['pdf_row'] == row``.

    Checked on read (docs/data-format.md §6): ZGRID 1-D, finite and increasing; PDF 2-D with
    one column per ZGRID point and one row per IDS row. Bad PDFs:

    * a **negative or non-finite** value in a row is a contract breach: :class:`DataFormatError`
      naming the file and the object id(s) (a PDF cannot be negative; there is nothing to repair);
    * a row whose integral ``sum(PDF[i]) x DZ`` is zero is an error too (nothing to normalise);
    * an **unnormalised** row (integral off 1 by more than :data:`PDF_NORM_TOLERANCE`) is
      renormalised to 1 and the fact is recorded: ``ids['pdf_norm']`` holds every row's
      integral as read (1 when fine) and ``ids.meta['renormalised']`` the ids that were
      rescaled. P([OII]) is a ratio and does not depend on the normalisation, but the
      window probability and the completeness (ROLES eqs. 10-11) do.

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder (or anything :func:`find_root` accepts).
    field : str
        The field (``photometry/<FIELD>_photoz_pdf.fits``).

    Returns
    -------
    zgrid : ndarray
    pdf : ndarray
        ``(n_objects, n_z)``, each row normalised.
    ids : `~astropy.table.Table`
        ``id``, ``pdf_row``, ``pdf_norm``.
    """
    path = find_root(root) / "photometry" / f"{field}_photoz_pdf.fits"
    with open_fits_checked(path) as hdul:
        names = [h.name for h in hdul]
        for ext in ("ZGRID", "PDF", "IDS"):
            if ext not in names:
                raise DataFormatError(f"{path}: lacks the {ext} extension")
        try:
            z = np.asarray(hdul["ZGRID"].data, float)
            pdf = np.asarray(hdul["PDF"].data, float)
            ids = Table(hdul["IDS"].data)
        except Exception as exc:  # noqa: BLE001 - e.g. an image where the IDS table should be
            raise DataFormatError(f"{path}: malformed ZGRID/PDF/IDS extension ({one_line(exc)})") from None
    if z.ndim != 1 or z.size < 2 or not np.all(np.isfinite(z)) or np.any(np.diff(z) <= 0):
        raise DataFormatError(f"{path}: ZGRID is not a finite, increasing 1-D redshift grid")
    if pdf.ndim != 2 or pdf.shape[1] != z.size:
        raise DataFormatError(f"{path}: PDF shape {pdf.shape} does not match ZGRID length {z.size}")
    for c in ("id", "pdf_row"):
        if c not in ids.colnames:
            raise DataFormatError(f"{path}: IDS table lacks column {c}")
    if len(ids) != pdf.shape[0]:
        raise DataFormatError(f"{path}: IDS has {len(ids)} rows but PDF has {pdf.shape[0]}")
    rows = np.asarray(ids["pdf_row"])
    if rows.dtype.kind not in "iu" or not np.array_equal(rows, np.arange(len(ids))):
        raise DataFormatError(f"{path}: IDS pdf_row is not 0, 1, ... in the order of the PDF rows")
    names = np.char.strip(np.asarray(ids["id"]).astype(str))
    bad = ~np.all(np.isfinite(pdf), axis=1)
    if bad.any():
        raise DataFormatError(f"{path}: PDF of object(s) {some_ids(names[bad])} has NaN or infinite values")
    bad = np.any(pdf < 0, axis=1)
    if bad.any():
        raise DataFormatError(f"{path}: PDF of object(s) {some_ids(names[bad])} has negative values")
    norm = pdf @ np.gradient(z)
    bad = norm <= 0
    if bad.any():
        raise DataFormatError(f"{path}: PDF of object(s) {some_ids(names[bad])} is zero everywhere (cannot be normalised)")
    off = np.abs(norm - 1.0) > PDF_NORM_TOLERANCE
    ids["pdf_norm"] = np.where(off, norm, 1.0)
    ids.meta["renormalised"] = names[off].tolist()
    if off.any():
        pdf[off] /= norm[off, None]
    return z, pdf, ids


def read_comparison(root) -> Table:
    """The higher-mass comparison catalogue (``comparison/highmass_z1.ecsv``).

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder (or anything :func:`find_root` accepts).

    Returns
    -------
    `~astropy.table.Table`
    """
    path = find_root(root) / "comparison" / "highmass_z1.ecsv"
    return read_checked_table(path, COMPARISON)


def read_standard(root):
    """The flux-standard N&S frame(s) and the star's spectrum.

    Parameters
    ----------
    root : path-like
        The survey's ``ldss3`` folder (or anything :func:`find_root` accepts).

    Returns
    -------
    frames : list of RawFrame
        ``calib/standard/standard_*.fits``.
    spectrum : `~astropy.table.Table`
        ``calib/standard/<STDNAME>_spectrum.ecsv``.

    Raises
    ------
    MissingInputError
        The folder, its frames or the spectrum are absent (naming the missing path).
    """
    sdir = need_file(find_root(root) / "calib" / "standard", "standard-star folder")
    paths = sorted(sdir.glob("standard_*.fits"), key=lambda p: natural_key(p.name))
    if not paths:
        raise MissingInputError(f"{sdir}: no standard-star frames (standard_*.fits)")
    frames = [read_frame(p, True, required_keywords("STANDARD")) for p in paths]
    for f in frames:
        sl = f.header["STDSLIT"]
        if isinstance(sl, bool) or not isinstance(sl, (int, np.integer)):
            raise DataFormatError(f"{f.path}: STDSLIT={sl!r} is not a slit_id (an integer)")
    star = str(frames[0].header["STDNAME"]).strip()
    if not star or "/" in star:
        raise DataFormatError(f"{frames[0].path}: STDNAME={frames[0].header['STDNAME']!r} is not a star name")
    path = sdir / f"{star}_spectrum.ecsv"
    spectrum = read_checked_table(path, STANDARD_SPECTRUM)
    if len(spectrum) < 2 or np.any(np.diff(np.asarray(spectrum["wavelength"], float)) <= 0):
        raise DataFormatError(f"{path}: wavelength must increase (at least two rows)")
    return frames, spectrum
