"""The ``flags`` columns of the KROSS science tables (notebooks 04-06), built from each
row's status and the upstream tables' flags (see :mod:`redshift1.flags`).

A flag raised upstream that changes what a downstream number means travels with it: an
extrapolation that hit its cap makes the total Hα flux, hence the SFR, uncertain.
"""
from __future__ import annotations

import numpy as np
from astropy.table import Table

from ..flags import flags_column, split_flags
from ..columns import strings
from .kross_tables import align

#: upstream flags that the science tables carry on
CARRIED = ("extrapolation_capped", "unresolved", "psf_fallback")


def _upstream(ids, table: Table | None, name: str) -> list[list[str]]:
    if table is None or "flags" not in table.colnames:
        return [[] for _ in ids]
    t, present = align(ids, table, name)
    return [[f for f in split_flags(c) if f in CARRIED] if p else [] for c, p in zip(strings(t, "flags"), present)]


def sfr_flags(sfr: Table, sizes: Table | None) -> np.ndarray:
    """Notebook 04's flags.

    Not measured, not detected (SFR upper limit), no size (flux over the IFU only), plus the
    size's carried flags.

    Parameters
    ----------
    sfr : astropy.table.Table
        The SFR table (``status``, ``halpha_detected``, ``flux_recovered_fraction``).
    sizes : astropy.table.Table or None
        ``kmos_sizes`` (its flags are carried), or None.

    Returns
    -------
    numpy.ndarray
        One flags cell per row.
    """
    up = _upstream(sfr["id"], sizes, "kmos_sizes")
    rows = []
    for st, det, rf, carried in zip(strings(sfr, "status"), np.asarray(sfr["halpha_detected"], bool),
                                    np.asarray(sfr["flux_recovered_fraction"], float), up):
        if st.startswith("skipped") or st.startswith("missing"):
            rows.append(["not_measured"])
        elif not det:
            rows.append(["not_detected", "sfr_upper_limit"])
        else:
            rows.append((["flux_not_extrapolated"] if sizes is not None and rf == 1.0 else [])
                        + [f for f in carried if f != "unresolved"])
    return flags_column(rows)


def resolved_flags(res: Table, sizes: Table | None) -> np.ndarray:
    """Notebook 05's flags: ΣSFR lower limits of the unresolved, detections without a size.

    Parameters
    ----------
    res : astropy.table.Table
        The resolved table (``status``, ``halpha_detected``).
    sizes : astropy.table.Table or None
        ``kmos_sizes`` (its flags are carried), or None.

    Returns
    -------
    numpy.ndarray
        One flags cell per row.
    """
    up = _upstream(res["id"], sizes, "kmos_sizes")
    rows = []
    for st, det, carried in zip(strings(res, "status"), np.asarray(res["halpha_detected"], bool), up):
        if not det:
            rows.append(["not_measured"] if st.startswith("skipped") or st.startswith("missing") else ["not_detected"])
        elif st.startswith("no size"):
            rows.append(["no_size"])
        elif st.startswith("lower_limit"):
            rows.append(["unresolved", "sigma_sfr_lower_limit"] + carried)
        else:
            rows.append(carried)
    return flags_column(rows)


def metallicity_flags(met: Table) -> np.ndarray:
    """Notebook 06's flags: metallicity from a [NII] limit, none near a sky line or without Hα.

    Parameters
    ----------
    met : astropy.table.Table
        The metallicity table (``nii_class``).

    Returns
    -------
    numpy.ndarray
        One flags cell per row.
    """
    by_class = {"detected": [], "upper_limit": ["metallicity_from_limit"],
                "near_sky_line": ["nii_near_sky_line", "no_metallicity"],
                "no_halpha": ["not_detected", "no_metallicity"], "not_measured": ["not_measured", "no_metallicity"]}
    return flags_column([by_class.get(c, ["no_metallicity"]) for c in strings(met, "nii_class")])
