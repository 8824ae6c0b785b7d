"""Target selection and slit-mask design (ROLES §2.2): priorities from the photo-z PDFs,
targets, repeats and fillers per mask, and each mask's design table."""
from __future__ import annotations

import math

import numpy as np
import astropy.units as u
from astropy.table import Column, Table

from .. import ldss3 as L
from ..rng import stream
from .fields import CONTRACT_VERSION, FIELDS, K_RANGE, RolesPreset, pointing_field

TIER_HALF = L.TIER_WIDTH // 2             # x_ref sits near the middle of its tier

PRIORITY = {"floor": 0.06, "high_z": 0.5}
MIN_PHOTOZ_WEIGHT = 0.0    # P(window) + P(z > window): below this a galaxy is not a ROLES target


def target_priority(p_window, p_high, k, field):
    """ROLES-like targeting weight: high where the photo-z PDF overlaps the [OII] window,
    lower for uncertain higher-z solutions, lowest for confident low-z galaxies; FIRES (shallower
    K photometry) also favours brighter galaxies."""
    prio = PRIORITY["floor"] + np.asarray(p_window) + PRIORITY["high_z"] * np.asarray(p_high)
    if field == "FIRES":
        prio = prio * np.clip(1.25 - 0.6 * (np.asarray(k) - K_RANGE[0]) / 1.5, 0.3, None)
    return prio


def _tiers(ra, n_tiers):
    """Tier (x band on the mask) of each galaxy: equal-count bands in RA, and the relative
    position within its band (0-1)."""
    ra = np.asarray(ra, float)
    if len(ra) == 0:
        return np.zeros(0, int), np.zeros(0)
    rank = np.argsort(np.argsort(ra, kind="stable"), kind="stable") / max(len(ra), 1)
    pos = rank * n_tiers
    tier = np.clip(pos.astype(int), 0, n_tiers - 1)
    return tier, pos - tier


