"""Declarative schemas of the input tables: the one place where the data contract's columns live.

Each ECSV table the pipeline reads has one :class:`TableSchema`: its columns, the unit the
pipeline works in (the file may state any unit astropy can convert to it), whether the column
is required, whether every value must be finite, and whether the table must state its
wavelength frame. :meth:`TableSchema.read` is the reader every instrument module calls, and
:meth:`TableSchema.markdown` writes the table of ``docs/data-format.md`` (``scripts/
update_contract.py``), so that the contract and the reader cannot drift apart.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Column as TableColumn, MaskedColumn, Table

from .errors import DataFormatError, MissingInputError

__all__ = ["Col", "Key", "TableSchema", "keyword_markdown", "flux_density_equivalencies", "one_line", "check_vacuum_frame", "unit_label"]


@dataclass(frozen=True)
class Col:
    """One column of an input table.

    Parameters
    ----------
    name : str
        The column name, exactly.
    unit : str or None
        The unit the pipeline works in. The file must state a unit convertible to it
        (astropy units); ``None`` means dimensionless: no unit, or a dimensionless one.
    required : bool
        A required column missing from the file is a :class:`DataFormatError`.
    kind : {"number", "bool", "any"}
        ``number`` columns must hold numbers, ``bool`` columns booleans (or 0/1 integers).
    finite : bool
        Every value must be present and finite (NaN, ±inf or a masked value is an error
        naming the rows); otherwise NaN stands for "no value".
    meaning : str
        The sentence of the contract's table.
    """

    name: str
    unit: str | None = None
    required: bool = True
    kind: str = "any"
    finite: bool = False
    meaning: str = ""

    @property
    def astropy_unit(self):
        return None if self.unit is None else u.Unit(self.unit)


def one_line(text) -> str:
    """``text`` on one line (astropy and yaml messages can span several)."""
    return " ".join(str(text).split())


def unit_label(unit) -> str:
    """A unit as the contract writes it (``—`` for dimensionless)."""
    return "—" if unit is None else u.Unit(unit).to_string()


#: meta keys that may state a table's wavelength frame
FRAME_KEYS = ("wavelength_frame", "frame")


def check_vacuum_frame(path, meta) -> None:
    """Raise :class:`DataFormatError` unless ``meta`` says the wavelengths are vacuum.

    The contract has vacuum wavelengths throughout; a table in air, or one that does not
    say, would be used at the wrong wavelengths (≈2 Å at 7500 Å) without a word.
    """
    stated = [(k, meta[k]) for k in FRAME_KEYS if k in meta]
    if not stated:
        raise DataFormatError(f"{path}: states no wavelength frame (the contract requires meta "
                              f"wavelength_frame: vacuum)")
    for key, value in stated:
        if str(value).strip().lower() != "vacuum":
            raise DataFormatError(f"{path}: {key}: {one_line(value)!r}, the contract requires vacuum "
                                  f"wavelengths (convert the table, then state wavelength_frame: vacuum)")


def flux_density_equivalencies(unit, wavelength) -> list:
    """``u.spectral_density(wavelength)`` when ``unit`` is a flux density (per wavelength or per
    frequency, energy or photons), else none: a flux (erg s⁻¹ cm⁻², i.e. λF_λ) is not silently
    taken for a flux density."""
    kinds = {"spectral flux density", "spectral flux density wav", "photon flux density", "photon flux density wav"}
    ptype = unit.physical_type if unit is not None else None
    names = set(str(ptype).split("/")) if ptype is not None else set()
    return u.spectral_density(wavelength) if names & kinds else []


def _plain(column) -> np.ndarray:
    """A column's values as a bare float array (a Column times a unit would compound its own unit)."""
    return np.array(np.ma.getdata(column), dtype=float)


def _ids(t: Table, id_column: str | None, rows: np.ndarray) -> str:
    names = (np.asarray(t[id_column]).astype(str) if id_column in t.colnames
             else np.array([f"row {i + 1}" for i in range(len(t))]))[rows]
    shown = ", ".join(names[:5])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 5 else "")


