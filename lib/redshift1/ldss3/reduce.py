"""Reduction of one LDSS3 N&S slit mask, raw frames -> final ``A' - B'`` slit spectra (ROLES §2.3).

:func:`reduce_mask` runs, for one ``masks/<mask>`` folder of the data contract:

1. the bad-pixel mask merged with the charge-trap mask from the N&S darks
   (:func:`~redshift1.ldss3.nodshuffle.charge_trap_mask`, computed once per survey);
2. per exposure (streamed, one frame read at a time): slit tracing (``dy`` per tier) and
   sky-line registration (``dx`` per slit) against the design
   (:mod:`~redshift1.ldss3.registration`); N&S sky subtraction (shift by ``SHUFFLE`` and
   subtract) and the sky sum (shift and add); nearest-integer registration onto the
   design frame;
3. the median sky of all exposures -> the noise model (ROLES eq. 1); every pixel outside
   the traced slits flagged bad;
4. a first combination -> bright lines -> the drift of the galaxies along the slits in
   each exposure (their centroids), applied as integer shifts;
5. median combination with 5-sigma rejection against the noise (eq. 2), ``A' - B'`` and
   its noise (eq. 3); extraction boxes shrunk by one pixel at the top and the bottom.
   Where the other exposures are masked (next to a bad column or trap, which flexure
   moves), a value is compared with the other exposures' neighbouring pixels instead
   (:func:`~redshift1.ldss3.nodshuffle.reject_unpaired`): a feature in one exposure only
   is a cosmic ray, not a line;
6. a wavelength map per slit: the design solution moved by the measured sub-pixel
   remainder of the sky-line registration.

The result (:class:`ReducedMask`) holds per-slit cubes (rows = the ``SHUFFLE - NODPIX``
valid rows of ``A' - B'`` above ``a_row_lo``, columns = the slit's tier) and is written
by :func:`write_reduced` as ``<mask>_reduced.fits``; :func:`read_reduced` reads it back.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table

from .. import constants as C
from ..errors import DataFormatError, MissingInputError
from ..io import write_fits
from ..progress import progress_bar
from . import io as lio
from .detect import find_lines, line_kernel, significance
from .nodshuffle import (charge_trap_mask, combine_exposures, geometry_from_header, nanmedian0, noise_individual,
                         nod_combine, ns_difference, ns_sum, reject_unpaired, shift_integer)
from .registration import line_drift, measure_dx, measure_dy, slit_sky_spectra

__all__ = ["ReduceParams", "ReducedMask", "survey_root", "survey_trap_mask", "register_exposure", "reduce_mask",
           "write_reduced", "read_reduced", "reduce_survey", "SLIT_STATUS"]

#: meaning of the ``status`` column of the slit table
SLIT_STATUS = {
    "ok": "reduced",
    "no_sky_registration": "no sky-line registration in any exposure (design solution used)",
    "mostly_bad": "fewer than half of the extraction-box pixels are good",
    "off_frame": "the slit's regions A/B or columns are not all on the frame (not reduced, all pixels NaN)",
}


@dataclass
class ReduceParams:
    """Choices of the reduction (ROLES §2.3); the defaults are the paper's."""

    trap_nsigma: float = 5.0          # deviant-pixel threshold in the 1x3-smoothed N&S dark
    trap_grow_nsigma: float = 2.0     # trap streaks grow along the column into pixels above this
    reject_nsigma: float = 5.0        # outlier rejection against the noise in the combination
    combine: str = "median"           # "median" (ROLES) or "mean" of the unrejected values
    median_noise: bool = True         # noise of a median (not eq. 2's mean) in the combined noise
    shrink: int = 1                   # rows removed at the top and bottom of each extraction box
    spec_range: tuple = (7000.0, 8050.0)   # Å, columns kept (the KG750 pass band and its edges)
    drift_min_sigma: float = 12.0     # bright lines used to register the galaxies along the slits
    drift_max_lines: int = 12
    register_drift: bool = True


@dataclass
class ReducedMask:
    """Final slit spectra of one mask (see the module docstring)."""

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


