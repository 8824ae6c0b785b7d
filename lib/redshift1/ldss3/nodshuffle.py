"""Nod-and-shuffle arithmetic of ROLES §2.3: charge traps, sky subtraction, noise, combination.

Every function works on whole frames (numpy arrays ``data[y, x]`` in electrons, 0-based
rows and columns as in ``docs/data-format.md``, section LDSS3) and is vectorised.

* :func:`charge_trap_mask` -- ROLES §2.3.2: median-smooth the N&S dark with a 1 x 3 box
  (long axis across the shuffle direction), compare the dark with the smoothed version and
  flag the deviant pixels; they are merged with the bad-pixel mask.
* :func:`ns_difference`, :func:`ns_sum` -- ROLES §2.3.4/§2.3.5: subtract (add) the frame
  shifted by the shuffle distance: region A minus region B is sky-free.
* :func:`noise_individual` -- ROLES eq. 1, ``N = sqrt(|<sky>| + 2 R^2)``.
* :func:`combine_exposures` -- median with 5-sigma rejection against that noise, the
  number of good exposures per pixel and ROLES eq. 2 for the combined noise.
* :func:`nod_combine` -- ROLES §2.3.4 ``A' - B'`` and eq. 3 for its noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.stats import mad_std
from scipy.ndimage import median_filter

from ..errors import DataFormatError

__all__ = ["NSGeometry", "geometry_from_header", "charge_trap_mask", "ns_difference", "ns_sum",
           "noise_individual", "nanmedian0", "median_noise_factor", "combine_exposures", "nod_combine",
           "shift_integer", "reject_unpaired"]

#: sqrt(k Var(median of k unit normals)): how much noisier a median of k values is than
#: their mean (k = 1 ... 20; sqrt(pi/2) beyond). Even k: mean of the two middle values.
_MEDIAN_FACTOR = np.array([1.0, 1.0, 1.0, 1.160, 1.092, 1.197, 1.135, 1.214, 1.160, 1.223, 1.176,
                           1.228, 1.186, 1.232, 1.193, 1.235, 1.199, 1.237, 1.204, 1.239, 1.208])


@dataclass(frozen=True)
class NSGeometry:
    """Nod-and-shuffle constants of a set of frames (from the raw headers).

    Attributes
    ----------
    shuffle : int
        Rows; region B = region A + shuffle.
    nod : int
        Rows; the object moves +nod from nod A to nod B.
    rdnoise : float
        Read noise [e- per pixel per read].
    nodtime : float
        Shutter-open time per nod position [s].
    ncycles : int
        Nod cycles.
    shape : tuple of int
        (ny, nx) of the frames.
    """

    shuffle: int          # rows; region B = region A + shuffle
    nod: int              # rows; object moves +nod from nod A to nod B
    rdnoise: float        # e- per pixel per read
    nodtime: float        # s of shutter-open time per nod position
    ncycles: int
    shape: tuple          # (ny, nx)


def geometry_from_header(header, path="frame") -> NSGeometry:
    """Read the N&S constants the contract requires (``SHUFFLE``, ``NODPIX``, ``RDNOISE`` ...).

    Parameters
    ----------
    header : astropy.io.fits.Header
        A raw frame's header.
    path : str or pathlib.Path, optional
        The frame's name, for the error message.

    Returns
    -------
    NSGeometry
        The constants.

    Raises
    ------
    DataFormatError
        If a keyword is missing or not a number.
    """
    try:
        return NSGeometry(shuffle=int(header["SHUFFLE"]), nod=int(header["NODPIX"]),
                          rdnoise=float(header["RDNOISE"]), nodtime=float(header["NODTIME"]),
                          ncycles=int(header["NCYCLES"]),
                          shape=(int(header["NAXIS2"]), int(header["NAXIS1"])))
    except (KeyError, ValueError, TypeError) as exc:
        raise DataFormatError(f"{path}: N&S header keyword missing or not a number ({exc})") from None


# --------------------------------------------------------------------------- charge traps
def charge_trap_mask(darks, bpm=None, nsigma: float = 5.0, grow_nsigma: float = 2.0,
                     max_length: int = 16, box=(1, 3)) -> tuple[np.ndarray, dict]:
    """Charge-trap mask from N&S darks (ROLES §2.3.2).

    The darks are combined pixel by pixel (median of three or more; the minimum of two,
    which removes cosmic rays just as well), median-smoothed with a ``1 x 3`` box whose
    long axis is *across* the shuffle direction, and the dark is compared with its
    smoothed version. A trap streak runs along a column, so the 1 x 3 median does not
    contain it and the pixel stands out. Because an N&S dark holds almost no charge, the
    ratio dark/smoothed is dominated by read noise, so the comparison is made in the
    equivalent form ``(dark - smoothed) / sigma`` with ``sigma`` the clipped pixel-to-pixel
    scatter of the combined dark. Pixels above ``nsigma`` seed the mask, which then grows
    along the column (the shuffle direction) into pixels above ``grow_nsigma``, at most
    ``max_length`` rows from a seed (a trap affects the packets shuffled across it, up to
    ``SHUFFLE`` rows away). Pixels already in ``bpm`` are not counted as traps.

    Parameters
    ----------
    darks : array_like
        (n, ny, nx) or (ny, nx) N&S darks.
    bpm : numpy.ndarray, optional
        bool bad-pixel mask (True = bad).
    nsigma : float, optional
        Seed threshold [σ].
    grow_nsigma : float, optional
        Growth threshold [σ].
    max_length : int, optional
        Longest growth from a seed [rows].
    box : tuple of int, optional
        (rows, columns) of the median smoothing.

    Returns
    -------
    mask : numpy.ndarray
        bool (True = charge trap).
    info : dict
        Diagnostics: ``n_darks``, ``sigma_dark``, ``n_seed``, ``n_trap_pixels``,
        ``n_trap_columns``, the thresholds, ``box`` and the combined ``dark``.
    """
    stack = np.asarray(darks, dtype=np.float32)
    if stack.ndim == 2:
        stack = stack[None]
    if stack.shape[0] >= 3:
        dark = np.median(stack, axis=0)
    elif stack.shape[0] == 2:
        dark = stack.min(axis=0)
    else:
        dark = stack[0]
    smooth = median_filter(dark, size=box, mode="nearest")
    resid = dark - smooth
    bad = np.zeros(dark.shape, bool) if bpm is None else np.asarray(bpm, bool)
    good = ~bad & np.isfinite(resid)
    vals = dark[good]
    # clipped scatter of single pixels (read noise + dark current)
    med = np.median(vals)
    sigma = mad_std(vals)
    for _ in range(3):
        keep = np.abs(vals - med) < 4 * sigma
        med, sigma = np.median(vals[keep]), np.std(vals[keep])
    dev = np.where(good, resid / max(sigma, 1e-6), 0.0)
    seed = dev > nsigma
    # grow along +y (the packets shuffled across a trap lie above it), at most max_length rows
    weak = dev > grow_nsigma
    mask = seed.copy()
    front = seed.copy()
    for _ in range(max_length):
        front[1:] = front[:-1] & weak[1:] & ~mask[1:]
        front[0] = False
        if not front.any():
            break
        mask |= front
    mask &= ~bad
    info = {"n_darks": int(stack.shape[0]), "sigma_dark": float(sigma), "n_seed": int(seed.sum()),
            "n_trap_pixels": int(mask.sum()), "n_trap_columns": int(np.unique(np.nonzero(mask)[1]).size),
            "nsigma": nsigma, "grow_nsigma": grow_nsigma, "box": list(box), "dark": dark}
    return mask, info


# --------------------------------------------------------------------------- sky subtraction
def _shift_rows_up(a, s, fill):
    """``out[y] = a[y + s]`` (rows beyond the frame get ``fill``)."""
    out = np.full_like(a, fill)
    out[:-s] = a[s:]
    return out


def ns_difference(frame, bad, shuffle: int):
    """N&S sky subtraction: ``D[y] = F[y] - F[y + shuffle]`` and its bad-pixel mask.

    In region A rows this is (sky + object at nod A) - (sky + object at nod B): a positive and
    a negative image of the object, no sky (ROLES §2.3.4, Fig. 3b).

    Parameters
    ----------
    frame : numpy.ndarray
        (ny, nx) raw frame.
    bad : numpy.ndarray
        bool bad-pixel mask.
    shuffle : int
        Shuffle distance [rows].

    Returns
    -------
    difference : numpy.ndarray
        float32 ``D``.
    bad : numpy.ndarray
        bool, bad in either row or shifted off the frame.
    """
    frame = np.asarray(frame, np.float32)
    up = _shift_rows_up(frame, shuffle, np.nan)
    bad_up = _shift_rows_up(np.asarray(bad, bool), shuffle, True)
    return frame - up, np.asarray(bad, bool) | bad_up | ~np.isfinite(up)


def ns_sum(frame, shuffle: int):
    """``F[y] + F[y + shuffle]``: the sky of both nods at each region-A pixel (ROLES §2.3.5).

    Parameters
    ----------
    frame : numpy.ndarray
        (ny, nx) raw frame.
    shuffle : int
        Shuffle distance [rows].

    Returns
    -------
    numpy.ndarray
        float32 sum (NaN where shifted off the frame).
    """
    frame = np.asarray(frame, np.float32)
    return frame + _shift_rows_up(frame, shuffle, np.nan)


def noise_individual(sky_sum, rdnoise: float):
    """ROLES eq. 1: ``N_indiv = sqrt(|<sky>| + 2 R^2)`` for one A-B pixel of one exposure.

    Parameters
    ----------
    sky_sum : numpy.ndarray
        Sky of both nods, :func:`ns_sum` [e-].
    rdnoise : float
        Read noise R [e-].

    Returns
    -------
    numpy.ndarray
        float32 noise [e-].
    """
    return np.sqrt(np.abs(sky_sum) + 2.0 * rdnoise**2).astype(np.float32)


def nanmedian0(x):
    """Median along axis 0 ignoring NaN (NaN where all are NaN).

    A sort-based, warning-free and much faster replacement of ``np.nanmedian(x, axis=0)`` for
    a few exposures.

    Parameters
    ----------
    x : numpy.ndarray
        Stack along axis 0.

    Returns
    -------
    numpy.ndarray
        The median, in ``x``'s dtype.
    """
    x = np.asarray(x)
    srt = np.sort(x, axis=0)                      # NaNs sort last
    k = np.isfinite(x).sum(axis=0)
    lo = np.clip((k - 1) // 2, 0, x.shape[0] - 1)
    hi = np.clip(k // 2, 0, x.shape[0] - 1)
    a = np.take_along_axis(srt, lo[None], axis=0)[0]
    b = np.take_along_axis(srt, hi[None], axis=0)[0]
    out = 0.5 * (a + b)
    return np.where(k > 0, out, np.nan).astype(x.dtype)


def median_noise_factor(n_good):
    """Noise of a median of ``n`` values over that of their mean (1 for n <= 2).

    Parameters
    ----------
    n_good : array_like of int
        Values combined at each pixel.

    Returns
    -------
    numpy.ndarray
        The factor (sqrt(π/2) for large n).
    """
    n = np.asarray(n_good, int)
    table = np.append(_MEDIAN_FACTOR, np.sqrt(np.pi / 2))
    return table[np.clip(n, 0, table.size - 1)]


# --------------------------------------------------------------------------- combination
def combine_exposures(stack, bad, noise, nsigma: float = 5.0, method: str = "median",
                      median_noise: bool = True, also_mean: bool = False):
    """Combine registered exposures with ``nsigma`` rejection against the noise model.

    Parameters
    ----------
    stack : numpy.ndarray
        (n, ny, nx) sky-subtracted exposures [e-].
    bad : numpy.ndarray
        (n, ny, nx) bool, pixels to ignore in each exposure.
    noise : numpy.ndarray
        (n, ny, nx) or (ny, nx) ``N_indiv`` of each exposure (ROLES eq. 1).
    nsigma : float, optional
        Values further than this times the noise from the median are rejected.
    method : {"median", "mean"}, optional
        ``"median"`` (ROLES) or the mean of the unrejected values.
    median_noise : bool, optional
        Multiply ROLES eq. 2 by the exact median-of-n efficiency factor (1.16 for 3
        exposures, -> 1.25), so that the noise describes the median actually taken; False
        gives eq. 2 as printed.
    also_mean : bool, optional
        Also return the mean of the unrejected values.

    Returns
    -------
    tuple
        ``(combined, noise_combined, n_good, n_rejected)`` (plus the mean with
        ``also_mean``); pixels with no good exposure are NaN with ``n_good = 0``.
    """
    x = np.where(bad, np.nan, np.asarray(stack, np.float32))
    n = np.asarray(noise, np.float32)
    if n.ndim == 2:
        n = np.broadcast_to(n, x.shape)
    with np.errstate(invalid="ignore"), _quiet():
        med = nanmedian0(x)
        reject = np.abs(x - med) > nsigma * n
        n_valid = np.isfinite(x).sum(axis=0)
        y = np.where(reject, np.nan, x)
        n_good = np.isfinite(y).sum(axis=0)
        # every value rejected (e.g. two exposures that disagree): keep the smallest |value|,
        # since cosmic rays and unmasked defects add charge
        lost = (n_good == 0) & (n_valid > 0)
        if lost.any():
            absx = np.where(np.isfinite(x), np.abs(x), np.inf)
            pick = np.argmin(absx, axis=0)
            keep = np.zeros_like(reject)
            np.put_along_axis(keep, pick[None], True, axis=0)
            y = np.where(keep & lost[None], x, y)
            n_good = np.isfinite(y).sum(axis=0)
        if method == "median":
            comb = nanmedian0(y)
        elif method == "mean":
            comb = np.nanmean(y, axis=0)
        else:
            raise ValueError(f"combine method {method!r} is not 'median' or 'mean'")
        # ROLES eq. 2 with the per-pixel noise averaged over the good exposures
        nvar = np.where(np.isfinite(y), n.astype(np.float32) ** 2, 0).sum(axis=0) / np.maximum(n_good, 1)
        ncom = np.sqrt(nvar / np.maximum(n_good, 1))
    if method == "median" and median_noise:
        ncom = ncom * median_noise_factor(n_good)
    comb = np.where(n_good > 0, comb, np.nan).astype(np.float32)
    ncom = np.where(n_good > 0, ncom, np.nan).astype(np.float32)
    n_rej = (n_valid - n_good).astype(np.int16)
    if also_mean:
        with _quiet():
            mean = np.where(n_good > 0, np.nanmean(y, axis=0), np.nan).astype(np.float32)
        return comb, ncom, n_good.astype(np.int16), n_rej, mean
    return comb, ncom, n_good.astype(np.int16), n_rej


def reject_unpaired(stack, bad, noise, nsigma: float = 5.0, reach: int = 2):
    """Flag outliers at pixels that only one exposure sees (the others masked there).

    The median of :func:`combine_exposures` cannot reject a cosmic ray at a pixel where every
    other exposure is masked -- next to a bad column or charge trap, which the exposures'
    different flexure moves put on different registered columns. There the value is compared
    with the *other* exposures at the nearest good pixels of the same row: a real line, a few
    pixels wide, is there too; a cosmic ray, present in one exposure only, is not. Pixels with
    no neighbour in another exposure, and single-exposure stacks, are left alone.

    Parameters
    ----------
    stack : numpy.ndarray
        (n_exp, ny, nx) registered exposures.
    bad : numpy.ndarray
        bool, same shape.
    noise : numpy.ndarray
        1σ noise, same shape.
    nsigma : float, optional
        A value above the largest (below the smallest) of the neighbours by more than this
        times the noise of a difference of two pixels is flagged.
    reach : int, optional
        Neighbours up to this many columns away count.

    Returns
    -------
    bad : numpy.ndarray
        A new mask with the outliers flagged.
    n_flagged : int
        Pixels flagged.
    """
    x = np.where(bad, np.nan, np.asarray(stack, np.float32))
    n_exp = x.shape[0]
    out = np.array(bad, bool, copy=True)
    if n_exp < 2:
        return out, 0
    nse = np.broadcast_to(np.asarray(noise, np.float32), x.shape)
    ok = np.isfinite(x)
    lonely = ok.sum(axis=0) == 1
    if not lonely.any():
        return out, 0
    n_flag = 0
    with _quiet():
        for e in range(n_exp):
            # only the candidates can be flagged: gather their neighbours in the other
            # exposures rather than shifting whole stacks (a frame-sized copy per exposure
            # and shift was this reduction's peak memory)
            cy, cx = np.nonzero(lonely & ok[e])
            if cy.size == 0:
                continue
            others = np.delete(np.arange(n_exp), e)[:, None]
            hi = np.full(cy.size, np.nan, np.float32)
            lo = np.full(cy.size, np.nan, np.float32)
            for d in range(1, reach + 1):          # nearest columns first; farther only where none
                vals = np.concatenate([_column_values(x, others, cy, cx - s) for s in (d, -d)])
                need = ~np.isfinite(hi)
                hi = np.where(need, np.nanmax(vals, axis=0), hi)
                lo = np.where(need, np.nanmin(vals, axis=0), lo)
            tol = nsigma * np.sqrt(2.0) * nse[e, cy, cx]
            xe = x[e, cy, cx]
            rej = np.isfinite(hi) & ((xe - hi > tol) | (lo - xe > tol))
            out[e, cy[rej], cx[rej]] = True
            n_flag += int(rej.sum())
    return out, n_flag


def _column_values(x, planes, rows, cols):
    """``x[planes, rows, cols]`` (planes a column vector), NaN where ``cols`` leaves the frame."""
    inside = (cols >= 0) & (cols < x.shape[-1])
    v = np.full((planes.shape[0], rows.size), np.nan, x.dtype)
    v[:, inside] = x[planes, rows[inside][None, :], cols[inside][None, :]]
    return v


def nod_combine(combined, noise, nod: int):
    """ROLES §2.3.4 ``A' - B'``: ``S[y] = C[y] - C[y + nod]`` and eq. 3 ``N = sqrt(N[y]^2 + N[y+nod]^2)``.

    The positive nod-A image at row ``y`` and the (negated) nod-B image at ``y + nod`` add up.

    Parameters
    ----------
    combined : numpy.ndarray
        (ny, nx) combined N&S difference ``C``.
    noise : numpy.ndarray
        Its 1σ noise.
    nod : int
        Nod distance [rows].

    Returns
    -------
    signal, noise : numpy.ndarray
        ``S`` and ``N``.
    """
    c_up = _shift_rows_up(np.asarray(combined, np.float32), nod, np.nan)
    n_up = _shift_rows_up(np.asarray(noise, np.float32), nod, np.nan)
    return combined - c_up, np.sqrt(noise**2 + n_up**2)


def shift_integer(a, dy: int, dx: int, fill):
    """``out[y, x] = a[y - dy, x - dx]`` (moves the image by +dy, +dx); uncovered pixels get ``fill``.

    Parameters
    ----------
    a : numpy.ndarray
        Image (or stack; the last two axes move).
    dy, dx : int
        Shift [pixel].
    fill : scalar
        Value of uncovered pixels.

    Returns
    -------
    numpy.ndarray
        Shifted copy.
    """
    a = np.asarray(a)
    out = np.full_like(a, fill)
    ny, nx = a.shape[-2:]
    dy, dx = int(dy), int(dx)
    if abs(dy) >= ny or abs(dx) >= nx:
        return out
    ys_dst = slice(max(dy, 0), ny + min(dy, 0))
    ys_src = slice(max(-dy, 0), ny + min(-dy, 0))
    xs_dst = slice(max(dx, 0), nx + min(dx, 0))
    xs_src = slice(max(-dx, 0), nx + min(-dx, 0))
    out[..., ys_dst, xs_dst] = a[..., ys_src, xs_src]
    return out


class _quiet:
    """Silence numpy's 'All-NaN slice' and 'Mean of empty slice' warnings inside a block."""

    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)
