"""Notebook 02 (KMOS spectra): every target cube → integrated spectrum, Hα + [NII] fit,
detections and limits, one row per target.

The per-galaxy measurement is :func:`redshift1.kmos.spectra.measure_cube` (the same one
``python -m redshift1 fit-cube`` runs); this module reads the catalogue and the PSF table,
runs it over the survey (in parallel if asked) and assembles ``kmos_spectra.ecsv``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..errors import Redshift1Error
from ..kmos.catalogue import orphan_cubes, read_targets
from ..kmos.cube import read_kmos_cube
from ..kmos.psf_stars import attach_psf
from ..kmos.spectra import SpectraConfig, detection_counts, galaxy_rng, measure_cube
from ..science.kross_tables import read_product
from .result import StepResult

__all__ = ["PRODUCT", "ROW_FLOATS", "COLUMNS", "read_inputs", "measure_spectra"]

#: the table notebook 02 writes (it also writes one Hα map per galaxy into ``kmos_halpha_maps/``)
PRODUCT = "kmos_spectra.ecsv"

#: float columns of ``kmos_spectra.ecsv`` (NaN where a cube could not be measured)
ROW_FLOATS = ("z", "z_err", "sigma_kms", "sigma_kms_err", "fwhm_kms", "flux_halpha", "flux_halpha_err",
              "snr_halpha", "flux_halpha_err_detection", "flux_halpha_aperture", "aperture_correction",
              "aperture_correction_err", "flux_nii6583", "flux_nii6583_err", "flux_nii6583_err_detection",
              "snr_nii6583", "flux_nii6583_ul", "flux_corr_halpha_nii", "continuum", "profile_dv_kms", "noise_scale",
              "chi2_red", "x_center", "y_center", "nii_sky_distance_aa")

#: every column of ``kmos_spectra.ecsv``, in order
COLUMNS = ("id", "status", *ROW_FLOATS, "n_spaxels", "halpha_detected", "nii_detected", "nii_class", "flux_unit",
           "n_masked_channels", "extraction", "flags")


def read_inputs(*, data: str | Path, products: str | Path) -> StepResult:
    """What notebook 02 measures: the checked target catalogue, notebook 01's PSF table and
    the cubes on disk that no catalogue row names.

    Parameters
    ----------
    data : path-like
        The survey folder (``kmos/targets.ecsv``, ``kmos/cubes/``).
    products : path-like
        The run's products folder (``kmos_psf.ecsv`` of notebook 01).

    Returns
    -------
    StepResult
        No product; values ``targets``, ``psf`` (tables) and ``orphans`` (cube paths
        relative to ``kmos/``, reported and not measured).
    """
    kmos = Path(data) / "kmos"
    targets = read_targets(kmos)
    psf = read_product(products, "kmos_psf.ecsv", "01_kmos_psf")
    return StepResult(values={"targets": targets, "psf": psf, "orphans": orphan_cubes(kmos, targets)})


def _measure_target(job) -> tuple[dict, dict | None]:
    """One target of :func:`measure_spectra` (module level, so it can run on other processes)."""
    kmos_dir, gid, cube_path, z_cat, cfg, keep_arrays, psf_fwhm, psf_ell, psf_pa = job
    rng = galaxy_rng(cfg.seed, gid)
    row = {"id": gid, "status": "ok"}
    try:
        cube = read_kmos_cube(Path(kmos_dir) / cube_path)
        m = measure_cube(cube, z_cat, cfg, rng, psf_fwhm=psf_fwhm, psf_ellipticity=psf_ell, psf_pa=psf_pa)
    except Redshift1Error as exc:
        row["status"] = f"skipped: {exc}"
        for k in ROW_FLOATS:
            row[k] = np.nan
        row.update(halpha_detected=False, nii_detected=False, nii_class="not_measured", n_spaxels=0, flux_unit="",
                   n_masked_channels=0, extraction="", flags="not_measured,not_detected")
        return row, None
    row.update({k: v for k, v in m.items() if not k.startswith("_")})
    row["flux_unit"] = (cube.unit * u.um).to_string() if cube.unit_known else "unknown (no BUNIT) x um"
    arrays = {"spectrum": m["_spectrum"], "map": m["_map"], "wcs": cube.wcs.to_header(),
              "pixel_scale": cube.pixel_scale.to_value(u.arcsec)} if keep_arrays else None
    return row, arrays


def _set_units(t: Table) -> None:
    """Units of the flux, width, distance and centre columns of ``kmos_spectra.ecsv``."""
    flux = u.erg / u.s / u.cm**2
    for c in ("flux_halpha", "flux_halpha_err", "flux_halpha_aperture", "flux_nii6583", "flux_nii6583_err",
              "flux_nii6583_ul", "flux_halpha_err_detection", "flux_nii6583_err_detection"):
        t[c].unit = flux
    for c in ("sigma_kms", "sigma_kms_err", "fwhm_kms", "profile_dv_kms"):
        t[c].unit = u.km / u.s
    t["nii_sky_distance_aa"].unit = u.AA
    t["x_center"].unit = t["y_center"].unit = u.pix


def measure_spectra(*, data: str | Path, targets: Table, psf: Table | None = None,
                    config: SpectraConfig = SpectraConfig(), keep_arrays: bool = False, workers: int = 1,
                    scheduler=None, progress: bool | None = None) -> StepResult:
    """Measure every target's cube; one row per target, ``status`` says what happened.

    A cube that cannot be read or measured is flagged (``status`` = the reason) and the run
    goes on. Each galaxy's noise realisations are seeded by its id
    (:func:`redshift1.kmos.spectra.galaxy_rng`), so the table does not depend on how, or
    with which other galaxies, it was computed.

    Parameters
    ----------
    data : path-like
        The survey folder (cube paths in ``targets`` are relative to its ``kmos/``).
    targets : `~astropy.table.Table`
        The target catalogue (``id``, ``cube``, ``z_cat``, and ``pointing``/``spectrograph``
        when ``psf`` is given).
    psf : `~astropy.table.Table`, optional
        Notebook 01's ``kmos_psf.ecsv``: each galaxy's seeing for the optimal
        extraction (``2 × psf_hwhm``, ``psf_ellipticity`` and ``psf_pa``, as ``fit-cube``'s
        ``PSFInfo``); without it a round ``config.psf_fwhm`` is assumed.
    config : `~redshift1.kmos.spectra.SpectraConfig`
        The analysis choices (notebook 02's parameters).
    keep_arrays : bool
        Keep each galaxy's spectrum and maps (value ``arrays``) for figures and the Hα maps.
    workers : int
        Local processes for the per-galaxy fits.
    scheduler : str or `dask.distributed.Client`, optional
        A Dask scheduler to spread them over instead (:func:`redshift1.parallel.map_objects`).
    progress : bool, optional
        Force the progress bar on/off (default: only on a terminal).

    Returns
    -------
    StepResult
        Table ``kmos_spectra.ecsv`` (:data:`COLUMNS`); values ``arrays`` (id → spectrum,
        maps, WCS header and pixel scale; empty without ``keep_arrays``) and ``counts``
        (:func:`redshift1.kmos.spectra.detection_counts`).
    """
    from ..parallel import map_objects

    if psf is not None:
        attached = attach_psf(targets, psf)
        fwhm = 2 * np.asarray(attached["psf_hwhm"], float)   # as fit-cube's PSFInfo
        ell, pa = np.asarray(attached["psf_ellipticity"], float), np.asarray(attached["psf_pa"], float)
    else:
        fwhm = ell = pa = np.full(len(targets), np.nan)
    kmos_dir = str(Path(data) / "kmos")
    jobs = [(kmos_dir, str(t["id"]), str(t["cube"]), float(t["z_cat"]), config, keep_arrays, float(f), float(e),
             float(a)) for t, f, e, a in zip(targets, fwhm, ell, pa)]
    results = map_objects(_measure_target, jobs, workers=workers, scheduler=scheduler,
                          desc="integrated spectra", progress=progress)
    rows = [r for r, _ in results]
    arrays = {r["id"]: a for r, a in results if a is not None}
    table = Table(rows=[{k: r.get(k) for k in COLUMNS} for r in rows], names=COLUMNS)
    _set_units(table)
    return StepResult(tables={PRODUCT: table}, values={"arrays": arrays, "counts": detection_counts(table)})