# --------------------------------------------------------------------------- helpers
def survey_root(path) -> Path:
    """The ``ldss3`` folder of a survey: ``path/ldss3`` if it holds one, else via :func:`io.find_root`."""
    p = Path(path)
    if (p / "ldss3" / "masks").is_dir():
        return p / "ldss3"
    if (p / "masks").is_dir():
        return p
    return lio.find_root(p)


def survey_trap_mask(root, params: ReduceParams | None = None):
    """Charge traps of the CCD from the survey's N&S darks, and the bad-pixel mask.

    Returns ``(bad, info)`` where ``bad`` = bad-pixel mask | charge traps and ``info`` the
    diagnostics (with the trap mask under ``"traps"``).
    """
    params = params or ReduceParams()
    root = survey_root(root)
    bpm = lio.read_bpm(root)
    darks = lio.read_darks(root)
    for d in darks:
        if d.data.shape != bpm.shape:
            raise DataFormatError(f"{d.path}: dark shape {d.data.shape} differs from the bad-pixel mask {bpm.shape}")
    traps, info = charge_trap_mask([d.data for d in darks], bpm, params.trap_nsigma, params.trap_grow_nsigma,
                                   max_length=int(darks[0].header["SHUFFLE"]))
    info["traps"] = traps
    info["bpm"] = bpm
    info["n_bpm_pixels"] = int(bpm.sum())
    return bpm | traps, info


_GEOM_FIELDS = (("SHUFFLE", "shuffle"), ("NODPIX", "nod"), ("NODTIME", "nodtime"), ("shape", "shape"))


def _check_frames(frames, design, mask_dir):
    """N&S geometry shared by all exposures of a mask, and the design's regions consistent with it.

    Exposures whose ``SHUFFLE``/``NODPIX``/``NODTIME``/shape differ from those of the majority
    (the first frame on a tie) raise :class:`DataFormatError` naming the odd frame.
    """
    from collections import Counter
    geoms = [geometry_from_header(f.header, f.path) for f in frames]
    keys = [tuple(getattr(g, a) for _, a in _GEOM_FIELDS) for g in geoms]
    common = Counter(keys).most_common()
    ref = keys[0] if len(common) > 1 and common[0][1] == common[1][1] else common[0][0]
    k_ref = keys.index(ref)
    geom = geoms[k_ref]
    for f, k in zip(frames, keys):
        if k != ref:
            diff = "; ".join(f"{name} {a} instead of {b}" for (name, _), a, b in zip(_GEOM_FIELDS, k, ref) if a != b)
            raise DataFormatError(f"{f.path}: {diff} (as in {frames[k_ref].path.name}"
                                  f"{' and the other frames' if len(frames) > 2 else ''})")
    dpath = Path(mask_dir) / "design.ecsv"
    fshape = tuple(design.meta.get("frame_shape", ()) or ())
    if fshape and tuple(fshape) != geom.shape:
        raise DataFormatError(f"{dpath}: frame_shape {tuple(fshape)} differs from the raw frames {geom.shape}")
    sid = np.asarray(design["slit_id"])
    a_lo = np.asarray(design["a_row_lo"], int)
    bad = np.asarray(design["b_row_lo"], int) - a_lo != geom.shuffle
    if bad.any():
        raise DataFormatError(f"{dpath}: b_row_lo - a_row_lo differs from SHUFFLE = {geom.shuffle} for slit(s) "
                              f"{', '.join(map(str, sid[bad][:5]))}")
    bad = (np.asarray(design["a_row_hi"], int) - a_lo != geom.shuffle) | \
        (np.asarray(design["b_row_hi"], int) - np.asarray(design["b_row_lo"], int) != geom.shuffle)
    if bad.any():
        raise DataFormatError(f"{dpath}: region A/B rows are not SHUFFLE = {geom.shuffle} rows high for slit(s) "
                              f"{', '.join(map(str, sid[bad][:5]))}")
    return geom


