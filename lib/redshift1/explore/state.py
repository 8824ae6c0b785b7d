"""What the explorer reads, once: the walk's products and the input catalogues.

Nothing here re-reduces pixels. The KROSS side needs the per-galaxy measurements of
notebooks 02–03 (``kmos_spectra.ecsv``, ``kmos_sizes.ecsv``) and the target and HST
catalogues they were measured for; the ROLES side needs the line catalogue of notebook 08,
the per-object P([OII]) table and completeness of notebook 09, the flux limits, and the
field areas and comparison sample of the photometric catalogues. The walk's own choices
(thresholds, bins, clamps) are read back from the products' metadata, so the explorer
starts exactly where the walk ended.

A survey may hold one instrument (``kmos/`` or ``ldss3/``): the other half is then ``None``
and :attr:`ExploreData.missing` says why, so the explorer shows what exists.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from ..errors import MissingInputError, ParameterError
from ..kmos.catalogue import read_hst_morphology, read_targets
from ..ldss3 import survey_files as lio
from ..ldss3.reduce import survey_root
from .. import paths
from ..notebook import KNOWN_PRESETS
from ..science.kross_tables import DELTA_EDGES, read_product
from ..science.roles import DEFAULT_MASS_BINS

__all__ = ["ExploreData", "load_products", "WalkChoices"]

#: statuses of ldss3_lines.ecsv that a detection threshold may admit (artefacts never)
CLEAN_LINE_STATUSES = ("adopted", "below_threshold")


@dataclass(frozen=True)
class WalkChoices:
    """The analysis choices the walk made (read from the products' metadata)."""

    snr_halpha_min: float = 3.0
    snr_nii_min: float = 3.0
    sky_distance_max_aa: float = 7.0
    ms_prescription: str = "speagle14"
    delta_edges: tuple = tuple(DELTA_EDGES)
    z_mass_range: tuple = (9.5, 10.5)
    detect_sigma: float = 4.0
    raw_sigma: float = 3.0
    p_clamps: tuple = (0.1, 0.9)
    mass_bins: dict = field(default_factory=lambda: {k: tuple(v) for k, v in DEFAULT_MASS_BINS.items()})
    lf_edges: tuple = tuple(np.round(np.arange(39.5, 42.76, 0.25), 3))
    lf_fit_range: tuple = (40.6, 42.0)
    k_range: tuple = (22.5, 24.0)


@dataclass
class ExploreData:
    """Products and catalogues of one run (see the module docstring)."""

    products: Path
    data: Path
    # KROSS (None when the survey has no kmos/)
    targets: Table | None
    hst: Table | None
    spectra: Table | None
    sizes: Table | None
    kross_fits: dict
    # ROLES (None when the survey has no ldss3/)
    poii: Table | None
    lines: Table | None
    completeness: Table | None
    limit_wave: np.ndarray | None
    limit_flux: np.ndarray | None
    limit_mask: str
    areas: dict
    comparison: Table | None
    walk_lf: Table | None
    walk_sfrd: Table | None
    walk_galaxies: Table | None
    walk: WalkChoices
    #: {"kross" or "roles": why that half is absent}
    missing: dict = field(default_factory=dict)

    @property
    def has_kross(self) -> bool:
        return "kross" not in self.missing

    @property
    def has_roles(self) -> bool:
        return "roles" not in self.missing

    @property
    def n_kross(self) -> int:
        return len(self.targets) if self.has_kross else 0

    @property
    def n_roles_objects(self) -> int:
        return len(self.poii) if self.has_roles else 0


def _edges_from_bins(keys) -> tuple | None:
    """``["0.1-0.5", "0.5-1", ...]`` (kross_fits.json bin labels) -> (0.1, 0.5, 1, ...)."""
    try:
        pairs = [tuple(float(v) for v in k.split("-")) for k in keys]
    except ValueError:
        return None
    if not pairs:
        return None
    edges = [pairs[0][0]] + [p[1] for p in pairs]
    return tuple(edges) if all(a < b for a, b in zip(edges[:-1], edges[1:])) else None


def _mass_bins(sfrd: Table) -> dict:
    bins = {}
    est = np.asarray(sfrd["sfr_estimator"])
    fld = np.asarray(sfrd["field"])
    for f in dict.fromkeys(fld.tolist()):
        s = (fld == f) & (est == est[0])
        lo, hi = np.asarray(sfrd["logm_lo"], float)[s], np.asarray(sfrd["logm_hi"], float)[s]
        if lo.size:
            bins[f] = tuple(float(v) for v in np.round(np.append(lo, hi[-1]), 4))
    return bins


def load_products(products_dir: str | Path = "", data_dir: str | Path = "", preset: str = "quick") -> ExploreData:
    """Read everything the explorer needs (empty folders mean the preset's defaults).

    Raises :class:`~redshift1.errors.MissingInputError` naming the notebook to run when a
    product is absent.
    """
    if preset not in KNOWN_PRESETS:
        raise ParameterError(f"preset {preset!r} is not one of {KNOWN_PRESETS}")
    data = paths.resolve(data_dir) if str(data_dir) else paths.default_data_dir(preset)
    prod = paths.resolve(products_dir) if str(products_dir) else paths.default_products_dir(preset)
    if not prod.is_dir():
        raise MissingInputError(f"{prod}: no products folder (run the walk first: python run_all.py --preset {preset})")

    kdir, ldir = data / "kmos", data / "ldss3"
    missing = {k: f"no {f.name}/ in {data}" for k, f in (("kross", kdir), ("roles", ldir)) if not f.is_dir()}
    if len(missing) == 2:
        raise MissingInputError(f"{data}: holds neither kmos/ nor ldss3/ (nothing to explore)")
    kross = {} if "kross" in missing else _load_kross(kdir, prod)
    roles = {} if "roles" in missing else _load_roles(data, prod)
    walk = _walk_choices(kross, roles)
    return ExploreData(prod, data, kross.get("targets"), kross.get("hst"), kross.get("spectra"), kross.get("sizes"),
                       kross.get("fits", {}), roles.get("poii"), roles.get("lines"), roles.get("comp"),
                       roles.get("limit_wave"), roles.get("limit_flux"), roles.get("lmask", ""),
                       roles.get("areas", {}), roles.get("comparison"), roles.get("lf"), roles.get("sfrd"),
                       roles.get("gal"), walk, missing)


def _load_kross(kdir: Path, prod: Path) -> dict:
    """The KROSS half: target and HST catalogues, the walk's measurements and choices."""
    if not (kdir / "targets.ecsv").is_file():
        raise MissingInputError(f"{kdir / 'targets.ecsv'}: not found (the KMOS target catalogue of the survey)")
    fits_path = prod / "kross_fits.json"
    # the same checked readers as the walk: units converted, bad tables refused with one line
    return {"targets": read_targets(kdir),
            "hst": read_hst_morphology(kdir) if (kdir / "hst_morphology.ecsv").is_file() else None,
            "spectra": read_product(prod, "kmos_spectra.ecsv", "02_kmos_spectra"),
            "sizes": read_product(prod, "kmos_sizes.ecsv", "03_kmos_sizes"),
            "sfr_walk": read_product(prod, "kross_sfr.ecsv", "04_main_sequence"),
            "met_walk": read_product(prod, "kross_metallicity.ecsv", "06_metallicity"),
            "fits": json.loads(fits_path.read_text()) if fits_path.is_file() else {}}


def _load_roles(data: Path, prod: Path) -> dict:
    """The ROLES half: line catalogue, P([OII]), completeness, flux limits, areas, the walk's LF."""
    poii = read_product(prod, "roles_poii.ecsv", "09_ldss3_redshifts")
    lines = read_product(prod, "ldss3_lines.ecsv", "08_ldss3_detect")
    comp = read_product(prod, "roles_completeness.ecsv", "09_ldss3_redshifts")
    limits = read_product(prod, "ldss3_flux_limits.ecsv", "08_ldss3_detect")
    gal = read_product(prod, "roles_galaxies.ecsv", "10_lf_sfrd")
    lf = read_product(prod, "roles_lf.ecsv", "10_lf_sfrd")
    sfrd = read_product(prod, "roles_sfrd.ecsv", "10_lf_sfrd")
    lmask = str(gal.meta.get("flux_limit_mask") or limits.meta.get("shallowest_mask") or limits.colnames[1])
    scale = float(gal.meta.get("limit_nsigma", 4.0)) / float(limits.meta.get("nsigma", 4.0))
    root = survey_root(data)
    fields = sorted(set(np.asarray(poii["field"]).tolist()))
    try:
        comparison = lio.read_comparison(root)
    except MissingInputError:
        comparison = None
    keep = np.isin(np.asarray(lines["status"]), CLEAN_LINE_STATUSES)
    return {"poii": poii, "lines": lines[keep], "comp": comp, "gal": gal, "lf": lf, "sfrd": sfrd, "lmask": lmask,
            "limit_wave": np.asarray(limits["wavelength"], float),
            "limit_flux": np.asarray(limits[lmask], float) * scale,
            "areas": {f: float(lio.read_photometry(root, f).meta.get("area_arcmin2", np.nan)) for f in fields},
            "comparison": comparison, "params": lines.meta.get("params", {}) or {}}


def _walk_choices(kross: dict, roles: dict) -> WalkChoices:
    """The walk's own choices, read back from the products of the halves present (defaults otherwise)."""
    d = WalkChoices()
    out = {}
    if kross:
        sfr_walk, met_walk, kross_fits = kross["sfr_walk"], kross["met_walk"], kross["fits"]
        out.update(
            snr_halpha_min=float(sfr_walk.meta.get("snr_min", 3.0)),
            snr_nii_min=float(met_walk.meta.get("snr_min", 3.0)),
            sky_distance_max_aa=float(met_walk.meta.get("sky_distance_max_aa", 7.0)),
            ms_prescription=str(sfr_walk.meta.get("ms_prescription", "speagle14")),
            delta_edges=_edges_from_bins(kross_fits.get("sigma_delta_bins", {}).keys()) or tuple(DELTA_EDGES),
            z_mass_range=tuple(float(v) for v in kross_fits.get("oh_mass_range", (9.5, 10.5))))
    if roles:
        params, lf, sfrd = roles["params"], roles["lf"], roles["sfrd"]
        lf_lo = np.unique(np.asarray(lf["logl_lo"], float))
        lf_hi = np.unique(np.asarray(lf["logl_hi"], float))
        out.update(
            detect_sigma=float(params.get("adopt_sigma", 4.0)),
            raw_sigma=float(params.get("raw_sigma", 3.0)),
            p_clamps=tuple(float(v) for v in roles["poii"].meta.get("clamps", (0.1, 0.9))),
            mass_bins={**{k: tuple(v) for k, v in DEFAULT_MASS_BINS.items()}, **_mass_bins(sfrd)},
            lf_edges=tuple(np.round(np.append(lf_lo, lf_hi[-1]), 4)) if lf_lo.size else d.lf_edges,
            lf_fit_range=tuple(float(v) for v in lf.meta.get("fit_range", (40.6, 42.0))))
    return WalkChoices(**out)
