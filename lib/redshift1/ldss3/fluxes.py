"""Line fluxes and their calibration (ROLES §2.5.1, §3.4.2).

* :func:`box_flux` -- flux in a 5 x 5 box of the *unsmoothed* ``A' - B'`` frame around the
  detection, continuum subtracted; pixels of the box that fall on bad pixels (outside the
  extraction box) are replaced by their mirror image across the box centre (rows first,
  then columns); the error is the same sum over the unconvolved noise (eq. 3), a mirrored
  pixel counting twice.
* the sensitivity from the flux standard: :mod:`redshift1.ldss3.standard_star`.
* :func:`aperture_correction` -- the part of a line's flux inside 5 columns, measured on
  the brightest clean lines (the star, a continuum source, needs none spectrally).
* :func:`calibrate` -- counts -> erg s^-1 cm^-2.
* :func:`noise_spectrum` -- the 1-sigma flux error of a 5 x 5 box at the nominal object
  row of every slit, per wavelength: the [OII] flux limit of ROLES §3.4.2 is 4x that of
  the shallowest mask.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from astropy.stats import mad_std

from ..constants import MEDIAN_ERROR_FACTOR, SIGMA_TO_FWHM
from .detect import sideband_continuum

if TYPE_CHECKING:
    from .standard_star import Sensitivity

__all__ = ["box_flux", "line_continuum", "profile_fwhm", "point_source_fraction", "slit_transmission",
           "relative_slit_loss",
           "aperture_correction", "analytic_aperture_correction", "calibrate", "noise_spectrum"]


def line_continuum(sci, good, linemask=None, throughput=None, inner: int = 10, outer: int = 50):
    """Side-band continuum of the *unsmoothed* frame (per pixel), lines masked, optionally
    following a throughput curve (see :func:`redshift1.ldss3.detect.significance`).

    Parameters
    ----------
    sci, good : ndarray
        ``(n_slit, n_row, n_col)`` ``A' - B'`` and its good pixels.
    linemask : ndarray of bool, optional
        Pixels of lines, left out of the side bands.
    throughput : ndarray, optional
        ``(n_slit, n_col)`` relative throughput the continuum follows.
    inner, outer : int
        The side bands span ``inner`` to ``outer`` columns on each side.

    Returns
    -------
    ndarray
        The continuum per pixel, shaped like ``sci``.
    """
    v = np.asarray(good, bool)
    if linemask is not None:
        v = v & ~linemask
    s = np.where(v, sci, 0.0)
    if throughput is None:
        t = np.ones_like(s)
    else:
        t = np.asarray(throughput, float)[:, None, :] * np.ones((1, s.shape[1], 1))
        v = v & np.isfinite(t)
        t = np.where(np.isfinite(t), t, 1.0)
    b = sideband_continuum(s / t, v, inner, outer) * t
    return np.nan_to_num(b)


def box_flux(sci, noise, good, slit, row, col, half_y: int = 2, half_x: int = 2, continuum=None):
    """Flux (same units as ``sci``) and error in a ``(2 half_y + 1) x (2 half_x + 1)`` box.

    Bad pixels in the box are replaced by the pixel mirrored across the box centre
    (first in y, then in x, then both); pixels with no good mirror are left out and
    counted in ``n_missing``. ``continuum`` (a cube like ``sci``) is subtracted as the value
    at the box's *central column* in each row, so that the line itself never enters the
    side bands of the box's outer columns.

    Parameters
    ----------
    sci, noise, good : ndarray
        ``(n_slit, n_row, n_col)`` ``A' - B'``, its noise and good pixels.
    slit, row, col : ndarray of int
        Box centres.
    half_y, half_x : int
        Half sizes of the box (rows, columns).
    continuum : ndarray, optional
        Continuum to subtract (shaped like ``sci``).

    Returns
    -------
    flux, error : ndarray
        Sum and its error per box (units of ``sci``).
    n_mirrored, n_missing : ndarray of int
        Pixels replaced by mirrors, and pixels left out.
    """
    slit, row, col = (np.asarray(a, int) for a in (slit, row, col))
    n = slit.size
    if n == 0:
        z = np.zeros(0)
        return z, z, z.astype(int), z.astype(int)
    ns, ny, nx = np.shape(sci)
    dy = np.arange(-half_y, half_y + 1)
    dx = np.arange(-half_x, half_x + 1)
    Y = row[:, None, None] + dy[None, :, None] + 0 * dx[None, None, :]
    X = col[:, None, None] + dx[None, None, :] + 0 * dy[None, :, None]
    S = slit[:, None, None] + 0 * Y

    def ok(yy, xx):
        inside = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
        return inside & np.asarray(good)[S, np.clip(yy, 0, ny - 1), np.clip(xx, 0, nx - 1)]

    cy, cx = row[:, None, None], col[:, None, None]
    cand = [(Y, X), (2 * cy - Y, X), (Y, 2 * cx - X), (2 * cy - Y, 2 * cx - X)]
    use_y, use_x = np.full(Y.shape, -1), np.full(Y.shape, -1)
    chosen = np.zeros(Y.shape, bool)
    mirrored = np.zeros(Y.shape, bool)
    for k, (yy, xx) in enumerate(cand):
        g = ok(yy, xx) & ~chosen
        use_y = np.where(g, yy, use_y)
        use_x = np.where(g, xx, use_x)
        mirrored |= g & (k > 0)
        chosen |= g
    # weights: how often each source pixel is used
    flat = (S * ny + np.clip(use_y, 0, ny - 1)) * nx + np.clip(use_x, 0, nx - 1)
    flat = np.where(chosen, flat, -1)
    sci_ = np.asarray(sci, float)
    val = sci_[S, np.clip(use_y, 0, ny - 1), np.clip(use_x, 0, nx - 1)]
    if continuum is not None:
        val = val - np.asarray(continuum, float)[S, np.clip(use_y, 0, ny - 1), np.clip(cx + 0 * use_x, 0, nx - 1)]
    nse = np.asarray(noise, float)[S, np.clip(use_y, 0, ny - 1), np.clip(use_x, 0, nx - 1)]
    flux = np.where(chosen, val, 0.0).reshape(n, -1).sum(1)
    var = np.zeros(n)
    for i in range(n):  # variance with repeated pixels counted coherently (w^2 N^2)
        f = flat[i].ravel()
        keep = f >= 0
        if not keep.any():
            var[i] = np.nan
            continue
        uniq, idx, cnt = np.unique(f[keep], return_index=True, return_counts=True)
        var[i] = float((cnt**2 * nse[i].ravel()[keep][idx] ** 2).sum())
    return flux, np.sqrt(var), mirrored.reshape(n, -1).sum(1), (~chosen).reshape(n, -1).sum(1)


def _gauss_rows(r, amp, mu, sig):
    from scipy.special import erf
    s = np.sqrt(2.0) * max(sig, 1e-3)
    return amp * 0.5 * (erf((r + 0.5 - mu) / s) - erf((r - 0.5 - mu) / s))


def profile_fwhm(profile, rows=None, nod: int = 6, full: bool = False, with_error: bool = False):
    """FWHM (pixels) of a pixel-integrated Gaussian fitted to a spatial profile (NaN = bad rows).

    The profile is that of ``A' - B'``: the positive image (both nods) at ``mu`` with the two
    half-strength negative images ``nod`` rows above and below (``nod = 0``: a plain Gaussian).
    ``full``: return ``(fwhm, amplitude, centre)``, the amplitude being the fitted total of the
    positive image (NaN on failure); ``with_error`` appends the FWHM's 1-sigma error from the fit
    (residual scatter, no weights).

    Parameters
    ----------
    profile : array-like
        The profile along the slit.
    rows : array-like, optional
        Row of each value (default ``0, 1, ...``).
    nod : int
        Rows between the positive and each negative image.
    full : bool
        Also return the amplitude and centre.
    with_error : bool
        Also return the FWHM's error.

    Returns
    -------
    float or tuple
        FWHM (pixels); with ``full`` ``(fwhm, amplitude, centre)``; ``with_error`` appends its error.
    """
    from scipy.optimize import curve_fit
    p = np.asarray(profile, float)
    r = np.arange(p.size, dtype=float) if rows is None else np.asarray(rows, float)
    ok = np.isfinite(p)
    fail = ((np.nan, np.nan, np.nan) if full else np.nan)
    if with_error:
        fail = (*fail, np.nan) if full else (np.nan, np.nan)
    if ok.sum() < 4 or np.nansum(p) <= 0:
        return fail
    mu0 = float(np.nansum(r[ok] * np.clip(p[ok], 0, None)) / np.nansum(np.clip(p[ok], 0, None)))
    def model(rr, amp, mu, sig):
        m = _gauss_rows(rr, amp, mu, sig)
        if nod:
            m = m - 0.5 * _gauss_rows(rr, amp, mu + nod, sig) - 0.5 * _gauss_rows(rr, amp, mu - nod, sig)
        return m
    try:
        popt, pcov = curve_fit(model, r[ok], p[ok], p0=(np.nansum(p[ok]), mu0, 1.5),
                               bounds=([0, r.min() - 2, 0.3], [np.inf, r.max() + 2, 6.0]), maxfev=2000)
    except (RuntimeError, ValueError):
        return fail
    out = (float(SIGMA_TO_FWHM * popt[2]), float(popt[0]), float(popt[1])) if full else (float(SIGMA_TO_FWHM * popt[2]),)
    if with_error:
        err = float(SIGMA_TO_FWHM * np.sqrt(pcov[2, 2])) if np.all(np.isfinite(pcov)) else np.nan
        out = out + (err,)
    return out if len(out) > 1 else out[0]


def slit_transmission(fwhm_arcsec, slit_width: float = 0.8):
    """Fraction of a centred Gaussian image of this FWHM that passes the slit width.

    Parameters
    ----------
    fwhm_arcsec : float or array-like
        Image FWHM (arcsec).
    slit_width : float
        Slit width (arcsec).

    Returns
    -------
    float or ndarray
        The transmitted fraction.
    """
    from scipy.special import erf
    sig = np.asarray(fwhm_arcsec, float) / SIGMA_TO_FWHM
    return erf(slit_width / 2 / (np.sqrt(2) * sig))


def relative_slit_loss(box5, fwhm_arcsec, box5_ref, fwhm_ref, slit_width: float = 0.8):
    """How much more light a profile loses than a reference one, to the 5-row box along the slit
    and to the slit across it: ``box5_ref / box5 × T(FWHM_ref) / T(FWHM)`` (:func:`slit_transmission`).

    The flux standard's calibration holds its own losses, so a line whose profile is wider than
    the star's is multiplied by this (the star's profile as the reference); the same ratio
    relative to a mask's typical bright line corrects a line wider than that.

    Parameters
    ----------
    box5, fwhm_arcsec : float or array-like
        The profile's fraction inside the 5-row box and its FWHM (arcsec).
    box5_ref, fwhm_ref : float or array-like
        The same of the reference profile.
    slit_width : float
        Slit width (arcsec).

    Returns
    -------
    float or ndarray
        The flux factor.
    """
    return box5_ref / box5 * slit_transmission(fwhm_ref, slit_width) / slit_transmission(fwhm_arcsec, slit_width)


def point_source_fraction(fwhm_arcsec, slit_width: float = 0.8, pixscale: float = 0.189, half_rows: int = 2):
    """Fraction of a Gaussian image of this FWHM inside the slit width *and* inside
    ``2 half_rows + 1`` rows along the slit (centring uniform within a pixel).

    Parameters
    ----------
    fwhm_arcsec : float
        Image FWHM (arcsec).
    slit_width : float
        Slit width (arcsec).
    pixscale : float
        Arcsec per pixel along the slit.
    half_rows : int
        Half height of the box (rows).

    Returns
    -------
    float
        The fraction.
    """
    from scipy.special import erf
    f = np.asarray(fwhm_arcsec, float)
    sig = f / SIGMA_TO_FWHM
    across = erf(slit_width / 2 / (np.sqrt(2) * sig))
    sp = sig / pixscale
    h = half_rows + 0.5
    offs = np.linspace(-0.5, 0.5, 11)
    along = np.mean([0.5 * (erf((h - o) / (np.sqrt(2) * sp)) + erf((h + o) / (np.sqrt(2) * sp))) for o in offs], axis=0)
    return across * along


def analytic_aperture_correction(specres: float, dispersion: float, half_x: int = 2, doublet: float = 2.79,
                                 z: float = 1.0, sigma_int: float = 1.0, registration_px: float = 0.29):
    """Fraction of an [OII]3726,3729 doublet (equal components ``doublet`` Å apart at rest)
    inside ``2 half_x + 1`` columns: Gaussian line spread (``specres`` FWHM), intrinsic width
    ``sigma_int`` Å and the rms of nearest-pixel registration (uniform +-0.5 px).

    Parameters
    ----------
    specres : float
        Instrumental FWHM (Å).
    dispersion : float
        Å per pixel.
    half_x : int
        Half width of the box (columns).
    doublet : float
        Rest-frame separation of the components (Å).
    z : float
        Redshift.
    sigma_int : float
        Intrinsic rest-frame line sigma (Å).
    registration_px : float
        rms of the registration (pixels).

    Returns
    -------
    float
        The fraction inside the box.
    """
    from scipy.special import erf
    s = np.sqrt((specres / SIGMA_TO_FWHM) ** 2 + sigma_int**2) / dispersion
    s = np.sqrt(s**2 + registration_px**2)
    sep = doublet * (1 + z) / dispersion / 2
    h = half_x + 0.5
    offsets = np.linspace(-0.5, 0.5, 21)        # line centre within the central pixel
    frac = []
    for o in offsets:
        f = 0.0
        for c in (-sep + o, sep + o):
            f += 0.25 * (erf((h - c) / (np.sqrt(2) * s)) - erf((-h - c) / (np.sqrt(2) * s)))
        frac.append(f)
    return float(np.mean(frac))


def aperture_correction(flux5, flux_wide, sigma, min_sigma: float = 10.0, min_lines: int = 3, fallback=None,
                        err5=None, err_wide=None, return_error: bool = False):
    """Median of ``flux5 / flux_wide`` over lines with ``sigma >= min_sigma`` (clean, isolated).

    Returns ``(correction, n_lines, scatter)``; with fewer than ``min_lines`` lines the
    ``fallback`` (e.g. :func:`analytic_aperture_correction`) is returned with ``n_lines = 0``.
    With the box errors ``err5`` and ``err_wide`` the scatter is the *intrinsic* one: the
    ratios' expected noise (the 5 columns are part of the wide box) is subtracted in quadrature.
    ``return_error``: also return the standard error of the median (from the observed scatter).

    Parameters
    ----------
    flux5, flux_wide : array-like
        Counts in the 5-column and the wide box.
    sigma : array-like
        Significance of each line.
    min_sigma : float
        Lines at least this significant are used.
    min_lines : int
        Fewer lines: the ``fallback``.
    fallback : float, optional
        Correction used without enough lines.
    err5, err_wide : array-like, optional
        Errors of the two boxes (for the intrinsic scatter).
    return_error : bool
        Also return the standard error of the median.

    Returns
    -------
    tuple
        ``(correction, n_lines, scatter)``, plus the standard error with ``return_error``.
    """
    flux5, flux_wide, sigma = (np.asarray(a, float) for a in (flux5, flux_wide, sigma))
    sel = (sigma >= min_sigma) & np.isfinite(flux5) & np.isfinite(flux_wide) & (flux_wide > 0)
    fb = (fallback if fallback is not None else 1.0)
    if sel.sum() < min_lines:
        return (fb, 0, np.nan, np.nan) if return_error else (fb, 0, np.nan)
    r = flux5[sel] / flux_wide[sel]
    keep = (r > 0.3) & (r < 1.3)
    r = r[keep]
    if r.size < min_lines:
        return (fb, 0, np.nan, np.nan) if return_error else (fb, 0, np.nan)
    med = float(np.median(r))
    observed = float(mad_std(r))
    scatter = observed
    if err5 is not None and err_wide is not None:
        e5 = np.asarray(err5, float)[sel][keep]
        ew = np.asarray(err_wide, float)[sel][keep]
        f5, fw = flux5[sel][keep], flux_wide[sel][keep]
        fo = fw - f5
        eo2 = np.clip(ew**2 - e5**2, 0, None)           # the columns outside the 5: independent noise
        var_r = (fo**2 * e5**2 + f5**2 * eo2) / fw**4
        noise = float(np.sqrt(np.nanmedian(var_r)))
        scatter = float(np.sqrt(max(observed**2 - noise**2, 0.0)))
    if return_error:
        return med, int(r.size), scatter, MEDIAN_ERROR_FACTOR * observed / np.sqrt(r.size)
    return med, int(r.size), scatter


def calibrate(counts, wave, sens: Sensitivity, airmass: float, nodtime: float, apcorr: float = 1.0):
    """erg s^-1 cm^-2 of a line with ``counts`` electrons in the combined ``A' - B'`` frame
    (mean exposure, both nods: ``2 x NODTIME`` seconds).

    Parameters
    ----------
    counts : array-like
        Electrons in the box.
    wave : array-like
        Wavelength of each line (Å).
    sens : Sensitivity
        The flux calibration.
    airmass : float
        The mask's airmass (telluric band scaled to it).
    nodtime : float
        ``NODTIME`` (s).
    apcorr : float
        Spectral aperture correction the flux is divided by.

    Returns
    -------
    ndarray
        Flux (erg s^-1 cm^-2).
    """
    r = sens.response_at(np.asarray(wave, float), airmass)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(counts, float) / (2.0 * nodtime * r * apcorr)


def noise_spectrum(noise, good, wave, rows, sens: Sensitivity, airmass: float, nodtime: float, apcorr: float,
                   grid, half_y: int = 2, half_x: int = 2):
    """1-sigma flux error of a box at row ``rows[i]`` of slit ``i`` at every column, in
    erg s^-1 cm^-2, interpolated onto ``grid`` (Å).

    Parameters
    ----------
    noise, good : ndarray
        ``(n_slit, n_row, n_col)`` noise and good pixels.
    wave : ndarray
        ``(n_slit, n_col)`` wavelengths (Å).
    rows : array-like of int
        Box row of each slit.
    sens : Sensitivity
        The flux calibration.
    airmass, nodtime : float
        The mask's airmass and ``NODTIME`` (s).
    apcorr : float
        Spectral aperture correction.
    grid : ndarray
        Output wavelengths (Å).
    half_y, half_x : int
        Half sizes of the box.

    Returns
    -------
    per_slit : ndarray
        ``(n_slit, n_grid)`` flux errors (NaN where unknown).
    median : ndarray
        Their median over the slits.
    """
    from scipy.ndimage import uniform_filter1d
    noise = np.asarray(noise, float)
    ns, ny, nx = noise.shape
    var = np.where(good, noise**2, np.nan)
    out = np.full((ns, len(grid)), np.nan)
    for i in range(ns):
        r = int(np.clip(rows[i], half_y, ny - 1 - half_y))
        v = var[i, r - half_y:r + half_y + 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            col = np.nanmean(v, axis=0) * (2 * half_y + 1)           # missing pixels ~ the mean
        ok = np.isfinite(col)
        if ok.sum() < 2 * half_x + 2:
            continue
        colsum = uniform_filter1d(np.where(ok, col, 0.0), 2 * half_x + 1, mode="constant") * (2 * half_x + 1)
        cnt = uniform_filter1d(ok.astype(float), 2 * half_x + 1, mode="constant") * (2 * half_x + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.sqrt(colsum * (2 * half_x + 1) / cnt)
        err = np.where(cnt >= 2 * half_x + 1 - 0.5, err, np.nan)
        f = calibrate(err, wave[i], sens, airmass, nodtime, apcorr)
        fin = np.isfinite(f)
        if fin.sum() > 2:
            out[i] = np.interp(grid, wave[i][fin], f[fin], left=np.nan, right=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(out, axis=0)
    return out, med
