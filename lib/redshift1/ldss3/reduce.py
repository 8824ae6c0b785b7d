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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from .. import constants as C
from ..errors import DataFormatError, MissingInputError
from ..progress import progress_bar
from . import survey_files as lio
from .detect import find_lines, line_kernel, significance
from .exposure import check_frames, off_frame_slits, register_exposure, slit_tiers
from .nodshuffle import (charge_trap_mask, combine_exposures, nanmedian0, noise_individual, nod_combine,
                         reject_unpaired, shift_integer)
from .reduced import ReducedMask, design_wave, figure_cutouts, read_reduced, with_off_frame_slits, write_reduced
from .registration import line_drift

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
    """Choices of the reduction (ROLES §2.3); the defaults are the paper's.

    Attributes
    ----------
    trap_nsigma : float
        Deviant-pixel threshold in the 1 x 3-smoothed nod-and-shuffle dark (charge traps).
    trap_grow_nsigma : float
        Trap streaks grow along their column into pixels above this significance.
    reject_nsigma : float
        Outlier rejection threshold, in units of the noise, in the exposure combination.
    combine : str
        ``"median"`` (ROLES) or ``"mean"`` of the unrejected values.
    median_noise : bool
        Use the noise of a median (not ROLES eq. 2's mean) for the combined noise.
    shrink : int
        Rows removed at the top and bottom of each extraction box.
    spec_range : tuple of float
        Observed Å range of the columns kept (the KG750 pass band and its edges).
    drift_min_sigma : float
        Significance of the bright lines used to register the galaxies along the slits.
    drift_max_lines : int
        Most bright lines used for that registration.
    register_drift : bool
        Measure and correct the galaxies' drift along the slits between exposures.
    """

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


# --------------------------------------------------------------------------- helpers
def survey_root(path) -> Path:
    """The ``ldss3`` folder of a survey.

    Parameters
    ----------
    path : path-like
        The survey folder, its ``ldss3`` folder, or a folder below it.

    Returns
    -------
    `~pathlib.Path`
        ``path/ldss3`` if it holds one, ``path`` if it holds ``masks/``, else
        :func:`redshift1.ldss3.survey_files.find_root`.
    """
    p = Path(path)
    if (p / "ldss3" / "masks").is_dir():
        return p / "ldss3"
    if (p / "masks").is_dir():
        return p
    return lio.find_root(p)


