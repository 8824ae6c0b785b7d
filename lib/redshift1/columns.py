"""Reading a table column as a plain numpy array: the one home of the table accessors used by
the science code, the figures, the explorer and the validation.

Masked entries become a fill value (NaN, ``False`` or ``""``), units are dropped (or
converted when asked), and a missing column raises a one-line
:class:`~redshift1.errors.DataFormatError` that lists the columns the table has.
"""
from __future__ import annotations

import numpy as np
from astropy.table import MaskedColumn, Table

from .errors import DataFormatError

__all__ = ["require_column", "values", "flags", "strings", "column"]


def require_column(table: Table, name: str):
    """The column ``name`` of ``table``, or a clear error.

    Parameters
    ----------
    table : astropy.table.Table
        Any table.
    name : str
        Column name.

    Returns
    -------
    astropy.table.Column
        The column itself (masked or not).

    Raises
    ------
    DataFormatError
        If ``table`` has no column ``name``; the message lists the columns it has.
    """
    if name not in table.colnames:
        raise DataFormatError(f"table has no column {name!r} (columns: {', '.join(table.colnames)})")
    return table[name]


def _filled(col, fill):
    return col.filled(fill) if isinstance(col, MaskedColumn) else col


def values(table: Table, name: str, unit=None, fill=np.nan) -> np.ndarray:
    """Column ``name`` as a float array, in ``unit`` if given.

    A column without a unit is taken to be in the contract's unit already.

    Parameters
    ----------
    table : astropy.table.Table
        Table holding the column.
    name : str
        Column name.
    unit : str or astropy.units.Unit, optional
        Convert to this unit when the column carries one.
    fill : float, optional
        Value of masked entries (default NaN).

    Returns
    -------
    numpy.ndarray
        float array, one entry per row.
    """
    col = require_column(table, name)
    # to float before filling, so that a masked integer column can take NaN
    arr = np.array(col.astype(float).filled(fill) if isinstance(col, MaskedColumn) else col, dtype=float)
    if unit is not None and getattr(col, "unit", None) is not None:
        arr = (arr * col.unit).to_value(unit)
    return arr


def flags(table: Table, name: str) -> np.ndarray:
    """A boolean column as a bool array (masked entries → ``False``).

    Parameters
    ----------
    table : astropy.table.Table
        Table holding the column.
    name : str
        Column name.

    Returns
    -------
    numpy.ndarray
        bool array, one entry per row.
    """
    return np.array(_filled(require_column(table, name), False), dtype=bool)


def strings(table: Table, name: str, fill: str = "") -> np.ndarray:
    """A column as an object array of Python strings (masked entries → ``fill``).

    Parameters
    ----------
    table : astropy.table.Table
        Table holding the column.
    name : str
        Column name.
    fill : str, optional
        Value of masked entries (default ``""``).

    Returns
    -------
    numpy.ndarray
        object array of ``str``, one entry per row.
    """
    return np.array([str(v) for v in _filled(require_column(table, name), fill)], dtype=object)


def column(table: Table, name: str, fill=np.nan) -> np.ndarray:
    """A column as the plain array its dtype calls for: numbers as float (:func:`values`),
    booleans as bool (:func:`flags`), anything else as strings (:func:`strings`).

    Parameters
    ----------
    table : astropy.table.Table
        Table holding the column.
    name : str
        Column name.
    fill : float, optional
        Value of masked numeric entries (default NaN); masked booleans are ``False`` and
        masked strings ``""``.

    Returns
    -------
    numpy.ndarray
        float, bool or object (``str``) array, one entry per row; units dropped.
    """
    kind = require_column(table, name).dtype.kind
    if kind in "iuf":
        return values(table, name, fill=fill)
    if kind == "b":
        return flags(table, name)
    return strings(table, name)
