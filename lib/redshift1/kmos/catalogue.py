"""Reading and checking the KMOS target catalogue (``kmos/targets.ecsv``) against the cubes on disk."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from ..errors import DataFormatError, MissingInputError

#: columns the pipeline needs, and the unit each must carry (None: dimensionless)
REQUIRED = {"id": None, "field": None, "pointing": None, "ifu": None, "spectrograph": None, "z_cat": None,
            "k_ab": u.mag, "r_z": u.mag, "logmstar": None, "sfr_sed": u.Msun / u.yr, "a_v": u.mag, "cube": None}


def read_targets(kmos_dir: str | Path) -> Table:
    """The target catalogue, checked: required columns with the right units, no duplicate ids,
    at least one row. Raises :class:`DataFormatError` naming the file and the problem."""
    path = Path(kmos_dir) / "targets.ecsv"
    if not path.is_file():
        raise MissingInputError(f"{path}: no target catalogue")
    try:
        t = Table.read(path, format="ascii.ecsv")
    except Exception as exc:  # astropy's ECSV reader raises several unrelated types
        raise DataFormatError(f"{path}: not a readable ECSV table ({exc})") from exc
    missing = [c for c in REQUIRED if c not in t.colnames]
    if missing:
        raise DataFormatError(f"{path}: missing column(s) {', '.join(missing)}")
    if len(t) == 0:
        raise DataFormatError(f"{path}: the catalogue is empty")
    for col, unit in REQUIRED.items():
        if unit is not None and (t[col].unit is None or not t[col].unit.is_equivalent(unit)):
            raise DataFormatError(f"{path}: column {col} has unit {t[col].unit!s} but needs {unit:s}")
        if unit is not None and t[col].unit != unit:
            t[col] = t[col].quantity.to(unit)        # e.g. a star-formation rate given per Gyr
    ids = np.asarray(t["id"]).astype(str)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise DataFormatError(f"{path}: duplicate id(s) {', '.join(uniq[counts > 1][:5])}")
    z = np.asarray(t["z_cat"], float)
    if not np.all(np.isfinite(z) & (z > 0)):
        bad = ids[~(np.isfinite(z) & (z > 0))][:5]
        raise DataFormatError(f"{path}: z_cat must be a positive number (bad for {', '.join(bad)})")
    return t


def orphan_cubes(kmos_dir: str | Path, targets: Table) -> list[str]:
    """Cube files under ``cubes/`` that no catalogue row names (reported, not measured)."""
    kmos_dir = Path(kmos_dir)
    listed = {str(c) for c in targets["cube"]}
    on_disk = {p.relative_to(kmos_dir).as_posix() for p in (kmos_dir / "cubes").rglob("*.fits")}
    return sorted(on_disk - listed)