def off_frame_slits(design, shape) -> np.ndarray:
    """True for the slits whose regions A and B or whose columns are not all on a frame of ``shape``."""
    ny, nx = shape
    return ((np.asarray(design["a_row_lo"], int) < 0) | (np.asarray(design["b_row_hi"], int) > ny)
            | (np.asarray(design["x_lo"], int) < 0) | (np.asarray(design["x_hi"], int) > nx))


def _header_number(h, key, default):
    """An optional (not ●) header number; ``default`` when absent or not a finite number."""
    try:
        v = float(h.get(key, default))
    except (TypeError, ValueError):
        return float(default)
    return v if np.isfinite(v) and v > 0 else float(default)


def _slit_length_px(h, design):
    try:
        length_default = float(design.meta.get("slit_length_arcsec", 3.0))
    except (TypeError, ValueError):
        length_default = 3.0
    scale = _header_number(h, "PIXSCALE", C.LDSS3_PIXSCALE.to_value(u.arcsec))
    length = _header_number(h, "SLITLEN", length_default)
    return length / scale


def _tiers(design):
    """Tier of each slit and the column range of each tier (from x_lo/x_hi)."""
    x_lo = np.asarray(design["x_lo"], int)
    x_hi = np.asarray(design["x_hi"], int)
    keys = sorted(set(zip(x_lo.tolist(), x_hi.tolist())))
    tier = np.array([keys.index((a, b)) for a, b in zip(x_lo, x_hi)], int)
    return tier, keys


def _register(arr, tier_cols, sy, sx, fill):
    """Move each tier's column block by (-sy, -sx) pixels (onto the design frame)."""
    out = np.full_like(arr, fill)
    for t, (x0, x1) in enumerate(tier_cols):
        out[:, x0:x1] = shift_integer(arr[:, x0:x1], -int(sy[t]), -int(sx[t]), fill)
    return out


def _slit_cube(frame, design, nrows: int, fill=np.nan):
    """Stack the rows ``a_row_lo ... a_row_lo + nrows`` and columns ``[x_lo, x_hi)`` of every slit."""
    a_lo = np.asarray(design["a_row_lo"], int)
    x_lo = np.asarray(design["x_lo"], int)
    width = int(np.max(np.asarray(design["x_hi"], int) - x_lo))
    yy = a_lo[:, None, None] + np.arange(nrows)[None, :, None]
    xx = x_lo[:, None, None] + np.arange(width)[None, None, :]
    ny, nx = frame.shape
    ok = (yy < ny) & (xx < nx)
    return np.where(ok, frame[np.clip(yy, 0, ny - 1), np.clip(xx, 0, nx - 1)], fill)


def _design_wave(design, width):
    x = np.asarray(design["x_lo"], float)[:, None] + np.arange(width)[None, :]
    return (np.asarray(design["lambda_ref"], float)[:, None]
            + np.asarray(design["dispersion"], float)[:, None] * (x - np.asarray(design["x_ref"], float)[:, None]))


def _combine_inside(D, BAD, NIND, pix, params: ReduceParams, also_mean: bool = False):
    """:func:`combine_exposures` on the pixels ``pix`` (flat indices) only, scattered back into frames."""
    n, ny, nx = D.shape
    d = D.reshape(n, -1)[:, pix]
    b = BAD.reshape(n, -1)[:, pix]
    nn = NIND.reshape(NIND.shape[0], -1)[:, pix] if NIND.ndim == 3 else NIND.reshape(-1)[pix]
    res = combine_exposures(d, b, nn, params.reject_nsigma, params.combine, params.median_noise, also_mean)
    out = []
    parts = list(zip(res, (np.nan, np.nan, 0, 0, np.nan), (np.float32, np.float32, np.int16, np.int16, np.float32)))
    for arr, fill, dt in parts:
        full = np.full(ny * nx, fill, dtype=dt)
        full[pix] = arr
        out.append(full.reshape(ny, nx))
    return out


