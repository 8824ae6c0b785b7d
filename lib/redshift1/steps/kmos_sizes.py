"""Notebook 03 (KMOS sizes): every Hα-detected galaxy → velocity field, dynamical centre,
curve of growth, r½(Hα) and PSF-corrected r′½, one row per target.

The per-galaxy measurement is :func:`redshift1.kmos.galaxy_size.measure_size_cube` (the
same one ``python -m redshift1 fit-cube`` runs); this module reads the catalogue, notebook
02's spectra, notebook 01's PSF table and the HST axis ratios, gives each galaxy its PSF and
runs the measurement over the survey (in parallel if asked).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..errors import Redshift1Error
from ..kmos.catalogue import read_targets
from ..kmos.cube import read_kmos_cube
from ..kmos.galaxy_size import SizeConfig, measure_size_cube, size_flags
from ..kmos.psf_stars import attach_psf
from ..science.kross_tables import read_product
from .result import StepResult

__all__ = ["PRODUCT", "SIZE_COLUMNS", "read_inputs", "measure_sizes"]

#: the table notebook 03 writes
PRODUCT = "kmos_sizes.ecsv"

#: every column of ``kmos_sizes.ecsv``, in order
SIZE_COLUMNS = ("id", "status", "size_status", "x_dyn", "y_dyn", "x_light", "y_light", "disc_ok", "inclination",
                "inclination_err", "pa", "pa_err", "v_max", "v_max_err", "v_max_err_lo",
                "v_max_err_hi", "v_max_source", "r_turn_at_bound",
                "axis_ratio", "axis_ratio_err", "axis_ratio_source", "inclination_morph", "inclination_morph_err",
                "extrapolation_capped", "r_turn_arcsec", "n_velocity_spaxels", "psf_hwhm", "psf_r_half",
                "r_half_arcsec", "r_half_err_arcsec", "r_half_corr_arcsec", "r_half_corr_err_arcsec",
                "r_half_corr_kpc", "r_half_corr_err_kpc", "resolved", "psf_correction_factor", "recovered_fraction",
                "r_half_centroid_arcsec", "r_half_model_arcsec", "psf_source", "flags")


def read_inputs(*, data: str | Path, products: str | Path) -> StepResult:
    """What notebook 03 measures: the checked catalogue, notebook 02's spectra, notebook 01's
    PSF table and the HST axis ratios where the survey has them.

    Parameters
    ----------
    data : path-like
        The survey folder (``kmos/targets.ecsv``, optional ``kmos/hst_morphology.ecsv``).
    products : path-like
        The run's products folder (``kmos_spectra.ecsv``, ``kmos_psf.ecsv``).

    Returns
    -------
    StepResult
        No product; values ``targets``, ``spectra``, ``psf`` and ``hst`` (None without
        ``hst_morphology.ecsv``).
    """
    kmos = Path(data) / "kmos"
    hst_path = kmos / "hst_morphology.ecsv"   # HST axis ratios constrain those galaxies' inclinations
    return StepResult(values={
        "targets": read_targets(kmos),
        "spectra": read_product(products, "kmos_spectra.ecsv", "02_kmos_spectra"),
        "psf": read_product(products, "kmos_psf.ecsv", "01_kmos_psf"),
        "hst": Table.read(hst_path) if hst_path.is_file() else None,
    })


def _size_target(job) -> tuple[dict, tuple | None]:
    """One target of :func:`measure_sizes` (module level, so it can run on other processes)."""
    kmos_dir, t, s, cfg, keep_maps = job
    row = dict.fromkeys(SIZE_COLUMNS, np.nan)
    row.update(id=t["id"], status="ok", size_status="", v_max_source="", r_turn_at_bound=False, disc_ok=False,
               resolved=False, n_velocity_spaxels=0, axis_ratio_source="", extrapolation_capped=False,
               psf_source=t["psf_source"], flags="")
    # subtract the PSF's r½ as sampled (the star's curve of growth); an older PSF table
    # without it falls back to the optical HWHM
    hwhm = t["psf_r_half"] if np.isfinite(t["psf_r_half"]) else t["psf_hwhm"]
    row["psf_hwhm"] = t["psf_hwhm"]
    row["psf_r_half"] = hwhm
    if s is None or s["status"] != "ok":
        row["status"] = "not measured: no integrated spectrum"
    elif not s["halpha_detected"]:
        row["status"] = "not measured: Hα not detected"
    elif not np.isfinite(hwhm):
        row["status"] = f"not measured: no PSF for pointing {t['pointing']} spectrograph {t['spectrograph']}"
    else:
        try:
            cube = read_kmos_cube(Path(kmos_dir) / t["cube"])
            q_hst = t.get("hst_q", np.nan)
            m = measure_size_cube(cube, s["z"], s["sigma_kms"], hwhm, t["psf_ellipticity"], cfg,
                                  psf_hwhm_optical=t["psf_hwhm"],
                                  axis_ratio_prior=(q_hst, cfg.hst_q_err) if np.isfinite(q_hst) else None,
                                  psf_pa=t["psf_pa"])
            row.update({k: v for k, v in m.items() if not k.startswith("_")})
            row["flags"] = size_flags(row)
            return row, (m["_maps"] if keep_maps else None)
        except Redshift1Error as exc:
            row["status"] = f"skipped: {exc}"
    row["flags"] = size_flags(row)
    return row, None


def _size_jobs(kmos_dir: str, targets: Table, spectra: Table, psf: Table, hst: Table | None, cfg: SizeConfig,
               keep_maps: bool) -> list[tuple]:
    """One picklable job per target: its cube, PSF, spectrum's z and width, HST axis ratio."""
    targets = attach_psf(targets, psf)
    spec = {str(r["id"]): {"status": str(r["status"]), "halpha_detected": bool(r["halpha_detected"]),
                           "z": float(r["z"]), "sigma_kms": float(r["sigma_kms"])} for r in spectra}
    hst_q = {str(r["id"]): float(r["q"]) for r in hst} if hst is not None and len(hst) else {}
    jobs = []
    for t in targets:
        gid = str(t["id"])
        info = {"id": gid, "cube": str(t["cube"]), "pointing": str(t["pointing"]),
                "spectrograph": int(t["spectrograph"]), "psf_hwhm": float(t["psf_hwhm"]),
                "psf_r_half": float(t["psf_r_half"]),
                "psf_ellipticity": float(t["psf_ellipticity"]), "psf_pa": float(t["psf_pa"]),
                "psf_source": str(t["psf_source"]),
                "hst_q": hst_q.get(gid, np.nan)}
        jobs.append((kmos_dir, info, spec.get(gid), cfg, keep_maps))
    return jobs


