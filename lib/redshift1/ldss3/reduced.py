"""The product of the LDSS3 reduction: :class:`ReducedMask` (final ``A' - B'`` slit spectra of one
mask) and its file ``<mask>_reduced.fits`` (:func:`write_reduced`, :func:`read_reduced`).

:mod:`redshift1.ldss3.reduce` makes it; :mod:`redshift1.ldss3.catalogue` reads it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table, vstack

from ..errors import DataFormatError, MissingInputError
from ..io import write_fits
from .detect import find_lines, significance

__all__ = ["ReducedMask", "write_reduced", "read_reduced", "with_off_frame_slits", "design_wave", "figure_cutouts"]


@dataclass
class ReducedMask:
    """Final slit spectra of one mask (see the module docstring).

    Attributes
    ----------
    name : str
        The mask's name (its folder).
    field : str
        The field the mask observed.
    slits : `~astropy.table.Table`
        One row per slit: design, registration, extraction box rows (``box_lo``, ``box_hi``)
        and status.
    exposures : `~astropy.table.Table`
        One row per exposure: registration (flexure, drift) and rejection diagnostics.
    sci : numpy.ndarray
        ``(n_slit, n_row, n_col)`` combined ``A' - B'`` in electrons per exposure (both nods).
    noise : numpy.ndarray
        Same shape: its 1σ noise (ROLES eq. 3).
    good : numpy.ndarray
        Same shape, bool: good pixel inside the extraction box and the spectral range.
    nexp : numpy.ndarray
        Same shape, uint8: exposures that survived the rejection at the ``A'`` pixel.
    sky : numpy.ndarray
        ``(n_slit, n_col)`` median sky per pixel per nod per exposure over the box rows.
    wave : numpy.ndarray
        ``(n_slit, n_col)`` vacuum wavelength, Å, of every column.
    meta : dict
        Header-like facts of the reduction (field, ``n_exp``, parameters, drift lines).
    figure : dict or None
        Cut-outs for ROLES Fig. 3, only when the reduction was asked to keep them.
    """

    name: str
    field: str
    slits: Table                  # design + registration + box rows + status
    exposures: Table              # per exposure: registration and rejection diagnostics
    sci: np.ndarray               # (n_slit, n_row, n_col) A' - B' in electrons (per exposure, both nods)
    noise: np.ndarray             # same shape, ROLES eq. 3
    good: np.ndarray              # bool, good pixel inside the extraction box and the spectral range
    nexp: np.ndarray              # uint8, exposures that survived at the A' pixel
    sky: np.ndarray               # (n_slit, n_col) median sky per pixel per nod per exposure, box rows
    wave: np.ndarray              # (n_slit, n_col) vacuum Å of every column
    meta: dict = field(default_factory=dict)
    figure: dict | None = None    # cut-outs for ROLES Fig. 3 (only when asked for)

    @property
    def box_rows(self) -> np.ndarray:
        return np.stack([np.asarray(self.slits["box_lo"]), np.asarray(self.slits["box_hi"]) - 1], axis=1)


def design_wave(design, width: int) -> np.ndarray:
    """Vacuum wavelength of ``width`` columns from each slit's ``x_lo`` by the design's linear solution.

    Parameters
    ----------
    design : `~astropy.table.Table`
        Slits with ``x_lo``, ``x_ref``, ``lambda_ref`` (Å) and ``dispersion`` (Å/px).
    width : int
        Columns per slit.

    Returns
    -------
    ndarray
        ``(n_slit, width)`` wavelengths (Å).
    """
    x = np.asarray(design["x_lo"], float)[:, None] + np.arange(width)[None, :]
    return (np.asarray(design["lambda_ref"], float)[:, None]
            + np.asarray(design["dispersion"], float)[:, None] * (x - np.asarray(design["x_ref"], float)[:, None]))


def with_off_frame_slits(red: ReducedMask, design_all: Table, off: np.ndarray) -> ReducedMask:
    """Put the off-frame slits back (design order): status ``off_frame``, NaN cubes, no good pixels.

    Parameters
    ----------
    red : ReducedMask
        The mask reduced without its off-frame slits.
    design_all : `~astropy.table.Table`
        The full design (every slit).
    off : ndarray of bool
        True for the slits of ``design_all`` that are off the frame.

    Returns
    -------
    ReducedMask
        One row and one cube plane per design slit.
    """
    n_all, on = len(design_all), np.flatnonzero(~off)
    ot = design_all[off]
    n_off = len(ot)
    ot["mask"] = red.name
    ot["dx_resid"] = np.full(n_off, np.nan) * u.pix
    ot["dx_scatter"] = np.full(n_off, np.nan) * u.pix
    for c in ("box_lo", "box_hi"):
        ot[c] = np.full(n_off, int(red.slits[c][0]))
    ot["row0"] = np.asarray(ot["a_row_lo"], int)
    ot["frac_good"] = np.zeros(n_off)
    ot["median_noise"] = np.full(n_off, np.nan)
    ot["status"] = "off_frame"
    st = red.slits.copy()
    st["_order"], ot["_order"] = on, np.flatnonzero(off)
    slits = vstack([st, ot], metadata_conflicts="silent")
    slits.sort("_order")
    slits.remove_column("_order")
    slits.meta = red.slits.meta

    def full(a, fill):
        out = np.full((n_all,) + a.shape[1:], fill, dtype=a.dtype)
        out[on] = a
        return out

    wave = full(red.wave, np.nan)
    wave[off] = design_wave(design_all[off], red.wave.shape[1])
    return ReducedMask(red.name, red.field, slits, red.exposures, full(red.sci, np.nan), full(red.noise, np.nan),
                       full(red.good, False), full(red.nexp, 0), full(red.sky, np.nan), wave, red.meta, red.figure)


def figure_cutouts(red: ReducedMask, design, raw, d0, bad0, comb, S, N, figure_slit):
    """Cut-outs around three neighbouring slits for ROLES Fig. 3 (100 columns x 3 slots).

    Parameters
    ----------
    red : ReducedMask
        The reduced mask (its slits on the frame only).
    design : `~astropy.table.Table`
        The design of those slits.
    raw, d0, bad0 : ndarray
        The first raw frame, its registered sky-subtracted frame and bad-pixel mask.
    comb, S, N : ndarray
        The combined frame, its ``A' - B'`` and the noise of that.
    figure_slit : int or None
        slit_id at the centre (None: the slit with the brightest clean line).

    Returns
    -------
    dict
        Cut-outs (``raw``, ``sky_subtracted``, ``combined``, ``nod_combined``, ``noise``,
        ``significance``), their origin ``y0``, ``x0``, ``wave``, ``slit_ids`` and ``mask``.
    """
    det = significance(np.nan_to_num(red.sci), np.nan_to_num(red.noise, nan=1.0), red.good)
    sig = det["sigma"]
    cat = find_lines(sig, det["valid"], 5.0)
    if len(cat):
        wl = red.wave[np.asarray(cat["slit"]), np.asarray(cat["col"])]
        cat = cat[~np.asarray(cat["on_edge"], bool) & (wl > 7100) & (wl < 7950)
                  & (np.asarray(red.slits["status"])[np.asarray(cat["slit"])] == "ok")]
    if figure_slit is None and len(cat):
        k = int(np.argmax(np.asarray(cat["sigma"])))
        i, r, c = int(cat["slit"][k]), int(cat["row"][k]), int(cat["col"][k])
    elif figure_slit is None:
        i, r, c = 0, 0, sig.shape[2] // 2
    else:
        i = int(np.flatnonzero(np.asarray(design["slit_id"]) == figure_slit)[0])
        r, c = np.unravel_index(np.argmax(sig[i]), sig[i].shape)
    s = design[i]
    same_tier = np.flatnonzero(np.asarray(design["x_lo"]) == s["x_lo"])
    a_lo = np.asarray(design["a_row_lo"], int)
    order = same_tier[np.argsort(a_lo[same_tier])]
    k = int(np.flatnonzero(order == i)[0])
    k0 = int(np.clip(k - 1, 0, max(len(order) - 3, 0)))
    pick = order[k0:k0 + 3]
    y0 = int(a_lo[pick].min())
    y1 = min(int(a_lo[pick].max()) + 32, S.shape[0])
    x_c = int(s["x_lo"]) + int(c)
    x0 = int(np.clip(x_c - 50, int(s["x_lo"]), int(s["x_hi"]) - 100))
    x1 = x0 + 100
    sig_frame = np.full(S.shape, np.nan, np.float32)
    for j in pick:
        r0 = int(a_lo[j])
        sig_frame[r0:r0 + sig.shape[1], int(design["x_lo"][j]):int(design["x_lo"][j]) + sig.shape[2]] = \
            np.where(red.good[j], sig[j], np.nan)
    cut = (slice(y0, y1), slice(x0, x1))
    return {"slit_ids": [int(design["slit_id"][j]) for j in pick], "y0": y0, "x0": x0,
            "raw": None if raw is None else raw[cut].copy(), "sky_subtracted": np.where(bad0, np.nan, d0)[cut].copy(),
            "combined": comb[cut].copy(), "nod_combined": S[cut].copy(), "noise": N[cut].copy(),
            "significance": sig_frame[cut].copy(), "wave": red.wave[i, x0 - int(s["x_lo"]):x1 - int(s["x_lo"])].copy(),
            "mask": red.name}


# --------------------------------------------------------------------------- products
_CUBES = ("SCI", "NOISE", "GOOD", "NEXP")


def write_reduced(red: ReducedMask, path) -> Path:
    """Write ``<mask>_reduced.fits``: cubes SCI, NOISE, GOOD, NEXP, images SKY and WAVE, tables SLITS, EXPOSURES.

    Parameters
    ----------
    red : ReducedMask
        The reduced mask.
    path : path-like
        The file (written atomically).

    Returns
    -------
    `~pathlib.Path`
        ``path``.
    """
    h = fits.Header()
    h["MASKNAME"] = red.name
    h["FIELD"] = red.field
    for k, v in red.meta.items():
        if isinstance(v, (list, tuple, dict)) or v is None:
            continue
        if isinstance(v, (float, np.floating)) and not np.isfinite(v):
            continue        # FITS headers hold no NaN: an unmeasured number is left out (readers default it)
        key = k.upper()[:8]
        h[key] = v if not isinstance(v, (np.generic,)) else v.item()
    h["SPECLO"], h["SPECHI"] = red.meta["spec_range"]
    h["BUNIT"] = "electron"
    h["COMMENT"] = "ROLES-style N&S reduction (redshift1.ldss3.reduce): A'-B' per slit, rows from a_row_lo"
    hdus = [fits.PrimaryHDU(header=h),
            fits.ImageHDU(red.sci, name="SCI"), fits.ImageHDU(red.noise, name="NOISE"),
            fits.ImageHDU(red.good.astype(np.uint8), name="GOOD"), fits.ImageHDU(red.nexp, name="NEXP"),
            fits.ImageHDU(red.sky, name="SKY"), fits.ImageHDU(red.wave, name="WAVE"),
            fits.table_to_hdu(_plain_table(red.slits)), fits.table_to_hdu(_plain_table(red.exposures))]
    hdus[-2].name = "SLITS"
    hdus[-1].name = "EXPOSURES"
    hdus[3].header["COMMENT"] = "1 = good pixel inside the extraction box and the spectral range"
    hdus[5].header["BUNIT"] = "electron"
    hdus[5].header["COMMENT"] = "median sky per pixel per nod per exposure (box rows)"
    hdus[6].header["BUNIT"] = "Angstrom"
    hdus[6].header["COMMENT"] = "vacuum wavelength of each column"
    return write_fits(fits.HDUList(hdus), path)


def _plain_table(t: Table) -> Table:
    out = Table()
    for c in t.colnames:
        col = t[c]
        if col.dtype.kind == "O":
            out[c] = [str(v) for v in col]
        else:
            out[c] = col
    out.meta = {}
    return out


def read_reduced(path) -> ReducedMask:
    """Read a ``<mask>_reduced.fits`` product back.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    ReducedMask
        Without the Fig. 3 cut-outs.

    Raises
    ------
    MissingInputError, DataFormatError
        Absent file (run notebook 07), or not a reduced-mask product.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: reduced mask product is missing (run 07_ldss3_reduce)")
    try:
        with fits.open(path) as hdul:
            h = hdul[0].header
            sci = hdul["SCI"].data.astype(np.float32)
            noise = hdul["NOISE"].data.astype(np.float32)
            good = hdul["GOOD"].data.astype(bool)
            nexp = hdul["NEXP"].data.astype(np.uint8)
            sky = hdul["SKY"].data.astype(np.float32)
            wave = hdul["WAVE"].data.astype(np.float64)
            slits = Table(hdul["SLITS"].data)
            exposures = Table(hdul["EXPOSURES"].data)
    except (KeyError, OSError, TypeError) as exc:
        raise DataFormatError(f"{path}: not a reduced-mask product ({exc})") from None
    for t in (slits, exposures):
        for c in t.colnames:
            if t[c].dtype.kind == "S":
                t[c] = np.char.decode(t[c])
    meta = {"mask": h["MASKNAME"], "field": h["FIELD"], "n_exp": int(h["N_EXP"]), "nodtime": float(h["NODTIME"]),
            "rdnoise": float(h["RDNOISE"]), "shuffle": int(h["SHUFFLE"]), "nod": int(h["NOD"]),
            "airmass": float(h["AIRMASS"]), "specres": float(h["SPECRES"]), "pixscale": float(h["PIXSCALE"]),
            "spec_range": [float(h["SPECLO"]), float(h["SPECHI"])], "pointing": h.get("POINTING", ""),
            "exptime_table_ks": float(h.get("EXPTIME_", np.nan)), "combine": h.get("COMBINE", "median"),
            "median_loss": float(h.get("MEDIAN_L", 1.0))}
    return ReducedMask(h["MASKNAME"], h["FIELD"], slits, exposures, sci, noise, good, nexp, sky, wave, meta)