def _median_loss(s_median, s_mean, positions, half: int = 2):
    """Flux of bright lines in the clipped-mean ``A' - B'`` over that in the median one (5x5 boxes);
    1 without lines. Returns ``(ratio, n_lines)``."""
    if len(positions) == 0:
        return 1.0, 0
    r = []
    for y, x in positions:
        a = s_median[y - half:y + half + 1, x - half:x + half + 1]
        b = s_mean[y - half:y + half + 1, x - half:x + half + 1]
        if a.shape == (2 * half + 1, 2 * half + 1) and np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and a.sum() > 0:
            r.append(b.sum() / a.sum())
    return (float(np.median(r)), len(r)) if r else (1.0, 0)


def _bright_lines(S, N, good, box_rows, min_sigma, max_lines):
    """(slit, row, col) of the brightest detections in a first combination."""
    det = significance(S, N, good, line_kernel(), continuum_noise=False)
    cat = find_lines(det["sigma"], det["valid"], threshold=min_sigma)
    if len(cat) == 0:
        return cat
    cat = cat[~np.asarray(cat["on_edge"], bool)]
    cat.sort("sigma", reverse=True)
    return cat[:max_lines]


# --------------------------------------------------------------------------- reduction
def register_exposure(data, bad_pixels, design, shuffle: int, fwhm: float, slit_len: float,
                      tier=None, tier_cols=None) -> dict:
    """Trace, register and sky-subtract one raw N&S frame onto the design frame.

    Returns a dict with the registered sky-subtracted frame ``diff`` (``F[y] - F[y+SHUFFLE]``),
    its ``bad`` mask, the sky sum ``sum``, the measured shifts per slit (``dx``) and per tier
    (``sx``, ``sy``), the integer moves applied (``isx``, ``isy``) and the sub-pixel remainder
    of every slit's ``dx`` after the move (``dx_remainder``, for the wavelength map).
    """
    if tier is None:
        tier, tier_cols = _tiers(design)
    bad = np.asarray(bad_pixels, bool) | ~np.isfinite(data)
    sky = slit_sky_spectra(data, bad, design)
    dx, q = measure_dx(sky, design, fwhm)
    dy_t, _ = measure_dy(data, bad, design, slit_len, shuffle)
    sx = np.zeros(len(tier_cols))
    sy = np.zeros(len(tier_cols))
    for t in range(len(tier_cols)):
        sel = (tier == t) & np.isfinite(dx)
        sx[t] = np.nanmedian(dx[sel]) if sel.any() else 0.0
        sy[t] = dy_t.get(t, np.nan) if np.isfinite(dy_t.get(t, np.nan)) else 0.0
    isx, isy = np.round(sx).astype(int), np.round(sy).astype(int)
    d, bd = ns_difference(data, bad, shuffle)
    rem = dx.copy()
    for t in range(len(tier_cols)):
        sel = tier == t
        rem[sel] = np.where(np.isfinite(rem[sel]), rem[sel], sx[t]) - isx[t]   # no sky lines: the tier's shift
    tier_reg = np.array([bool(((tier == t) & np.isfinite(dx)).any()) for t in range(len(tier_cols))])
    return {"diff": _register(d, tier_cols, isy, isx, np.nan), "bad": _register(bd, tier_cols, isy, isx, True),
            "sum": _register(ns_sum(data, shuffle), tier_cols, isy, isx, np.nan), "dx": dx, "quality": q,
            "sx": sx, "sy": sy, "isx": isx, "isy": isy, "dx_remainder": rem,
            "registered": np.isfinite(dx) | tier_reg[np.asarray(tier, int)]}


