"""One galaxy's whole KROSS measurement: notebook 02 then notebook 03, as one function.

``python -m redshift1 fit-cube`` calls :func:`measure_galaxy`; the notebooks call the same
two steps (:func:`redshift1.kmos.spectra.measure_cube` per cube in notebook 02,
:func:`redshift1.kmos.galaxy_size.measure_size_cube` per detected galaxy in notebook 03)
with the same defaults (:class:`SpectraConfig`, :class:`SizeConfig`), so both entry points
give the same numbers for the same cube and PSF (``tests/test_fit_cube_cli.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import astropy.units as u

from ..errors import Redshift1Error
from ..flags import join_flags, split_flags
from .cube import KMOSCube
from .galaxy_size import SizeConfig, constrained_kinematics, measure_size_cube, size_flags
from .sizes import gaussian_psf_r_half
from .spectra import SpectraConfig, galaxy_rng, measure_cube


@dataclass(frozen=True)
class PSFInfo:
    """The PSF a galaxy's sizes need.

    Attributes
    ----------
    r_half : float
        The star's curve-of-growth r½, arcsec (notebook 01's ``r_half``), subtracted from the
        galaxy's r½ in quadrature.
    hwhm : float
        The optical half width at half maximum, arcsec, shaping the PSF of the disc model.
    ellipticity : float
        The PSF's ellipticity, 1 - b/a (enters the size error budget and shapes the
        extraction's disc model); default 0.
    pa : float or None
        The PSF's major axis, degrees counter-clockwise from +x (notebook 01's ``pa``); None
        (default): unknown, the disc models take the PSF round.
    """

    r_half: float
    hwhm: float
    ellipticity: float = 0.0
    pa: float | None = None

    @classmethod
    def from_fwhm(cls, fwhm: float, pixel_scale: float, ellipticity: float = 0.0,
                  r_half: float | None = None, pa: float | None = None) -> "PSFInfo":
        """A Gaussian PSF of optical ``fwhm``; its r½ as the spaxels sample it unless given.

        Parameters
        ----------
        fwhm : float
            Optical FWHM, arcsec.
        pixel_scale : float
            The spaxel size, arcsec.
        ellipticity : float
            The PSF's ellipticity.
        r_half : float, optional
            The star's curve-of-growth r½ (default :func:`~redshift1.kmos.sizes.gaussian_psf_r_half`).
        pa : float or None
            The PSF's major axis, degrees counter-clockwise from +x (None: unknown).

        Returns
        -------
        PSFInfo
        """
        if r_half is None:
            r_half = gaussian_psf_r_half(fwhm, pixel_scale)
        return cls(r_half=float(r_half), hwhm=0.5 * float(fwhm), ellipticity=float(ellipticity),
                   pa=None if pa is None else float(pa))


def measure_galaxy(cube: KMOSCube, z_guess: float, psf: PSFInfo | None = None,
                   spectra_cfg: SpectraConfig = SpectraConfig(), size_cfg: SizeConfig = SizeConfig(),
                   rng: np.random.Generator | None = None,
                   axis_ratio_prior: tuple[float, float] | None = None) -> dict:
    """Integrated spectrum, line fit, detection, then (if Hα is detected) velocity field,
    disc model, dynamical centre, curve of growth and PSF-corrected size of one cube.

    Parameters
    ----------
    cube : KMOSCube
    z_guess : float
        Catalogue redshift (the line is searched within ``spectra_cfg.dz``).
    psf : PSFInfo or None
        Without a PSF the size is measured but not corrected (flag ``no_psf``).
    spectra_cfg : SpectraConfig
        Notebook 02's analysis choices (detection threshold, extraction, redshift window).
    size_cfg : SizeConfig
        Notebook 03's analysis choices (smoothing, extrapolation, PSF correction).
    rng : numpy Generator
        Noise realisations of the flux errors; default :func:`galaxy_rng` of the cube's
        object name, as notebook 02 seeds it.
    axis_ratio_prior : (q, q_err) or None
        An axis ratio measured elsewhere (HST) fixing the inclination, as notebook 03 takes
        ``hst_morphology.ecsv``; default: the Hα disc model's.

    Returns
    -------
    dict
        Notebook 02's row (keys of ``kmos_spectra.ecsv``), notebook 03's (``kmos_sizes.ecsv``)
        under ``"size"`` (None for a non-detection), the total Hα flux and ``flags``: the
        union of both steps' flags, as a list.
    """
    rng = rng if rng is not None else galaxy_rng(spectra_cfg.seed, cube.name)
    spec = measure_cube(cube, z_guess, spectra_cfg, rng, psf_fwhm=2 * psf.hwhm if psf else None,
                        psf_ellipticity=psf.ellipticity if psf else 0.0, psf_pa=psf.pa if psf else None)
    out = {k: v for k, v in spec.items() if not k.startswith("_")}
    flags = split_flags(spec["flags"])
    size = None
    if spec["halpha_detected"]:
        pix = cube.pixel_scale.to_value(u.arcsec)
        # no PSF: a point-like one (a tenth of a spaxel), nothing subtracted
        r_half, hwhm, ell = (psf.r_half, psf.hwhm, psf.ellipticity) if psf else (0.0, 0.1 * pix, 0.0)
        try:
            size = measure_size_cube(cube, spec["z"], spec["sigma_kms"], r_half, ell, size_cfg, psf_hwhm_optical=hwhm,
                                     axis_ratio_prior=axis_ratio_prior, psf_pa=psf.pa if psf else None)
        except Redshift1Error as exc:       # as notebook 03: the galaxy keeps its row, flagged
            out["size_status"] = f"skipped: {exc}"
            flags.append("not_measured")
        else:
            size = {k: v for k, v in size.items() if not k.startswith("_")}
            size["status"] = "ok"
            size["flags"] = size_flags(size, psf_given=psf is not None)
            flags += split_flags(size["flags"])
    out["size"] = size
    rf = size["recovered_fraction"] if size else np.nan
    # the total as notebook 04 forms it: the flux over the IFU over the fraction the field holds
    rf_use = rf if np.isfinite(rf) and 0 < rf <= 1 else 1.0
    out["recovered_fraction"] = rf
    out["flux_halpha_total"] = spec["flux_halpha"] / rf_use if spec["halpha_detected"] else np.nan
    out["flux_halpha_total_err"] = spec["flux_halpha_err"] / rf_use if spec["halpha_detected"] else np.nan
    out["kinematics_constrained"] = constrained_kinematics(size) if size else \
        {"inclination": False, "pa": False, "v_max": False}
    out["flags"] = split_flags(join_flags(flags))
    return out