@dataclass(frozen=True)
class TableSchema:
    """The contract of one ECSV input table and its checked reader.

    Parameters
    ----------
    path : str
        Where the table lives in a survey folder (as the contract writes it).
    what : str
        What the table is, for messages ("target catalogue").
    columns : tuple of Col
    id_column : str, optional
        Column naming the rows in messages.
    row_label : str
        What the rows are, in messages (``"slit(s)"``).
    frame : bool
        The table holds wavelengths: its meta must state ``wavelength_frame: vacuum``.
    wavelength : str, optional
        The wavelength column, for converting a flux density per frequency to one per
        wavelength (``u.spectral_density``).
    meta : tuple of str
        Meta keys that must be present.
    """

    path: str
    what: str
    columns: tuple = ()
    id_column: str | None = None
    row_label: str = "row(s)"
    frame: bool = False
    wavelength: str | None = None
    meta: tuple = field(default_factory=tuple)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def __getitem__(self, name) -> Col:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    # ------------------------------------------------------------------ reading
    def read(self, path) -> Table:
        """Read the table at ``path`` and check it against this schema.

        Every dimensional column is returned in the schema's unit (converted with astropy
        units from the unit the file states); columns the schema does not know are kept
        as they are.

        Raises
        ------
        MissingInputError
            No file at ``path``.
        DataFormatError
            Unreadable ECSV; a required column missing; a dimensional column without a
            unit or in a unit not convertible to the contract's; a dimensionless column
            with a unit; a number column holding text; a non-finite value where every
            value must be finite; a missing or non-vacuum wavelength frame; a missing
            meta key. The one-line message names the file (and the column, unit or rows).
        """
        path = Path(path)
        if not path.is_file():
            raise MissingInputError(f"{path}: required {self.what} is missing")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", u.UnitsWarning)   # an unknown unit is reported below
                t = Table.read(path, format="ascii.ecsv")
        except Exception as exc:  # noqa: BLE001 - any parse failure is a contract breach
            raise DataFormatError(f"{path}: unreadable {self.what} ({one_line(f'{type(exc).__name__}: {exc}')})") \
                from None
        self.check(t, path)
        return t

    def check(self, t: Table, path) -> Table:
        """Check (and convert in place) a table already read; see :meth:`read`."""
        missing = [c for c in self.required if c not in t.colnames]
        if missing:
            raise DataFormatError(f"{path}: {self.what} lacks column(s) {', '.join(missing)} "
                                  f"(a missing column breaks docs/data-format.md)")
        for key in self.meta:
            if key not in t.meta:
                raise DataFormatError(f"{path}: meta lacks {key}")
        if self.frame:
            check_vacuum_frame(path, t.meta)
        order = sorted((c for c in self.columns if c.name in t.colnames),
                       key=lambda c: c.name != self.wavelength)      # the wavelengths first
        for col in order:
            self._check_kind(t, col, path)
            self._convert(t, col, path)
            self._check_finite(t, col, path)
        return t

    def _check_kind(self, t, col: Col, path) -> None:
        kind = t[col.name].dtype.kind
        if col.kind == "number" and kind not in "iuf":
            raise DataFormatError(f"{path}: column {col.name} holds {t[col.name].dtype} values, not numbers")
        if col.kind == "bool" and kind not in "biu":
            raise DataFormatError(f"{path}: column {col.name} holds {t[col.name].dtype} values, not booleans")

    def _equivalencies(self, t, name):
        if name == self.wavelength:
            return u.spectral()                        # a frequency axis is a wavelength axis too
        if self.wavelength and self.wavelength in t.colnames and t[self.wavelength].unit is not None:
            wave = _plain(t[self.wavelength]) * t[self.wavelength].unit
            return flux_density_equivalencies(t[name].unit, wave)
        return []

    def _convert(self, t, col: Col, path) -> None:
        have = t[col.name].unit
        if isinstance(have, u.UnrecognizedUnit):
            raise DataFormatError(f"{path}: column {col.name} has unit {have.to_string()!r}, which astropy "
                                  f"cannot read (the contract needs {unit_label(col.unit)})")
        if col.unit is None:
            # a logarithmic unit (mag, dex) on a plain number is a different quantity, not a rescaling
            if have is not None and (isinstance(have, u.FunctionUnitBase) or not have.is_equivalent(u.one)):
                raise DataFormatError(f"{path}: column {col.name} has unit {have.to_string()!r} "
                                      f"but must be dimensionless")
            if have is not None and have != u.dimensionless_unscaled:
                t[col.name] = self._rebuilt(t[col.name], (_plain(t[col.name]) * have).to_value(u.one), None)
            return
        want = col.astropy_unit
        if have is None:
            raise DataFormatError(f"{path}: column {col.name} has no unit; the contract requires "
                                  f"{unit_label(col.unit)} (or a unit convertible to it)")
        if have == want or (want == u.mag and have == u.ABmag):     # the contract's magnitudes are AB
            if have != want:
                t[col.name].unit = want
            return
        eq = self._equivalencies(t, col.name)
        if not have.is_equivalent(want, equivalencies=eq):
            raise DataFormatError(f"{path}: column {col.name} has unit {have.to_string()!r}, "
                                  f"not convertible to {unit_label(col.unit)}")
        if t[col.name].dtype.kind not in "iuf":
            raise DataFormatError(f"{path}: column {col.name} holds {t[col.name].dtype} values, not numbers")
        try:
            # ``array * unit`` builds the right class for function units too (mag, dex)
            values = (_plain(t[col.name]) * have).to_value(want, equivalencies=eq)
        except (u.UnitsError, ValueError, TypeError) as exc:
            raise DataFormatError(f"{path}: column {col.name} in {have.to_string()!r} cannot be converted to "
                                  f"{unit_label(col.unit)} ({one_line(exc)})") from None
        t[col.name] = self._rebuilt(t[col.name], values, want)

    @staticmethod
    def _rebuilt(column, values, unit):
        """The column with new values and unit, keeping its mask, description and meta."""
        kw = dict(name=column.name, unit=unit, description=column.description, meta=column.meta)
        if isinstance(column, MaskedColumn):
            return MaskedColumn(values, mask=np.ma.getmaskarray(column), **kw)
        return TableColumn(values, **kw)

    def _check_finite(self, t, col: Col, path) -> None:
        if not col.finite:
            return
        c = t[col.name]
        missing = np.ma.getmaskarray(c)
        if missing.any():
            raise DataFormatError(f"{path}: column {col.name} has no value for {self.row_label} "
                                  f"{_ids(t, self.id_column, missing)}")
        if c.dtype.kind == "f":
            bad = ~np.isfinite(np.asarray(c, float))
            if bad.any():
                raise DataFormatError(f"{path}: column {col.name} is not finite for {self.row_label} "
                                      f"{_ids(t, self.id_column, bad)}")

    # ------------------------------------------------------------------ the contract's text
    def markdown(self) -> str:
        """The contract's table of this schema (column | unit | required | meaning)."""
        lines = ["| column | unit | required | meaning |", "|---|---|---|---|"]
        for c in self.columns:
            req = "yes" if c.required else "optional"
            if c.finite:
                req += ", finite"
            lines.append(f"| `{c.name}` | {unit_label(c.unit)} | {req} | {c.meaning} |")
        notes = []
        if self.frame:
            notes.append("Meta must state `wavelength_frame: vacuum` (or `frame: vacuum`); `air` or no frame "
                         "is an error.")
        if self.meta:
            notes.append("Required meta: " + ", ".join(f"`{k}`" for k in self.meta) + ".")
        return "\n".join(lines + ([""] + notes if notes else []))


@dataclass(frozen=True)
class Key:
    """FITS header keyword(s) of a frame.

    Parameters
    ----------
    names : tuple of str
        The keyword(s) sharing one line of the contract.
    type_unit : str
        Type or unit, as the contract writes it.
    meaning : str
    required_for : tuple of str
        The ``OBSTYPE`` values whose frames must carry the keyword(s) (empty: optional).
    """

    names: tuple
    type_unit: str = ""
    meaning: str = ""
    required_for: tuple = ()


def keyword_markdown(keys, kinds) -> str:
    """The contract's keyword table: ● marks keywords the loader requires (on which frames)."""
    lines = ["| keyword | type / unit | meaning |", "|---|---|---|"]
    for k in keys:
        mark = ""
        if k.required_for:
            mark = " ●" if set(k.required_for) == set(kinds) else \
                   " ● (" + ", ".join(x for x in kinds if x in k.required_for) + " only)"
        lines.append(f"| {', '.join(f'`{n}`' for n in k.names)}{mark} | {k.type_unit} | {k.meaning} |")
    return "\n".join(lines)
