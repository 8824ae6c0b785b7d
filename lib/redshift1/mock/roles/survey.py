"""The survey in memory: catalogues with truth, photo-z PDFs, mask designs and the conditions
of every exposure, built from a preset and a seed."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..population import Relations
from ..rng import stream
from .conditions import draw_conditions
from .fields import FIELDS, K_RANGE, OII_WINDOW, RolesPreset, pointing_of
from .galaxies import add_line_fluxes, draw_field_population
from .masks import build_design_table, design_masks
from .photoz import draw_photoz, sed_mass, window_probability
from .sources import LINES, slit_source

INJECTED_OII_FLUX = 1e-15                 # tiny preset: a bright [OII] line at 7140 Å for the tests


@dataclass
class Survey:
    """A ROLES mock survey in memory: catalogues with truth, PDFs, mask designs and conditions."""

    preset: RolesPreset
    seed: int                                      # survey seed: the sky, targeting, conditions, detector
    noise_seed: int | None = None                  # noise realisation of every exposure (default: seed)
    cats: dict = field(default_factory=dict)       # field -> Table (truth + observed)
    pdfs: dict = field(default_factory=dict)       # field -> float32 array
    designs: dict = field(default_factory=dict)    # mask -> Table
    masks: dict = field(default_factory=dict)      # mask -> {pointing, ks, n_exp, conds}
    standard_mask: str = ""
    detectable: dict | None = None                 # field -> targets with an expected line S/N >= 4 (truth)


def build_survey(preset: RolesPreset, seed: int, rel: Relations, noise_seed: int | None = None) -> Survey:
    """Draw the galaxies, photometry and photo-zs of every field of ``preset`` and design its masks.

    Parameters
    ----------
    preset : RolesPreset
    seed : int
        Survey seed: the sky, targeting, conditions and detector.
    rel : Relations
        Population relations (main sequence, dust, metallicity).
    noise_seed : int, optional
        Noise realisation of every exposure (default ``seed``).

    Returns
    -------
    Survey
    """
    sv = Survey(preset, seed, seed if noise_seed is None else noise_seed)
    for fname in preset.fields:
        cal = preset.calibration
        spec = cal.field_spec(FIELDS[fname])
        t = draw_field_population(spec, seed, rel, cal)
        rng = stream(seed, "roles", fname, "lines")
        # deterministic order and ids: by declination then RA
        order = np.lexsort((np.asarray(t["ra"]), np.asarray(t["dec"])))
        t = t[order]
        t.add_column([f"{fname}-{i + 1:05d}" for i in range(len(t))], name="id", index=0)
        t["field"] = fname
        t["pointing"] = pointing_of(spec, t["ra"], t["dec"])
        t["_injected"] = np.zeros(len(t), bool)
        if preset.inject_bright and fname == "CDFS":
            first = preset.masks[0][2]
            k = np.asarray(t["K"])
            ok = (k > K_RANGE[0] + 0.2) & (k < K_RANGE[1] - 0.5) & (np.asarray(t["pointing"]) == first) \
                & ~np.asarray(t["quenched"])
            i = np.flatnonzero(ok)[np.argmin(np.abs(np.asarray(t["z_true"])[ok] - 0.915))]
            t["z_true"][i] = 7140.0 / LINES["OII_3727"] - 1
            t["_injected"][i] = True
        add_line_fluxes(t, rng, cal, spec.oii_offset_dex)
        if preset.inject_bright:
            t["f_OII_3727"][t["_injected"]] = INJECTED_OII_FLUX
            t["sigma_kms"][t["_injected"]] = 50.0
        prng = stream(seed, "roles", fname, "photoz")
        zp, lo, hi, pdf, kind = draw_photoz(t, spec, prng)
        t["z_phot"] = zp
        t["z_phot_lo"] = lo
        t["z_phot_hi"] = hi
        t["photz_kind"] = kind
        t["_pwin"] = window_probability(pdf)
        t["_phigh"] = window_probability(pdf, (OII_WINDOW[1], 10.0))
        t["logmstar"] = sed_mass(t, zp, prng)
        # a few secure public redshifts for brighter galaxies (ROLES §2.5)
        pub = (prng.random(len(t)) < np.where(np.asarray(t["K"]) < 22.5, 0.08, 0.012))
        t["z_spec_public"] = np.where(pub, np.round(np.asarray(t["z_true"]) + prng.normal(0, 3e-4, len(t)), 4), np.nan)
        sv.cats[fname] = t
        sv.pdfs[fname] = pdf
    std_mask = next((m for m, _, p in preset.masks if p.startswith("CDFS")), preset.masks[0][0])
    sv.standard_mask = std_mask
    info = design_masks(preset, sv.cats, seed)
    for i, (m, ks, p) in enumerate(preset.masks):
        sv.designs[m] = build_design_table(preset, m, info[m], seed, std_mask)
        n_exp = preset.exposures(ks)
        sv.masks[m] = {"pointing": p, "ks": ks, "n_exp": n_exp, "index": i,
                       "conds": draw_conditions(seed, m, n_exp)}
    return sv


def catalogue_row_lookup(sv: Survey):
    """Row index of every catalogue galaxy: ``{field: {object_id: row}}``.

    Parameters
    ----------
    sv : Survey

    Returns
    -------
    dict
    """
    return {f: {oid: i for i, oid in enumerate(t["id"])} for f, t in sv.cats.items()}


def mask_sources(sv: Survey, mask: str, lookup=None):
    """The source in every slit of ``mask``, in design-table order.

    Parameters
    ----------
    sv : Survey
    mask : str
    lookup : dict, optional
        :func:`catalogue_row_lookup` of ``sv`` (computed if not given).

    Returns
    -------
    list of redshift1.mock.ldss3.SlitSource
    """
    lookup = lookup or catalogue_row_lookup(sv)
    out = []
    for s in sv.designs[mask]:
        cat = sv.cats[s["field"]]
        row = cat[lookup[s["field"]][s["object_id"]]]
        out.append(slit_source(row, sv.seed, mask, int(s["slit_id"]), bool(row["_injected"])))
    return out
