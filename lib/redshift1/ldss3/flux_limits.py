"""The [OII] flux limit of every mask (ROLES §3.4.2): the noise spectrum of a 5 x 5 box at the
nominal object row of every slit, calibrated, and ``nsigma`` x its median over the slits."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..progress import progress_bar
from .fluxes import noise_spectrum
from .line_params import FLUX_UNIT
from .reduced import read_reduced
from .standard_star import Sensitivity

__all__ = ["flux_limit_grid", "mask_flux_limits", "FLUX_LIMIT_BAND", "shallowest_mask_limits"]

#: wavelengths (Å) over which a mask's limit is summarised (its median) to find the shallowest mask
FLUX_LIMIT_BAND = (7100.0, 7950.0)


def flux_limit_grid(spec_range=(7000.0, 8050.0), step: float = 2.5) -> np.ndarray:
    """The wavelength grid (Å) of the flux-limit curves.

    Parameters
    ----------
    spec_range : tuple of float
        First and last wavelength (Å).
    step : float
        Grid step (Å).

    Returns
    -------
    ndarray
        ``spec_range[0], spec_range[0] + step, ..., spec_range[1]``.
    """
    return np.arange(spec_range[0], spec_range[1] + step / 2, step)


def mask_flux_limits(products_dir, masks, sens: Sensitivity | None, apcorr: float, seeing: Table,
                     limit_nsigma: float = 4.0, box_half: int = 2, progress: bool | None = None):
    """The ``limit_nsigma`` [OII] flux limit of every mask and the 1-sigma box flux error of every slit.

    Parameters
    ----------
    products_dir : path-like
        Products folder holding ``ldss3/<mask>_reduced.fits``.
    masks : list of str
        Mask names, in the order of the slit table.
    sens : Sensitivity or None
        Flux calibration; None (no flux standard) gives NaN limits (uncalibrated).
    apcorr : float
        Spectral aperture correction of the 5 x 5 box.
    seeing : `~astropy.table.Table`
        Per-mask slit/box-loss ``correction`` (``mask``, ``correction``); 1 for absent masks.
    limit_nsigma : float
        The limit is this many times the median noise spectrum over the mask's slits.
    box_half : int
        Half size of the flux box (2: 5 x 5).
    progress : bool, optional
        Progress bar over the masks (None: only in a terminal or notebook).

    Returns
    -------
    flux_limits : `~astropy.table.Table`
        ``ldss3_flux_limits.ecsv``: ``wavelength`` and one column per mask (erg/s/cm²); the
        metadata name the shallowest mask and each mask's median limit.
    slit_noise : ndarray
        ``(n_slit, n_grid)`` 1-sigma flux error per slit (rows in slit-table order; NaN for
        slits that are not ``ok``).
    """
    products = Path(products_dir)
    grid = flux_limit_grid()
    corr = {r["mask"]: r["correction"] for r in seeing} if len(seeing) else {}
    lim_cols, per_slit = {}, []
    for name in progress_bar(masks, desc="noise spectra", disable=None if progress is None else not progress):
        red = read_reduced(products / "ldss3" / f"{name}_reduced.fits")
        if sens is None:     # no flux standard: no limit in physical units
            ps, med = np.full((len(red.slits), grid.size), np.nan), np.full(grid.size, np.nan)
        else:
            rows = np.round(np.asarray(red.slits["nod_a_row"], float) - np.asarray(red.slits["row0"], float)).astype(int)
            ps, med = noise_spectrum(red.noise, red.good, red.wave, rows, sens, red.meta["airmass"],
                                     red.meta["nodtime"], apcorr, grid, box_half, box_half)
        c = corr.get(name, 1.0)
        ps, med = ps * c, med * c
        ok = np.asarray(red.slits["status"]) == "ok"
        ps[~ok] = np.nan
        lim_cols[name] = limit_nsigma * med
        per_slit.append(ps)
    flux_limits = Table({"wavelength": grid * u.AA})
    for name, v in lim_cols.items():
        flux_limits[name] = v * FLUX_UNIT
    in_band = (grid > FLUX_LIMIT_BAND[0]) & (grid < FLUX_LIMIT_BAND[1])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN when uncalibrated
        medians = {m: float(np.nanmedian(v[in_band])) for m, v in lim_cols.items()}
    finite = {m: v for m, v in medians.items() if np.isfinite(v)}
    shallowest = max(finite, key=lambda m: finite[m]) if finite else ""
    flux_limits.meta["description"] = (
        f"{limit_nsigma:g} sigma [OII] flux limit per mask: {limit_nsigma:g} x the median over slits of the 5x5-box "
        "flux error at the nominal object row (ROLES §3.4.2)")
    flux_limits.meta.update({"wavelength_frame": "vacuum", "nsigma": limit_nsigma, "shallowest_mask": shallowest,
                             "median_limit": medians})
    slit_noise = np.concatenate(per_slit, axis=0) if per_slit else np.zeros((0, grid.size))
    return flux_limits, slit_noise


def shallowest_mask_limits(flux_limits: Table, band=FLUX_LIMIT_BAND, pct_dark: float = 5.0,
                           pct_sky: float = 95.0) -> dict:
    """The limit the way ROLES §3.4.2 quotes it: on the curve of the shallowest mask (the paper's
    "conservative limit"), its level in the deepest regions between the sky lines and under the
    brighter sky lines.

    The paper draws the 4σ curve of the shallowest mask in its Fig. 13 and reads off ~3 x 10⁻¹⁸
    "in the deepest regions" and ~1 x 10⁻¹⁷ "underneath the brighter sky lines"; the same curve
    here is summarised by a low and a high percentile over the wavelengths of ``band`` (inside the
    KG750 filter's flat top, so that the filter edges do not count as sky lines).

    Parameters
    ----------
    flux_limits : `~astropy.table.Table`
        ``ldss3_flux_limits.ecsv`` (:func:`mask_flux_limits`): ``wavelength`` and one column per mask.
    band : tuple of float
        Wavelength range (Å) of the summary; the shallowest mask is the one with the largest
        median limit over it.
    pct_dark, pct_sky : float
        Percentiles of the shallowest curve over ``band`` taken as its level between and under
        the sky lines.

    Returns
    -------
    dict
        ``mask`` (name of the shallowest mask, "" if no mask has a finite limit), ``dark`` and
        ``sky`` (erg s⁻¹ cm⁻², NaN without a mask), ``values`` (the shallowest curve over ``band``,
        for resampling) and ``band``.

    Raises
    ------
    ValueError
        If the table has no ``wavelength`` column.
    """
    if "wavelength" not in flux_limits.colnames:
        raise ValueError("shallowest_mask_limits: the flux-limit table has no 'wavelength' column "
                         "(expected ldss3_flux_limits.ecsv)")
    w = u.Quantity(flux_limits["wavelength"], u.AA).value
    inside = (w > band[0]) & (w < band[1])
    curves = {m: u.Quantity(flux_limits[m]).value[inside] for m in flux_limits.colnames if m != "wavelength"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN curves (uncalibrated)
        medians = {m: float(np.nanmedian(v)) for m, v in curves.items()}
    finite = {m: v for m, v in medians.items() if np.isfinite(v)}
    if not finite:
        return {"mask": "", "dark": np.nan, "sky": np.nan, "values": np.zeros(0), "band": tuple(band)}
    mask = max(finite, key=lambda m: finite[m])
    v = curves[mask][np.isfinite(curves[mask])]
    return {"mask": mask, "dark": float(np.percentile(v, pct_dark)), "sky": float(np.percentile(v, pct_sky)),
            "values": v, "band": tuple(band)}
