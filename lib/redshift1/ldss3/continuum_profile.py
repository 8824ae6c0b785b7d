"""Each galaxy's own slit and box losses, from the spatial profile of its continuum (ROLES §2.5.1).

The flux standard's calibration holds the star's losses: the part of its light that passes the
0.8″ slit and falls in the 5-row box. A galaxy loses more the larger it is. The per-mask
correction (:func:`redshift1.ldss3.flux_corrections.seeing_correction`) uses the mask's typical
bright line, so every galaxy larger than that line came out faint and every smaller one
bright: on the paper preset, [OII] fluxes of galaxies 0.3-0.6″ across came out ×0.89 and
those of compact ones ×1.00, and the per-mask medians of bright lines scattered from ×0.86
to ×1.16.

A line's own profile is too faint to measure its size unless the line is bright. Its
galaxy's continuum, summed over the few hundred columns of the slit that sky lines leave
clean, is not: :func:`continuum_profiles` fits the same ``A' − B'`` profile model as the
bright lines (:func:`~redshift1.ldss3.fluxes.profile_fwhm`) to it, and
:func:`continuum_slit_loss` turns that FWHM and the 5-row fraction into the galaxy's own
correction relative to the star, ``box5_star / box5 × T(FWHM_star) / T(FWHM)``
(:func:`~redshift1.ldss3.fluxes.relative_slit_loss`). Where the continuum is too faint for a profile
(its FWHM error above ``continuum_profile_max_err``) the mask's correction stays.

The continuum stands in for the line-emitting gas: on real galaxies [OII] can be more
extended than the starlight, which this cannot see.
"""
from __future__ import annotations

import warnings

import numpy as np
from astropy.stats import sigma_clip
from astropy.table import Table
from scipy.special import erf

from ..constants import SIGMA_TO_FWHM

from .fluxes import profile_fwhm, relative_slit_loss, slit_transmission
from .line_params import DetectParams
from .reduced import ReducedMask
from .standard_star import Sensitivity

__all__ = ["continuum_profiles", "continuum_slit_loss"]

#: sky brighter than this percentile of a slit's sky leaves its columns out of the profile
SKY_PERCENTILE = 70.0


def _slit_profile(red: ReducedMask, s: int) -> np.ndarray:
    """The continuum's mean counts per column along the slit (σ-clipped over the clean columns)."""
    sky = red.sky[s]
    clean = np.isfinite(sky)
    if not clean.any():
        return np.full(red.sci.shape[1], np.nan)
    clean &= sky <= np.nanpercentile(sky, SKY_PERCENTILE)
    block = np.where(red.good[s][:, clean], red.sci[s][:, clean], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clipped = sigma_clip(np.ma.masked_invalid(block), sigma=3.0, maxiters=3, axis=1)
        prof = np.ma.mean(clipped, axis=1)
    return np.ma.filled(prof.astype(float), np.nan)


def continuum_profiles(red: ReducedMask, slit, row, params: DetectParams | None = None):
    """FWHM (arcsec, with its 1σ) of each line's galaxy continuum along the slit, and the
    fraction of that profile inside the line's 5-row box.

    Parameters
    ----------
    red : ReducedMask
        The reduced mask.
    slit, row : array_like of int
        Slit index (into ``red.slits``) and box-centre row of every line.
    params : DetectParams, optional
        ``box_half`` (the box's half height).

    Returns
    -------
    fwhm, fwhm_err, box5 : numpy.ndarray
        One value per line; NaN where the profile could not be fitted.
    """
    p = params or DetectParams()
    slit, row = np.asarray(slit, int), np.asarray(row, int)
    n = slit.size
    fwhm, fwhm_err, box5 = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    nod = int(red.meta.get("nod", 6))
    pix = float(red.meta["pixscale"])
    for s in np.unique(slit):
        pr = _slit_profile(red, s)
        rr = np.flatnonzero(np.isfinite(pr))
        if rr.size < 4 or not np.nanmax(pr) > 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fw, amp, _, fe = profile_fwhm(pr[rr], rows=rr, nod=nod, full=True, with_error=True)
        if not (np.isfinite(fw) and amp > 0):
            continue
        for k in np.flatnonzero(slit == s):
            fwhm[k], fwhm_err[k] = fw * pix, fe * pix
            lo, hi = row[k] - p.box_half, row[k] + p.box_half + 1
            if lo >= 0 and hi <= pr.size and np.isfinite(pr[lo:hi]).all():
                box5[k] = float(np.sum(pr[lo:hi]) / amp)
    return fwhm, fwhm_err, box5


def continuum_slit_loss(cat: Table, sens: Sensitivity | None, params: DetectParams | None = None):
    """Each line's slit/box-loss correction from its galaxy's continuum profile, relative to the
    flux standard's (module docstring), and its fractional 1σ.

    Parameters
    ----------
    cat : `~astropy.table.Table`
        Line catalogue with ``fwhm_y_cont``, ``fwhm_y_cont_err`` (arcsec) and ``box5_fraction_cont``.
    sens : Sensitivity or None
        The flux standard (``fwhm``, ``box5``, ``slit_width``); None: nothing is corrected.
    params : DetectParams, optional
        ``continuum_profile_max_err``: the largest FWHM error (arcsec) still used.

    Returns
    -------
    correction : numpy.ndarray
        Flux factor per line (NaN where the continuum gives none).
    error : numpy.ndarray
        Fractional 1σ of that factor from the FWHM's error (NaN where none).
    used : numpy.ndarray of bool
        Lines with a continuum correction.
    """
    p = params or DetectParams()
    n = len(cat)
    corr, err = np.full(n, np.nan), np.full(n, np.nan)
    need = ("fwhm_y_cont", "fwhm_y_cont_err", "box5_fraction_cont")
    if sens is None or not n or any(c not in cat.colnames for c in need) \
            or not (np.isfinite(sens.fwhm) and np.isfinite(sens.box5)):
        return corr, err, np.zeros(n, bool)
    fw, fe, b5 = (np.asarray(cat[c], float) for c in need)
    with np.errstate(invalid="ignore"):
        used = (np.isfinite(fw) & np.isfinite(fe) & (fe <= p.continuum_profile_max_err) & (fw > 0.3) & (fw < 2.0)
                & np.isfinite(b5) & (b5 > 0.3) & (b5 < 1.1))
    fw_u = np.where(used, fw, 1.0)
    corr[used] = relative_slit_loss(b5[used], fw_u[used], sens.box5, sens.fwhm, sens.slit_width)
    # what ±1σ of the FWHM moves: the slit's transmission and the box's share of a Gaussian of that
    # FWHM (the box fraction is measured on the same profile, so its error follows the FWHM's)
    def kept(f):
        half = (p.box_half + 0.5) * sens.pixscale
        return slit_transmission(f, sens.slit_width) * erf(half / (np.sqrt(2) * f / SIGMA_TO_FWHM))
    fe_u = np.where(used, fe, 0.0)
    err[used] = 0.5 * np.abs(np.log(kept(np.maximum(fw_u - fe_u, 0.05)) / kept(fw_u + fe_u)))[used]
    return corr, err, used
