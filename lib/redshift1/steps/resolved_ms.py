"""Notebook 05 (resolved main sequence): SFR and r′½ → ΣSFR and Σ★, the resolved main
sequence, ΣSFR along the main sequence and the sizes of starbursts.

The surface densities, samples, regressions and statistics live in
:mod:`redshift1.science.resolved`; this module reads the products of notebooks 03-04 and the
HST morphology and runs them.
"""
from __future__ import annotations

from pathlib import Path

from astropy.table import Table

from ..kmos.catalogue import read_hst_morphology, read_targets
from ..science.kross_sfr import with_delta_ssfr
from ..science.kross_tables import fit_summary, read_product
from ..science.resolved import (fit_resolved_ms, fit_sigma_delta, kross_resolved_table, sigma_delta_statistics,
                                size_summary)
from .result import StepResult

__all__ = ["PRODUCT", "read_inputs", "surface_densities", "resolved_main_sequence", "sigma_sfr_along_ms",
           "summary"]

#: the table notebook 05 writes (it also merges its summary into ``kross_fits.json``)
PRODUCT = "kross_resolved.ecsv"


def read_inputs(*, data: str | Path, products: str | Path, ms_prescription: str = "speagle14") -> StepResult:
    """The catalogue, the HST morphology, and notebooks 03 and 04's products.

    Parameters
    ----------
    data : path-like
        The survey folder (``kmos/targets.ecsv``, ``kmos/hst_morphology.ecsv``).
    products : path-like
        The run's products folder (``kross_sfr.ecsv``, ``kmos_sizes.ecsv``).
    ms_prescription : str
        Main sequence for Δ(sSFR); where notebook 04 used another, Δ(sSFR) is recomputed.

    Returns
    -------
    StepResult
        No product; values ``targets``, ``hst``, ``sfr`` and ``sizes``.
    """
    kmos = Path(data) / "kmos"
    targets, hst = read_targets(kmos), read_hst_morphology(kmos)
    sfr = read_product(products, "kross_sfr.ecsv", "04_main_sequence")
    sizes = read_product(products, "kmos_sizes.ecsv", "03_kmos_sizes")
    if sfr.meta.get("ms_prescription") != ms_prescription:
        sfr = with_delta_ssfr(sfr, ms_prescription)
    return StepResult(values={"targets": targets, "hst": hst, "sfr": sfr, "sizes": sizes})


def surface_densities(*, sfr: Table, sizes: Table, hst: Table | None, targets: Table | None = None) -> StepResult:
    """ΣSFR (value, or lower limit where unresolved), r′½ and Σ★ of every target.

    Parameters
    ----------
    sfr, sizes : `~astropy.table.Table`
        Notebooks 04 and 03's products.
    hst : `~astropy.table.Table` or None
        The HST morphology (Sérsic fits: Σ★ and the fraction f★ inside r′½).
    targets : `~astropy.table.Table`, optional
        The catalogue (row order and ids).

    Returns
    -------
    StepResult
        Table ``kross_resolved.ecsv`` (:func:`redshift1.science.resolved.kross_resolved_table`);
        value ``size_summary`` (:func:`redshift1.science.resolved.size_summary`).
    """
    res = kross_resolved_table(sfr, sizes, hst, targets)
    return StepResult(tables={PRODUCT: res}, values={"size_summary": size_summary(res)})


def _fit_kwargs(nwalkers: int, nsteps: int, mcmc_seed: int, min_fit_points: int) -> dict:
    return dict(nwalkers=nwalkers, nsteps=nsteps, seed=mcmc_seed, min_points=min_fit_points)


def resolved_main_sequence(*, resolved: Table, regression: str = "emcee", nwalkers: int = 32, nsteps: int = 2000,
                           mcmc_seed: int = 42, min_fit_points: int = 5) -> StepResult:
    """log ΣSFR against log Σ★ (KROSS eq. 5), with intrinsic scatter and by least squares.

    Parameters
    ----------
    resolved : `~astropy.table.Table`
        ``kross_resolved.ecsv`` (:func:`surface_densities`).
    regression : str
        ``"emcee"`` (intrinsic scatter) or ``"ols"``.
    nwalkers, nsteps, mcmc_seed : int
        The MCMC's walkers, steps per walker and seed.
    min_fit_points : int
        Fewer galaxies than this: no fit (None).

    Returns
    -------
    StepResult
        Values ``fit`` (the ``regression`` fit) and ``ols`` (least squares), each a line fit or None.
    """
    fit = fit_resolved_ms(resolved, method=regression, **_fit_kwargs(nwalkers, nsteps, mcmc_seed, min_fit_points))
    ols = fit_resolved_ms(resolved, method="ols", min_points=min_fit_points)
    return StepResult(values={"fit": fit, "ols": ols})