def reduce_mask(mask_dir, bad_pixels=None, params: ReduceParams | None = None, progress: bool | None = None,
                keep_figure: bool = False, figure_slit: int | None = None) -> ReducedMask:
    """Reduce one mask folder (``masks/<mask>``) of the LDSS3 data contract (see module docstring).

    ``bad_pixels``: bad-pixel mask merged with the charge traps (from :func:`survey_trap_mask`;
    computed here if None). ``keep_figure``: keep the cut-outs of ROLES Fig. 3 around
    ``figure_slit`` (slit_id; default the slit with the brightest line) and its neighbours.

    Bad input (issue #7): exposures whose N&S geometry or shape differ from the others raise
    :class:`DataFormatError` naming the odd frame. A slit whose regions A/B or columns are not
    all on the frame is not reduced: it keeps its row in ``slits`` with status ``off_frame``
    and all-NaN cubes (no good pixels), and the other slits are reduced as usual; a design
    with no slit on the frame is an error. A slit without any sky-line registration (not
    even its tier's, e.g. no sky lines at all) gets ``no_sky_registration``. A mask with a
    **single exposure** is reduced: the "median" of one value is that value, the noise is
    ROLES eq. 1 of that exposure (the median-of-n factor is 1), no galaxy-drift registration
    is attempted and no outlier can be rejected (cosmic rays not in the bad-pixel mask
    survive, as in any single N&S exposure); ``meta['n_exp']`` says so.
    """
    params = params or ReduceParams()
    mask_dir = Path(mask_dir)
    if not mask_dir.is_dir():
        raise MissingInputError(f"{mask_dir}: mask folder does not exist")
    root = survey_root(mask_dir.parent.parent)
    design = lio.read_design(mask_dir)
    frames = lio.read_raw_frames(mask_dir, load_data=False)
    geom = _check_frames(frames, design, mask_dir)
    if bad_pixels is None:
        bad_pixels, _ = survey_trap_mask(root, params)
    bad_pixels = np.asarray(bad_pixels, bool)
    if bad_pixels.shape != geom.shape:
        raise DataFormatError(f"{root / 'calib' / 'bpm.fits'}: shape {bad_pixels.shape} differs from the frames "
                              f"of {mask_dir.name} {geom.shape}")
    design_all = design
    off = off_frame_slits(design_all, geom.shape)
    if off.all():
        raise DataFormatError(f"{mask_dir / 'design.ecsv'}: every slit lies outside the {geom.shape[0]} x "
                              f"{geom.shape[1]} frame (e.g. slit {design_all['slit_id'][0]})")
    design = design_all[~off]
    h0 = frames[0].header
    fwhm = _header_number(h0, "SPECRES", C.LDSS3_RESOLUTION_FWHM.to_value(u.AA))
    slit_len = _slit_length_px(h0, design)
    tier, tier_cols = _tiers(design)
    n_slit, n_exp = len(design), len(frames)
    width = int(np.max(np.asarray(design["x_hi"], int) - np.asarray(design["x_lo"], int)))
    ny, nx = geom.shape
    sh, nod = geom.shuffle, geom.nod

    # pixels inside the traced slits (region A rows) and the spectral range, on the design frame
    wave0 = _design_wave(design, width)
    inside = np.zeros(geom.shape, bool)
    for i, s in enumerate(design):
        cols = int(s["x_lo"]) + np.flatnonzero((wave0[i] >= params.spec_range[0]) & (wave0[i] <= params.spec_range[1]))
        cols = cols[cols < nx]
        inside[int(s["a_row_lo"]):int(s["a_row_hi"]), cols] = True

    D = np.empty((n_exp, ny, nx), np.float32)
    BAD = np.empty((n_exp, ny, nx), bool)
    SKY = np.empty((n_exp, ny, nx), np.float32)
    dx_slit = np.full((n_exp, n_slit), np.nan)
    registered = np.zeros((n_exp, n_slit), bool)
    rows = []
    raw_first = None
    for e, f in enumerate(progress_bar(frames, desc=f"{mask_dir.name} exposures", disable=None if progress is None else not progress)):
        data = lio.read_frame(f.path).data
        if data.shape != geom.shape:
            raise DataFormatError(f"{f.path}: frame shape {data.shape} differs from its header {geom.shape}")
        if keep_figure and e == 0:
            raw_first = data.copy()
        reg = register_exposure(data, bad_pixels, design, sh, fwhm, slit_len, tier, tier_cols)
        D[e], BAD[e], SKY[e] = reg["diff"], reg["bad"] | ~inside, reg["sum"]
        dx_slit[e] = reg["dx_remainder"]
        registered[e] = reg["registered"]
        sx, sy, isx, isy, dx, q = reg["sx"], reg["sy"], reg["isx"], reg["isy"], reg["dx"], reg["quality"]
        rows.append({"file": f.path.name, "expnum": int(_header_number(f.header, "EXPNUM", e + 1)),
                     "airmass": float(f.header["AIRMASS"]), "date_obs": str(f.header["DATE-OBS"]),
                     "flex_dx": float(np.nanmedian(sx)), "flex_dy": float(np.nanmedian(sy)),
                     "shift_x": int(np.round(np.median(isx))), "shift_y": int(np.round(np.median(isy))),
                     "dx_scatter": float(np.nanstd(dx)) if np.isfinite(dx).sum() > 1 else np.nan,
                     "sky_corr": float(np.nanmedian(q))})
        del data

    pix = np.flatnonzero(inside)
    sky_flat = SKY.reshape(n_exp, -1)[:, pix]
    sky_flat[BAD.reshape(n_exp, -1)[:, pix]] = np.nan
    sky_med = np.zeros(ny * nx, np.float32)
    sky_med[pix] = nanmedian0(sky_flat)
    sky_med = sky_med.reshape(ny, nx)
    del SKY, sky_flat
    sky_med = np.where(np.isfinite(sky_med), sky_med, 0.0).astype(np.float32)
    n_ind = noise_individual(sky_med, geom.rdnoise)

    # galaxy drift along the slits from bright lines
    drift = np.zeros(n_exp)
    n_drift_lines = 0
    bright_pos = []
    nrow = sh - nod
    box_lo = params.shrink
    box_hi = nrow - params.shrink
    box_mask = np.zeros(nrow, bool)
    box_mask[box_lo:box_hi] = True
    if params.register_drift and n_exp > 1:
        # cosmic rays that no other exposure can outvote must not pass for bright lines here
        BADc, _ = reject_unpaired(D, BAD, n_ind, params.reject_nsigma)
        c1, n1, _, _ = _combine_inside(D, BADc, n_ind, pix, params)
        del BADc
        s1, ns1 = nod_combine(c1, n1, nod)
        cube_s = _slit_cube(s1, design, nrow)
        cube_n = _slit_cube(ns1, design, nrow)
        cube_g = np.isfinite(cube_s) & np.isfinite(cube_n) & box_mask[None, :, None]
        bright = _bright_lines(np.nan_to_num(cube_s), np.nan_to_num(cube_n, nan=1.0), cube_g,
                               None, params.drift_min_sigma, params.drift_max_lines)
        if len(bright):
            a_lo = np.asarray(design["a_row_lo"], int)
            x_lo = np.asarray(design["x_lo"], int)
            pos = [(a_lo[s] + r, x_lo[s] + c) for s, r, c in zip(bright["slit"], bright["row"], bright["col"])]
            bright_pos = pos
            # single-exposure A' - B' at the bright lines
            drift, _ = line_drift(D, BAD, pos, nod=nod)
            n_drift_lines = len(pos)
            drift = np.where(np.isfinite(drift), drift - np.nanmedian(drift), 0.0)
    idrift = np.round(drift).astype(int)
    NIND = np.broadcast_to(n_ind, D.shape)
    if np.any(idrift != 0):
        NIND = np.empty_like(D)
        for e in range(n_exp):
            if idrift[e]:
                D[e] = shift_integer(D[e], -idrift[e], 0, np.nan)
                BAD[e] = shift_integer(BAD[e], -idrift[e], 0, True)
                NIND[e] = shift_integer(n_ind, -idrift[e], 0, np.nan)
            else:
                NIND[e] = n_ind
    # cosmic rays where the other exposures are masked (bad columns, traps): no median to reject them
    BAD0 = BAD
    BAD, n_unpaired = reject_unpaired(D, BAD0, NIND, params.reject_nsigma)
    comb, ncom, ngood, nrej, cmean = _combine_inside(D, BAD, NIND, pix, params, also_mean=True)
    for e, r in enumerate(rows):
        r["drift_dy"] = float(drift[e])
        r["shift_drift"] = int(idrift[e])
        with np.errstate(invalid="ignore"):
            r["n_rejected"] = int(((~BAD[e]) & (np.abs(D[e] - comb) > params.reject_nsigma * NIND[e])).sum())
            r["n_unpaired"] = int((BAD[e] & ~BAD0[e]).sum())    # rejected where no other exposure sees the pixel
    S, N = nod_combine(comb, ncom, nod)
    median_loss, n_loss = _median_loss(S, nod_combine(cmean, ncom, nod)[0], bright_pos)
    del cmean, BAD0
    ng_up = shift_integer(ngood, -nod, 0, 0)
    nexp_min = np.minimum(ngood, ng_up)

    sci = _slit_cube(S, design, nrow).astype(np.float32)
    noise = _slit_cube(N, design, nrow).astype(np.float32)
    nexp = _slit_cube(nexp_min.astype(float), design, nrow, fill=0).astype(np.uint8)
    good = np.isfinite(sci) & np.isfinite(noise) & (noise > 0) & (nexp > 0) & box_mask[None, :, None]
    sky_cube = _slit_cube(sky_med, design, nrow)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sky1d = np.nanmedian(np.where(box_mask[None, :, None], sky_cube, np.nan), axis=1) / 2.0  # per nod

    # wavelength map: design solution + mean sub-pixel remainder of the sky registration
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        resid = np.nanmean(dx_slit, axis=0)
    status = np.array(["ok"] * n_slit, dtype="U24")
    no_reg = ~np.isfinite(resid) | ~registered.any(axis=0)
    status[no_reg] = "no_sky_registration"
    resid = np.where(no_reg, 0.0, resid)
    x = np.asarray(design["x_lo"], float)[:, None] + np.arange(width)[None, :]
    wave = (np.asarray(design["lambda_ref"], float)[:, None]
            + np.asarray(design["dispersion"], float)[:, None] * (x - np.asarray(design["x_ref"], float)[:, None]
                                                                 - resid[:, None]))
    inrange = (wave >= params.spec_range[0]) & (wave <= params.spec_range[1])
    good &= inrange[:, None, :]
    sci = np.where(good, sci, np.nan).astype(np.float32)
    frac_good = good[:, box_lo:box_hi].sum((1, 2)) / np.maximum(inrange.sum(1) * (box_hi - box_lo), 1)
    status[(frac_good < 0.5) & (status == "ok")] = "mostly_bad"

    slits = design.copy()
    slits["mask"] = mask_dir.name
    slits["dx_resid"] = resid * u.pix
    slits["dx_scatter"] = np.nanstd(dx_slit, axis=0) * u.pix if n_exp > 1 else np.zeros(n_slit) * u.pix
    slits["box_lo"] = np.full(n_slit, box_lo)
    slits["box_hi"] = np.full(n_slit, box_hi)
    slits["row0"] = np.asarray(design["a_row_lo"], int)          # detector row of cube row 0
    slits["frac_good"] = np.round(frac_good, 3)
    slits["median_noise"] = [float(np.nanmedian(np.where(good[i], noise[i], np.nan))) if good[i].any() else np.nan
                             for i in range(n_slit)]
    slits["status"] = status
    exposures = Table(rows=rows)
    for c in ("flex_dx", "drift_dy", "dx_scatter"):
        exposures[c].unit = u.pix
    exposures["flex_dy"].unit = u.pix
    airmass = float(np.mean([r["airmass"] for r in rows]))
    meta = {"mask": mask_dir.name, "field": str(design.meta.get("field", h0.get("FIELD", ""))),
            "pointing": str(design.meta.get("pointing", h0.get("POINTING", ""))), "n_exp": n_exp,
            "nodtime": geom.nodtime, "rdnoise": geom.rdnoise, "shuffle": sh, "nod": nod,
            "airmass": airmass, "specres": fwhm, "slit_len_px": slit_len, "combine": params.combine,
            "median_noise": params.median_noise, "reject_nsigma": params.reject_nsigma,
            "n_drift_lines": n_drift_lines, "spec_range": list(params.spec_range), "n_unpaired": n_unpaired,
            "median_loss": median_loss, "n_median_loss": n_loss,
            "pixscale": _header_number(h0, "PIXSCALE", C.LDSS3_PIXSCALE.to_value(u.arcsec)),
            "exptime_table_ks": float(design.meta.get("exptime_table_ks", np.nan))}
    red = ReducedMask(mask_dir.name, meta["field"], slits, exposures, sci, noise.astype(np.float32), good,
                      nexp, sky1d.astype(np.float32), wave.astype(np.float64), meta)
    if keep_figure:
        red.figure = _figure_cutouts(red, design, raw_first, D[0], BAD[0], comb, S, N, figure_slit)
    if off.any():
        red = _with_off_frame_slits(red, design_all, off)
    return red


