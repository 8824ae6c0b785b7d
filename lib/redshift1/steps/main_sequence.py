"""Notebook 04 (main sequence): integrated Hα fluxes → L(Hα) → A_gas → SFR, the distance
from the main sequence Δ(sSFR) and KROSS Table 2.

The SFR chain, the main-sequence prescriptions and Table 2 live in
:mod:`redshift1.science.kross_sfr`; this module reads the catalogue and notebooks 02-03's
products and runs them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from ..kmos.catalogue import read_targets
from ..science.kross_sfr import kross_sfr_table, sfr_summary, table2
from ..science.kross_tables import align, read_product
from .result import StepResult

__all__ = ["SFR_PRODUCT", "TABLE2_PRODUCT", "read_inputs", "star_formation_rates"]

#: the tables notebook 04 writes (it also merges its summary into ``kross_fits.json``)
SFR_PRODUCT = "kross_sfr.ecsv"
TABLE2_PRODUCT = "table2_kross.ecsv"


def read_inputs(*, data: str | Path, products: str | Path) -> StepResult:
    """The catalogue and notebooks 02 and 03's products.

    Parameters
    ----------
    data : path-like
        The survey folder (``kmos/targets.ecsv``).
    products : path-like
        The run's products folder (``kmos_spectra.ecsv``, ``kmos_sizes.ecsv``).

    Returns
    -------
    StepResult
        No product; values ``targets``, ``spectra`` and ``sizes``.
    """
    return StepResult(values={
        "targets": read_targets(Path(data) / "kmos"),
        "spectra": read_product(products, "kmos_spectra.ecsv", "02_kmos_spectra"),
        "sizes": read_product(products, "kmos_sizes.ecsv", "03_kmos_sizes"),
    })


def star_formation_rates(*, targets: Table, spectra: Table, sizes: Table, ms_prescription: str = "speagle14",
                         snr_halpha_min: float = 3.0, ms_band_dex: float = 0.3,
                         correct_flux_beyond_ifu: bool = True) -> StepResult:
    """SFR(Hα) and Δ(sSFR) of every target, their summary and KROSS Table 2.

    Parameters
    ----------
    targets, spectra, sizes : `~astropy.table.Table`
        The catalogue and notebooks 02 and 03's products (:func:`read_inputs`).
    ms_prescription : str
        Main sequence for Δ(sSFR): ``"speagle14"`` (KROSS) or ``"whitaker12"``.
    snr_halpha_min : float
        Hα counts as detected above this integrated S/N.
    ms_band_dex : float
        Half-width of the main-sequence band (dex) of the summary's fraction within it.
    correct_flux_beyond_ifu : bool
        Take the SFR from the extrapolated total Hα flux (notebook 03's recovered
        fraction), not the flux over the IFU.

    Returns
    -------
    StepResult
        Tables ``kross_sfr.ecsv`` (:func:`redshift1.science.kross_sfr.kross_sfr_table`) and
        ``table2_kross.ecsv`` (:func:`redshift1.science.kross_sfr.table2`); values
        ``summary`` (:func:`redshift1.science.kross_sfr.sfr_summary`), ``unresolved``
        (bool per row of the SFR table: measured by notebook 03 and not resolved) and
        ``kross_fits`` (what notebook 04 merges into ``kross_fits.json``).
    """
    sfr = kross_sfr_table(targets, spectra, ms_prescription=ms_prescription, snr_min=snr_halpha_min,
                          sizes=sizes if correct_flux_beyond_ifu else None)
    summary = sfr_summary(sfr, ms_band_dex=ms_band_dex)
    t2 = table2(targets, sfr, sizes, spectra)
    sz, _ = align(sfr["id"], sizes, "kmos_sizes")
    unresolved = (np.asarray(sz["status"]) == "ok") & ~np.asarray(sz["resolved"], bool)
    kross_fits = {**{f"sfr_{k}": v for k, v in summary.items()},
                  "table2": {r["subsample"]: int(r["n"]) for r in t2}}
    return StepResult(tables={SFR_PRODUCT: sfr, TABLE2_PRODUCT: t2},
                      values={"summary": summary, "unresolved": unresolved, "kross_fits": kross_fits})
