"""What a step returns: named product tables (and files) that the notebook writes in view."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from astropy.table import Table

from ..io import write_json, write_table


@dataclass
class StepResult:
    """The products of one notebook step, written only when the notebook asks.

    Parameters
    ----------
    tables : dict of str to `~astropy.table.Table`
        Product file name (e.g. ``"kmos_sizes.ecsv"``) to the table written there.
    documents : dict of str to dict
        Product file name (e.g. ``"ldss3_counts.json"``) to a JSON-serialisable mapping.
    values : dict
        Anything else the notebook shows or plots (arrays, figures' inputs, counts); never
        written by :meth:`write`.
    """

    tables: dict[str, Table] = field(default_factory=dict)
    documents: dict[str, dict] = field(default_factory=dict)
    values: dict = field(default_factory=dict)

    def __getitem__(self, name):
        """A table by file name, else a document, else a value."""
        for store in (self.tables, self.documents, self.values):
            if name in store:
                return store[name]
        raise KeyError(name)

    @property
    def product_names(self) -> list[str]:
        """File names that :meth:`write` writes, in order."""
        return list(self.tables) + list(self.documents)

    def write(self, products: str | os.PathLike) -> list[Path]:
        """Write every table and document into ``products`` (atomically, file by file).

        Parameters
        ----------
        products : path-like
            The run's products folder; created if absent.

        Returns
        -------
        list of `~pathlib.Path`
            The files written, in :attr:`product_names` order.
        """
        folder = Path(products)
        folder.mkdir(parents=True, exist_ok=True)
        written = [write_table(t, folder / name) for name, t in self.tables.items()]
        written += [write_json(d, folder / name) for name, d in self.documents.items()]
        return written
