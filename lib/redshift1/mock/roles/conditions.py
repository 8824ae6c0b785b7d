"""Observing conditions of every exposure (flexure, drift, seeing, airmass, sky) and the
deterministic observing dates of the masks."""
from __future__ import annotations

import numpy as np

from .. import ldss3 as L
from ..rng import stream

#: fixed observing nights of the masks (deterministic DATE-OBS)
_RUN_NIGHTS = ("2005-10-02", "2005-10-03", "2005-10-04", "2006-01-27", "2006-01-28", "2006-01-29",
               "2006-10-20", "2006-10-21", "2006-10-22", "2006-12-14", "2006-12-15", "2006-12-16",
               "2007-02-10", "2007-02-11", "2007-02-12", "2007-11-05", "2007-11-06", "2007-11-07")


def draw_conditions(seed: int, mask: str, n_exp: int) -> list:
    """Observing conditions of each exposure of one mask: flexure (a random walk), drift
    along the slits, seeing, airmass, sky continuum and line scale factors.

    Parameters
    ----------
    seed : int
        Survey seed.
    mask : str
        Mask name (its own random stream).
    n_exp : int
        Number of exposures.

    Returns
    -------
    list of redshift1.mock.ldss3.Conditions
    """
    rng = stream(seed, "ldss3", mask, "conditions")
    dx, dy = rng.normal(0, 0.4, 2)
    slope = rng.uniform(-0.35, 0.35)
    am0 = rng.uniform(1.02, 1.3)
    am_rate = rng.uniform(-0.03, 0.06)
    out = []
    for e in range(n_exp):
        if e:
            dx += rng.normal(0, 0.25)
            dy += rng.normal(0, 0.2)
        dx, dy = float(np.clip(dx, -1.2, 1.2)), float(np.clip(dy, -1.0, 1.0))
        drift = float(np.clip(slope * e + rng.normal(0, 0.15), -2.0, 2.0))
        out.append(L.Conditions(
            flex_dx=round(dx, 4), flex_dy=round(dy, 4), drift_dy=round(drift, 4),
            seeing=round(float(np.clip(rng.normal(0.68, 0.08), 0.55, 0.95)), 4),
            airmass=round(float(np.clip(am0 + am_rate * e, 1.0, 2.0)), 4),
            sky_cont=round(float(10 ** rng.normal(0, 0.05)), 4),
            sky_lines=round(float(10 ** rng.normal(0, 0.04)), 4)))
    return out


def date_obs(mask_index: int, e: int, minutes_per_exp=44.0) -> str:
    """Deterministic DATE-OBS of exposure ``e`` (0-based) of the mask observed ``mask_index``-th.

    Parameters
    ----------
    mask_index : int
        Position of the mask in the observing order.
    e : int
        Exposure number, 0-based.
    minutes_per_exp : float
        Wall time per exposure.

    Returns
    -------
    str
        ISO date-time (``YYYY-MM-DDThh:mm:ss.s``).
    """
    night = _RUN_NIGHTS[mask_index % len(_RUN_NIGHTS)]
    t = 30 + e * minutes_per_exp
    return f"{night}T{int(t // 60):02d}:{int(t % 60):02d}:00.0"
