"""Emission-line detection in reduced N&S slit spectra (ROLES §2.4.1-§2.4.2).

Inputs are per-slit cubes ``(n_slit, n_row, n_col)`` of the final ``A' - B'`` frame
(``sci``, electrons), its noise (ROLES eq. 3) and a good-pixel mask that already holds the
extraction box (shrunk by one pixel) and the spectral range.

* :func:`line_kernel` -- elliptical Gaussian, FWHM 5 px (spectral) x 3.5 px (spatial), sum 1.
* :func:`significance` -- ``S = sci (x) k``, ``N_conv = sqrt(N^2 (x) k^2)`` (eq. 4), the
  side-band continuum ``b`` (mean of columns i +- 10 ... 50 in the same row, re-estimated
  once with pixels above 6 sigma masked), ``b_max`` (max of rows j-1, j, j+1, eq. 6),
  ``b_noise = sqrt(b_max (x) k^2)`` (eq. 7) and ``sigma = (S - b) / sqrt(N_conv^2 + b_noise^2)``
  (eq. 8).
* :func:`find_lines` -- connected pixels above a threshold (``scipy.ndimage.label``), one
  detection per group at its most significant pixel; peaks on the edge of the extraction
  box are flagged. Masked pixels inside the box (bad columns, traps) are not an edge, and
  a line split by a masked column is one detection.
* :func:`continuum_throughput` -- the throughput the side bands follow, from the mask's own
  galaxy continua (no flux standard: detection does not depend on the calibration).
* :func:`clean_flags` -- the two artefact classes ROLES removed by eye, as rules:
  ``sky_leak`` (a peak next to the top or bottom of the box on a bright sky line that the
  slit end's sky-line residual model, :func:`sky_leak_model`, explains: sky that leaks in
  at the slit ends) and ``broad`` (a 'line' much wider than the line spread function:
  continuum that the sliding side bands do not follow).
"""
from __future__ import annotations

import warnings

import numpy as np
from astropy.table import Table
from scipy.ndimage import (convolve, convolve1d, find_objects, label, maximum_filter1d,
                           maximum_position)

from ..constants import SIGMA_TO_FWHM

__all__ = ["line_kernel", "convolve_cube", "sideband_continuum", "throughput_from_sky", "continuum_throughput", "significance",
           "find_lines",
           "spectral_width", "sky_leak_model", "clean_flags", "DETECTION_FLAGS"]

#: flag bits of a raw detection (0 = clean)
DETECTION_FLAGS = {"edge": 1, "sky_leak": 2, "broad": 4, "telluric": 8}


def line_kernel(fwhm_x: float = 5.0, fwhm_y: float = 3.5, nsig: float = 3.0) -> np.ndarray:
    """Elliptical Gaussian kernel ``k[y, x]``, normalised so that ``sum(k) = 1``.

    Parameters
    ----------
    fwhm_x, fwhm_y : float, optional
        FWHM along x (dispersion) and y (slit) [pixel].
    nsig : float, optional
        Half-size of the kernel in σ.

    Returns
    -------
    numpy.ndarray
        2D kernel.
    """
    sx, sy = fwhm_x / SIGMA_TO_FWHM, fwhm_y / SIGMA_TO_FWHM
    hx, hy = int(np.ceil(nsig * sx)), int(np.ceil(nsig * sy))
    x = np.arange(-hx, hx + 1)
    y = np.arange(-hy, hy + 1)
    k = np.exp(-0.5 * ((x[None, :] / sx) ** 2 + (y[:, None] / sy) ** 2))
    return k / k.sum()


def convolve_cube(cube, kernel):
    """Convolve every slit (axis 0) with a 2-D kernel; outside the array counts as zero.

    Parameters
    ----------
    cube : numpy.ndarray
        (n_slit, n_row, n_col).
    kernel : numpy.ndarray
        2D kernel ``k[y, x]``.

    Returns
    -------
    numpy.ndarray
        Convolved cube, float64.
    """
    return convolve(np.asarray(cube, np.float64), kernel[None], mode="constant", cval=0.0)


