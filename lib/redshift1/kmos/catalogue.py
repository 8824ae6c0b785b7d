"""Reading and checking the KMOS catalogues (``kmos/*.ecsv``) against the data contract.

The schemas below are the contract's tables (``docs/data-format.md`` is generated from them
by ``scripts/update_contract.py``): each reader checks columns, units (converting to the
pipeline's with astropy units) and values, and raises :class:`DataFormatError` naming the
file and what is wrong.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from ..errors import DataFormatError
from ..schema import Col, TableSchema

TARGETS = TableSchema("kmos/targets.ecsv", "target catalogue", id_column="id", columns=(
    Col("id", meaning="target id; equals the cube's `OBJECT`"),
    Col("field", meaning="UDS, ECDFS, COSMOS or SA22"),
    Col("pointing", meaning="KMOS pointing (OB) the cube comes from"),
    Col("ifu", kind="number", meaning="IFU 1–24"),
    Col("spectrograph", kind="number", meaning="its spectrograph 1–3 (which PSF applies)"),
    Col("ra", "deg", required=False, kind="number", meaning="catalogue right ascension"),
    Col("dec", "deg", required=False, kind="number", meaning="catalogue declination"),
    Col("z_cat", kind="number", finite=True,
        meaning="catalogue spectroscopic redshift (a starting guess: the fit must find the line within ±0.01)"),
    Col("k_ab", "mag", kind="number", meaning="K-band AB magnitude"),
    Col("r_z", "mag", kind="number", meaning="observed r − z colour"),
    Col("logmstar", "dex(solMass)", kind="number", meaning="SED stellar mass (Chabrier IMF)"),
    Col("logmstar_err", "dex", required=False, kind="number", meaning="its error"),
    Col("sfr_sed", "solMass / yr", kind="number", meaning="SED star-formation rate"),
    Col("sfr_sed_err_dex", "dex", required=False, kind="number", meaning="its error in dex"),
    Col("a_v", "mag", kind="number", meaning="SED stellar attenuation (Calzetti)"),
    Col("a_v_err", "mag", required=False, kind="number", meaning="its error"),
    Col("has_hst", required=False, kind="bool", meaning="true where the target is in `hst_morphology.ecsv`"),
    Col("cube", meaning="path of the cube relative to `kmos/`"),
))

POINTINGS = TableSchema("kmos/pointings.ecsv", "pointing list", id_column="pointing", columns=(
    Col("pointing", meaning="KMOS pointing (OB) name"),
    Col("field", meaning="UDS, ECDFS, COSMOS or SA22"),
    Col("ra", "deg", kind="number", meaning="pointing centre"),
    Col("dec", "deg", kind="number", meaning="pointing centre"),
    Col("date_obs", meaning="ISO date of the observation"),
    Col("exptime", "s", kind="number", meaning="exposure time on source"),
    Col("n_galaxies", kind="number", meaning="galaxy cubes of the pointing"),
))

PSF_STARS = TableSchema("kmos/psf_stars.ecsv", "PSF-star list", id_column="cube", columns=(
    Col("pointing", meaning="KMOS pointing (OB)"),
    Col("spectrograph", kind="number", meaning="1–3: one star per spectrograph per pointing"),
    Col("ifu", kind="number", meaning="IFU the star was observed through"),
    Col("cube", meaning="path of the star's cube relative to `kmos/` (`HIERARCH R1 KIND = 'psf_star'`)"),
    Col("origin", required=False, meaning="`monitor`: a star in a science IFU of the same exposures; "
                                          "`acquisition`: a star observed through that IFU in the pointing's acquisition"),
))

HST_MORPHOLOGY = TableSchema("kmos/hst_morphology.ecsv", "HST morphology table", id_column="id", columns=(
    Col("id", meaning="target id (only targets with HST imaging appear)"),
    Col("re_arcsec", "arcsec", kind="number", meaning="F160W semi-major-axis effective radius"),
    Col("sersic_n", kind="number", meaning="Sérsic index"),
    Col("q", kind="number", meaning="axis ratio b/a"),
    Col("pa", "deg", kind="number", meaning="position angle"),
))

#: every KMOS input table, by its path in a survey folder
SCHEMAS = {s.path: s for s in (TARGETS, POINTINGS, PSF_STARS, HST_MORPHOLOGY)}


def read_targets(kmos_dir: str | Path) -> Table:
    """The target catalogue (``kmos/targets.ecsv``), checked.

    Checks the :data:`TARGETS` schema (columns, units converted to the contract's), at least
    one row, unique ids and a positive finite ``z_cat``.

    Parameters
    ----------
    kmos_dir : str or pathlib.Path
        The survey's ``kmos/`` folder.

    Returns
    -------
    astropy.table.Table
        The catalogue, one row per target.

    Raises
    ------
    DataFormatError
        Naming the file and the problem.
    MissingInputError
        If the file is absent.
    """
    path = Path(kmos_dir) / "targets.ecsv"
    t = TARGETS.read(path)
    if len(t) == 0:
        raise DataFormatError(f"{path}: the catalogue is empty")
    ids = np.asarray(t["id"]).astype(str)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise DataFormatError(f"{path}: duplicate id(s) {', '.join(uniq[counts > 1][:5])}")
    z = np.asarray(t["z_cat"], float)
    if not np.all(z > 0):
        raise DataFormatError(f"{path}: z_cat must be a positive number (bad for {', '.join(ids[~(z > 0)][:5])})")
    return t


def read_pointings(kmos_dir: str | Path) -> Table:
    """The pointing list (``kmos/pointings.ecsv``) checked against :data:`POINTINGS`.

    Parameters
    ----------
    kmos_dir : str or pathlib.Path
        The survey's ``kmos/`` folder.

    Returns
    -------
    astropy.table.Table
        One row per pointing.
    """
    return POINTINGS.read(Path(kmos_dir) / "pointings.ecsv")


def read_psf_stars(path: str | Path) -> Table:
    """A PSF-star list (default name ``kmos/psf_stars.ecsv``) checked against :data:`PSF_STARS`.

    Parameters
    ----------
    path : str or pathlib.Path
        The list's file.

    Returns
    -------
    astropy.table.Table
        One row per PSF-star cube.
    """
    return PSF_STARS.read(path)


def read_hst_morphology(kmos_dir: str | Path) -> Table:
    """The HST morphology table (``kmos/hst_morphology.ecsv``) checked against :data:`HST_MORPHOLOGY`.

    Parameters
    ----------
    kmos_dir : str or pathlib.Path
        The survey's ``kmos/`` folder.

    Returns
    -------
    astropy.table.Table
        One row per galaxy with HST imaging.

    Raises
    ------
    DataFormatError
        If an id appears twice.
    """
    path = Path(kmos_dir) / "hst_morphology.ecsv"
    t = HST_MORPHOLOGY.read(path)
    ids = np.asarray(t["id"]).astype(str)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise DataFormatError(f"{path}: duplicate id(s) {', '.join(uniq[counts > 1][:5])}")
    return t


def orphan_cubes(kmos_dir: str | Path, targets: Table) -> list[str]:
    """Cube files under ``cubes/`` that no catalogue row names (reported, not measured).

    Parameters
    ----------
    kmos_dir : str or pathlib.Path
        The survey's ``kmos/`` folder.
    targets : astropy.table.Table
        The target catalogue (its ``cube`` column).

    Returns
    -------
    list of str
        Paths relative to ``kmos_dir``, sorted.
    """
    kmos_dir = Path(kmos_dir)
    listed = {str(c) for c in targets["cube"]}
    on_disk = {p.relative_to(kmos_dir).as_posix() for p in (kmos_dir / "cubes").rglob("*.fits")}
    return sorted(on_disk - listed)
