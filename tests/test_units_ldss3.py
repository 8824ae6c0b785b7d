"""Every unit and frame of the LDSS3 tables is honoured.

The flux standard's spectrum in erg s⁻¹ cm⁻² nm⁻¹ (unit stated) must give the same galaxy
fluxes as the Å version (before the fix: 10× too high, silently); a design table in nm reads
as the Å one; a table in air wavelengths, or that states no frame, is refused.
"""
import shutil

import numpy as np
import pytest
import astropy.units as u
from astropy.table import Table

from redshift1.errors import DataFormatError
from redshift1.ldss3 import survey_files as lio
from redshift1.ldss3.fluxes import calibrate
from redshift1.ldss3.standard_star import standard_sensitivity
from unit_helpers import standard_spectrum_per_nm


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    from redshift1.mock.population import Relations
    from redshift1.mock.roles import observe_roles
    base = tmp_path_factory.mktemp("roles_units")
    observe_roles(base / "ldss3", "tiny", 5, Relations(), base / "truth")
    return base / "ldss3"


@pytest.fixture
def survey(pristine, tmp_path):
    root = tmp_path / "ldss3"
    shutil.copytree(pristine, root)
    return root


def _spectrum_path(root):
    return next((root / "calib" / "standard").glob("*_spectrum.ecsv"))


def _galaxy_fluxes(root):
    """Fluxes (erg/s/cm²) the pipeline gives 1000 e⁻ lines across the band: counts / sensitivity."""
    sens = standard_sensitivity(root, lio.read_bpm(root))
    wave = np.linspace(7100.0, 7950.0, 40)
    return calibrate(np.full(wave.size, 1000.0), wave, sens, airmass=1.2, nodtime=1200.0)


def test_standard_per_nm_gives_the_same_galaxy_fluxes(pristine, survey):
    path = _spectrum_path(survey)
    standard_spectrum_per_nm(path)
    assert Table.read(path)["flux"].unit == u.Unit("erg / (s cm2 nm)")        # the file really is per nm
    ref, new = _galaxy_fluxes(pristine), _galaxy_fluxes(survey)
    assert np.isfinite(ref).sum() > 30 and np.all(ref[np.isfinite(ref)] > 0)
    np.testing.assert_allclose(new, ref, rtol=1e-9)


def test_standard_in_jansky_is_converted(pristine, survey):
    path = _spectrum_path(survey)
    t = Table.read(path)
    t["flux"] = t["flux"].quantity.to(u.Jy, u.spectral_density(t["wavelength"].quantity))
    t.write(path, overwrite=True)
    np.testing.assert_allclose(_galaxy_fluxes(survey), _galaxy_fluxes(pristine), rtol=1e-9)


def test_design_in_nm_reads_as_in_angstrom(pristine, survey):
    mask = lio.list_masks(survey)[0]
    path = survey / "masks" / mask / "design.ecsv"
    t = Table.read(path)
    t["lambda_ref"] = t["lambda_ref"].quantity.to(u.nm)
    t["dispersion"] = t["dispersion"].quantity.to(u.nm / u.pix)
    t["ra"] = t["ra"].quantity.to(u.arcmin)
    t.write(path, overwrite=True)
    a, b = lio.read_design(pristine / "masks" / mask), lio.read_design(path.parent)
    for c in ("lambda_ref", "dispersion", "ra"):
        assert b[c].unit == a[c].unit
        np.testing.assert_allclose(np.asarray(b[c]), np.asarray(a[c]), rtol=1e-12)


@pytest.mark.parametrize("table", ["design", "standard"])
@pytest.mark.parametrize("frame", ["air", "AIR", None, "unknown"])
def test_air_or_unstated_frame_is_an_error(survey, table, frame):
    path = (survey / "masks" / lio.list_masks(survey)[0] / "design.ecsv") if table == "design" else _spectrum_path(survey)
    t = Table.read(path)
    for key in ("wavelength_frame", "frame"):
        t.meta.pop(key, None)
    if frame is not None:
        t.meta["wavelength_frame"] = frame
    t.write(path, overwrite=True)
    with pytest.raises(DataFormatError, match="frame") as e:
        lio.read_design(path.parent) if table == "design" else lio.read_standard(survey)
    assert path.name in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("column,unit", [("flux", None), ("flux", "erg / (s cm2)"), ("wavelength", None),
                                         ("wavelength", "s"), ("flux", "bogus_unit")])
def test_standard_spectrum_bad_units_are_named(survey, column, unit):
    path = _spectrum_path(survey)
    t = Table.read(path)
    t[column].unit = unit
    t.write(path, overwrite=True)
    with pytest.raises(DataFormatError, match=column) as e:
        lio.read_standard(survey)
    assert path.name in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("reader,rel,column", [
    ("photometry", "photometry/CDFS_photometry.ecsv", "K"),
    ("photometry", "photometry/CDFS_photometry.ecsv", "ra"),
    ("comparison", "comparison/highmass_z1.ecsv", "f_OII"),
    ("comparison", "comparison/highmass_z1.ecsv", "logmstar"),
])
def test_catalogue_column_without_its_unit_is_named(survey, reader, rel, column):
    path = survey / rel
    t = Table.read(path)
    t[column].unit = None
    t.write(path, overwrite=True)
    with pytest.raises(DataFormatError, match=f"column {column} has no unit") as e:
        lio.read_photometry(survey, "CDFS") if reader == "photometry" else lio.read_comparison(survey)
    assert path.name in str(e.value) and "\n" not in str(e.value)


def test_comparison_fluxes_in_si_are_converted(pristine, survey):
    path = survey / "comparison" / "highmass_z1.ecsv"
    t = Table.read(path)
    t["f_OII"] = t["f_OII"].quantity.to(u.W / u.m**2)
    t["L_OII"] = t["L_OII"].quantity.to(u.W)
    t.write(path, overwrite=True)
    a, b = lio.read_comparison(pristine), lio.read_comparison(survey)
    for c in ("f_OII", "L_OII"):
        assert b[c].unit == a[c].unit
        np.testing.assert_allclose(np.asarray(b[c]), np.asarray(a[c]), rtol=1e-12)