def sideband_continuum(image, valid, inner: int = 10, outer: int = 50):
    """Mean of ``image`` over the side bands of each pixel's row (ROLES eq. 5's continuum).

    The side bands are ``i - outer ... i - inner`` and ``i + inner ... i + outer``; only
    ``valid`` pixels count.

    Parameters
    ----------
    image : numpy.ndarray
        Array whose last axis is the dispersion.
    valid : numpy.ndarray
        bool, same shape.
    inner, outer : int, optional
        Side-band limits [pixel].

    Returns
    -------
    numpy.ndarray
        Continuum estimate; NaN where no valid pixel lies in the side bands.
    """
    w = np.zeros(2 * outer + 1)
    d = np.abs(np.arange(-outer, outer + 1))
    w[(d >= inner) & (d <= outer)] = 1.0
    v = np.asarray(valid, float)
    num = convolve1d(np.where(valid, image, 0.0), w, axis=-1, mode="constant", cval=0.0)
    den = convolve1d(v, w, axis=-1, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def throughput_from_sky(sky1d, size: int = 41, percentile: float = 20.0, floor: float = 0.05):
    """Relative throughput of every slit along x from its sky spectrum.

    A running low percentile (the continuum between the sky lines), normalised to 1 at its
    maximum. The sky continuum follows the filter and the spectrograph efficiency as the
    objects' continua do, so it tells the continuum filter where the KG750 edges fall.

    Parameters
    ----------
    sky1d : numpy.ndarray
        (n_slit, n_col) sky spectra.
    size : int, optional
        Width of the running percentile [pixel].
    percentile : float, optional
        The percentile.
    floor : float, optional
        Columns below this relative throughput are NaN.

    Returns
    -------
    numpy.ndarray
        (n_slit, n_col) relative throughput.
    """
    from scipy.ndimage import percentile_filter
    sky = np.nan_to_num(np.asarray(sky1d, float))
    t = percentile_filter(sky, percentile, size=(1, size), mode="nearest")
    t = t / np.maximum(t.max(axis=1, keepdims=True), 1e-12)
    return np.where(t >= floor, t, np.nan)


def continuum_throughput(sci, good, wave, noise=None, floor: float = 0.2, median_px: int = 15,
                         smooth_px: int = 9, step: float = 1.0, min_snr: float = 30.0):
    """Relative throughput along x of every slit from the mask's own galaxy continua.

    The sky-subtracted ``A' - B'`` spectra of all slits (summed over their box rows) are put on
    a common wavelength grid, freed of emission lines by a running median (a median keeps a
    monotonic filter edge where it is), summed over the slits and smoothed: what the filter,
    the optics and the telluric bands do to a continuum, times the mean galaxy spectrum
    (smooth over the side bands). Normalised to 1 at its 98th percentile and put back on every
    slit's columns. It uses no flux standard, so the line detection does not depend on the
    flux calibration.

    Parameters
    ----------
    sci : numpy.ndarray
        (n_slit, n_row, n_col) sky-subtracted spectra.
    good : numpy.ndarray
        bool, usable pixels.
    wave : numpy.ndarray
        (n_slit, n_col) wavelength of every column [Å].
    noise : numpy.ndarray, optional
        1σ noise of ``sci`` (for the S/N test).
    floor : float, optional
        Relative throughput below which columns are NaN.
    median_px : int, optional
        Running-median width that removes the lines [pixel].
    smooth_px : int, optional
        Smoothing of the summed continuum [grid points].
    step : float, optional
        Common grid step [Å].
    min_snr : float, optional
        The summed continuum's peak must exceed this times its noise per grid point.

    Returns
    -------
    numpy.ndarray or None
        (n_slit, n_col) throughput; None when the continuum is too faint to follow (the side
        bands then take the plain mean, ROLES eq. 5).
    """
    from scipy.ndimage import median_filter, uniform_filter1d
    wave = np.asarray(wave, float)
    g = np.asarray(good, bool) & np.isfinite(sci)
    n_row = np.maximum(g.sum(axis=1), 1)
    spec = np.where(g, sci, 0.0).sum(axis=1) / n_row * g.shape[1]          # (n_slit, n_col)
    has = g.sum(axis=1) >= max(g.shape[1] // 2, 1)
    if noise is not None:
        var = np.where(g, np.asarray(noise, float) ** 2, 0.0).sum(axis=1) / n_row**2 * g.shape[1] ** 2
    else:
        var = np.zeros_like(spec)
    ok_w = np.isfinite(wave)
    if not (ok_w & has).any():
        return None
    grid = np.arange(np.nanmin(wave[ok_w]), np.nanmax(wave[ok_w]) + step, step)
    total = np.zeros(grid.size)
    tvar = np.zeros(grid.size)
    cover = np.zeros(grid.size)
    for i in range(spec.shape[0]):
        c = has[i] & ok_w[i]
        if c.sum() < 2 * median_px:
            continue
        o = np.argsort(wave[i][c])
        sm = median_filter(spec[i][c][o], size=median_px, mode="nearest")
        total += np.interp(grid, wave[i][c][o], sm, left=0.0, right=0.0)
        tvar += np.interp(grid, wave[i][c][o], var[i][c][o], left=0.0, right=0.0) / median_px
        cover += np.interp(grid, wave[i][c][o], np.ones(c.sum()), left=0.0, right=0.0)
    if not (cover > 0).any():
        return None
    total = uniform_filter1d(median_filter(total, size=smooth_px, mode="nearest"), smooth_px, mode="nearest")
    peak = float(np.percentile(total[cover > 0], 98))
    noise_pt = float(np.sqrt(np.median(tvar[cover > 0]) / smooth_px))
    if not np.isfinite(peak) or peak <= 0 or (noise is not None and peak < min_snr * noise_pt):
        return None
    t = np.interp(wave, grid, total / peak, left=np.nan, right=np.nan)
    return np.where(ok_w & (t >= floor), np.minimum(t, 1.5), np.nan)


def significance(sci, noise, good, kernel=None, inner: int = 10, outer: int = 50,
                 remask_sigma: float = 6.0, continuum_noise: bool = True, throughput=None) -> dict:
    """Significance cube of ROLES eqs. 4-8 (see the module docstring).

    Parameters
    ----------
    sci, noise : numpy.ndarray
        (n_slit, n_row, n_col) sky-subtracted spectra and their 1σ noise.
    good : numpy.ndarray
        bool, usable pixels.
    kernel : numpy.ndarray, optional
        Line filter (default :func:`line_kernel`).
    inner, outer : int, optional
        Side-band limits of the continuum [pixel].
    remask_sigma : float, optional
        Pixels of a first pass above this are left out of the side bands (the line itself).
    continuum_noise : bool, optional
        Include the continuum's Poisson term (eq. 8); False gives eq. 5.
    throughput : numpy.ndarray, optional
        (n_slit, n_col): the side-band mean is taken of ``S / t`` and multiplied back by ``t``
        at the pixel, so that the continuum estimate follows the steep filter edges instead of
        lagging behind them (which would leave 'lines' at the edges, one of the artefact
        classes ROLES cleaned by eye). Without it, the paper's plain side-band mean.

    Returns
    -------
    dict
        ``S`` (convolved signal), ``N_conv``, ``b`` (continuum), ``b_max``, ``b_noise``,
        ``sigma`` and ``valid`` (pixels where sigma is defined: the pixel itself is good).
    """
    kernel = line_kernel() if kernel is None else kernel
    good = np.asarray(good, bool) & np.isfinite(sci) & np.isfinite(noise) & (np.asarray(noise) > 0)
    s = np.where(good, sci, 0.0)
    v = np.where(good, np.asarray(noise, float) ** 2, 0.0)
    S = convolve_cube(s, kernel)
    k2 = kernel**2
    N_conv = np.sqrt(convolve_cube(v, k2))
    valid = good & (N_conv > 0)
    if throughput is not None:
        t = np.asarray(throughput, float)[:, None, :] * np.ones((1, S.shape[1], 1))
        valid &= np.isfinite(t)
        t = np.where(np.isfinite(t), t, 1.0)
    else:
        t = np.ones_like(S)
    b = sideband_continuum(S / t, valid, inner, outer) * t
    b0 = np.nan_to_num(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        sig1 = np.where(valid, (S - b0) / N_conv, 0.0)
    # one re-estimate with the significant pixels masked (a bright line in a side band, or the
    # negative image of a cosmic-ray residual, which would pull the continuum down over 80 columns)
    b = sideband_continuum(S / t, valid & (np.abs(sig1) < remask_sigma), inner, outer) * t
    b = np.where(np.isfinite(b), b, b0)
    b = np.nan_to_num(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        bm = np.where(valid, b, -np.inf)
        b_max = maximum_filter1d(bm, size=3, axis=1, mode="constant", cval=-np.inf)
        b_max = np.where(np.isfinite(b_max), b_max, 0.0)
    if continuum_noise:
        b_noise = np.sqrt(convolve_cube(np.clip(b_max, 0, None), k2))
    else:
        b_noise = np.zeros_like(S)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(valid, (S - b) / np.sqrt(N_conv**2 + b_noise**2), 0.0)
    return {"S": S, "N_conv": N_conv, "b": b, "b_max": b_max, "b_noise": b_noise, "sigma": sigma,
            "valid": valid}


def find_lines(sigma, valid, threshold: float = 3.0, connectivity: int = 2, region=None,
               bridge: int = 2) -> Table:
    """Groups of connected pixels with ``sigma >= threshold`` in each slit, one row per group.

    Parameters
    ----------
    sigma : numpy.ndarray
        (n_slit, n_row, n_col) significance.
    valid : numpy.ndarray
        bool, where ``sigma`` is defined.
    threshold : float, optional
        Detection threshold [σ].
    connectivity : int, optional
        2 joins diagonal neighbours (8-connected), 1 only edge neighbours.
    region : numpy.ndarray, optional
        bool like ``valid``: the extraction box and spectral range, masked pixels included.
        When given, ``on_edge`` means the peak lies on the first or last row or column of the
        region -- masked pixels (a bad column, a trap) inside it are not an edge -- and a group
        split by at most ``bridge`` masked columns of the region is one line. Without it,
        ``on_edge`` is the edge of the valid pixels (any invalid neighbour).
    bridge : int, optional
        Masked columns a line may straddle.

    Returns
    -------
    astropy.table.Table
        ``slit`` (index along axis 0), ``row``, ``col`` (peak pixel), ``sigma`` (peak), ``npix``,
        ``row_min/row_max/col_min/col_max`` (group extent) and ``on_edge``.
    """
    sigma = np.asarray(sigma)
    valid = np.asarray(valid, bool)
    above = (sigma >= threshold) & valid
    links = np.zeros_like(above)
    if region is not None and bridge > 0:
        region = np.asarray(region, bool)
        masked = region & ~valid
        left = np.zeros_like(above)
        right = np.zeros_like(above)
        for d in range(1, bridge + 1):     # an above-threshold pixel within `bridge` columns on each side
            left[..., d:] |= above[..., :-d]
            right[..., :-d] |= above[..., d:]
        # masked pixels flanked (through masked pixels only) by detections on both sides
        links = masked & left & right
    st = np.zeros((3, 3, 3), bool)
    if connectivity == 2:
        st[1] = True
    else:
        st[1, 1, :] = st[1, :, 1] = True
    lab, n = label(above | links, structure=st)
    cols = ("slit", "row", "col", "sigma", "npix", "row_min", "row_max", "col_min", "col_max", "on_edge")
    if n == 0:
        return Table(names=cols, dtype=(int, int, int, float, int, int, int, int, int, bool))
    idx = np.arange(1, n + 1)
    peak_of = np.where(above, sigma, -np.inf)
    pos = np.array(maximum_position(peak_of, lab, idx), int).reshape(-1, 3)
    npix = np.bincount(np.where(above, lab, 0).ravel(), minlength=n + 1)[1:]
    sl = find_objects(lab)
    ext = np.array([[s[1].start, s[1].stop - 1, s[2].start, s[2].stop - 1] for s in sl], int)
    ps, pr, pc = pos.T
    edge_of = valid if region is None else region
    ny, nx = edge_of.shape[1:]
    up = np.where(pr + 1 < ny, edge_of[ps, np.minimum(pr + 1, ny - 1), pc], False)
    dn = np.where(pr - 1 >= 0, edge_of[ps, np.maximum(pr - 1, 0), pc], False)
    lf = np.where(pc - 1 >= 0, edge_of[ps, pr, np.maximum(pc - 1, 0)], False)
    rt = np.where(pc + 1 < nx, edge_of[ps, pr, np.minimum(pc + 1, nx - 1)], False)
    on_edge = ~(up & dn & lf & rt)
    keep = npix > 0
    return Table([ps[keep], pr[keep], pc[keep], sigma[ps, pr, pc][keep], npix[keep], ext[keep, 0], ext[keep, 1],
                  ext[keep, 2], ext[keep, 3], on_edge[keep]], names=cols)


def spectral_width(S, b, slit, row, col, max_half: int = 60):
    """Full width at half maximum along x of ``S - b`` at each detection's peak row.

    Walks left and right from the peak until the profile drops below half the peak value (or
    the array ends); vectorised over detections.

    Parameters
    ----------
    S, b : numpy.ndarray
        Convolved signal and continuum (:func:`significance`).
    slit, row, col : array_like
        Peak pixel of each detection.
    max_half : int, optional
        Longest walk on each side [pixel].

    Returns
    -------
    numpy.ndarray
        FWHM [pixel] of each detection.
    """
    slit, row, col = (np.asarray(a, int) for a in (slit, row, col))
    if slit.size == 0:
        return np.zeros(0)
    prof = (S - b)[slit, row, :]                                   # (n_det, n_col)
    nx = prof.shape[1]
    peak = prof[np.arange(slit.size), col]
    half = 0.5 * peak
    d = np.arange(1, max_half + 1)
    xr = np.clip(col[:, None] + d[None, :], 0, nx - 1)
    xl = np.clip(col[:, None] - d[None, :], 0, nx - 1)
    br = prof[np.arange(slit.size)[:, None], xr] < half[:, None]
    bl = prof[np.arange(slit.size)[:, None], xl] < half[:, None]
    r = np.where(br.any(1), np.argmax(br, 1) + 1, max_half)
    l_ = np.where(bl.any(1), np.argmax(bl, 1) + 1, max_half)
    return (r + l_ - 1).astype(float)


def sky_leak_model(det: dict, sky1d, box_rows, leak_rows: int = 1, leak_sky_factor: float = 3.0):
    """Residual of the sky lines at the slit ends, per slit and end.

    Light that falls just beyond a slit end lands in the outermost rows and leaves a residual
    proportional to the sky (ROLES §2.4.2, class 1). ``alpha`` is the median over the slit's
    bright-sky columns of ``(S - b) / sky`` in the ``leak_rows + 1`` rows at that end -- a
    median, so that one real line on one sky line does not raise it.

    Parameters
    ----------
    det : dict
        :func:`significance` output.
    sky1d : numpy.ndarray
        (n_slit, n_col) sky spectra.
    box_rows : array_like
        (first, last) row of the extraction box, per slit or one pair for all.
    leak_rows : int, optional
        Rows from each end that leaked light reaches.
    leak_sky_factor : float, optional
        Bright-sky columns have sky above this times the slit's median.

    Returns
    -------
    numpy.ndarray
        ``alpha[slit, end]`` (end 0 = the first box rows, 1 = the last), the filtered residual
        there being ``alpha x sky``; never negative, 0 where there is no bright sky.
    """
    S_b = det["S"] - det["b"]
    valid = det["valid"]
    sky = np.asarray(sky1d, float)
    n_slit = S_b.shape[0]
    box_rows = np.asarray(box_rows)
    if box_rows.ndim == 1:
        box_rows = np.broadcast_to(box_rows, (n_slit, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(np.where(sky > 0, sky, np.nan), axis=1)
    alpha = np.zeros((n_slit, 2))
    for i in range(n_slit):
        bright = np.isfinite(sky[i]) & (sky[i] > leak_sky_factor * med[i])
        if not bright.any():
            continue
        lo, hi = int(box_rows[i, 0]), int(box_rows[i, 1])
        for end, rows in enumerate((np.arange(lo, lo + leak_rows + 1), np.arange(hi - leak_rows, hi + 1))):
            rows = rows[(rows >= 0) & (rows < S_b.shape[1])]
            q = S_b[i][np.ix_(rows, np.flatnonzero(bright))] / sky[i][bright][None, :]
            q = q[valid[i][np.ix_(rows, np.flatnonzero(bright))]]
            if q.size:
                alpha[i, end] = max(float(np.median(q)), 0.0)
    return alpha


def clean_flags(cat: Table, det: dict, sky1d, box_rows, leak_rows: int = 1, leak_sky_factor: float = 3.0,
                broad_fwhm: float = 16.0, wave=None, line_level=None, telluric_band=(7582.0, 7620.0),
                telluric_contrast: float = 5.0, leak_nsigma: float = 4.0) -> np.ndarray:
    """Flag bits (:data:`DETECTION_FLAGS`) of raw detections.

    * ``edge`` -- the peak lies on the edge of the extraction box (ROLES §2.4.1: always sky
      lines leaking in at the slit ends);
    * ``sky_leak`` -- the peak is within ``leak_rows`` of the first or last box row, on a
      sky line brighter than ``leak_sky_factor`` times the slit's median sky, *and* the sky-line
      residual model of that slit end (:func:`sky_leak_model`) explains it: the detection's
      signal minus the model's ``alpha x sky`` is below ``leak_nsigma`` times its noise
      (ROLES §2.4.2, class 1). A line on a sky line that stands out of the residual model is
      not flagged on position alone;
    * ``broad`` -- the FWHM along x of ``S - b`` at the peak row exceeds ``broad_fwhm``
      pixels, about three times that of a real line after the 5-pixel kernel: weak
      continuum that the side-band estimate does not follow (ROLES §2.4.2, class 2);
    * ``telluric`` -- (class 2 as well) in the head of the O2 A band, where the continuum
      changes steeply with wavelength, a 'line' on a continuum more than ``telluric_contrast``
      times brighter per pixel than the line itself: a residual of the telluric correction of
      a bright continuum.

    Parameters
    ----------
    cat : astropy.table.Table
        Raw detections (:func:`find_lines`).
    det : dict
        :func:`significance` output.
    sky1d : numpy.ndarray
        (n_slit, n_col) sky spectra.
    box_rows : array_like
        (first, last) row of the extraction box, per slit or one pair for all.
    leak_rows : int, optional
        Rows from each box end where a sky leak is possible.
    leak_sky_factor : float, optional
        A bright sky line is above this times the slit's median sky.
    broad_fwhm : float, optional
        FWHM [pixel] above which a detection is ``broad``.
    wave : numpy.ndarray, optional
        (n_slit, n_col) wavelength of every column [Å] (needed for ``telluric``).
    line_level : array_like, optional
        Each line's mean counts per pixel of the flux box (needed for ``telluric``).
    telluric_band : tuple of float, optional
        The O2 A band head [Å].
    telluric_contrast : float, optional
        Continuum / line level above which a line in the band is ``telluric``.
    leak_nsigma : float, optional
        A detection within this many σ of the sky-leak model is ``sky_leak``.

    Returns
    -------
    numpy.ndarray
        int16 flag bits, one per detection (0 = clean).
    """
    n = len(cat)
    flags = np.zeros(n, np.int16)
    if n == 0:
        return flags
    s, r, c = (np.asarray(cat[k], int) for k in ("slit", "row", "col"))
    flags |= np.where(np.asarray(cat["on_edge"], bool), DETECTION_FLAGS["edge"], 0).astype(np.int16)
    box_rows = np.asarray(box_rows)
    lo, hi = (box_rows[s, 0], box_rows[s, 1]) if box_rows.ndim == 2 else (box_rows[0], box_rows[1])
    near_lo, near_hi = (r - lo <= leak_rows), (hi - r <= leak_rows)
    sky1d = np.asarray(sky1d, float)
    nx = sky1d.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(np.where(sky1d > 0, sky1d, np.nan), axis=1)
    win = np.clip(c[:, None] + np.arange(-2, 3)[None, :], 0, nx - 1)
    sky_here = np.nanmax(sky1d[s[:, None], win], axis=1)
    bright = sky_here > leak_sky_factor * med[s]
    alpha = sky_leak_model(det, sky1d, box_rows, leak_rows, leak_sky_factor)
    model = np.where(near_lo, alpha[s, 0], np.where(near_hi, alpha[s, 1], 0.0)) * np.nan_to_num(sky1d[s, c])
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = (det["S"][s, r, c] - det["b"][s, r, c] - model) / np.hypot(det["N_conv"][s, r, c],
                                                                             det["b_noise"][s, r, c])
    leak = (near_lo | near_hi) & bright & ~(excess >= leak_nsigma)
    flags |= np.where(leak, DETECTION_FLAGS["sky_leak"], 0).astype(np.int16)
    width = spectral_width(det["S"], det["b"], s, r, c)
    flags |= np.where(width > broad_fwhm, DETECTION_FLAGS["broad"], 0).astype(np.int16)
    if wave is not None and line_level is not None:
        w = np.asarray(wave)[s, c]
        b = det["b"][s, r, c]
        tell = (w >= telluric_band[0]) & (w <= telluric_band[1]) & (b > telluric_contrast * np.asarray(line_level))
        flags |= np.where(tell, DETECTION_FLAGS["telluric"], 0).astype(np.int16)
    return flags
