"""The KMOS cube loader on the real ESO product, on the mock layout, and on bad files."""
import numpy as np
import astropy.units as u
import pytest
from astropy.io import fits

from redshift1.errors import DataFormatError, MissingInputError
from redshift1.kmos.cube import read_kmos_cube


def test_real_eso_cube(reference_dir):
    cube = read_kmos_cube(reference_dir / "XID_208_YJband.fits")
    assert cube.name == "AGN6"                       # from the '<name>.DATA' extension
    assert cube.shape == (2048, 14, 14)
    assert cube.unit_known is False                   # real products carry no BUNIT
    assert cube.wavelength.unit == u.um
    assert cube.wavelength[0].value == pytest.approx(1.0)
    assert np.diff(cube.wavelength.value).mean() == pytest.approx(1.7529295e-4, rel=1e-6)
    assert cube.pixel_scale.to_value(u.arcsec) == pytest.approx(0.2, rel=1e-6)
    # zero-noise edge spaxels are invalid, the rest is kept
    assert 0.3 < cube.valid.mean() < 1.0
    assert np.all(np.isnan(cube.data[~cube.valid]))


def _plain_layout(src, dst, nx=15):
    """Rewrite a cube with plain DATA/NOISE names, a BUNIT and 15x14 spaxels."""
    with fits.open(src) as h:
        data, noise, hdr = h[1].data, h[2].data, h[1].header.copy()
    pad = np.zeros(data.shape[:2] + (nx - data.shape[2],), dtype=data.dtype)
    hdr["BUNIT"] = "erg.s**-1.cm**-2.um**-1"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.concatenate([data, pad], 2), hdr, name="DATA"),
                  fits.ImageHDU(np.concatenate([noise, pad + 1], 2), hdr, name="NOISE")]).writeto(dst)


def test_both_layouts(tiny_kmos_survey, tmp_path):
    src = sorted((tiny_kmos_survey / "kmos" / "cubes").rglob("*.fits"))[0]
    eso = read_kmos_cube(src)
    assert eso.name == src.stem and eso.unit_known and eso.unit == u.Unit("erg s-1 cm-2 um-1")
    plain = tmp_path / "plain.fits"
    _plain_layout(src, plain)
    c = read_kmos_cube(plain)
    assert c.shape == (2048, 14, 15)
    np.testing.assert_allclose(c.data[:, :, :14], eso.data)


def test_angstrom_axis_is_converted(tiny_kmos_survey, tmp_path):
    src = sorted((tiny_kmos_survey / "kmos" / "cubes").rglob("*.fits"))[0]
    with fits.open(src) as h:
        for ext in h[1:]:
            ext.header["CUNIT3"] = "Angstrom"
            ext.header["CRVAL3"] *= 1e4
            ext.header["CD3_3"] *= 1e4
        h.writeto(tmp_path / "aa.fits")
    np.testing.assert_allclose(read_kmos_cube(tmp_path / "aa.fits").wavelength.value,
                               read_kmos_cube(src).wavelength.value, rtol=1e-10)


@pytest.mark.parametrize("case", ["missing", "not_fits", "empty", "no_noise", "image_2d", "no_spectral_wcs", "truncated"])
def test_bad_files_name_the_file(case, tiny_kmos_survey, tmp_path):
    src = sorted((tiny_kmos_survey / "kmos" / "cubes").rglob("*.fits"))[0]
    bad = tmp_path / f"{case}.fits"
    if case == "not_fits":
        bad.write_text("this is not a FITS file\n")
    elif case == "empty":
        bad.write_bytes(b"")
    elif case == "no_noise":
        with fits.open(src) as h:
            fits.HDUList([h[0], h[1]]).writeto(bad)
    elif case == "image_2d":
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((14, 14)), name="DATA"),
                      fits.ImageHDU(np.ones((14, 14)), name="NOISE")]).writeto(bad)
    elif case == "no_spectral_wcs":
        with fits.open(src) as h:
            for ext in h[1:]:
                ext.header["CTYPE3"] = "PIXEL"
            h.writeto(bad)
    elif case == "truncated":
        bad.write_bytes(src.read_bytes()[: 200_000])
    expected = MissingInputError if case == "missing" else DataFormatError
    with pytest.raises(expected, match=bad.name):
        read_kmos_cube(bad)
