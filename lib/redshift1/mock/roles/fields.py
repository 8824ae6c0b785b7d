"""The ROLES fields, pointings, masks and the survey-size presets of the mock.

The footprints follow ROLES §2 (CDFS: two LDSS3 pointings, 107.8 arcmin²; FIRES: the
MS 1054-03 field, 29.1 arcmin², with its z = 0.831 cluster); :data:`PAPER_MASKS` is
ROLES Table 1. :data:`ROLES_PRESETS` sets how many masks, slots and targets each preset has.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ... import constants as C
from .. import ldss3 as L
from .calibration import DEFAULT_CALIBRATION, PAPER_CALIBRATION, RolesCalibration

CONTRACT_VERSION = "1.0"
K_RANGE = (22.5, 24.0)          # ROLES target selection, AB
K_CATALOGUE_LIMIT = 24.5        # the photometric catalogues go this deep (fillers beyond 24)
OII_WINDOW = C.ROLES_WINDOWS["OII"]
ZGRID = np.round(np.arange(0.0, 4.0 + 1e-9, 0.01), 4)


@dataclass(frozen=True)
class FieldSpec:
    """One ROLES field: footprint, pointings, photometric depth and photo-z quality, clustering."""

    name: str
    area_arcmin2: float
    pointings: dict                 # pointing name -> (ra, dec) deg
    shape: str                      # "circles" or "box"
    size_arcmin: tuple              # circles: (radius,); box: (width_ra, height_dec)
    k_offset: float                 # mag added to K at fixed mass (redder field)
    photz_sigma0: float             # σ_z / (1+z) for bright galaxies
    f_catastrophic: float
    f_double: float
    k_depth5: float                 # 5σ K limit (AB) of the catalogue
    density: float = 1.0            # field-to-field (cosmic) variance of the galaxy density
    cluster: dict | None = None
    structure: tuple = ()           # (z_lo, z_hi, density factor): large-scale structure in z
    oii_offset_dex: float = 0.0     # [OII]/SFR of the field's galaxies relative to the mass relation (dust)


def _cdfs_radius(area=107.8, sep=None):
    """Radius of two equal circles at the two CDFS pointings whose union has ``area``."""
    def union(r):
        d = sep
        if d >= 2 * r:
            return 2 * np.pi * r**2
        lens = 2 * r**2 * np.arccos(d / (2 * r)) - d / 2 * np.sqrt(4 * r**2 - d**2)
        return 2 * np.pi * r**2 - lens
    return brentq(lambda r: union(r) - area, 3.0, 6.0)


_CDFS_P = {"CDFS.1": (53.115, -27.75), "CDFS.2": (53.12, -27.87)}
_CDFS_SEP = 60 * math.hypot((_CDFS_P["CDFS.1"][0] - _CDFS_P["CDFS.2"][0]) * math.cos(math.radians(-27.81)),
                            _CDFS_P["CDFS.1"][1] - _CDFS_P["CDFS.2"][1])

FIELDS = {
    "CDFS": FieldSpec("CDFS", 107.8, _CDFS_P, "circles", (_cdfs_radius(107.8, _CDFS_SEP),), 0.0,
                      0.030, 0.03, 0.08, 25.0, structure=((0.889, 1.149, 0.8),)),
    "FIRES": FieldSpec("FIRES", 29.1, {"FIRES": (164.2375, -3.6225)}, "box", (5.5, 29.1 / 5.5), 0.5,
                       0.060, 0.05, 0.12, 24.8, 1.5,
                       cluster={"z": 0.831, "sigma_z": 0.004, "ra": 164.2496, "dec": -3.6269,
                                "r_scale_arcmin": 0.9, "n_expected": 150, "quenched_fraction": 0.6}),
}

#: ROLES Table 1: mask, total exposure time [ks], pointing (observing order).
PAPER_MASKS = (
    ("mask1", 31.2, "FIRES"), ("mask2", 24.0, "FIRES"), ("mask4", 21.6, "CDFS.1"),
    ("mask5", 14.4, "CDFS.1"), ("mask6", 12.0, "CDFS.1"), ("mask7", 19.2, "CDFS.2"),
    ("mask8", 19.2, "CDFS.2"), ("mask9", 16.8, "CDFS.2"), ("mask10", 9.6, "CDFS.1"),
    ("mask11", 13.2, "CDFS.1"), ("mask12", 15.6, "CDFS.1"), ("mask13", 9.6, "FIRES"),
    ("mask14", 16.8, "FIRES"), ("mask15", 13.2, "FIRES"), ("mask16", 10.8, "FIRES"),
    ("mask21", 15.6, "CDFS.2"), ("mask22", 18.0, "CDFS.2"), ("mask23", 15.6, "CDFS.2"),
)


def pointing_field(pointing: str) -> str:
    """Field name of a pointing name (``CDFS.1`` -> ``CDFS``)."""
    return pointing.split(".")[0]


def pointing_of(spec: FieldSpec, ra, dec):
    """Name of the pointing nearest to each position (``ra``, ``dec`` in degrees) in ``spec``.

    Parameters
    ----------
    spec : FieldSpec
        The field and its pointing centres.
    ra, dec : array_like
        Positions in degrees.

    Returns
    -------
    numpy.ndarray
        Pointing names, one per position.
    """
    names = list(spec.pointings)
    if len(names) == 1:
        return np.full(len(ra), names[0])
    d = np.stack([(np.asarray(ra) - p[0]) ** 2 * np.cos(np.radians(p[1])) ** 2 + (np.asarray(dec) - p[1]) ** 2
                  for p in spec.pointings.values()])
    return np.array(names)[np.argmin(d, 0)]


@dataclass(frozen=True)
class RolesPreset:
    """Survey-size settings of one preset."""

    name: str
    masks: tuple                    # (mask, total exposure ks, pointing)
    n_exp: int | None               # exposures per mask (None: round(T / 2.4 ks))
    n_tiers: int
    n_rows: dict                    # field -> slot rows per tier used by that field's masks
    frame_rows: int                 # slot rows of the frame (the largest of n_rows)
    n_targets: dict                 # field -> unique ROLES targets (22.5 < K < 24)
    n_repeat: dict                  # field -> (galaxies on 2 masks, galaxies on 3 masks)
    n_cycles: int = L.N_CYCLES
    t_cycle: float = L.T_CYCLE
    n_darks: int = 3
    inject_bright: bool = False     # tiny: one bright [OII] line at 7140 Å in a dark sky region
    comparison_area: float = 554.7  # arcmin², GDDS-like higher-mass sample
    workers: int = 1
    calibration: RolesCalibration = DEFAULT_CALIBRATION   # the universe's distributions

    def exposures(self, total_ks: float) -> int:
        """Number of exposures of a mask with ``total_ks`` ks in ROLES Table 1 (2.4 ks each)."""
        if self.n_exp is not None:
            return self.n_exp
        return int(math.floor(total_ks / 2.4 + 0.5 + 1e-9))

    @property
    def fields(self) -> list[str]:
        """Fields observed by the preset's masks, in observing order."""
        out = []
        for _, _, p in self.masks:
            f = pointing_field(p)
            if f not in out:
                out.append(f)
        return out

    @property
    def layout(self) -> L.Layout:
        """Detector layout (tiers x slot rows) of the preset's frames."""
        return L.Layout(self.n_tiers, self.frame_rows)


