"""The table accessors of redshift1.columns on a hand-built masked table."""
import astropy.units as u
import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from redshift1.columns import column, flags, strings, values
from redshift1.errors import DataFormatError


@pytest.fixture
def table():
    t = Table()
    t["r"] = MaskedColumn([1.0, 2.0, 3.0], mask=[False, True, False], unit=u.kpc)
    t["n"] = MaskedColumn([4, 5, 6], mask=[False, False, True])
    t["ok"] = MaskedColumn([True, False, True], mask=[False, False, True])
    t["name"] = MaskedColumn(["a", "b", "c"], mask=[False, True, False])
    return t


def test_values_fill_and_convert(table):
    assert np.array_equal(values(table, "r"), [1.0, np.nan, 3.0], equal_nan=True)
    assert np.allclose(values(table, "r", unit=u.pc), [1000.0, np.nan, 3000.0], equal_nan=True)
    assert values(table, "r", fill=-1.0)[1] == -1.0


def test_flags_and_strings_fill(table):
    assert flags(table, "ok").tolist() == [True, False, False]
    assert strings(table, "name").tolist() == ["a", "", "c"]
    assert strings(table, "name", fill="?").tolist() == ["a", "?", "c"]


def test_column_dispatches_on_dtype(table):
    n = column(table, "n")
    assert n.dtype.kind == "f" and np.isnan(n[2]) and n[0] == 4.0
    assert column(table, "ok").dtype == bool
    assert column(table, "name").tolist() == ["a", "", "c"]


def test_missing_column_names_the_columns(table):
    with pytest.raises(DataFormatError, match=r"no column 'sfr' \(columns: r, n, ok, name\)"):
        values(table, "sfr")