def _with_off_frame_slits(red: ReducedMask, design_all: Table, off: np.ndarray) -> ReducedMask:
    """Put the off-frame slits back (design order): status ``off_frame``, NaN cubes, no good pixels."""
    from astropy.table import vstack
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
    wave[off] = _design_wave(design_all[off], red.wave.shape[1])
    return ReducedMask(red.name, red.field, slits, red.exposures, full(red.sci, np.nan), full(red.noise, np.nan),
                       full(red.good, False), full(red.nexp, 0), full(red.sky, np.nan), wave, red.meta, red.figure)


def _figure_cutouts(red, design, raw, d0, bad0, comb, S, N, figure_slit):
    """Cut-outs around three neighbouring slits for ROLES Fig. 3 (100 columns x 3 slots)."""
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
    """Write ``<mask>_reduced.fits``: cubes SCI, NOISE, GOOD, NEXP, images SKY and WAVE, tables SLITS, EXPOSURES."""
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
    """Read a ``<mask>_reduced.fits`` product back."""
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


def _reduce_one(item):
    """Reduce and write one mask (a module-level function, so that it can run in a worker process)."""
    mask_dir, bad, params, out_path, keep_figure = item
    red = reduce_mask(mask_dir, bad, params, progress=False, keep_figure=keep_figure)
    write_reduced(red, out_path)
    st = red.slits.copy()
    st.meta = {}
    et = red.exposures.copy()
    et["mask"] = red.name
    et.meta = {}
    return st, et, red.figure


