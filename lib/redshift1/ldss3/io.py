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
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..errors import DataFormatError, MissingInputError

__all__ = [
    "DESIGN_COLUMNS", "PHOTOMETRY_COLUMNS", "COMPARISON_COLUMNS", "RAW_KEYWORDS",
    "RawFrame", "MaskData", "find_root", "read_manifest", "list_masks", "read_design",
    "read_frame", "read_raw_frames", "read_darks", "read_bpm", "read_mask", "read_photometry",
    "read_photoz_pdf", "read_comparison", "read_standard",
]

#: columns every mask design table must have
DESIGN_COLUMNS = ("slit_id", "object_id", "field", "ra", "dec", "K", "x_lo", "x_hi", "x_ref",
                  "lambda_ref", "dispersion", "a_row_lo", "a_row_hi", "b_row_lo", "b_row_hi",
                  "nod_a_row", "nod_b_row", "is_roles_target", "is_repeat", "is_filler",
                  "is_standard_slit")
#: columns every photometric catalogue must have
PHOTOMETRY_COLUMNS = ("id", "field", "ra", "dec", "K", "K_err", "logmstar", "z_phot", "pdf_row")
#: columns of the higher-mass comparison sample
COMPARISON_COLUMNS = ("id", "z", "logmstar", "f_OII", "f_OII_err", "L_OII", "weight")
#: header keywords every raw N&S frame (science, dark, standard) must carry
RAW_KEYWORDS = ("OBSTYPE", "EXPTIME", "NODTIME", "NCYCLES", "GAIN", "RDNOISE", "NODPIX", "SHUFFLE",
                "MASKNAME", "FILTER", "AIRORVAC", "DATE-OBS", "AIRMASS")


@dataclass
class RawFrame:
    """One N&S exposure: its path, primary header and (optionally) its pixels in electrons."""

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
    """Everything needed to reduce one slit mask."""

    name: str
    path: Path
    design: Table
    frames: list = field(default_factory=list)
    darks: list = field(default_factory=list)
    bpm: np.ndarray | None = None


# --------------------------------------------------------------------------- helpers
def _need(path: Path, what: str = "file") -> Path:
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: required LDSS3 {what} is missing")
    return path