#: Slot rows per tier of the paper preset's masks (5 tiers: 200 slots; ROLES §2.2).
PAPER_SLOT_ROWS = 40

ROLES_PRESETS = {
    "tiny": RolesPreset("tiny", (("mask4", 21.6, "CDFS.1"),), 2, 1, {"CDFS": 12}, 12,
                        {"CDFS": 11}, {"CDFS": (0, 0)}, n_darks=2, inject_bright=True),
    "quick": RolesPreset("quick", (("mask4", 21.6, "CDFS.1"), ("mask1", 31.2, "FIRES")), 3, 2,
                         {"CDFS": 20, "FIRES": 20}, 20, {"CDFS": 36, "FIRES": 36},
                         {"CDFS": (0, 0), "FIRES": (0, 0)}, n_darks=2),
    # ROLES §2.2: "an average of almost 200 objects in each mask": 5 tiers x PAPER_SLOT_ROWS slots,
    # less the 0-3 slots a mask loses to collisions and badly cut slits. FIRES masks too: LDSS3's
    # 8.2' field of view is larger than the 29.1 arcmin² FIRES K area, and the slots the targets
    # leave free take fillers (other programmes' targets).
    "paper": RolesPreset("paper", PAPER_MASKS, None, 5, {"CDFS": PAPER_SLOT_ROWS, "FIRES": PAPER_SLOT_ROWS},
                         PAPER_SLOT_ROWS, {"CDFS": 1849, "FIRES": 533}, {"CDFS": (24, 8), "FIRES": (8, 4)},
                         workers=2, calibration=PAPER_CALIBRATION),
}