def reduce_survey(data_dir, products_dir, params: ReduceParams | None = None, masks=None,
                  figure_mask: str | None = None, progress: bool | None = None, workers: int = 1, scheduler=None):
    """Reduce every mask of a survey, one mask in memory at a time (per worker).

    Writes ``<products>/ldss3/<mask>_reduced.fits`` per mask and returns
    ``(slits, exposures, traps_info, figure)``: the slit table of all masks (one row per
    slit with its ``status``), the exposure table, the charge-trap diagnostics and the
    Fig. 3 cut-outs of ``figure_mask`` (default: the first mask). ``workers`` > 1 reduces
    masks in parallel local processes (:func:`redshift1.parallel.map_objects`; a Dask
    ``scheduler`` address works too).
    """
    from astropy.table import vstack
    from ..parallel import map_objects
    params = params or ReduceParams()
    root = survey_root(data_dir)
    names = lio.list_masks(root) if masks is None else list(masks)
    if not names:
        raise MissingInputError(f"{root / 'masks'}: no mask folders with a design.ecsv")
    bad, tinfo = survey_trap_mask(root, params)
    figure_mask = figure_mask or names[0]
    out = Path(products_dir) / "ldss3"
    items = [(root / "masks" / n, bad, params, out / f"{n}_reduced.fits", n == figure_mask) for n in names]
    results = map_objects(_reduce_one, items, workers=workers, scheduler=scheduler, desc="LDSS3 masks",
                          progress=progress)
    figure = next((r[2] for r in results if r[2] is not None), None)
    slits = vstack([r[0] for r in results], metadata_conflicts="silent")
    exposures = vstack([r[1] for r in results], metadata_conflicts="silent")
    return slits, exposures, tinfo, figure
