"""Notebook 07 (LDSS3 reduction): every mask from its raw N&S frames to ``A' - B'`` slit spectra.

The algorithms are in :mod:`redshift1.ldss3.reduce` (one mask, in six stages) and
:mod:`redshift1.ldss3.nodshuffle`; this step runs them over the survey and returns the
products for the notebook to write. The per-mask cubes ``ldss3/<mask>_reduced.fits`` are
written while the masks are reduced, one at a time, so that a survey never sits in memory.
"""
from __future__ import annotations

import numpy as np
from astropy.io import fits

from ..ldss3.doubt import slit_doubts
from ..ldss3.reduce import SLIT_STATUS, ReduceParams, reduce_survey
from .result import StepResult

__all__ = ["reduce_masks", "PRODUCTS"]

#: the products of notebook 07 (besides ``ldss3/<mask>_reduced.fits``)
PRODUCTS = ("ldss3_slits.ecsv", "ldss3_exposures.ecsv", "ldss3_charge_traps.fits")

_TRAP_KEYS = ("n_darks", "sigma_dark", "n_seed", "n_trap_pixels", "n_trap_columns", "nsigma", "grow_nsigma")


def reduce_masks(*, data_dir, products_dir, params: ReduceParams | None = None, figure_mask: str | None = None,
                 progress: bool | None = None, workers: int = 1, scheduler=None) -> StepResult:
    """Reduce every mask of the survey (ROLES §2.3).

    Parameters
    ----------
    data_dir : path-like
        Survey folder holding ``ldss3/`` (or the ``ldss3`` folder itself).
    products_dir : path-like
        Products folder; the reduced cubes go to its ``ldss3/`` subfolder as each mask is done.
    params : ReduceParams, optional
        The reduction's choices (ROLES' by default).
    figure_mask : str, optional
        Mask whose cut-outs make ROLES Fig. 3 (default: the first mask).
    progress : bool, optional
        Progress bars (None: only in a terminal or notebook).
    workers : int
        Local processes reducing masks in parallel.
    scheduler : str, optional
        A Dask scheduler address instead of local processes.

    Returns
    -------
    StepResult
        Tables ``ldss3_slits.ecsv`` (every slit, its ``status`` and ``doubt``) and
        ``ldss3_exposures.ecsv`` (registration of every exposure); FITS
        ``ldss3_charge_traps.fits``; values ``traps`` (charge-trap diagnostics, with the
        ``traps``, ``bpm`` and ``dark`` images) and ``figure`` (Fig. 3 cut-outs).
    """
    params = params or ReduceParams()
    slits, exposures, traps, figure = reduce_survey(data_dir, products_dir, params, figure_mask=figure_mask or None,
                                                    progress=progress, workers=workers, scheduler=scheduler)
    slits["doubt"] = slit_doubts(slits)
    slits.meta["description"] = ("every slit of every mask after the N&S reduction (07_ldss3_reduce); status: "
                                 + "; ".join(f"{k} = {v}" for k, v in SLIT_STATUS.items()))
    slits.meta["wavelength_frame"] = "vacuum"
    slits.meta["params"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(params).items()}
    exposures.meta["description"] = ("every raw exposure: measured flexure (tier medians), integer moves, galaxy "
                                     "drift, pixels rejected in the combination")
    return StepResult(tables={"ldss3_slits.ecsv": slits, "ldss3_exposures.ecsv": exposures},
                      images={"ldss3_charge_traps.fits": charge_trap_file(traps)},
                      values={"traps": traps, "figure": figure})


def charge_trap_file(traps: dict) -> fits.HDUList:
    """``ldss3_charge_traps.fits``: the trap mask (primary, 1 = trap) and the bad-pixel mask (``BPM``).

    Parameters
    ----------
    traps : dict
        Diagnostics of :func:`redshift1.ldss3.reduce.survey_trap_mask` (``traps``, ``bpm`` and counts).

    Returns
    -------
    `~astropy.io.fits.HDUList`
        The file's HDUs, the diagnostics in the primary header.
    """
    h = fits.Header()
    h["COMMENT"] = "charge-trap mask from the N&S darks (1x3 median smoothing, deviant pixels); 1 = trap"
    for k in _TRAP_KEYS:
        h[k.upper()[:8]] = traps[k]
    return fits.HDUList([fits.PrimaryHDU(traps["traps"].astype(np.uint8), header=h),
                         fits.ImageHDU(traps["bpm"].astype(np.uint8), name="BPM")])
