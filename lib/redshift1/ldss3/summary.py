"""Per-slit line counts and the headline numbers of the ROLES line catalogue (notebook 08)."""
from __future__ import annotations

import numpy as np
from astropy.table import Table

from .catalogue import DetectParams
from .reliability import cumulative_fraction_below, flux_pulls, wavelength_repeatability

__all__ = ["slit_summary", "summarise"]


def slit_summary(slits: Table, cat: Table) -> Table:
    """Every slit with its reduction status and its numbers of raw and adopted lines.

    Parameters
    ----------
    slits : `~astropy.table.Table`
        The slit table of notebook 07 (``ldss3_slits.ecsv``).
    cat : `~astropy.table.Table`
        The line catalogue.

    Returns
    -------
    `~astropy.table.Table`
        ``slits`` plus ``n_raw``, ``n_adopted`` and ``noise_row`` (the slit's row of
        ``ldss3_slit_noise.fits``).
    """
    summ = slits.copy()
    key = list(zip(np.asarray(cat["mask"]), np.asarray(cat["slit_id"])))
    st = np.asarray(cat["status"])
    n_raw = {}
    n_ad = {}
    for k, s in zip(key, st):
        n_raw[k] = n_raw.get(k, 0) + 1
        n_ad[k] = n_ad.get(k, 0) + int(s == "adopted")
    kk = list(zip(np.asarray(summ["mask"]), np.asarray(summ["slit_id"])))
    summ["n_raw"] = [n_raw.get(k, 0) for k in kk]
    summ["n_adopted"] = [n_ad.get(k, 0) for k in kk]
    summ["noise_row"] = np.arange(len(summ))
    return summ


def summarise(cat: Table, slits: Table, rep: Table, ml: Table, p: DetectParams) -> dict:
    """Headline numbers of the catalogue: per field (slits, targets, raw and adopted lines,
    objects with lines, artefacts), the repeat reliability and the multi-line test.

    Parameters
    ----------
    cat : `~astropy.table.Table`
        The line catalogue (``ldss3_lines.ecsv``).
    slits : `~astropy.table.Table`
        The slit table of notebook 07.
    rep : `~astropy.table.Table`
        Repeat matches (:func:`~redshift1.ldss3.reliability.repeat_matches`).
    ml : `~astropy.table.Table`
        Multi-line redshifts (:func:`~redshift1.ldss3.reliability.multiline_redshifts`).
    p : DetectParams
        The detection's choices (``adopt_sigma``).

    Returns
    -------
    dict
        ``{"fields": {...}, "repeats": {...}, "multiline": {...}}`` (JSON-serialisable).
    """
    out = {"fields": {}}
    st = np.asarray(cat["status"]) if len(cat) else np.zeros(0, str)
    for f in sorted(set(np.asarray(slits["field"]).tolist())):
        sf = np.asarray(slits["field"]) == f
        tgt = sf & np.asarray(slits["is_roles_target"], bool)
        cf = (np.asarray(cat["field"]) == f) if len(cat) else np.zeros(0, bool)
        ad = cf & (st == "adopted")
        out["fields"][f] = {
            "slits": int(sf.sum()), "target_slits": int(tgt.sum()),
            "unique_targets": int(len(set(np.asarray(slits["object_id"])[tgt]))),
            "raw_detections": int(cf.sum()), "adopted_lines": int(ad.sum()),
            "objects_with_lines": int(len(set(np.asarray(cat["object_id"])[ad & np.asarray(cat["is_roles_target"], bool)]))),
            "artefacts": {k: int((cf & (st == k)).sum()) for k in ("edge", "sky_leak", "broad", "telluric",
                                                                   "multiline_rejected")},
        }
    sw, nw = wavelength_repeatability(rep, p.adopt_sigma)
    pulls, pw = flux_pulls(rep, p.adopt_sigma)
    nrep = ~np.asarray(rep["reproduced"], bool) if len(rep) else np.zeros(0, bool)
    out["repeats"] = {"detections_tested": int(len(rep)), "reproduced": int((~nrep).sum()),
                      "not_reproduced": int(nrep.sum()),
                      "frac_not_reproduced_below_adopt": cumulative_fraction_below(np.asarray(rep["sigma"])[nrep], p.adopt_sigma),
                      "wavelength_sigma_A": sw, "n_pairs": nw, "flux_pull_width": pw, "n_pulls": int(len(pulls))}
    out["multiline"] = {"slits": int(len(ml)), "consistent": 0, "spurious_lines": 0,
                        "frac_spurious_below_adopt": cumulative_fraction_below([], p.adopt_sigma)}
    if len(cat):
        spur = np.asarray(cat["multiline"]) == "spurious"
        # at most one spurious line per slit
        keys = set()
        sig_sp = []
        for i in np.flatnonzero(spur):
            k = (cat["mask"][i], int(cat["slit_id"][i]))
            if k in keys:
                continue
            keys.add(k)
            sig_sp.append(float(cat["sigma"][i]))
        out["multiline"] = {"slits": int(len(ml)), "consistent": int(np.sum(np.asarray(ml["consistent"], bool))) if len(ml) else 0,
                            "spurious_lines": len(sig_sp),
                            "frac_spurious_below_adopt": cumulative_fraction_below(sig_sp, p.adopt_sigma)}
    return out