def _natural_key(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def find_root(path) -> Path:
    """The ``ldss3`` folder from itself, a survey folder holding ``ldss3/``, or a mask folder."""
    p = Path(path)
    for cand in (p, p / "ldss3", p.parent.parent):
        if (cand / "masks").is_dir() or (cand / "manifest.json").is_file():
            return cand
    raise MissingInputError(f"{p}: not an LDSS3 data folder (no masks/ or manifest.json)")


def _read_table(path: Path, required, what: str) -> Table:
    path = _need(path, what)
    try:
        t = Table.read(path, format="ascii.ecsv")
    except Exception as exc:  # noqa: BLE001 - any parse failure is a contract breach
        raise DataFormatError(f"{path}: unreadable {what} ({type(exc).__name__}: {exc})") from None
    missing = [c for c in required if c not in t.colnames]
    if missing:
        raise DataFormatError(f"{path}: {what} lacks column(s) {', '.join(missing)}")
    return t


def _open_fits(path: Path):
    """Open a FITS file fully into memory, turning any damage into DataFormatError."""
    path = _need(path, "FITS file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
            for h in hdul:
                _ = h.data          # force reading every extension
        bad = [str(w.message) for w in caught if "truncat" in str(w.message).lower()
               or "corrupt" in str(w.message).lower()]
        if bad:
            raise DataFormatError(f"{path}: damaged FITS file ({bad[0]})")
    except DataFormatError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable FITS file, truncated or corrupt "
                              f"({type(exc).__name__}: {exc})") from None
    return hdul


# --------------------------------------------------------------------------- survey level
def read_manifest(root) -> dict:
    root = find_root(root)
    path = _need(root / "manifest.json", "manifest")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: invalid JSON ({exc})") from None


def list_masks(root) -> list[str]:
    """Names of the masks (sub-folders of ``masks/`` holding a ``design.ecsv``), natural order."""
    root = find_root(root)
    mdir = _need(root / "masks", "masks folder")
    return sorted((p.name for p in mdir.iterdir() if (p / "design.ecsv").is_file()), key=_natural_key)


def read_design(mask_dir) -> Table:
    """A mask's design table (``masks/<mask>/design.ecsv``), checked for the contract's columns."""
    p = Path(mask_dir)
    path = p if p.suffix == ".ecsv" else p / "design.ecsv"
    t = _read_table(path, DESIGN_COLUMNS, "mask design table")
    if len(t) and len(set(t["slit_id"])) != len(t):
        raise DataFormatError(f"{path}: slit_id values are not unique")
    return t


def read_frame(path, load_data: bool = True, keywords=RAW_KEYWORDS) -> RawFrame:
    """One raw N&S frame: float pixels in electrons in the primary HDU plus its header."""
    path = Path(path)
    if not load_data:
        _need(path, "raw frame")
        try:
            header = fits.getheader(path, 0)
        except Exception as exc:  # noqa: BLE001
            raise DataFormatError(f"{path}: unreadable FITS header ({type(exc).__name__}: {exc})") from None
        data = None
    else:
        with _open_fits(path) as hdul:
            header = hdul[0].header.copy()
            data = hdul[0].data
            if data is None or data.ndim != 2:
                raise DataFormatError(f"{path}: primary HDU holds no 2-D image")
            data = np.asarray(data, dtype=np.float32)
    missing = [k for k in keywords if k not in header]
    if missing:
        raise DataFormatError(f"{path}: header lacks keyword(s) {', '.join(missing)}")
    if str(header.get("AIRORVAC", "vac")).strip().lower() != "vac":
        raise DataFormatError(f"{path}: AIRORVAC={header['AIRORVAC']!r}, the contract requires 'vac'")
    if float(header.get("GAIN", 1.0)) != 1.0:
        raise DataFormatError(f"{path}: GAIN={header['GAIN']}, frames must be in electrons (GAIN = 1)")
    return RawFrame(path, header, data)


def read_raw_frames(mask_dir, load_data: bool = True) -> list[RawFrame]:
    """All raw science frames of a mask (``masks/<mask>/raw/*.fits``), ordered by name."""
    rdir = _need(Path(mask_dir) / "raw", "raw-frame folder")
    paths = sorted(rdir.glob("*.fits"), key=lambda p: _natural_key(p.name))
    if not paths:
        raise MissingInputError(f"{rdir}: no raw frames (*.fits)")
    frames = [read_frame(p, load_data) for p in paths]
    name = Path(mask_dir).name
    for f in frames:
        if str(f.header["MASKNAME"]).strip() != name:
            raise DataFormatError(f"{f.path}: MASKNAME={f.header['MASKNAME']!r} but the frame is in mask folder {name!r}")
    return frames


def read_darks(root, load_data: bool = True) -> list[RawFrame]:
    """The N&S darks (``calib/darks/*.fits``)."""
    ddir = _need(find_root(root) / "calib" / "darks", "darks folder")
    paths = sorted(ddir.glob("*.fits"), key=lambda p: _natural_key(p.name))
    if not paths:
        raise MissingInputError(f"{ddir}: no N&S darks (*.fits)")
    return [read_frame(p, load_data) for p in paths]


def read_bpm(root) -> np.ndarray:
    """The bad-pixel mask (``calib/bpm.fits``) as a boolean array, True = bad."""
    path = find_root(root) / "calib" / "bpm.fits"
    with _open_fits(path) as hdul:
        data = hdul[0].data
        if data is None or data.ndim != 2:
            raise DataFormatError(f"{path}: primary HDU holds no 2-D mask")
        return np.asarray(data) != 0


def read_mask(mask_dir, load_data: bool = True) -> MaskData:
    """Design, raw frames, N&S darks and bad-pixel mask of one mask folder (``masks/<mask>``)."""
    mask_dir = _need(Path(mask_dir), "mask folder")
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
    """The K-selected photometric catalogue of a field."""
    path = find_root(root) / "photometry" / f"{field}_photometry.ecsv"
    return _read_table(path, PHOTOMETRY_COLUMNS, "photometric catalogue")


def read_photoz_pdf(root, field: str):
    """Photo-z PDFs of a field: ``(zgrid, pdf, ids)`` with ``pdf[row]`` for ``ids['pdf_row'] == row``."""
    path = find_root(root) / "photometry" / f"{field}_photoz_pdf.fits"
    with _open_fits(path) as hdul:
        names = [h.name for h in hdul]
        for ext in ("ZGRID", "PDF", "IDS"):
            if ext not in names:
                raise DataFormatError(f"{path}: lacks the {ext} extension")
        z = np.asarray(hdul["ZGRID"].data, float)
        pdf = np.asarray(hdul["PDF"].data, float)
        ids = Table(hdul["IDS"].data)
    if pdf.ndim != 2 or pdf.shape[1] != z.size:
        raise DataFormatError(f"{path}: PDF shape {pdf.shape} does not match ZGRID length {z.size}")
    if len(ids) != pdf.shape[0]:
        raise DataFormatError(f"{path}: IDS has {len(ids)} rows but PDF has {pdf.shape[0]}")
    return z, pdf, ids


def read_comparison(root) -> Table:
    """The higher-mass comparison catalogue (``comparison/highmass_z1.ecsv``)."""
    path = find_root(root) / "comparison" / "highmass_z1.ecsv"
    t = _read_table(path, COMPARISON_COLUMNS, "comparison catalogue")
    if "survey_area_arcmin2" not in t.meta:
        raise DataFormatError(f"{path}: meta lacks survey_area_arcmin2")
    return t


def read_standard(root):
    """The flux-standard N&S frame(s) and the star's spectrum: ``(frames, spectrum)``."""
    sdir = _need(find_root(root) / "calib" / "standard", "standard-star folder")
    paths = sorted(sdir.glob("standard_*.fits"), key=lambda p: _natural_key(p.name))
    if not paths:
        raise MissingInputError(f"{sdir}: no standard-star frames (standard_*.fits)")
    frames = [read_frame(p, True, RAW_KEYWORDS + ("STDNAME", "STDSLIT")) for p in paths]
    star = str(frames[0].header["STDNAME"]).strip()
    spectrum = _read_table(sdir / f"{star}_spectrum.ecsv", ("wavelength", "flux"), "standard-star spectrum")
    return frames, spectrum
