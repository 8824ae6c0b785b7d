"""Registration of N&S exposures and wavelength maps (ROLES §2.3.3-§2.3.4).

* Spectral direction: the sky lines. Every slit's sky spectrum (median of its region-A
  rows in the raw frame) is cross-correlated with a night-sky line template (a published
  vacuum line list, :data:`SKY_LINE_TABLE`, at the instrument resolution ``SPECRES``)
  placed with the design's wavelength solution; the lag of the correlation peak is that
  slit's shift ``dx`` from the design in that exposure (sub-pixel, parabolic peak).
* Spatial direction: slit tracing. The sky profile of each slit across ``y`` is, in an
  N&S frame, two top hats of the slit length side by side (region A and the shuffled
  region B); a model of them is fitted to every slit's profile over a grid of shifts
  ``dy`` and the summed chi^2 of a tier gives that tier's ``dy``.
* Galaxy drift: the centroids along the slit of bright emission lines in each exposure
  (:func:`line_drift`).

The shifts are applied as nearest-integer moves (ROLES footnote 3: nearest-neighbour
resampling keeps the noise of neighbouring pixels independent); the sub-pixel remainders
of ``dx`` go into the per-slit wavelength map.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from astropy.table import Table
from scipy.ndimage import median_filter
from scipy.special import erf

from ..constants import SIGMA_TO_FWHM
from ..paths import PACKAGE_DATA

__all__ = ["SKY_LINE_TABLE", "sky_line_template", "slit_sky_spectra", "measure_dx", "slit_profile_model",
           "measure_dy", "line_drift", "parabolic_peak"]

#: vacuum night-sky line list shipped with the package (ESO SkyCalc model lines, see its meta)
SKY_LINE_TABLE = PACKAGE_DATA / "sky_lines_optical.ecsv"


@lru_cache(maxsize=4)
def _line_list():
    t = Table.read(SKY_LINE_TABLE, format="ascii.ecsv")
    return np.asarray(t["wavelength"], float), np.asarray(t["strength"], float)


def sky_line_template(lam, fwhm: float):
    """Night-sky line spectrum (lines only, arbitrary units) at vacuum wavelengths ``lam``.

    Parameters
    ----------
    lam : array_like
        Wavelengths [Å, vacuum].
    fwhm : float
        FWHM of every line [Å] (the instrument resolution).

    Returns
    -------
    numpy.ndarray
        The template, same shape as ``lam``.
    """
    lam = np.asarray(lam, float)
    centre, strength = _line_list()
    sig = fwhm / SIGMA_TO_FWHM
    near = (centre > np.nanmin(lam) - 8 * sig) & (centre < np.nanmax(lam) + 8 * sig)
    c, s = centre[near], strength[near]
    out = np.zeros(lam.shape)
    for ci, si in zip(c, s):   # ~100 lines: a loop over lines, vectorised over pixels
        out += si * np.exp(-0.5 * ((lam - ci) / sig) ** 2)
    return out


def slit_sky_spectra(frame, bad, design, rows=(2, 14)):
    """Sky spectrum of every slit from a raw frame.

    The median over region-A rows ``a_row_lo + rows[0] ... rows[1]`` of the raw frame (bad
    pixels ignored), over the slit's columns ``[x_lo, x_hi)``.

    Parameters
    ----------
    frame : numpy.ndarray
        (ny, nx) raw frame.
    bad : numpy.ndarray
        bool bad-pixel mask.
    design : astropy.table.Table
        Mask design (``a_row_lo``, ``x_lo``, ``x_hi``).
    rows : tuple of int, optional
        Rows relative to ``a_row_lo``.

    Returns
    -------
    numpy.ndarray
        (n_slit, n_col) sky spectra (all slits must share the tier width).
    """
    a_lo = np.asarray(design["a_row_lo"], int)
    x_lo = np.asarray(design["x_lo"], int)
    width = int(np.max(np.asarray(design["x_hi"], int) - x_lo))
    r = np.arange(rows[0], rows[1])
    c = np.arange(width)
    yy = a_lo[:, None, None] + r[None, :, None]
    xx = x_lo[:, None, None] + c[None, None, :]
    ny, nx = frame.shape
    inside = (yy < ny) & (xx < nx)
    yy, xx = np.clip(yy, 0, ny - 1), np.clip(xx, 0, nx - 1)
    cut = np.where(inside & ~np.asarray(bad)[yy, xx], frame[yy, xx], np.nan)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(cut, axis=1)


def _highpass(a, width=25):
    """Subtract a running median along the last axis (removes continuum and sensitivity)."""
    a = np.where(np.isfinite(a), a, 0.0)
    return a - median_filter(a, size=(1, width), mode="nearest")


def parabolic_peak(y, i):
    """Sub-sample position of the maximum of ``y`` near index ``i`` (rows of a 2-D array).

    Parameters
    ----------
    y : numpy.ndarray
        (n, m) curves.
    i : array_like of int
        Index of each row's maximum.

    Returns
    -------
    numpy.ndarray
        Refined positions (within ±0.5 of ``i``).
    """
    i = np.clip(np.asarray(i), 1, y.shape[-1] - 2)
    rows = np.arange(y.shape[0])
    ym, y0, yp = y[rows, i - 1], y[rows, i], y[rows, i + 1]
    den = ym - 2 * y0 + yp
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.where(den < 0, 0.5 * (ym - yp) / den, 0.0)
    return i + np.clip(off, -0.5, 0.5)


def measure_dx(spectra, design, fwhm: float, search: float = 3.0, step: float = 0.15,
               lam_range=(7060.0, 7990.0)):
    """Shift (pixels, +x) of every slit's sky lines from the design wavelength solution.

    For each trial shift ``d`` the template is evaluated at ``lambda(x - d)``, high-passed,
    and correlated with the high-passed observed sky over columns inside ``lam_range``
    (the filter's pass band).

    Parameters
    ----------
    spectra : numpy.ndarray
        (n_slit, n_col) sky spectra (:func:`slit_sky_spectra`).
    design : astropy.table.Table
        Mask design (``x_lo``, ``x_ref``, ``lambda_ref``, ``dispersion``).
    fwhm : float
        Spectral resolution [Å].
    search : float, optional
        Largest shift tried [pixel].
    step : float, optional
        Step of the trial shifts [pixel].
    lam_range : tuple of float, optional
        Wavelengths correlated [Å].

    Returns
    -------
    dx : numpy.ndarray
        Shift of each slit [pixel].
    quality : numpy.ndarray
        Peak correlation coefficient (NaN where a slit has no usable sky).
    """
    spectra = np.asarray(spectra, float)
    n, width = spectra.shape
    x = np.asarray(design["x_lo"], float)[:, None] + np.arange(width)[None, :]
    x_ref = np.asarray(design["x_ref"], float)[:, None]
    lam_ref = np.asarray(design["lambda_ref"], float)[:, None]
    disp = np.asarray(design["dispersion"], float)[:, None]
    lam0 = lam_ref + disp * (x - x_ref)
    use = (lam0 > lam_range[0]) & (lam0 < lam_range[1]) & np.isfinite(spectra)
    obs = _highpass(spectra)
    obs = np.where(use, obs, 0.0)
    shifts = np.arange(-search, search + step / 2, step)
    # the template on a fine grid, then interpolated for every slit and shift
    grid = np.arange(lam_range[0] - 60 - search * 3, lam_range[1] + 60 + search * 3, 0.25)
    tmpl_fine = sky_line_template(grid, fwhm)
    corr = np.empty((n, shifts.size))
    on = obs - np.where(use, obs, 0).sum(1, keepdims=True) / np.maximum(use.sum(1, keepdims=True), 1)
    on = np.where(use, on, 0.0)
    onorm = np.sqrt((on**2).sum(1))
    # high-pass the template once, on the fine grid (running median over 25 px of dispersion)
    tmpl_fine = tmpl_fine - median_filter(tmpl_fine, size=int(25 * np.median(disp) / 0.25) | 1, mode="nearest")
    nuse = np.maximum(use.sum(1, keepdims=True), 1)
    for k, d in enumerate(shifts):
        t = np.where(use, np.interp(lam0 - disp * d, grid, tmpl_fine), 0.0)
        t = np.where(use, t - t.sum(1, keepdims=True) / nuse, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr[:, k] = (on * t).sum(1) / (onorm * np.sqrt((t**2).sum(1)))
    corr = np.nan_to_num(corr, nan=-1.0)
    best = np.argmax(corr, axis=1)
    pos = parabolic_peak(corr, best)
    dx = shifts[0] + pos * step
    quality = corr[np.arange(n), best]
    dx = np.where((quality > 0.3) & (onorm > 0), dx, np.nan)
    return dx, quality


# --------------------------------------------------------------------------- slit tracing
def _box_coverage(rows, lo, hi, blur=0.3):
    """Fraction of pixel rows (each covering row ± 0.5) inside [lo, hi], edges blurred."""
    def prim(y, a):
        t = (y - a) / blur
        return (y - a) * 0.5 * (1 + erf(t / np.sqrt(2))) + blur * np.exp(-0.5 * t**2) / np.sqrt(2 * np.pi)
    rows = np.asarray(rows, float)
    return (prim(rows + 0.5, lo) - prim(rows + 0.5, hi)) - (prim(rows - 0.5, lo) - prim(rows - 0.5, hi))


def slit_profile_model(rel_rows, dy, slit_len: float, shuffle: int):
    """Sky profile across one N&S slot (rows relative to ``a_row_lo``).

    The slit image at ``[7.5 - L/2, 7.5 + L/2] + dy`` (nod A, region A) plus the same shifted
    by ``shuffle`` (region B).

    Parameters
    ----------
    rel_rows : array_like
        Rows relative to ``a_row_lo``.
    dy : float or array_like
        Trial shifts [rows].
    slit_len : float
        Slit length L [rows].
    shuffle : int
        Shuffle distance [rows].

    Returns
    -------
    numpy.ndarray
        ``(n_dy, n_rows)`` pixel coverage.
    """
    c = (shuffle - 1) / 2.0
    dy = np.atleast_1d(np.asarray(dy, float))[:, None]
    r = np.asarray(rel_rows, float)[None, :]
    half = slit_len / 2.0
    return (_box_coverage(r, c - half + dy, c + half + dy)
            + _box_coverage(r, c + shuffle - half + dy, c + shuffle + half + dy))


def measure_dy(frame, bad, design, slit_len: float, shuffle: int, search: float = 1.6,
               step: float = 0.02, margin: int = 3, lam_range=(7060.0, 7990.0),
               bright_fraction: float = 0.15):
    """Shift (rows, +y) of the slit images from the design, one value per tier.

    Each slit's sky profile across rows ``a_row_lo - margin ... a_row_lo + 2 shuffle + margin``
    (mean over the columns of the brightest sky lines inside ``lam_range``, where the objects'
    continua do not matter) is fitted, for every trial ``dy``, by a linear model
    ``A * own(dy) + B * neighbour_below(dy) + C * neighbour_above(dy) + const``; the chi^2
    summed over the slits of a tier is minimised (parabolic refinement).

    Parameters
    ----------
    frame : numpy.ndarray
        (ny, nx) raw frame.
    bad : numpy.ndarray
        bool bad-pixel mask.
    design : astropy.table.Table
        Mask design.
    slit_len : float
        Slit length [rows].
    shuffle : int
        Shuffle distance [rows].
    search : float, optional
        Largest shift tried [rows].
    step : float, optional
        Step of the trial shifts [rows].
    margin : int, optional
        Rows beyond the slot in the profile.
    lam_range : tuple of float, optional
        Wavelengths used [Å].
    bright_fraction : float, optional
        Top fraction of the slit's sky spectrum taken as bright sky lines.

    Returns
    -------
    dy : dict
        ``{tier: dy}`` (NaN for a tier without sky).
    per_slit : numpy.ndarray
        Best ``dy`` of each slit (diagnostic).
    """
    frame = np.asarray(frame, float)
    ny, nx = frame.shape
    a_lo = np.asarray(design["a_row_lo"], int)
    x_lo = np.asarray(design["x_lo"], int)
    width = int(np.max(np.asarray(design["x_hi"], int) - x_lo))
    x = x_lo[:, None] + np.arange(width)[None, :]
    lam0 = (np.asarray(design["lambda_ref"], float)[:, None]
            + np.asarray(design["dispersion"], float)[:, None] * (x - np.asarray(design["x_ref"], float)[:, None]))
    rel = np.arange(-margin, 2 * shuffle + margin)
    yy = np.clip(a_lo[:, None] + rel[None, :], 0, ny - 1)
    prof = np.empty((len(a_lo), rel.size))
    good = ~np.asarray(bad, bool)
    sky = slit_sky_spectra(frame, bad, design)
    for i in range(len(a_lo)):  # a cheap loop over slits
        # columns on bright sky lines: the sky outshines the objects' continua there
        inwin = (lam0[i] > lam_range[0]) & (lam0[i] < lam_range[1]) & (x[i] < nx) & np.isfinite(sky[i])
        if inwin.sum() < 10:
            prof[i] = np.nan
            continue
        thr = np.percentile(sky[i][inwin], 100 * (1 - bright_fraction))
        cols = x[i][inwin & (sky[i] >= thr)]
        blk = frame[np.ix_(yy[i], cols)]
        g = good[np.ix_(yy[i], cols)]
        w = np.where(g, 1.0, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            prof[i] = (np.where(g, blk, 0.0)).sum(1) / w.sum(1)
    prof = np.nan_to_num(prof, nan=0.0)
    shifts = np.arange(-search, search + step / 2, step)
    own = slit_profile_model(rel, shifts, slit_len, shuffle)                      # (n_dy, n_rel)
    below = slit_profile_model(rel + 2 * shuffle, shifts, slit_len, shuffle)      # slot underneath
    above = slit_profile_model(rel - 2 * shuffle, shifts, slit_len, shuffle)      # slot above
    ones = np.ones_like(own)
    basis = np.stack([own, below, above, ones], axis=-1)                           # (n_dy, n_rel, 4)
    ata = np.einsum("dri,drj->dij", basis, basis) + 1e-9 * np.eye(4)
    atb = np.einsum("dri,sr->dsi", basis, prof)                                     # (n_dy, n_slit, 4)
    coef = np.linalg.solve(ata[:, None], atb[..., None])[..., 0]
    model = np.einsum("dri,dsi->dsr", basis, coef)
    chi2 = ((model - prof[None]) ** 2).sum(-1)                                      # (n_dy, n_slit)
    # weight slits by their sky level so that empty slots do not count
    level = np.clip(coef[np.argmin(chi2, 0), np.arange(len(a_lo)), 0], 0, None)
    chi2n = chi2 / np.maximum(level**2, 1e-6)[None, :]
    per_slit = shifts[np.argmin(chi2n, axis=0)]
    tiers = np.asarray(design["tier"], int) if "tier" in design.colnames else (x_lo // width)
    out = {}
    for t in np.unique(tiers):
        sel = (tiers == t) & (level > 0)
        if not sel.any():
            out[int(t)] = np.nan
            continue
        c = chi2[:, sel].sum(1)
        k = int(np.argmin(c))
        out[int(t)] = float(shifts[0] + parabolic_peak(c[None], np.array([k]))[0] * step)
    return out, per_slit


# --------------------------------------------------------------------------- galaxy drift
def line_drift(images, bad, positions, nod: int = 0, half_x: int = 3, half_y: int = 3):
    """Centroid shift along y of bright emission lines in each exposure.

    The centroid is the first moment of the positive pixels in a ``(2 half_y + 1) x
    (2 half_x + 1)`` box around each position.

    Parameters
    ----------
    images : numpy.ndarray
        (n_exp, ny, nx) sky-subtracted exposures (already registered for flexure).
    bad : numpy.ndarray
        bool, same shape.
    positions : sequence of tuple
        (row, col) of bright lines found in a first combination.
    nod : int, optional
        With ``nod > 0`` the single-exposure ``A' - B'`` (``D[y] - D[y + nod]``) is formed at
        the boxes only.
    half_x, half_y : int, optional
        Half-size of the box [pixel].

    Returns
    -------
    drift : numpy.ndarray
        Median over lines per exposure (NaN without lines).
    per_line : numpy.ndarray
        (n_exp, n_line) centroid shifts.
    """
    images = np.asarray(images)
    n = images.shape[0]
    if len(positions) == 0:
        return np.full(n, np.nan), np.zeros((n, 0))
    ys = np.asarray([p[0] for p in positions], int)
    xs = np.asarray([p[1] for p in positions], int)
    dy = np.arange(-half_y, half_y + 1)
    dx = np.arange(-half_x, half_x + 1)
    ny, nx = images.shape[1:]
    yy = np.clip(ys[:, None, None] + dy[None, :, None], 0, ny - 1)
    xx = np.clip(xs[:, None, None] + dx[None, None, :], 0, nx - 1)
    cut = images[:, yy, xx]                                     # (n_exp, n_line, ny_box, nx_box)
    okb = ~np.asarray(bad)[:, yy, xx]
    if nod:
        yb = np.clip(yy + nod, 0, ny - 1)
        cut = cut - images[:, yb, xx]
        okb &= ~np.asarray(bad)[:, yb, xx]
    w = np.where(okb & np.isfinite(cut), np.clip(cut, 0, None), 0.0).sum(-1)      # profile along y
    with np.errstate(invalid="ignore", divide="ignore"):
        cen = (w * dy[None, None, :]).sum(-1) / w.sum(-1)
    cen = np.where(w.sum(-1) > 0, cen, np.nan)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        drift = np.nanmedian(cen, axis=1)
    return drift, cen
