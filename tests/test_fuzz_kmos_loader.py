"""Hypothesis mutates valid KMOS cube files; the loader either reads them or raises
:class:`redshift1.errors.Redshift1Error` (with the file's name), never anything else."""
import io

import numpy as np
from astropy.io import fits
from hypothesis import HealthCheck, given, settings, strategies as st

from redshift1.errors import Redshift1Error
from redshift1.kmos.cube import cube_wcs_header, make_cube_hdulist, read_kmos_cube


def _base_bytes() -> bytes:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(64, 6, 5)).astype(np.float32)
    noise = np.ones_like(data)
    h = cube_wcs_header(150.0, 2.0, (3.0, 3.5), 0.2, 1.0, 1.75e-4)
    buf = io.BytesIO()
    make_cube_hdulist("OBJ", data, noise, fits.Header(), h, "erg.s**-1.cm**-2.um**-1").writeto(buf)
    return buf.getvalue()


BASE = _base_bytes()
KEYWORDS = ["CTYPE3", "CRVAL3", "CD3_3", "CUNIT3", "CTYPE1", "CRPIX1", "CD1_1", "BUNIT", "EXTNAME", "NAXIS3"]
SETTINGS = dict(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(path):
    try:
        cube = read_kmos_cube(path)
    except Redshift1Error as exc:
        assert path.name in str(exc)
        return
    assert cube.data.ndim == 3 and cube.data.shape == cube.noise.shape
    assert cube.wavelength.size == cube.data.shape[0]


@settings(**SETTINGS)
@given(cut=st.integers(min_value=0, max_value=len(BASE) - 1))
def test_truncated(tmp_path, cut):
    p = tmp_path / "cut.fits"
    p.write_bytes(BASE[:cut])
    _check(p)


@settings(**SETTINGS)
@given(flips=st.lists(st.tuples(st.integers(0, 2880 * 3 - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_header_bytes_flipped(tmp_path, flips):
    b = bytearray(BASE)
    for pos, val in flips:
        b[pos] = val
    p = tmp_path / "flip.fits"
    p.write_bytes(bytes(b))
    _check(p)


@settings(**SETTINGS)
@given(ext=st.sampled_from([1, 2]), key=st.sampled_from(KEYWORDS),
       value=st.one_of(st.none(), st.text(max_size=8), st.floats(allow_nan=True), st.integers(-5, 5)))
def test_header_keyword_changed(tmp_path, ext, key, value):
    with fits.open(io.BytesIO(BASE)) as h:
        hdr = h[ext].header
        if value is None:
            hdr.remove(key, ignore_missing=True)
        else:
            try:
                hdr[key] = value
            except (ValueError, KeyError):
                return
        p = tmp_path / "kw.fits"
        try:
            h.writeto(p, output_verify="silentfix", overwrite=True)
        except Exception:  # astropy refused to write the mutation at all: nothing to read
            return
    _check(p)


@settings(**SETTINGS)
@given(shape=st.sampled_from([(64, 30), (2, 64, 6, 5), (64, 6, 4), (0, 6, 5)]),
       dtype=st.sampled_from([np.float32, np.float64, np.int16, np.uint8]),
       poison=st.sampled_from([None, np.nan, np.inf, 0.0, -1.0]))
def test_shapes_dtypes_and_values(tmp_path, shape, dtype, poison):
    with fits.open(io.BytesIO(BASE)) as h:
        d = np.ones(shape, dtype=dtype)
        n = np.ones((64, 6, 5), dtype=np.float32)
        if poison is not None:
            n[:] = poison
        h[1].data, h[2].data = d, n
        p = tmp_path / "shape.fits"
        h.writeto(p, output_verify="silentfix", overwrite=True)
    _check(p)
