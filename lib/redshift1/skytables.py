"""The committed night-sky tables and the sky spectra rebuilt from them.

The tables in ``lib/redshift1/data`` (OH lines of the KMOS YJ band, optical sky lines and
continuum near 7500 Å) are derived once from real reference spectra by
``scripts/derive_sky_tables.py`` (:mod:`redshift1.mock.sky`). They are facts about the night
sky, not about the simulator: the pipeline reads them (the OH-line mask of
:mod:`redshift1.kmos.spectra`, the sky curve of :mod:`redshift1.plots.observe`) and the mock
observatory paints its sky from them, so they live here, beside the data folder, and neither
side depends on the other.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import astropy.units as u
from astropy.table import Table

from . import constants as C
from .paths import PACKAGE_DATA

__all__ = ["KMOS_OH_TABLE", "OPTICAL_CONTINUUM_TABLE", "OPTICAL_LINES_TABLE", "kmos_oh_spectrum",
           "kmos_sky_shape", "load_table", "optical_sky_spectrum"]

KMOS_OH_TABLE = "sky_oh_lines_kmos_yj.ecsv"
OPTICAL_LINES_TABLE = "sky_lines_optical.ecsv"
OPTICAL_CONTINUUM_TABLE = "sky_continuum_optical.ecsv"


@lru_cache(maxsize=None)
def load_table(name: str) -> Table:
    """One of the committed sky tables in the package data folder."""
    return Table.read(PACKAGE_DATA / name, format="ascii.ecsv")


def kmos_oh_spectrum(wavelength: u.Quantity, resolution: float) -> np.ndarray:
    """OH sky spectrum (brightest line peak = 100 at infinite resolution, integrated over
    one native 1e-5 µm sample) convolved to ``resolution`` and sampled at ``wavelength``.

    Returned per unit wavelength in the same relative units, so that a sum over channels
    times the channel width conserves line strength.
    """
    t = load_table(KMOS_OH_TABLE)
    lam = np.asarray(wavelength.to_value(u.um), float)
    centre = np.asarray(u.Quantity(t["wavelength"]).to_value(u.um))
    strength = np.asarray(t["strength"]) * 1e-5  # integrated over one native sample
    sigma = centre / resolution / C.SIGMA_TO_FWHM
    return _gaussian_lines(lam, centre, strength, sigma)


def optical_sky_spectrum(wavelength: u.Quantity, fwhm: u.Quantity) -> np.ndarray:
    """Optical night sky at ``wavelength`` (Å), lines convolved to ``fwhm``; continuum at
    7500 Å = 1 per Å."""
    lines, cont = load_table(OPTICAL_LINES_TABLE), load_table(OPTICAL_CONTINUUM_TABLE)
    lam = np.asarray(wavelength.to_value(u.AA), float)
    sigma = u.Quantity(fwhm, u.AA).value / C.SIGMA_TO_FWHM
    c = np.interp(lam, u.Quantity(cont["wavelength"]).to_value(u.AA), cont["level"])
    centre = np.asarray(u.Quantity(lines["wavelength"]).to_value(u.AA))
    return c + _gaussian_lines(lam, centre, np.asarray(lines["strength"]), np.full(centre.size, sigma))


def kmos_sky_shape(wave_um: np.ndarray) -> np.ndarray:
    """OH sky at KMOS resolution, normalised to 1 at its brightest channel.

    Parameters
    ----------
    wave_um : ndarray
        Wavelengths in µm (vacuum).

    Returns
    -------
    ndarray
        The relative sky level at each wavelength (peak 1).
    """
    s = kmos_oh_spectrum(wave_um * u.um, C.KMOS_RESOLUTION)
    return s / s.max()


def _gaussian_lines(lam, centre, strength, sigma):
    """Sum of unit-area Gaussians, evaluated only within 6σ of each line (lines x samples is large)."""
    out = np.zeros_like(lam)
    order = np.argsort(lam)
    ls = lam[order]
    for c, s, sg in zip(centre, strength, sigma):
        lo, hi = np.searchsorted(ls, [c - 6 * sg, c + 6 * sg])
        if hi > lo:
            x = ls[lo:hi]
            out[order[lo:hi]] += s * np.exp(-0.5 * ((x - c) / sg) ** 2) / (np.sqrt(2 * np.pi) * sg)
    return out
