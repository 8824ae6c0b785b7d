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


# --------------------------------------------------------------------------- every ECSV input table
def _readers():
    from redshift1.kmos import catalogue as kcat
    from redshift1.ldss3 import survey_files as lio
    return {
        "kmos/targets.ecsv": ("kmos/targets.ecsv", lambda s: kcat.read_targets(s / "kmos")),
        "kmos/pointings.ecsv": ("kmos/pointings.ecsv", lambda s: kcat.read_pointings(s / "kmos")),
        "kmos/psf_stars.ecsv": ("kmos/psf_stars.ecsv", lambda s: kcat.read_psf_stars(s / "kmos" / "psf_stars.ecsv")),
        "kmos/hst_morphology.ecsv": ("kmos/hst_morphology.ecsv", lambda s: kcat.read_hst_morphology(s / "kmos")),
        "ldss3/masks/<mask>/design.ecsv": ("ldss3/masks/mask4/design.ecsv",
                                           lambda s: lio.read_design(s / "ldss3" / "masks" / "mask4")),
        "ldss3/photometry/<FIELD>_photometry.ecsv": ("ldss3/photometry/CDFS_photometry.ecsv",
                                                     lambda s: lio.read_photometry(s / "ldss3", "CDFS")),
        "ldss3/comparison/highmass_z1.ecsv": ("ldss3/comparison/highmass_z1.ecsv",
                                              lambda s: lio.read_comparison(s / "ldss3")),
        "ldss3/calib/standard/<STDNAME>_spectrum.ecsv": ("ldss3/calib/standard/LTT3864_spectrum.ecsv",
                                                         lambda s: lio.read_standard(s / "ldss3")[1]),
    }


#: contract path of each ECSV input table → (its file in the tiny mock survey, the pipeline's reader of it)
READERS = _readers()


def schema_of(name):
    """The reader's schema of a contract table."""
    from redshift1.kmos import catalogue as kcat
    from redshift1.ldss3 import survey_files as lio
    return {**kcat.SCHEMAS, **lio.SCHEMAS}[name]


def tiny_survey(base) -> Path:
    """The tiny mock survey (both instruments) under ``base``."""
    from redshift1.mock.observe import observe
    out = Path(base) / "tiny"
    observe(out, preset="tiny", seed=7)
    return out


class Rewritten:
    """Context: a file of the survey replaced by other bytes, restored on exit."""

    def __init__(self, path):
        self.path = Path(path)
        self.original = self.path.read_bytes()

    def __enter__(self):
        return self

    def write_table(self, table):
        table.write(self.path, format="ascii.ecsv", overwrite=True)

    def __exit__(self, *exc):
        self.path.write_bytes(self.original)
        return False


def read_plain(path) -> Table:
    """A table as the file states it (no checks, no conversion)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Table.read(path, format="ascii.ecsv")
