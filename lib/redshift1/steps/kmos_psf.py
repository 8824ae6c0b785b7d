"""Notebook 01 (KMOS PSF): the PSF stars' cubes → FWHM, HWHM, r½ and ellipticity per star,
and the mean of each spectrograph.

The algorithms (σ-clipped collapse, elliptical Gaussian fit, curve-of-growth r½) live in
:mod:`redshift1.kmos.psf`; this module reads the star list and runs them.
"""
from __future__ import annotations

from pathlib import Path

from astropy.table import Table

from ..kmos.catalogue import read_psf_stars
from ..kmos.cube import read_kmos_cube
from ..kmos.psf import collapse_cube, fit_psf
from ..kmos.psf_stars import measure_psf_stars, psf_per_spectrograph
from .result import StepResult

__all__ = ["PRODUCT", "read_stars", "example_star", "measure_psf"]

#: the product notebook 01 writes
PRODUCT = "kmos_psf.ecsv"


def read_stars(*, data: str | Path) -> Table:
    """The PSF-star list of a survey (``kmos/psf_stars.ecsv``), checked.

    Parameters
    ----------
    data : path-like
        The survey folder (``run.data``).

    Returns
    -------
    `~astropy.table.Table`
        One row per star cube: pointing, spectrograph, ifu, cube (relative to ``kmos/``).
    """
    return read_psf_stars(Path(data) / "kmos" / "psf_stars.ecsv")


def example_star(*, data: str | Path, star, clip_sigma: float = 3.0, fit_background: bool = False) -> StepResult:
    """The collapse and the Gaussian fit of one star, for the notebook's first figure.

    Parameters
    ----------
    data : path-like
        The survey folder.
    star : `~astropy.table.Row`
        One row of the PSF-star list (:func:`read_stars`).
    clip_sigma : float
        σ-clipping threshold of the wavelength collapse.
    fit_background : bool
        Fit a constant pedestal with the Gaussian.

    Returns
    -------
    StepResult
        No product; values ``collapsed`` (:class:`~redshift1.kmos.psf.Collapsed`), ``fit``
        (:class:`~redshift1.kmos.psf.PSFFit`) and ``title`` (pointing, spectrograph, IFU).
    """
    cube = read_kmos_cube(Path(data) / "kmos" / str(star["cube"]))
    collapsed = collapse_cube(cube, sigma=clip_sigma)
    fit = fit_psf(collapsed.image, collapsed.noise, cube.pixel_scale, background=fit_background)
    title = f"{star['pointing']} spectrograph {star['spectrograph']} (IFU {star['ifu']})"
    return StepResult(values={"collapsed": collapsed, "fit": fit, "title": title})


def measure_psf(*, data: str | Path, clip_sigma: float = 3.0, fit_background: bool = False,
                progress: bool | None = None) -> StepResult:
    """Measure every PSF star of the survey and average each spectrograph's.

    Parameters
    ----------
    data : path-like
        The survey folder; the stars are listed in ``kmos/psf_stars.ecsv``.
    clip_sigma : float
        σ-clipping threshold of the wavelength collapse.
    fit_background : bool
        Fit a constant pedestal with the Gaussian.
    progress : bool, optional
        Force the progress bar on/off (default: only on a terminal).

    Returns
    -------
    StepResult
        Table ``kmos_psf.ecsv`` (one row per star, ``status`` ``"ok"`` or why not; see
        :func:`redshift1.kmos.psf_stars.measure_psf_stars`); values ``per_spectrograph`` (the
        averages of the ok stars, :func:`redshift1.kmos.psf_stars.psf_per_spectrograph`) and
        ``failed`` (the rows whose star could not be measured).
    """
    psf = measure_psf_stars(Path(data) / "kmos", read_stars(data=data), clip_sigma=clip_sigma,
                            background=fit_background, progress=progress)
    return StepResult(tables={PRODUCT: psf},
                      values={"per_spectrograph": psf_per_spectrograph(psf), "failed": psf[psf["status"] != "ok"]})
