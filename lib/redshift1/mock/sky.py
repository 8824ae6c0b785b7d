"""Night-sky spectra for the mock: OH lines in the YJ band and the optical sky near 7500 Å.

Two kinds of functions live here: ``derive_*`` reduce the real reference spectra in
``../shared/reference`` to compact tables (run once, by ``scripts/derive_sky_tables.py``),
and ``*_spectrum`` rebuild a sky spectrum on any wavelength grid from those committed
tables, so that the mock never needs the reference folder.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table
from scipy.ndimage import percentile_filter, uniform_filter1d
from scipy.signal import find_peaks

from ..constants import SIGMA_TO_FWHM
from ..paths import PACKAGE_DATA

KMOS_OH_TABLE = "sky_oh_lines_kmos_yj.ecsv"
OPTICAL_LINES_TABLE = "sky_lines_optical.ecsv"
OPTICAL_CONTINUUM_TABLE = "sky_continuum_optical.ecsv"

#: lines weaker than this (on the peak = 100 scale) are not kept
KMOS_OH_MIN_STRENGTH = 0.3
OPTICAL_RANGE = (6800.0, 8300.0)


# --------------------------------------------------------------------------- derive
def derive_kmos_oh_lines(path: Path) -> Table:
    """Line list from the ESO KMOS ``OH_SPEC`` calibration spectrum (vacuum µm).

    Peaks above :data:`KMOS_OH_MIN_STRENGTH` on the file's own peak=100 scale are
    kept; centroids are flux-weighted over ±2 samples.
    """
    with fits.open(path) as hdul:
        hdu = hdul["SPEC"]
        flux = hdu.data.astype(float)
        h = hdu.header
    lam = h["CRVAL1"] + (np.arange(flux.size) + 1 - h["CRPIX1"]) * h["CDELT1"]
    peaks, _ = find_peaks(flux, height=KMOS_OH_MIN_STRENGTH, distance=3)
    win = np.arange(-2, 3)
    idx = np.clip(peaks[:, None] + win, 0, flux.size - 1)
    w = flux[idx]
    centroid = (lam[idx] * w).sum(1) / w.sum(1)
    t = Table({"wavelength": np.round(centroid, 7) * u.um, "strength": np.round(flux[peaks], 3)})
    t.meta.update({
        "description": "OH night-sky lines in the KMOS YJ band, relative peak strength (brightest = 100)",
        "frame": "vacuum",
        "source": "ESO KMOS pipeline calibration product OH_SPEC (YJ), as distributed with KUBEVIZ",
        "derived_by": "scripts/derive_sky_tables.py (find_peaks, height > %.1f)" % KMOS_OH_MIN_STRENGTH,
    })
    return t


def derive_optical_sky(path: Path) -> tuple[Table, Table]:
    """Sky-line list and smoothed continuum near the KG750 window from the Paranal sky model.

    The continuum is a running 10th percentile over 40 Å, sampled every 5 Å; a line's
    strength is its continuum-subtracted flux integrated over ±3 Å of the peak, on the
    model's own (relative) scale per Å.
    """
    with fits.open(path) as hdul:
        flux = hdul["FLUX"].data.astype(float)
        lam = hdul["WAVELENGTH"].data.astype(float)
    sel = (lam > OPTICAL_RANGE[0] - 50) & (lam < OPTICAL_RANGE[1] + 50)
    lam, flux = lam[sel], flux[sel]
    step = np.median(np.diff(lam))
    cont = percentile_filter(flux, 10, size=int(40 / step))
    cont = uniform_filter1d(cont, int(20 / step))
    resid = flux - cont
    peaks, _ = find_peaks(resid, height=0.02 * resid.max(), distance=int(1.0 / step))
    half = int(3.0 / step)
    strength = np.array([resid[max(p - half, 0): p + half + 1].clip(0).sum() * step for p in peaks])
    inside = (lam[peaks] >= OPTICAL_RANGE[0]) & (lam[peaks] <= OPTICAL_RANGE[1])
    # scale: continuum level at 7500 Å per Å == 1
    norm = np.interp(7500.0, lam, cont)
    lines = Table({"wavelength": np.round(lam[peaks][inside], 3) * u.AA,
                   "strength": np.round(strength[inside] / norm, 4)})
    lines.meta.update({
        "description": "night-sky emission lines near the LDSS3 KG750 window; strength = line flux "
                       "in units of (continuum at 7500 A per A) x A",
        "frame": "vacuum",
        "source": "ESO SkyCalc sky model for Paranal, as distributed with PypeIt (BSD-3)",
        "derived_by": "scripts/derive_sky_tables.py (continuum-subtracted peaks > 2% of the brightest)",
    })
    grid = np.arange(OPTICAL_RANGE[0], OPTICAL_RANGE[1] + 1, 5.0)
    continuum = Table({"wavelength": grid * u.AA, "level": np.round(np.interp(grid, lam, cont) / norm, 4)})
    continuum.meta.update({
        "description": "smoothed night-sky continuum near the KG750 window, relative to its level at 7500 A",
        "frame": "vacuum",
        "source": lines.meta["source"],
        "derived_by": "scripts/derive_sky_tables.py (running 10th percentile over 40 A)",
    })
    return lines, continuum


def check_gmos_frame(path: Path, vacuum_lines: Table) -> float:
    """Median offset (Å) of ``OH_GMOS_lines.dat`` from the vacuum Paranal line positions.

    The GMOS list does not state its frame: an offset near -2 Å at 7500 Å would mark
    air, an offset near 0 vacuum (the answer: vacuum, median offset 0.02 Å).
    """
    t = Table.read(path, format="ascii.fixed_width", comment="#")
    gm = np.asarray(t["wave"], float)
    vac = np.asarray(u.Quantity(vacuum_lines["wavelength"]).to_value(u.AA))
    gm = gm[(gm > vac.min()) & (gm < vac.max())]
    nearest = vac[np.abs(vac[None, :] - gm[:, None]).argmin(1)]
    return float(np.median(gm - nearest))


# --------------------------------------------------------------------------- rebuild
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
    sigma = centre / resolution / SIGMA_TO_FWHM
    return _gaussian_lines(lam, centre, strength, sigma)


def optical_sky_spectrum(wavelength: u.Quantity, fwhm: u.Quantity) -> np.ndarray:
    """Optical night sky at ``wavelength`` (Å), lines convolved to ``fwhm``; continuum at
    7500 Å = 1 per Å."""
    lines, cont = load_table(OPTICAL_LINES_TABLE), load_table(OPTICAL_CONTINUUM_TABLE)
    lam = np.asarray(wavelength.to_value(u.AA), float)
    sigma = u.Quantity(fwhm, u.AA).value / SIGMA_TO_FWHM
    c = np.interp(lam, u.Quantity(cont["wavelength"]).to_value(u.AA), cont["level"])
    centre = np.asarray(u.Quantity(lines["wavelength"]).to_value(u.AA))
    return c + _gaussian_lines(lam, centre, np.asarray(lines["strength"]), np.full(centre.size, sigma))


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
