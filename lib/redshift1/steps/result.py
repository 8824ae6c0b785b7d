"""What a step returns: named product tables (and files) that the notebook writes in view."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits
from astropy.table import Table

from ..io import write_fits, write_json, write_table


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
    images : dict of str to `~astropy.io.fits.HDUList`
        Product file name (e.g. ``"ldss3_slit_noise.fits"``) to the FITS file written there.
    """

    tables: dict[str, Table] = field(default_factory=dict)
    documents: dict[str, dict] = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    images: dict[str, fits.HDUList] = field(default_factory=dict)

    def __getitem__(self, name):
        """A table by file name, else a document, else a FITS file, else a value."""
        for store in (self.tables, self.documents, self.images, self.values):
            if name in store:
                return store[name]
        raise KeyError(name)

    @property
    def product_names(self) -> list[str]:
        """File names that :meth:`write` writes, in order."""
        return list(self.tables) + list(self.documents) + list(self.images)

    def write(self, products: str | os.PathLike) -> list[Path]:
        """Write every table, document and FITS file into ``products`` (atomically, file by file).

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
        written += [write_fits(h, folder / name) for name, h in self.images.items()]
        return written
