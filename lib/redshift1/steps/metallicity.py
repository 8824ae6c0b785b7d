"""Notebook 06 (metallicity): [NII]/Hα → 12+log(O/H), its classes and mean, and its trend
with Δ(sSFR) at fixed mass.

The N2 calibration, the [NII] classes, the regressions and bins live in
:mod:`redshift1.science.kross_metallicity`; this module reads the products of notebooks
02, 04 and 05 and runs them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from ..science.kross_metallicity import (class_counts, fit_oh_delta, kross_metallicity_table, mean_metallicity,
                                         oh_delta_bins)
from ..science.kross_sfr import with_delta_ssfr
from ..science.kross_tables import fit_summary, read_product
from .result import StepResult

__all__ = ["PRODUCT", "read_inputs", "metallicities", "metallicity_along_ms", "summary"]

#: the table notebook 06 writes (it also merges its summary into ``kross_fits.json``)
PRODUCT = "kross_metallicity.ecsv"


def read_inputs(*, products: str | Path, ms_prescription: str = "speagle14") -> StepResult:
    """Notebooks 02, 04 and 05's products.

    Parameters
    ----------
    products : path-like
        The run's products folder (``kmos_spectra.ecsv``, ``kross_sfr.ecsv``,
        ``kross_resolved.ecsv``).
    ms_prescription : str
        Main sequence for Δ(sSFR); where notebook 04 used another, Δ(sSFR) is recomputed.

    Returns
    -------
    StepResult
        No product; values ``spectra``, ``sfr`` and ``resolved``.
    """
    spectra = read_product(products, "kmos_spectra.ecsv", "02_kmos_spectra")
    sfr = read_product(products, "kross_sfr.ecsv", "04_main_sequence")
    resolved = read_product(products, "kross_resolved.ecsv", "05_resolved_ms")
    if sfr.meta.get("ms_prescription") != ms_prescription:
        sfr = with_delta_ssfr(sfr, ms_prescription)
    return StepResult(values={"spectra": spectra, "sfr": sfr, "resolved": resolved})


def metallicities(*, spectra: Table, sfr: Table, resolved: Table | None = None, snr_nii_min: float = 3.0,
                  sky_distance_max_aa: float = 7.0) -> StepResult:
    """The [NII] class and 12+log(O/H) (or its upper limit) of every target.

    Parameters
    ----------
    spectra, sfr, resolved : `~astropy.table.Table`
        Notebooks 02, 04 and 05's products (:func:`read_inputs`).
    snr_nii_min : float
        [NII]6583 counts as detected above this S/N.
    sky_distance_max_aa : float
        [NII] non-detections closer than this (observed Å) to a strong sky line are dropped.

    Returns
    -------
    StepResult
        Table ``kross_metallicity.ecsv``
        (:func:`redshift1.science.kross_metallicity.kross_metallicity_table`); values
        ``counts`` (galaxies per class) and ``mean`` (mean 12+log(O/H) of the detections).
    """
    met = kross_metallicity_table(spectra, sfr, resolved, snr_min=snr_nii_min, sky_distance_max_aa=sky_distance_max_aa)
    return StepResult(tables={PRODUCT: met}, values={"counts": class_counts(met), "mean": mean_metallicity(met)})


def metallicity_along_ms(*, metallicity: Table, mass_min: float = 9.5, mass_max: float = 10.5,
                         delta_edges=(0.1, 0.5, 1.0, 2.0, 10.0), ms_band_dex: float = 0.3,
                         regression: str = "emcee", nwalkers: int = 32, nsteps: int = 2000, mcmc_seed: int = 42,
                         min_fit_points: int = 5, limits: str = "detection_threshold") -> StepResult:
    """12+log(O/H) against log Δ(sSFR) at fixed mass (KROSS §4.3).

    Parameters
    ----------
    metallicity : `~astropy.table.Table`
        ``kross_metallicity.ecsv`` (:func:`metallicities`).
    mass_min, mass_max : float
        The log M★ range of the trend.
    delta_edges : sequence of float
        Δ(sSFR) bin edges of the mean metallicity (linear Δ).
    ms_band_dex : float
        Half-width of the main-sequence band (dex): the change of the fitted line across it.
    regression : str
        ``"emcee"`` (intrinsic scatter, upper limits censored) or ``"ols"``.
    nwalkers, nsteps, mcmc_seed : int
        The MCMC's walkers, steps per walker and seed.
    min_fit_points : int
        Fewer galaxies than this: no fit (None).
    limits : str
        Where the fit censors the [NII] non-detections: ``"detection_threshold"`` (the
        metallicity at the detection S/N, with its error) or ``"paper"`` (KROSS's 5σ limits
        as bounds); :func:`redshift1.science.kross_metallicity.fit_oh_delta`.

    Returns
    -------
    StepResult
        Values ``fit`` (with the upper limits), ``ols`` (least squares on the detections),
        ``bins`` (mean of the detections per Δ bin) and ``ms_band_change`` (the fitted
        line's median change across ±``ms_band_dex``; NaN without a fit).
    """
    fit = fit_oh_delta(metallicity, mass_min, mass_max, method=regression, nwalkers=nwalkers, nsteps=nsteps,
                       seed=mcmc_seed, min_points=min_fit_points, limits=limits)
    ols = fit_oh_delta(metallicity, mass_min, mass_max, method="ols", include_limits=False, min_points=min_fit_points)
    bins = oh_delta_bins(metallicity, mass_min, mass_max, delta_edges)
    change = np.nan
    if fit is not None:
        q = fit.predict(np.array([-ms_band_dex, ms_band_dex]), (50,))[0]
        change = float(q[1] - q[0])
    return StepResult(values={"fit": fit, "ols": ols, "bins": bins, "ms_band_change": change})


def summary(*, metallicities: StepResult, along_ms: StepResult, size_trend: Table, mass_min: float,
            mass_max: float) -> dict:
    """What notebook 06 merges into ``kross_fits.json``.

    Parameters
    ----------
    metallicities, along_ms : StepResult
        :func:`metallicities` and :func:`metallicity_along_ms`.
    size_trend : `~astropy.table.Table`
        Spearman tests of 12+log(O/H) against r′½ per mass bin
        (:func:`redshift1.science.kross_metallicity.oh_size_trend`).
    mass_min, mass_max : float
        The log M★ range of the trend.

    Returns
    -------
    dict
        Class counts, the mean metallicity, the fits (``oh_delta_*``, ``oh_delta_ols_*``),
        the Δ bins, the size trend's p values and the mass range.
    """
    return {
        **metallicities["counts"], **metallicities["mean"], **fit_summary("oh_delta", along_ms["fit"]),
        **fit_summary("oh_delta_ols", along_ms["ols"]),
        "oh_delta_bins": {f"{r['delta_lo']:g}-{r['delta_hi']:g}": [r["oh12_mean"], r["err"], int(r["n"])]
                          for r in along_ms["bins"]},
        "oh_size_spearman_p": [r["spearman_p"] for r in size_trend],
        "oh_mass_range": [mass_min, mass_max],
    }