def survey_trap_mask(root, params: ReduceParams | None = None):
    """Charge traps of the CCD from the survey's N&S darks, and the bad-pixel mask.

    Parameters
    ----------
    root : path-like
        The survey (see :func:`survey_root`).
    params : ReduceParams, optional
        ``trap_nsigma`` and ``trap_grow_nsigma`` of the trap search.

    Returns
    -------
    bad : ndarray of bool
        Bad-pixel mask | charge traps.
    info : dict
        Diagnostics, with the trap mask under ``"traps"`` and the bad-pixel mask under ``"bpm"``.
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


#: pixels combined at a time: the median and rejection hold several (n_exp, pixels) temporaries,
#: which for a whole 1312 x 2000 mask of 13 exposures made this stage the paper preset's peak
#: memory (a worker at 930 MB); per-pixel work, so the chunks give the same numbers
COMBINE_CHUNK = 250_000


def _combine_inside(D, BAD, NIND, pix, params: ReduceParams, also_mean: bool = False):
    """:func:`combine_exposures` on the pixels ``pix`` (flat indices) only, in chunks of
    :data:`COMBINE_CHUNK`, scattered back into frames."""
    n, ny, nx = D.shape
    fills, dtypes = (np.nan, np.nan, 0, 0, np.nan), (np.float32, np.float32, np.int16, np.int16, np.float32)
    out = [np.full(ny * nx, fill, dtype=dt) for fill, dt in zip(fills, dtypes)]
    for start in range(0, len(pix), COMBINE_CHUNK):
        p = pix[start:start + COMBINE_CHUNK]
        d = D.reshape(n, -1)[:, p]
        b = BAD.reshape(n, -1)[:, p]
        nn = NIND.reshape(NIND.shape[0], -1)[:, p] if NIND.ndim == 3 else NIND.reshape(-1)[p]
        res = combine_exposures(d, b, nn, params.reject_nsigma, params.combine, params.median_noise, also_mean)
        for full, arr in zip(out, res):
            full[p] = arr
    return [full.reshape(ny, nx) for full in out[:5 if also_mean else 4]]


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
def reduce_mask(mask_dir, bad_pixels=None, params: ReduceParams | None = None, progress: bool | None = None,
                keep_figure: bool = False, figure_slit: int | None = None) -> ReducedMask:
    """Reduce one mask folder (``masks/<mask>``) of the LDSS3 data contract, in the six stages of
    the module docstring.

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

    Parameters
    ----------
    mask_dir : path-like
        The ``masks/<mask>`` folder.
    bad_pixels : ndarray of bool, optional
        Bad-pixel mask merged with the charge traps (:func:`survey_trap_mask`); computed here
        if None.
    params : ReduceParams, optional
        The reduction's choices (ROLES' by default).
    progress : bool, optional
        Show a progress bar over the exposures (None: only in a terminal or notebook).
    keep_figure : bool
        Keep the cut-outs of ROLES Fig. 3 in ``.figure``.
    figure_slit : int, optional
        slit_id at the centre of the Fig. 3 cut-outs (default: the slit with the brightest line).

    Returns
    -------
    ReducedMask
        Slit cubes, slit and exposure tables, wavelength map and metadata.
    """
    params = params or ReduceParams()
    mask_dir = Path(mask_dir)
    design_all, frames, geom, bad_pixels = _mask_inputs(mask_dir, bad_pixels, params)
    off = off_frame_slits(design_all, geom.shape)
    if off.all():
        raise DataFormatError(f"{mask_dir / 'design.ecsv'}: every slit lies outside the {geom.shape[0]} x "
                              f"{geom.shape[1]} frame (e.g. slit {design_all['slit_id'][0]})")
    design = design_all[~off]
    width = int(np.max(np.asarray(design["x_hi"], int) - np.asarray(design["x_lo"], int)))
    inside = _inside_slits(design, geom.shape, width, params.spec_range)
    # stage 2: every exposure registered and sky-subtracted, one frame read at a time
    reg = _register_exposures(mask_dir.name, frames, geom, design, bad_pixels, inside, keep_figure, progress)
    D, BAD, rows = reg["D"], reg["BAD"], reg["rows"]
    # stage 3: the noise model from the median sky
    pix = np.flatnonzero(inside)
    noise = _noise_model(reg.pop("SKY"), BAD, pix, geom)
    # stage 4: galaxy drift along the slits from bright lines, applied as integer shifts
    nrow = geom.shuffle - geom.nod
    box_mask = np.zeros(nrow, bool)
    box_mask[params.shrink:nrow - params.shrink] = True
    drift, bright_pos, n_drift_lines = _galaxy_drift(D, BAD, noise, pix, design, geom, box_mask, params)
    idrift, NIND = _apply_drift(D, BAD, noise, drift)
    # stage 5: combination with rejection, A' - B' and its noise
    comb = _combine_exposures(D, BAD, NIND, pix, geom, params, rows, drift, idrift, bright_pos, keep_figure)
    # stage 6: the wavelength map and the slit table
    cubes = _slit_cubes(comb, design, nrow, box_mask, noise["sky_med"])
    wave, resid, status = _wavelength_map(design, reg["dx_slit"], reg["registered"], width, params.spec_range)
    good = cubes["good"] & ((wave >= params.spec_range[0]) & (wave <= params.spec_range[1]))[:, None, :]
    sci = np.where(good, cubes["sci"], np.nan).astype(np.float32)
    slits = _slit_table(design, mask_dir.name, good, cubes["noise"], wave, resid, status, reg["dx_slit"], params,
                        nrow)
    exposures = Table(rows=rows)
    for c in ("flex_dx", "drift_dy", "dx_scatter", "flex_dy"):
        exposures[c].unit = u.pix
    meta = _mask_meta(mask_dir.name, design, frames[0].header, geom, rows, params, n_drift_lines, comb)
    red = ReducedMask(mask_dir.name, meta["field"], slits, exposures, sci, cubes["noise"].astype(np.float32), good,
                      cubes["nexp"], cubes["sky1d"].astype(np.float32), wave.astype(np.float64), meta)
    if keep_figure:
        red.figure = figure_cutouts(red, design, reg["raw_first"], D[0], comb["bad_first"], comb["comb"],
                                     comb["S"], comb["N"], figure_slit)
    if off.any():
        red = with_off_frame_slits(red, design_all, off)
    return red


def _mask_inputs(mask_dir: Path, bad_pixels, params: ReduceParams):
    """Stage 1: the design, the frames (headers only), their common N&S geometry and the bad pixels."""
    if not mask_dir.is_dir():
        raise MissingInputError(f"{mask_dir}: mask folder does not exist")
    root = survey_root(mask_dir.parent.parent)
    design = lio.read_design(mask_dir)
    frames = lio.read_raw_frames(mask_dir, load_data=False)
    geom = check_frames(frames, design, mask_dir)
    if bad_pixels is None:
        bad_pixels, _ = survey_trap_mask(root, params)
    bad_pixels = np.asarray(bad_pixels, bool)
    if bad_pixels.shape != geom.shape:
        raise DataFormatError(f"{root / 'calib' / 'bpm.fits'}: shape {bad_pixels.shape} differs from the frames "
                              f"of {mask_dir.name} {geom.shape}")
    return design, frames, geom, bad_pixels


def _inside_slits(design, shape, width: int, spec_range) -> np.ndarray:
    """Pixels inside the traced slits (region A rows) and the spectral range, on the design frame."""
    wave0 = design_wave(design, width)
    inside = np.zeros(shape, bool)
    nx = shape[1]
    for i, s in enumerate(design):
        cols = int(s["x_lo"]) + np.flatnonzero((wave0[i] >= spec_range[0]) & (wave0[i] <= spec_range[1]))
        cols = cols[cols < nx]
        inside[int(s["a_row_lo"]):int(s["a_row_hi"]), cols] = True
    return inside


def _register_exposures(name, frames, geom, design, bad_pixels, inside, keep_figure, progress) -> dict:
    """Stage 2: per exposure, slit tracing, sky-line registration and N&S sky subtraction onto
    the design frame (the frames are read one at a time)."""
    h0 = frames[0].header
    fwhm = lio.header_number(h0, "SPECRES", C.LDSS3_RESOLUTION_FWHM.to_value(u.AA))
    slit_len = lio.slit_length_px(h0, design)
    tier, tier_cols = slit_tiers(design)
    n_slit, n_exp = len(design), len(frames)
    ny, nx = geom.shape
    out = {"D": np.empty((n_exp, ny, nx), np.float32), "BAD": np.empty((n_exp, ny, nx), bool),
           "SKY": np.empty((n_exp, ny, nx), np.float32), "dx_slit": np.full((n_exp, n_slit), np.nan),
           "registered": np.zeros((n_exp, n_slit), bool), "rows": [], "raw_first": None}
    for e, f in enumerate(progress_bar(frames, desc=f"{name} exposures", disable=None if progress is None else not progress)):
        data = lio.read_frame(f.path).data
        if data.shape != geom.shape:
            raise DataFormatError(f"{f.path}: frame shape {data.shape} differs from its header {geom.shape}")
        if keep_figure and e == 0:
            out["raw_first"] = data.copy()
        reg = register_exposure(data, bad_pixels, design, geom.shuffle, fwhm, slit_len, tier, tier_cols)
        out["D"][e], out["BAD"][e], out["SKY"][e] = reg["diff"], reg["bad"] | ~inside, reg["sum"]
        out["dx_slit"][e] = reg["dx_remainder"]
        out["registered"][e] = reg["registered"]
        sx, sy, isx, isy, dx, q = reg["sx"], reg["sy"], reg["isx"], reg["isy"], reg["dx"], reg["quality"]
        out["rows"].append({"file": f.path.name, "expnum": int(lio.header_number(f.header, "EXPNUM", e + 1)),
                            "airmass": float(f.header["AIRMASS"]), "date_obs": str(f.header["DATE-OBS"]),
                            "flex_dx": float(np.nanmedian(sx)), "flex_dy": float(np.nanmedian(sy)),
                            "shift_x": int(np.round(np.median(isx))), "shift_y": int(np.round(np.median(isy))),
                            "dx_scatter": float(np.nanstd(dx)) if np.isfinite(dx).sum() > 1 else np.nan,
                            "sky_corr": float(np.nanmedian(q))})
        del data
    out["specres"], out["slit_len"] = fwhm, slit_len
    return out


def _noise_model(SKY, BAD, pix, geom) -> dict:
    """Stage 3: the median sky of all exposures and the single-exposure noise (ROLES eq. 1)."""
    n_exp = SKY.shape[0]
    ny, nx = geom.shape
    sky_flat = SKY.reshape(n_exp, -1)[:, pix]
    sky_flat[BAD.reshape(n_exp, -1)[:, pix]] = np.nan
    sky_med = np.zeros(ny * nx, np.float32)
    sky_med[pix] = nanmedian0(sky_flat)
    sky_med = sky_med.reshape(ny, nx)
    del SKY, sky_flat
    sky_med = np.where(np.isfinite(sky_med), sky_med, 0.0).astype(np.float32)
    return {"sky_med": sky_med, "n_ind": noise_individual(sky_med, geom.rdnoise)}


def _galaxy_drift(D, BAD, noise, pix, design, geom, box_mask, params: ReduceParams):
    """Stage 4: drift of the galaxies along the slits per exposure, from the centroids of the
    bright lines of a first combination. Returns ``(drift, bright_positions, n_lines)``."""
    n_exp = D.shape[0]
    drift = np.zeros(n_exp)
    if not (params.register_drift and n_exp > 1):
        return drift, [], 0
    n_ind = noise["n_ind"]
    nrow = geom.shuffle - geom.nod
    # cosmic rays that no other exposure can outvote must not pass for bright lines here
    BADc, _ = reject_unpaired(D, BAD, n_ind, params.reject_nsigma)
    c1, n1, _, _ = _combine_inside(D, BADc, n_ind, pix, params)
    del BADc
    s1, ns1 = nod_combine(c1, n1, geom.nod)
    cube_s = _slit_cube(s1, design, nrow)
    cube_n = _slit_cube(ns1, design, nrow)
    cube_g = np.isfinite(cube_s) & np.isfinite(cube_n) & box_mask[None, :, None]
    bright = _bright_lines(np.nan_to_num(cube_s), np.nan_to_num(cube_n, nan=1.0), cube_g,
                           None, params.drift_min_sigma, params.drift_max_lines)
    if not len(bright):
        return drift, [], 0
    a_lo = np.asarray(design["a_row_lo"], int)
    x_lo = np.asarray(design["x_lo"], int)
    pos = [(a_lo[s] + r, x_lo[s] + c) for s, r, c in zip(bright["slit"], bright["row"], bright["col"])]
    # single-exposure A' - B' at the bright lines
    drift, _ = line_drift(D, BAD, pos, nod=geom.nod)
    drift = np.where(np.isfinite(drift), drift - np.nanmedian(drift), 0.0)
    return drift, pos, len(pos)


def _apply_drift(D, BAD, noise, drift):
    """Stage 4 (end): shift each exposure (in place) by its integer drift; its noise frame moves
    with it. Returns ``(integer_drift, noise_per_exposure)``."""
    n_ind = noise["n_ind"]
    idrift = np.round(drift).astype(int)
    NIND = np.broadcast_to(n_ind, D.shape)
    if np.any(idrift != 0):
        NIND = np.empty_like(D)
        for e in range(D.shape[0]):
            if idrift[e]:
                D[e] = shift_integer(D[e], -idrift[e], 0, np.nan)
                BAD[e] = shift_integer(BAD[e], -idrift[e], 0, True)
                NIND[e] = shift_integer(n_ind, -idrift[e], 0, np.nan)
            else:
                NIND[e] = n_ind
    return idrift, NIND


def _combine_exposures(D, BAD0, NIND, pix, geom, params: ReduceParams, rows, drift, idrift, bright_pos,
                       keep_first_bad: bool = False) -> dict:
    """Stage 5: median combination with rejection against the noise (ROLES eq. 2), ``A' - B'``
    and its noise (eq. 3); the per-exposure rejection counts go into ``rows``."""
    # cosmic rays where the other exposures are masked (bad columns, traps): no median to reject them
    BAD, n_unpaired = reject_unpaired(D, BAD0, NIND, params.reject_nsigma)
    comb, ncom, ngood, nrej, cmean = _combine_inside(D, BAD, NIND, pix, params, also_mean=True)
    for e, r in enumerate(rows):
        r["drift_dy"] = float(drift[e])
        r["shift_drift"] = int(idrift[e])
        with np.errstate(invalid="ignore"):
            r["n_rejected"] = int(((~BAD[e]) & (np.abs(D[e] - comb) > params.reject_nsigma * NIND[e])).sum())
            r["n_unpaired"] = int((BAD[e] & ~BAD0[e]).sum())    # rejected where no other exposure sees the pixel
    S, N = nod_combine(comb, ncom, geom.nod)
    median_loss, n_loss = _median_loss(S, nod_combine(cmean, ncom, geom.nod)[0], bright_pos)
    ng_up = shift_integer(ngood, -geom.nod, 0, 0)
    return {"comb": comb, "S": S, "N": N, "nexp_min": np.minimum(ngood, ng_up), "n_unpaired": n_unpaired,
            "median_loss": median_loss, "n_median_loss": n_loss,
            "bad_first": BAD[0].copy() if keep_first_bad else None}


def _slit_cubes(comb: dict, design, nrow: int, box_mask, sky_med) -> dict:
    """Stage 5 (end): per-slit cubes of ``A' - B'``, noise, surviving exposures and good pixels,
    and the median sky spectrum of each slit (box rows, per nod)."""
    sci = _slit_cube(comb["S"], design, nrow).astype(np.float32)
    noise = _slit_cube(comb["N"], design, nrow).astype(np.float32)
    nexp = _slit_cube(comb["nexp_min"].astype(float), design, nrow, fill=0).astype(np.uint8)
    good = np.isfinite(sci) & np.isfinite(noise) & (noise > 0) & (nexp > 0) & box_mask[None, :, None]
    sky_cube = _slit_cube(sky_med, design, nrow)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sky1d = np.nanmedian(np.where(box_mask[None, :, None], sky_cube, np.nan), axis=1) / 2.0  # per nod
    return {"sci": sci, "noise": noise, "nexp": nexp, "good": good, "sky1d": sky1d}


def _wavelength_map(design, dx_slit, registered, width: int, spec_range):
    """Stage 6: the design solution moved by the mean sub-pixel remainder of the sky-line
    registration. Returns ``(wave, remainder, status)`` (``no_sky_registration`` where none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        resid = np.nanmean(dx_slit, axis=0)
    status = np.array(["ok"] * len(design), dtype="U24")
    no_reg = ~np.isfinite(resid) | ~registered.any(axis=0)
    status[no_reg] = "no_sky_registration"
    resid = np.where(no_reg, 0.0, resid)
    x = np.asarray(design["x_lo"], float)[:, None] + np.arange(width)[None, :]
    wave = (np.asarray(design["lambda_ref"], float)[:, None]
            + np.asarray(design["dispersion"], float)[:, None] * (x - np.asarray(design["x_ref"], float)[:, None]
                                                                 - resid[:, None]))
    return wave, resid, status


def _slit_table(design, name: str, good, noise, wave, resid, status, dx_slit, params: ReduceParams, nrow: int):
    """The slit table: design + registration + box rows + good fraction + ``status``."""
    box_lo, box_hi = params.shrink, nrow - params.shrink
    n_slit, n_exp = len(design), dx_slit.shape[0]
    inrange = (wave >= params.spec_range[0]) & (wave <= params.spec_range[1])
    frac_good = good[:, box_lo:box_hi].sum((1, 2)) / np.maximum(inrange.sum(1) * (box_hi - box_lo), 1)
    status[(frac_good < 0.5) & (status == "ok")] = "mostly_bad"
    slits = design.copy()
    slits["mask"] = name
    slits["dx_resid"] = resid * u.pix
    slits["dx_scatter"] = np.nanstd(dx_slit, axis=0) * u.pix if n_exp > 1 else np.zeros(n_slit) * u.pix
    slits["box_lo"] = np.full(n_slit, box_lo)
    slits["box_hi"] = np.full(n_slit, box_hi)
    slits["row0"] = np.asarray(design["a_row_lo"], int)          # detector row of cube row 0
    slits["frac_good"] = np.round(frac_good, 3)
    slits["median_noise"] = [float(np.nanmedian(np.where(good[i], noise[i], np.nan))) if good[i].any() else np.nan
                             for i in range(n_slit)]
    slits["status"] = status
    return slits


def _mask_meta(name: str, design, h0, geom, rows, params: ReduceParams, n_drift_lines: int, comb: dict) -> dict:
    """The reduced mask's metadata (geometry, airmass, choices, diagnostics)."""
    pixscale = C.LDSS3_PIXSCALE.to_value(u.arcsec)
    return {"mask": name, "field": str(design.meta.get("field", h0.get("FIELD", ""))),
            "pointing": str(design.meta.get("pointing", h0.get("POINTING", ""))), "n_exp": len(rows),
            "nodtime": geom.nodtime, "rdnoise": geom.rdnoise, "shuffle": geom.shuffle, "nod": geom.nod,
            "airmass": float(np.mean([r["airmass"] for r in rows])),
            "specres": lio.header_number(h0, "SPECRES", C.LDSS3_RESOLUTION_FWHM.to_value(u.AA)),
            "slit_len_px": lio.slit_length_px(h0, design), "combine": params.combine,
            "median_noise": params.median_noise, "reject_nsigma": params.reject_nsigma,
            "n_drift_lines": n_drift_lines, "spec_range": list(params.spec_range), "n_unpaired": comb["n_unpaired"],
            "median_loss": comb["median_loss"], "n_median_loss": comb["n_median_loss"],
            "pixscale": lio.header_number(h0, "PIXSCALE", pixscale),
            "exptime_table_ks": float(design.meta.get("exptime_table_ks", np.nan))}


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
    """Reduce every mask of a survey, one mask in memory at a time (per worker), writing
    ``<products>/ldss3/<mask>_reduced.fits`` as each mask is done.

    Parameters
    ----------
    data_dir : path-like
        The survey (see :func:`survey_root`).
    products_dir : path-like
        Products folder (the cubes go to its ``ldss3/``).
    params : ReduceParams, optional
        The reduction's choices.
    masks : list of str, optional
        Masks to reduce (default: all).
    figure_mask : str, optional
        Mask whose Fig. 3 cut-outs are kept (default: the first).
    progress : bool, optional
        Progress bar over the masks.
    workers : int
        > 1: masks in parallel local processes (:func:`redshift1.parallel.map_objects`).
    scheduler : str, optional
        A Dask scheduler address instead.

    Returns
    -------
    slits : `~astropy.table.Table`
        Every slit of every mask with its ``status``.
    exposures : `~astropy.table.Table`
        Every exposure's registration and rejection diagnostics.
    traps_info : dict
        Charge-trap diagnostics (:func:`survey_trap_mask`).
    figure : dict or None
        The Fig. 3 cut-outs.
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