def sigma_sfr_along_ms(*, resolved: Table, delta_edges=(0.1, 0.5, 1.0, 2.0, 10.0), regression: str = "emcee",
                       nwalkers: int = 32, nsteps: int = 2000, mcmc_seed: int = 42,
                       min_fit_points: int = 5) -> StepResult:
    """log ΣSFR against log Δ(sSFR) (KROSS §4.2): the fit with unresolved galaxies as
    censored lower limits, least squares without them, the Spearman test and bin means.

    Parameters
    ----------
    resolved : `~astropy.table.Table`
        ``kross_resolved.ecsv`` (:func:`surface_densities`).
    delta_edges : sequence of float
        Δ(sSFR) bin edges of the mean ΣSFR (linear Δ).
    regression, nwalkers, nsteps, mcmc_seed, min_fit_points
        As :func:`resolved_main_sequence`.

    Returns
    -------
    StepResult
        Values ``fit``, ``ols`` (line fits or None) and ``stats``
        (:func:`redshift1.science.resolved.sigma_delta_statistics`: ``spearman``,
        ``spearman_with_limits`` and the ``bins`` table).
    """
    fit = fit_sigma_delta(resolved, method=regression, **_fit_kwargs(nwalkers, nsteps, mcmc_seed, min_fit_points))
    ols = fit_sigma_delta(resolved, method="ols", include_limits=False, min_points=min_fit_points)
    return StepResult(values={"fit": fit, "ols": ols, "stats": sigma_delta_statistics(resolved, delta_edges)})


def summary(*, resolved_ms: StepResult, sigma_delta: StepResult, by_class: Table, size_summary: dict,
            ms_prescription: str) -> dict:
    """What notebook 05 merges into ``kross_fits.json``.

    Parameters
    ----------
    resolved_ms, sigma_delta : StepResult
        :func:`resolved_main_sequence` and :func:`sigma_sfr_along_ms`.
    by_class : `~astropy.table.Table`
        Mean r′½ of starbursts and main-sequence galaxies
        (:func:`redshift1.science.resolved.size_by_ms_position`).
    size_summary : dict
        :func:`surface_densities`' ``size_summary``.
    ms_prescription : str
        The main sequence Δ(sSFR) refers to.

    Returns
    -------
    dict
        Fit parameters (``resolved_ms_*``, ``sigma_delta_*``, with their ``_ols``), the
        Spearman test, the Δ bins, the two classes' sizes and the size summary.
    """
    stats = sigma_delta["stats"]
    cls = {r["class"]: r for r in by_class}
    return {
        **fit_summary("resolved_ms", resolved_ms["fit"]), **fit_summary("resolved_ms_ols", resolved_ms["ols"]),
        **fit_summary("sigma_delta", sigma_delta["fit"]), **fit_summary("sigma_delta_ols", sigma_delta["ols"]),
        "spearman_rho": stats["spearman"].rho, "spearman_p": stats["spearman"].p, "spearman_n": stats["spearman"].n,
        "spearman_p_with_limits": stats["spearman_with_limits"].p,
        "sigma_delta_bins": {f"{r['delta_lo']:g}-{r['delta_hi']:g}": [r["log_sigma_sfr_mean"], r["err"], int(r["n"])]
                             for r in stats["bins"]},
        "size_starburst_kpc": cls["starburst"]["mean_r_half_kpc"], "size_starburst_err_kpc": cls["starburst"]["err_kpc"],
        "size_ms_kpc": cls["main sequence"]["mean_r_half_kpc"], "size_ms_err_kpc": cls["main sequence"]["err_kpc"],
        "n_starburst": int(cls["starburst"]["n"]), "n_ms": int(cls["main sequence"]["n"]),
        **size_summary, "resolved_ms_prescription": ms_prescription,
    }
