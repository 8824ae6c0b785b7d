"""Contract = reader: ``docs/data-format.md`` and the readers' checks say the same thing.

Both ways: (1) the contract's column and keyword tables are the ones generated from the
readers' schemas (``scripts/update_contract.py``); (2) every row of those tables, *parsed from
the page*, is tried against the pipeline's reader on a valid file: a required column or
keyword removed is an error naming the file and it, an optional one is not; a column without
its unit, or in a unit of the wrong kind, is an error; a unit that converts gives the same
numbers; a "finite" column with a NaN is an error.
"""
import re
from pathlib import Path

import numpy as np
import pytest
import astropy.units as u
from astropy.io import fits

from redshift1 import contract
from redshift1.errors import DataFormatError, Redshift1Error
from redshift1.kmos.cube import read_kmos_cube
from redshift1.ldss3 import survey_files as lio
from unit_helpers import READERS, Rewritten, read_plain, tiny_survey

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-format.md"
TEXT = DOC.read_text()
BLOCK = re.compile(r"<!-- BEGIN schema (\S+) -->\n(.*?)\n<!-- END schema \1 -->", re.S)


def _rows(body):
    """Rows of a markdown table: lists of cell strings (header and rule skipped)."""
    lines = [ln for ln in body.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def _doc_columns():
    """(table, column, unit or None, required, finite) for every column row of the page."""
    out = []
    for name, body in BLOCK.findall(TEXT):
        if name == "ldss3/raw-keywords":
            continue
        for col, unit, req, _ in _rows(body):
            out.append((name, col.strip("`"), None if unit == "—" else unit, req.startswith("yes"), "finite" in req))
    return out


def _doc_keywords():
    """(keyword, kinds that require it) for every keyword of the raw-frame table."""
    body = dict(BLOCK.findall(TEXT))["ldss3/raw-keywords"]
    out = []
    for names, *_ in _rows(body):
        kinds = ()
        if "●" in names:
            m = re.search(r"● \(([^)]*) only\)", names)
            kinds = tuple(x.strip() for x in m.group(1).split(",")) if m else lio.OBSTYPES
        out += [(k, kinds) for k in re.findall(r"`([A-Z0-9_-]+)`", names)]
    return out


COLUMNS = _doc_columns()
KEYWORDS = _doc_keywords()


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    return tiny_survey(tmp_path_factory.mktemp("contract"))


def test_the_page_holds_the_generated_tables():
    assert contract.stale(TEXT) == [], "run: python scripts/update_contract.py"
    assert set(dict(BLOCK.findall(TEXT))) == set(READERS) | {"ldss3/raw-keywords"}


def test_the_page_lists_what_the_parser_sees():
    # the parser of this test really reads the tables (not an empty list passing vacuously)
    assert len(COLUMNS) > 60 and len({c[0] for c in COLUMNS}) == len(READERS)
    assert ("kmos/targets.ecsv", "sfr_sed", "solMass / yr", True, False) in COLUMNS
    assert ("AIRMASS", ("SCIENCE", "STANDARD")) in KEYWORDS and ("GAIN", lio.OBSTYPES) in KEYWORDS


def _expect_error(call, *names):
    with pytest.raises(DataFormatError) as e:
        call()
    msg = str(e.value)
    assert "\n" not in msg, msg
    for n in names:
        assert n in msg, (n, msg)
    return msg


def _scaled(unit):
    """A unit 1000× smaller than ``unit`` (None for logarithmic units, which do not scale)."""
    try:
        return u.CompositeUnit(1e-3, [u.Unit(unit)], [1])
    except (TypeError, u.UnitsError, ValueError):
        return None


@pytest.mark.parametrize("table,column,unit,required,finite", COLUMNS, ids=[f"{c[0]}:{c[1]}" for c in COLUMNS])
def test_each_documented_column_is_what_the_reader_checks(survey, table, column, unit, required, finite):
    rel, reader = READERS[table]
    path = survey / rel
    fname = path.name
    orig = read_plain(path)
    baseline = reader(survey)
    with Rewritten(path) as rw:
        # removed: required → error naming the file and the column; optional → read
        if column in orig.colnames:
            t = orig.copy()
            t.remove_column(column)
            rw.write_table(t)
            if required:
                _expect_error(lambda: reader(survey), fname, column)
            else:
                assert column not in reader(survey).colnames
        else:
            assert not required, f"the mock lacks required column {column} of {table}"
            return
        col = orig[column]
        numeric = col.dtype.kind in "iuf"
        # units: a dimensional column needs its unit; a dimensionless one may not carry one
        t = orig.copy()
        if unit is None:
            t[column].unit = "km"
            rw.write_table(t)
            _expect_error(lambda: reader(survey), fname, column, "dimensionless")
        else:
            assert col.unit is not None, f"the mock writes {table}:{column} without a unit"
            t[column].unit = None
            rw.write_table(t)
            _expect_error(lambda: reader(survey), fname, column, "no unit")
            wrong = "kg" if u.Unit(unit).is_equivalent(u.s) else "s"    # (a mass does convert to dex(solMass))
            t[column].unit = wrong
            rw.write_table(t)
            _expect_error(lambda: reader(survey), fname, column, f"'{wrong}'")
            scaled = _scaled(unit)
            if scaled is not None and numeric:
                # the same quantities stated in a unit 1000x smaller read as the same numbers
                t[column] = np.asarray(orig[column], float) * 1e3
                t[column].unit = scaled
                rw.write_table(t)
                np.testing.assert_allclose(np.asarray(reader(survey)[column], float),
                                           np.asarray(baseline[column], float), rtol=1e-12)
        # a NaN where every value must be finite is an error naming the row
        if finite and col.dtype.kind == "f" and len(orig):
            t = orig.copy()
            t[column][0] = np.nan
            rw.write_table(t)
            _expect_error(lambda: reader(survey), fname, column)


FRAMES = {"SCIENCE": "ldss3/masks/mask4/raw/mask4_001.fits", "DARK": "ldss3/calib/darks/nsdark_001.fits",
          "STANDARD": "ldss3/calib/standard/standard_001.fits"}


@pytest.mark.parametrize("keyword,kinds", KEYWORDS, ids=[k for k, _ in KEYWORDS])
def test_each_documented_keyword_is_what_the_reader_requires(survey, keyword, kinds):
    for kind, rel in FRAMES.items():
        path = survey / rel
        with Rewritten(path) as rw:
            with fits.open(path) as h:
                assert h[0].header["OBSTYPE"] == kind
                if keyword not in h[0].header:
                    assert kind not in kinds, f"the mock's {kind} frame lacks required {keyword}"
                    continue
                del h[0].header[keyword]
                h.writeto(rw.path, overwrite=True)
            if kind in kinds:
                _expect_error(lambda: lio.read_frame(path, load_data=False), path.name, keyword)
            else:
                assert lio.read_frame(path, load_data=False).header.get(keyword) is None


@pytest.mark.parametrize("value", [0.0, -1.0, 50.0, "n/a"])
def test_darks_need_no_airmass_but_science_does(survey, value):
    """The old mismatch: the contract was silent on AIRMASS for darks while the reader demanded 1-10."""
    for kind, rel in FRAMES.items():
        path = survey / rel
        with Rewritten(path) as rw:
            with fits.open(path) as h:
                h[0].header["AIRMASS"] = value
                h.writeto(rw.path, overwrite=True)
            if kind == "DARK":
                lio.read_frame(path, load_data=False)
            else:
                _expect_error(lambda: lio.read_frame(path, load_data=False), path.name, "AIRMASS")


def test_cube_keywords_the_contract_names(survey):
    """The page: 'the loader requires CTYPE3, CRVAL3 and CD3_3/CDELT3 (CUNIT3 defaults to um)'."""
    m = re.search(r"the loader requires (.*?) \(`CUNIT3` defaults to `um`\)", " ".join(TEXT.split()))
    required = [k.replace("`", "") for k in re.findall(r"`[A-Z0-9_]+`(?:/`[A-Z0-9_]+`)?", m.group(1))]
    assert required == ["CTYPE3", "CRVAL3", "CD3_3/CDELT3"]
    path = sorted((survey / "kmos" / "cubes").rglob("*.fits"))[0]
    base = read_kmos_cube(path)
    for keys in [k.split("/") for k in required]:
        with Rewritten(path) as rw:
            with fits.open(path) as h:
                for ext in h[1:]:
                    for k in keys:
                        ext.header.remove(k, ignore_missing=True)
                h.writeto(rw.path, overwrite=True)
            _expect_error(lambda: read_kmos_cube(path), path.name)
    with Rewritten(path) as rw:
        with fits.open(path) as h:
            for ext in h[1:]:
                del ext.header["CUNIT3"]
            h.writeto(rw.path, overwrite=True)
        np.testing.assert_array_equal(read_kmos_cube(path).wavelength, base.wavelength)
    with Rewritten(path) as rw:
        with fits.open(path) as h:
            for ext in h[1:]:
                del ext.header["BUNIT"]
            h.writeto(rw.path, overwrite=True)
        assert not read_kmos_cube(path).unit_known


def test_missing_files_are_named(tmp_path):
    for name, (rel, reader) in READERS.items():
        with pytest.raises(Redshift1Error) as e:
            reader(tmp_path)
        assert "\n" not in str(e.value), name