def design_masks(preset: RolesPreset, cats: dict, seed: int):
    """Assign targets, repeats and fillers to the slots of every mask (ROLES §2.2).

    Targets (22.5 < K < 24) are drawn without replacement with probability weights from
    :func:`target_priority` (weighted random keys, like ROLES' Monte-Carlo mask designs),
    shared between the masks of a pointing (earlier masks first) within the slot capacity
    of each tier; some are repeated on other masks; free slots take fillers (K outside the
    ROLES range). Adds ``roles_target``, ``n_masks`` and ``masks`` to the catalogues and
    returns ``{mask: {"pointing", "ks", "slits": [slit dicts]}}``.
    """
    masks = {m: {"pointing": p, "ks": ks, "slits": []} for m, ks, p in preset.masks}
    for fname in preset.fields:
        spec = FIELDS[fname]
        cat = cats[fname]
        rng = stream(seed, "roles", fname, "targeting")
        pointing = np.asarray(cat["pointing"])
        tier = np.zeros(len(cat), int)
        tpos = np.zeros(len(cat))
        for p in spec.pointings:
            sel = pointing == p
            tier[sel], tpos[sel] = _tiers(cat["ra"][sel], preset.n_tiers)
        cat["_tier"] = tier
        cat["_tpos"] = tpos
        fmasks = [m for m, _, p in preset.masks if pointing_field(p) == fname]
        cap = preset.n_rows[fname]
        used = {m: np.zeros(preset.n_tiers, int) for m in fmasks}
        k = np.asarray(cat["K"])
        inrange = (k > K_RANGE[0]) & (k < K_RANGE[1])
        pwin = np.asarray(cat["_pwin"])
        phigh = np.asarray(cat["_phigh"])
        prio = target_priority(pwin, phigh, k, fname)
        # ROLES targets: the K range (and, if MIN_PHOTOZ_WEIGHT > 0, a photo-z not confidently
        # below the window; with the default 0 confident low-z galaxies just get the lowest priority)
        eligible = inrange & (pwin + phigh >= MIN_PHOTOZ_WEIGHT)
        key = np.where(eligible, rng.random(len(cat)) ** (1 / prio), -1.0)
        if preset.inject_bright:
            key[np.asarray(cat["_injected"])] = 2.0
        order = np.argsort(-key, kind="stable")
        placed = np.zeros(len(cat), int)    # number of masks the galaxy is on
        on = {i: [] for i in range(len(cat))}
        n_goal = preset.n_targets.get(fname, 0)
        # targets per mask: the field's goal shared by pointing (eligible galaxies) and mask
        observed = {masks[m]["pointing"] for m in fmasks}
        elig = {p: int((eligible & (pointing == p)).sum()) for p in spec.pointings if p in observed}
        n_el = max(sum(elig.values()), 1)
        quota = {}
        for m in fmasks:
            p = masks[m]["pointing"]
            n_pm = sum(1 for mm in fmasks if masks[mm]["pointing"] == p)
            quota[m] = int(math.ceil(n_goal * elig[p] / n_el / n_pm))
        n_tgt = {m: 0 for m in fmasks}
        n_done = 0
        for i in order:
            if key[i] < 0 or n_done >= n_goal:
                break
            for m in fmasks:
                if (masks[m]["pointing"] == pointing[i] and used[m][tier[i]] < cap
                        and n_tgt[m] < quota[m]):
                    used[m][tier[i]] += 1
                    n_tgt[m] += 1
                    on[i].append(m)
                    placed[i] += 1
                    n_done += 1
                    break
        cat["roles_target"] = placed > 0
        # repeats: galaxies likely in the window observed again on other masks of the pointing
        n2, n3 = preset.n_repeat.get(fname, (0, 0))
        cand = np.flatnonzero(placed > 0)
        if n2 + n3 > 0 and len(cand) > 0:
            w = pwin[cand] ** 2 + 1e-3
            pick = rng.choice(cand, min(n2 + n3, len(cand)), replace=False, p=w / w.sum())
            for j, i in enumerate(pick):
                extra = 2 if j < n3 else 1
                for m in fmasks:
                    if extra == 0:
                        break
                    if m in on[i] or masks[m]["pointing"] != pointing[i] or used[m][tier[i]] >= cap:
                        continue
                    used[m][tier[i]] += 1
                    on[i].append(m)
                    placed[i] += 1
                    extra -= 1
        # fillers: catalogue galaxies outside the ROLES K range (other programmes)
        fill = np.flatnonzero((placed == 0) & ~eligible & (k > 19.0))
        fill = fill[rng.permutation(len(fill))]
        for m in fmasks:
            n_empty = int(rng.integers(0, 4))   # slots lost to collisions / badly cut slits
            for t_ in range(preset.n_tiers):
                room = cap - used[m][t_] - (n_empty if t_ == 0 else 0)
                if room <= 0:
                    continue
                cands = fill[(tier[fill] == t_) & (pointing[fill] == masks[m]["pointing"]) & (placed[fill] == 0)]
                for i in cands[:room]:
                    used[m][t_] += 1
                    on[i].append(m)
                    placed[i] += 1
        cat["n_masks"] = placed
        cat["masks"] = [",".join(on[i]) for i in range(len(cat))]
        for i in np.flatnonzero(placed > 0):
            for m in on[i]:
                masks[m]["slits"].append({
                    "object_id": cat["id"][i], "row_in_cat": int(i), "field": fname,
                    "tier": int(tier[i]), "tpos": float(tpos[i]), "ra": float(cat["ra"][i]),
                    "dec": float(cat["dec"][i]), "K": float(cat["K"][i]),
                    "is_target": bool(cat["roles_target"][i]), "is_repeat": bool(placed[i] > 1),
                    "is_filler": bool(not cat["roles_target"][i])})
    return masks


