"""Rewrite a survey's inputs in other (equivalent) units, to test that every unit is honoured."""
import shutil
from pathlib import Path

import astropy.units as u
from astropy.io import fits
from astropy.table import Table

#: µm → Å
UM_TO_AA = 1e4


def copy_survey(src, dst) -> Path:
    """A full copy of a survey folder (the copy may then be rewritten)."""
    shutil.copytree(src, dst)
    return Path(dst)


def cube_to_angstrom(path) -> None:
    """Rewrite one KMOS cube in place with an Å spectral axis and a per-Å BUNIT.

    The physical content is unchanged: values × 1e-4 (per Å instead of per µm),
    CRVAL3 and CD3_3 × 1e4, ``CUNIT3 = 'Angstrom'``, ``BUNIT = 'erg / (s cm2 Angstrom)'``.
    """
    with fits.open(path) as hdul:
        for h in hdul[1:]:
            hd = h.header
            assert u.Unit(hd["BUNIT"], format="fits") == u.Unit("erg s-1 cm-2 um-1")
            h.data = (h.data.astype("f8") / UM_TO_AA).astype("f4")
            hd["CRVAL3"] = hd["CRVAL3"] * UM_TO_AA
            for k in ("CD3_3", "CDELT3"):
                if k in hd:
                    hd[k] = hd[k] * UM_TO_AA
            hd["CUNIT3"] = "Angstrom"
            hd["BUNIT"] = "erg / (s cm2 Angstrom)"
        hdul.writeto(path, overwrite=True)


def survey_cubes_to_angstrom(kmos_dir) -> int:
    """Rewrite every cube (galaxies and PSF stars) of a ``kmos/`` folder per Å; returns how many."""
    paths = sorted(Path(kmos_dir).rglob("*.fits"))
    for p in paths:
        cube_to_angstrom(p)
    return len(paths)


def standard_spectrum_per_nm(path) -> None:
    """Rewrite a standard-star spectrum ECSV with the wavelength in nm and the flux per nm."""
    t = Table.read(path, format="ascii.ecsv")
    t["wavelength"] = t["wavelength"].quantity.to(u.nm)
    t["flux"] = t["flux"].quantity.to(u.erg / u.s / u.cm**2 / u.nm)
    t.write(path, format="ascii.ecsv", overwrite=True)
