"""Property-based tests over every ECSV input table of both instruments (hypothesis).

Wrong or missing units, units relabelled with or without converting the values, missing
columns, NaN rows and wrong wavelength frames: each read either ends in a one-line
:class:`Redshift1Error` naming the file, or returns numbers that are exactly what the file
states (in the pipeline's unit) — never a changed number.
"""
import warnings

import numpy as np
import pytest
import astropy.units as u
from hypothesis import HealthCheck, given, settings, strategies as st

from redshift1.errors import Redshift1Error
from unit_helpers import READERS, Rewritten, read_plain, schema_of, tiny_survey

SETTINGS = dict(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
TABLES = sorted(READERS)
UNITS = [None, "", "deg", "arcmin", "arcsec", "Angstrom", "nm", "um", "pix", "mag", "dex", "dex(solMass)",
         "solMass / yr", "solMass / Gyr", "erg / (s cm2)", "W / m2", "erg / s", "W", "erg / (s cm2 Angstrom)",
         "erg / (s cm2 nm)", "s", "min", "km", "kg", "Angstrom / pix", "nm / pix", "Jy", "bogus_unit", "electron"]


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    return tiny_survey(tmp_path_factory.mktemp("fuzz_units"))


def _read(survey, table):
    """(table, None) or (None, message) for the pipeline's reader of ``table``."""
    rel, reader = READERS[table]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return reader(survey), None
    except Redshift1Error as exc:
        msg = str(exc)
        assert "\n" not in msg and (survey / rel).name in msg, msg
        return None, msg


def _stated(column):
    """A column as the file states it: values times its unit (None when it has none)."""
    values = np.asarray(np.ma.filled(column, np.nan) if column.dtype.kind == "f" else column, float)
    return values if column.unit is None else values * column.unit


def _same_quantity(read_col, stated, schema_col, wavelength=None):
    """The column the reader returned equals what the file stated, in the schema's unit."""
    got = np.asarray(np.ma.filled(read_col, np.nan) if read_col.dtype.kind == "f" else read_col, float)
    if schema_col.unit is None:
        want = stated if not isinstance(stated, u.Quantity) else stated.to_value(u.one)
    else:
        assert read_col.unit == u.Unit(schema_col.unit)
        eq = u.spectral_density(wavelength) if wavelength is not None else []
        want = stated.to_value(u.Unit(schema_col.unit), equivalencies=eq)
    np.testing.assert_allclose(got, want, rtol=1e-9, equal_nan=True)


@settings(**SETTINGS)
@given(table=st.sampled_from(TABLES), data=st.data(), unit=st.sampled_from(UNITS), convert=st.booleans())
def test_units_wrong_missing_or_relabelled(survey, table, data, unit, convert):
    """Any unit on any column: an error naming file and column, or the stated quantity, converted."""
    rel, _ = READERS[table]
    path = survey / rel
    orig = read_plain(path)
    column = data.draw(st.sampled_from(orig.colnames))
    t = orig.copy()
    new = None if unit in (None, "") else u.Unit(unit, parse_strict="silent")
    if convert and new is not None and orig[column].unit is not None and orig[column].dtype.kind in "iuf":
        try:
            t[column] = (np.asarray(orig[column], float) * orig[column].unit).to_value(new)
        except (u.UnitsError, ValueError):       # ValueError: an unrecognised unit
            pass                                    # not convertible: the values stay, mislabelled
    t[column].unit = new
    with Rewritten(path) as rw:
        rw.write_table(t)
        stated = read_plain(path)
        got, err = _read(survey, table)
    schema = schema_of(table)
    if err is not None:
        return
    if stated[column].dtype.kind not in "iufb":
        assert list(np.asarray(got[column]).astype(str)) == list(np.asarray(stated[column]).astype(str))
        return
    if column in {c.name for c in schema.columns}:
        wave = None
        if schema.wavelength and column != schema.wavelength:
            wave = _stated(stated[schema.wavelength])
        _same_quantity(got[column], _stated(stated[column]), schema[column], wave)


@settings(**SETTINGS)
@given(table=st.sampled_from(TABLES), data=st.data())
def test_missing_columns(survey, table, data):
    rel, _ = READERS[table]
    path = survey / rel
    orig = read_plain(path)
    drop = data.draw(st.lists(st.sampled_from(orig.colnames), min_size=1, max_size=3, unique=True))
    t = orig.copy()
    t.remove_columns(drop)
    with Rewritten(path) as rw:
        rw.write_table(t)
        got, err = _read(survey, table)
    required = set(schema_of(table).required) & set(drop)
    if required:
        assert err is not None and all(c in err for c in required), (drop, err)
    else:
        assert err is None, err
        for c in got.colnames:                      # the others are untouched
            np.testing.assert_array_equal(np.asarray(got[c]), np.asarray(_read_ok(survey, table)[c]))


def _read_ok(survey, table):
    got, err = _read(survey, table)
    assert err is None, err
    return got


@settings(**SETTINGS)
@given(table=st.sampled_from(TABLES), data=st.data(), value=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_nan_rows(survey, table, data, value):
    rel, _ = READERS[table]
    path = survey / rel
    orig = read_plain(path)
    floats = [c for c in orig.colnames if orig[c].dtype.kind == "f"]
    if not floats or not len(orig):
        return
    column = data.draw(st.sampled_from(floats))
    row = data.draw(st.integers(0, len(orig) - 1))
    before = _read_ok(survey, table)
    t = orig.copy()
    t[column][row] = value
    with Rewritten(path) as rw:
        rw.write_table(t)
        got, err = _read(survey, table)
    schema = schema_of(table)
    finite = column in {c.name for c in schema.columns if c.finite}
    if finite:
        assert err is not None and column in err, err
        return
    if err is not None:
        return                                      # another check refused it, by name
    for c in got.colnames:                          # only that value changed, and it is still not finite
        x, y = np.asarray(before[c]), np.asarray(got[c])
        if c == column:
            assert not np.isfinite(y[row])
            x, y = np.delete(x, row), np.delete(y, row)
        np.testing.assert_array_equal(y, x)


@settings(**SETTINGS)
@given(table=st.sampled_from([t for t in TABLES if schema_of(t).frame]),
       key=st.sampled_from(["wavelength_frame", "frame"]),
       value=st.sampled_from([None, "air", "AIR", "Air", "vacuum", "VACUUM", " vacuum ", "vac", "", "unknown", 3]))
def test_wavelength_frames(survey, table, key, value):
    rel, _ = READERS[table]
    path = survey / rel
    t = read_plain(path)
    for k in ("wavelength_frame", "frame"):
        t.meta.pop(k, None)
    if value is not None:
        t.meta[key] = value
    with Rewritten(path) as rw:
        rw.write_table(t)
        got, err = _read(survey, table)
    if isinstance(value, str) and value.strip().lower() == "vacuum":
        assert err is None, err
    else:
        assert err is not None and "frame" in err, err
