"""Checks shared by the LDSS3 readers (:mod:`redshift1.ldss3.survey_files`): a file that must
exist, a FITS file that must open undamaged, an ECSV table read through its schema, and the
one-line messages that name what is wrong."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from astropy.io import fits
from astropy.table import Table

from ..errors import DataFormatError, MissingInputError
from ..schema import TableSchema

__all__ = ["need_file", "one_line", "some_ids", "natural_key", "read_checked_table", "open_fits_checked"]


def need_file(path: Path, what: str = "file") -> Path:
    """``path`` if it exists, else a one-line :class:`MissingInputError` naming it and ``what`` it is.

    Parameters
    ----------
    path : path-like
    what : str
        What the file is, for the message.

    Returns
    -------
    `~pathlib.Path`
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: required LDSS3 {what} is missing")
    return path


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line (astropy/yaml messages can span several).

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    str
    """
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def some_ids(ids, n: int = 5) -> str:
    """A few ids for a message: ``a, b, c`` or ``a, b, c, ... (12 in all)``.

    Parameters
    ----------
    ids : iterable
    n : int
        How many to show.

    Returns
    -------
    str
    """
    ids = [str(i) for i in ids]
    return ", ".join(ids[:n]) + (f", ... ({len(ids)} in all)" if len(ids) > n else "")


def natural_key(s: str):
    """Sort key that orders ``mask2`` before ``mask10``.

    Parameters
    ----------
    s : str

    Returns
    -------
    list
        Text and integer parts.
    """
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def read_checked_table(path: Path, schema: TableSchema) -> Table:
    """Read an ECSV input table through its schema (columns, units, frame; see :mod:`redshift1.schema`).

    Parameters
    ----------
    path : `~pathlib.Path`
    schema : `~redshift1.schema.TableSchema`

    Returns
    -------
    `~astropy.table.Table`
    """
    need_file(path, schema.what)
    return schema.read(path)


def open_fits_checked(path: Path):
    """Open a FITS file fully into memory, turning any damage into DataFormatError.

    Parameters
    ----------
    path : `~pathlib.Path`

    Returns
    -------
    `~astropy.io.fits.HDUList`
        Every extension read (the caller closes it).
    """
    path = need_file(path, "FITS file")
    try:
        def damaged(caught):
            bad = [" ".join(str(w.message).split()) for w in caught if "truncat" in str(w.message).lower()
                   or "corrupt" in str(w.message).lower()]
            if bad:
                raise DataFormatError(f"{path}: damaged FITS file ({bad[0]})")

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
            try:
                damaged(caught)     # before reading data: a damaged header may claim to be huge
                for h in hdul:
                    _ = h.data      # force reading every extension
                damaged(caught)
            except BaseException:
                hdul.close()
                raise
    except DataFormatError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable FITS file, truncated or corrupt "
                              f"({one_line(exc)})") from None
    return hdul