def _size_table(rows: list[dict]) -> Table:
    """``kmos_sizes.ecsv`` from the rows, with units."""
    table = Table(rows=[[r[c] for c in SIZE_COLUMNS] for r in rows], names=SIZE_COLUMNS)
    for c in SIZE_COLUMNS:
        if c.endswith("_arcsec") or c in ("psf_hwhm", "psf_r_half"):
            table[c].unit = u.arcsec
        elif c.endswith("_kpc"):
            table[c].unit = u.kpc
    for c in ("inclination", "inclination_err", "pa", "pa_err", "inclination_morph", "inclination_morph_err"):
        table[c].unit = u.deg
    for c in ("v_max", "v_max_err", "v_max_err_lo", "v_max_err_hi"):
        table[c].unit = u.km / u.s
    table["x_dyn"].unit = table["y_dyn"].unit = table["x_light"].unit = table["y_light"].unit = u.pix
    return table


def measure_sizes(*, data: str | Path, targets: Table, spectra: Table, psf: Table, hst: Table | None = None,
                  config: SizeConfig = SizeConfig(), keep_maps: bool = False, workers: int = 1, scheduler=None,
                  progress: bool | None = None) -> StepResult:
    """Sizes of every Hα-detected target; every target gets a row and a ``status``.

    Each galaxy takes the PSF of its pointing's star on its spectrograph (notebook 01), or
    that spectrograph's survey mean where the star failed
    (:func:`redshift1.kmos.psf_stars.attach_psf`).

    Parameters
    ----------
    data : path-like
        The survey folder (cube paths in ``targets`` are relative to its ``kmos/``).
    targets : `~astropy.table.Table`
        The target catalogue.
    spectra : `~astropy.table.Table`
        Notebook 02's ``kmos_spectra.ecsv`` (status, detection, z, line width).
    psf : `~astropy.table.Table`
        Notebook 01's ``kmos_psf.ecsv``.
    hst : `~astropy.table.Table`, optional
        ``hst_morphology.ecsv`` (id, q): the galaxies HST imaged take their stellar axis
        ratio as the inclination's constraint in place of the Hα map's.
    config : `~redshift1.kmos.galaxy_size.SizeConfig`
        The analysis choices (notebook 03's parameters).
    keep_maps : bool
        Keep each measured galaxy's Hα map, noise, velocity field and curve of growth
        (value ``maps``) for figures.
    workers : int
        Local processes for the per-galaxy fits.
    scheduler : str or `dask.distributed.Client`, optional
        A Dask scheduler to spread them over instead (:func:`redshift1.parallel.map_objects`).
    progress : bool, optional
        Force the progress bar on/off (default: only on a terminal).

    Returns
    -------
    StepResult
        Table ``kmos_sizes.ecsv`` (:data:`SIZE_COLUMNS`); value ``maps`` (id → maps; empty
        without ``keep_maps``).
    """
    from ..parallel import map_objects

    jobs = _size_jobs(str(Path(data) / "kmos"), targets, spectra, psf, hst, config, keep_maps)
    results = map_objects(_size_target, jobs, workers=workers, scheduler=scheduler, desc="Hα sizes",
                          progress=progress)
    maps = {r["id"]: m for r, m in results if m is not None}
    table = _size_table([r for r, _ in results])
    # the explorer re-applies the resolution test; it must know which one made the table
    table.meta["resolved_significance"] = float(config.resolved_significance)
    return StepResult(tables={PRODUCT: table}, values={"maps": maps})
