"""One raw LDSS3 N&S exposure onto the design frame: the frames' common geometry, the slits on
the frame, slit tracing, sky-line registration and N&S sky subtraction (stages 1-2 of
:func:`redshift1.ldss3.reduce.reduce_mask`; the flux standard is registered the same way)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from .nodshuffle import geometry_from_header, ns_difference, ns_sum, shift_integer
from .registration import measure_dx, measure_dy, slit_sky_spectra

__all__ = ["check_frames", "off_frame_slits", "slit_tiers", "register_exposure"]


_GEOM_FIELDS = (("SHUFFLE", "shuffle"), ("NODPIX", "nod"), ("NODTIME", "nodtime"), ("shape", "shape"))


def check_frames(frames, design, mask_dir):
    """N&S geometry shared by all exposures of a mask, and the design's regions consistent with it.

    Exposures whose ``SHUFFLE``/``NODPIX``/``NODTIME``/shape differ from those of the majority
    (the first frame on a tie) raise :class:`DataFormatError` naming the odd frame.

    Parameters
    ----------
    frames : list of RawFrame
        The mask's exposures (headers).
    design : `~astropy.table.Table`
        The mask design.
    mask_dir : path-like
        The mask folder (named in errors).

    Returns
    -------
    NSGeometry
        The common geometry (:func:`redshift1.ldss3.nodshuffle.geometry_from_header`).
    """
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
    """Slits whose regions A and B or whose columns are not all on a frame of ``shape``.

    Parameters
    ----------
    design : `~astropy.table.Table`
        The mask design.
    shape : tuple of int
        ``(ny, nx)`` of the frames.

    Returns
    -------
    ndarray of bool
        True for the slits off the frame.
    """
    ny, nx = shape
    return ((np.asarray(design["a_row_lo"], int) < 0) | (np.asarray(design["b_row_hi"], int) > ny)
            | (np.asarray(design["x_lo"], int) < 0) | (np.asarray(design["x_hi"], int) > nx))


def slit_tiers(design):
    """Tier of each slit and the column range of each tier (from x_lo/x_hi).

    Parameters
    ----------
    design : `~astropy.table.Table`

    Returns
    -------
    tier : ndarray of int
        Tier of each slit.
    columns : list of tuple
        ``(x_lo, x_hi)`` of each tier.
    """
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


def register_exposure(data, bad_pixels, design, shuffle: int, fwhm: float, slit_len: float,
                      tier=None, tier_cols=None) -> dict:
    """Trace, register and sky-subtract one raw N&S frame onto the design frame.

    Parameters
    ----------
    data : ndarray
        The raw frame.
    bad_pixels : ndarray of bool
        Bad pixels and charge traps.
    design : `~astropy.table.Table`
        The slits on the frame.
    shuffle : int
        ``SHUFFLE`` (rows).
    fwhm : float
        Spectral resolution FWHM (Å) for the sky-line registration.
    slit_len : float
        Slit length (pixels) for the slit tracing.
    tier, tier_cols : optional
        Tier of each slit and each tier's column range (computed from the design if None).

    Returns
    -------
    dict
        The registered sky-subtracted frame ``diff`` (``F[y] - F[y+SHUFFLE]``), its ``bad``
        mask, the sky sum ``sum``, the measured shifts per slit (``dx``, with its ``quality``)
        and per tier (``sx``, ``sy``), the integer moves applied (``isx``, ``isy``), the
        sub-pixel remainder of every slit's ``dx`` after the move (``dx_remainder``, for the
        wavelength map) and whether each slit was ``registered``.
    """
    if tier is None:
        tier, tier_cols = slit_tiers(design)
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
