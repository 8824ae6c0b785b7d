"""The committed sky tables: re-derived from the reference spectra, and physically placed."""
import numpy as np
import astropy.units as u
from astropy.table import Table

from redshift1.mock import sky
from redshift1.paths import PACKAGE_DATA


def test_tables_rederive_from_reference(reference_dir):
    oh = sky.derive_kmos_oh_lines(reference_dir / "kmos_oh_spec_yj.fits")
    lines, cont = sky.derive_optical_sky(reference_dir / "paranal_sky.fits")
    for new, name in ((oh, sky.KMOS_OH_TABLE), (lines, sky.OPTICAL_LINES_TABLE), (cont, sky.OPTICAL_CONTINUUM_TABLE)):
        old = Table.read(PACKAGE_DATA / name)
        assert len(new) == len(old), name
        for col in old.colnames:
            np.testing.assert_allclose(np.asarray(new[col]), np.asarray(old[col]), rtol=1e-6, err_msg=name)


def test_gmos_list_is_vacuum(reference_dir):
    lines = Table.read(PACKAGE_DATA / sky.OPTICAL_LINES_TABLE)
    assert abs(sky.check_gmos_frame(reference_dir / "OH_GMOS_lines.dat", lines)) < 0.3


def test_tables_carry_provenance_and_frame():
    for name in (sky.KMOS_OH_TABLE, sky.OPTICAL_LINES_TABLE, sky.OPTICAL_CONTINUUM_TABLE):
        t = Table.read(PACKAGE_DATA / name)
        assert t.meta["frame"] == "vacuum" and "source" in t.meta and "derived_by" in t.meta


def test_known_sky_lines_are_where_physics_puts_them():
    oh = Table.read(PACKAGE_DATA / sky.KMOS_OH_TABLE)
    assert len(oh) > 100 and (np.asarray(oh["strength"]) > 20).sum() > 20
    lam = u.Quantity(oh["wavelength"]).to_value(u.um)
    assert 1.0 <= lam.min() and lam.max() <= 1.36
    opt = Table.read(PACKAGE_DATA / sky.OPTICAL_LINES_TABLE)
    w = u.Quantity(opt["wavelength"]).to_value(u.AA)
    # the strong OH 6-2 band lines near 7914/7916 Å (vacuum) are present
    assert np.min(np.abs(w - 7915.9)) < 1.0


def test_rebuilt_spectra_conserve_line_strength():
    lam = np.arange(1.0, 1.36, 1e-5) * u.um
    s = sky.kmos_oh_spectrum(lam, 3300.0)
    oh = Table.read(PACKAGE_DATA / sky.KMOS_OH_TABLE)
    inside = (u.Quantity(oh["wavelength"]).to_value(u.um) > 1.001) & (u.Quantity(oh["wavelength"]).to_value(u.um) < 1.359)
    np.testing.assert_allclose(s.sum() * 1e-5, np.asarray(oh["strength"])[inside].sum() * 1e-5, rtol=0.02)
