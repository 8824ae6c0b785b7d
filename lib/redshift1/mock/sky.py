"""Night-sky spectra for the mock: OH lines in the YJ band and the optical sky near 7500 Å.

The ``derive_*`` functions here reduce the real reference spectra to compact tables (run once,
by ``scripts/derive_sky_tables.py``); :mod:`redshift1.skytables` holds those committed tables
and the ``*_spectrum`` functions that rebuild a sky spectrum on any wavelength grid from them,
so that the mock never needs the reference folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table
from scipy.ndimage import percentile_filter, uniform_filter1d
from scipy.signal import find_peaks

# the committed tables and the spectra rebuilt from them are neutral ground (the pipeline reads
# them too): re-exported here for the mock
from ..skytables import (KMOS_OH_TABLE, OPTICAL_CONTINUUM_TABLE, OPTICAL_LINES_TABLE,
                         kmos_oh_spectrum, load_table, optical_sky_spectrum)

__all__ = ["KMOS_OH_MIN_STRENGTH", "KMOS_OH_TABLE", "OPTICAL_CONTINUUM_TABLE", "OPTICAL_LINES_TABLE", "OPTICAL_RANGE",
           "check_gmos_frame", "derive_kmos_oh_lines", "derive_optical_sky", "kmos_oh_spectrum", "load_table",
           "optical_sky_spectrum"]

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