def build_design_table(preset: RolesPreset, mask: str, info: dict, seed: int, standard_mask: str) -> Table:
    """Slot positions, wavelength solutions and flags of one mask's slits."""
    lay = preset.layout
    rng = stream(seed, "roles", "design", mask)
    slits = info["slits"]
    rows = []
    for t_ in range(preset.n_tiers):
        in_tier = sorted([s for s in slits if s["tier"] == t_], key=lambda s: (s["dec"], s["object_id"]))
        for r, s in enumerate(in_tier):
            rows.append((t_, r, s))
    rows.sort(key=lambda x: (x[0], x[1]))
    n = len(rows)
    tiers = np.array([x[0] for x in rows], int)
    srow = np.array([x[1] for x in rows], int)
    a_lo = lay.a_row_lo(srow)
    tpos = np.array([x[2]["tpos"] for x in rows])
    x_ref = lay.tier_x_lo(tiers) + TIER_HALF + np.round(16.0 * (tpos - 0.5) + rng.normal(0, 0.5, n), 2)
    disp = np.round(L.DISPERSION * (1 + 0.004 * (x_ref - lay.nx / 2) / max(lay.nx, 1)) + rng.normal(0, 0.003, n), 4)
    tab = Table()
    tab["slit_id"] = np.arange(1, n + 1)
    tab["object_id"] = [x[2]["object_id"] for x in rows]
    tab["field"] = [x[2]["field"] for x in rows]
    tab["ra"] = np.round([x[2]["ra"] for x in rows], 6) * u.deg
    tab["dec"] = np.round([x[2]["dec"] for x in rows], 6) * u.deg
    tab["K"] = np.round([x[2]["K"] for x in rows], 3) * u.mag
    tab["tier"] = tiers
    tab["slot_row"] = srow
    tab["x_lo"] = Column(lay.tier_x_lo(tiers).astype(np.int64), unit=u.pix)
    tab["x_hi"] = Column((lay.tier_x_lo(tiers) + L.TIER_WIDTH).astype(np.int64), unit=u.pix)
    tab["x_ref"] = x_ref * u.pix
    tab["lambda_ref"] = np.full(n, L.LAMBDA_REF) * u.AA
    tab["dispersion"] = disp * u.AA / u.pix
    tab["a_row_lo"] = Column(a_lo.astype(np.int64), unit=u.pix)
    tab["a_row_hi"] = Column((a_lo + L.SHUFFLE).astype(np.int64), unit=u.pix)
    tab["b_row_lo"] = Column((a_lo + L.SHUFFLE).astype(np.int64), unit=u.pix)
    tab["b_row_hi"] = Column((a_lo + 2 * L.SHUFFLE).astype(np.int64), unit=u.pix)
    tab["slit_center_row"] = (a_lo + (L.SHUFFLE - 1) / 2) * u.pix
    tab["nod_a_row"] = (a_lo + (L.SHUFFLE - 1) / 2 - L.NOD / 2) * u.pix
    tab["nod_b_row"] = (a_lo + (L.SHUFFLE - 1) / 2 + L.NOD / 2) * u.pix
    tab["is_roles_target"] = [x[2]["is_target"] for x in rows]
    tab["is_repeat"] = [x[2]["is_repeat"] for x in rows]
    tab["is_filler"] = [x[2]["is_filler"] for x in rows]
    std = np.zeros(n, bool)
    if mask == standard_mask and n:
        # the flux standard goes through a slit near the frame centre
        mid = np.argmin(np.abs(tiers - (preset.n_tiers - 1) / 2) * 1000 + np.abs(srow - srow.max() / 2))
        std[mid] = True
    tab["is_standard_slit"] = std
    spec = FIELDS[pointing_field(info["pointing"])]
    ra0, dec0 = spec.pointings[info["pointing"]]
    tab.meta.update({
        "description": f"LDSS3 slit-mask design of {mask}: one row per slit",
        "contract": f"redshift1 LDSS3 data contract {CONTRACT_VERSION} (docs/data-format.md, section LDSS3)",
        "mask": mask, "field": spec.name, "pointing": info["pointing"],
        "pointing_ra_deg": ra0, "pointing_dec_deg": dec0,
        "exptime_table_ks": info["ks"],
        "wavelength_solution": "lambda(x) = lambda_ref + dispersion * (x - x_ref), vacuum Angstrom, "
                               "x = 0-based column; valid for x_lo <= x < x_hi at zero flexure",
        "pixel_convention": "0-based numpy indices data[y, x]; rows [lo, hi) half-open",
        "wavelength_frame": "vacuum",
        "nod": "object at nod_a_row during nod A and nod_b_row = nod_a_row + NODPIX during nod B",
        "shuffle": "region B = region A + SHUFFLE rows holds the nod-B image of the slit",
        "frame_shape": [lay.ny, lay.nx],
        "n_tiers": preset.n_tiers, "tier_width": L.TIER_WIDTH,
        "slit_width_arcsec": L.SLIT_WIDTH, "slit_length_arcsec": L.SLIT_LENGTH,
    })
    return tab
