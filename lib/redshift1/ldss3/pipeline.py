"""The ROLES/LDSS3 steps of notebooks 07 and 08, as functions of the run folders.

* :func:`reduce_step` (07) -- every mask reduced (streaming), products
  ``ldss3/<mask>_reduced.fits``, ``ldss3_slits.ecsv``, ``ldss3_exposures.ecsv``,
  ``ldss3_charge_traps.fits``.
* :func:`detect_step` (08) -- flux calibration, line catalogue, multi-line redshifts,
  repeat reliability, flux limits; products ``ldss3_sensitivity.ecsv``, ``ldss3_lines.ecsv``,
  ``ldss3_multiline.ecsv``, ``ldss3_repeats.ecsv``, ``ldss3_seeing.ecsv``,
  ``ldss3_flux_limits.ecsv``, ``ldss3_slit_noise.fits``, ``ldss3_slit_summary.ecsv``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.table import Table

from ..errors import MissingInputError
from ..io import write_fits, write_table
from ..progress import progress_bar
from . import survey_files as lio
from .catalogue import FLUX_UNIT, LINE_STATUS, DetectParams, detect_survey
from .doubt import slit_doubts
from .fluxes import noise_spectrum, standard_sensitivity
from .reduce import SLIT_STATUS, ReduceParams, read_reduced, reduce_survey, survey_root, survey_trap_mask
from .reliability import (cumulative_fraction_below, flux_pulls, multiline_redshifts, repeat_matches,
                          wavelength_repeatability)

__all__ = ["reduce_step", "detect_step", "DetectResult", "flux_limit_grid", "likely_oii_objects"]


def _describe(t: Table, text: str, **meta) -> Table:
    t.meta["description"] = text
    t.meta.update(meta)
    return t


def reduce_step(data_dir, products_dir, params: ReduceParams | None = None, figure_mask: str | None = None,
                progress: bool | None = None, workers: int = 1, scheduler=None):
    """Reduce all masks; write the 07 products; return ``(slits, exposures, trap_info, figure)``."""
    params = params or ReduceParams()
    products = Path(products_dir)
    slits, exposures, tinfo, figure = reduce_survey(data_dir, products, params, figure_mask=figure_mask or None,
                                                    progress=progress, workers=workers, scheduler=scheduler)
    slits["doubt"] = slit_doubts(slits)
    _describe(slits, "every slit of every mask after the N&S reduction (07_ldss3_reduce); status: "
              + "; ".join(f"{k} = {v}" for k, v in SLIT_STATUS.items()),
              wavelength_frame="vacuum", params={k: (list(v) if isinstance(v, tuple) else v)
                                                 for k, v in vars(params).items()})
    _describe(exposures, "every raw exposure: measured flexure (tier medians), integer moves, galaxy drift, "
              "pixels rejected in the combination")
    write_table(slits, products / "ldss3_slits.ecsv")
    write_table(exposures, products / "ldss3_exposures.ecsv")
    h = fits.Header()
    h["COMMENT"] = "charge-trap mask from the N&S darks (1x3 median smoothing, deviant pixels); 1 = trap"
    for k in ("n_darks", "sigma_dark", "n_seed", "n_trap_pixels", "n_trap_columns", "nsigma", "grow_nsigma"):
        h[k.upper()[:8]] = tinfo[k]
    write_fits(fits.HDUList([fits.PrimaryHDU(tinfo["traps"].astype(np.uint8), header=h),
                             fits.ImageHDU(tinfo["bpm"].astype(np.uint8), name="BPM")]),
               products / "ldss3_charge_traps.fits")
    return slits, exposures, tinfo, figure


def flux_limit_grid(spec_range=(7000.0, 8050.0), step: float = 2.5):
    return np.arange(spec_range[0], spec_range[1] + step / 2, step)


@dataclass
class DetectResult:
    """Everything 08 measures (also written to the products folder)."""

    lines: Table
    slits: Table
    sensitivity: object
    apcorr: dict
    seeing: Table
    multiline: Table
    repeats: Table
    flux_limits: Table
    slit_noise: np.ndarray
    summary: dict = field(default_factory=dict)
    maps: dict = field(default_factory=dict)


def likely_oii_objects(root, slits: Table, min_p: float = 0.9):
    """Objects on slits whose photo-z PDF puts more than ``min_p`` of the four line windows'
    probability in the [OII] window: their bright lines calibrate the [OII] aperture correction.
    Returns None when the photometry cannot be read."""
    from ..errors import Redshift1Error
    from ..science.poii import p_oii
    out = set()
    try:
        for f in sorted(set(np.asarray(slits["field"]).tolist())):
            phot = lio.read_photometry(root, f)
            z, pdf, _ = lio.read_photoz_pdf(root, f)
            on = np.isin(np.asarray(phot["id"]), np.asarray(slits["object_id"]))
            rows = np.asarray(phot["pdf_row"], int)[on]
            if np.any(rows >= pdf.shape[0]):        # named by 09 (assign_poii); here: no selection
                return None
            raw, _ = p_oii(z, pdf[rows])
            out |= set(np.asarray(phot["id"])[on][raw > min_p].tolist())
    except Redshift1Error:
        return None
    return out


def detect_step(data_dir, products_dir, params: DetectParams | None = None, repeat_tol: float = 8.0,
                multiline_tol: float = 5.0, limit_nsigma: float = 4.0, gallery_mask: str | None = None,
                apcorr_poii: float = 0.9, progress: bool | None = None) -> DetectResult:
    """Line detection, cleaning, calibration and reliability for every reduced mask (08)."""
    p = params or DetectParams()
    products = Path(products_dir)
    slits_path = products / "ldss3_slits.ecsv"
    if not slits_path.is_file():
        raise MissingInputError(f"{slits_path}: run 07_ldss3_reduce first")
    slits = Table.read(slits_path)
    masks = list(dict.fromkeys(np.asarray(slits["mask"]).tolist()))
    root = survey_root(data_dir)
    bad, _ = survey_trap_mask(root)
    sens = standard_sensitivity(root, bad)
    gallery_mask = gallery_mask or masks[0]
    likely_oii = likely_oii_objects(root, slits, apcorr_poii)
    cat, apinfo, maps = detect_survey(products, masks, sens, p, progress=progress, keep_maps_for=(gallery_mask,),
                                      apcorr_objects=likely_oii)
    seeing = apinfo.pop("seeing")
    # multi-line redshifts; spurious companions of adopted lines are rejected
    ml, verdict = multiline_redshifts(cat, multiline_tol)
    cat["multiline"] = verdict
    rej = (verdict == "spurious") & (np.asarray(cat["status"]) == "adopted")
    cat["status"][rej] = "multiline_rejected"
    cat["in_window"] = (np.asarray(cat["wavelength"], float) >= 7040.0) & (np.asarray(cat["wavelength"], float) <= 8010.0)
    rep = repeat_matches(cat, slits, repeat_tol)
    # flux limits: noise spectrum of a 5x5 box at the nominal object row, per slit and per mask
    grid = flux_limit_grid()
    corr = {r["mask"]: r["correction"] for r in seeing} if len(seeing) else {}
    lim_cols, per_slit = {}, []
    for name in progress_bar(masks, desc="noise spectra", disable=None if progress is None else not progress):
        red = read_reduced(products / "ldss3" / f"{name}_reduced.fits")
        rows = np.round(np.asarray(red.slits["nod_a_row"], float) - np.asarray(red.slits["row0"], float)).astype(int)
        ps, med = noise_spectrum(red.noise, red.good, red.wave, rows, sens, red.meta["airmass"],
                                 red.meta["nodtime"], apinfo["apcorr"], grid, p.box_half, p.box_half)
        c = corr.get(name, 1.0)
        ps, med = ps * c, med * c
        ok = np.asarray(red.slits["status"]) == "ok"
        ps[~ok] = np.nan
        lim_cols[name] = limit_nsigma * med
        per_slit.append(ps)
    flux_limits = Table({"wavelength": grid * u.AA})
    for name, v in lim_cols.items():
        flux_limits[name] = v * FLUX_UNIT
    with np.errstate(invalid="ignore"):
        medians = {m: float(np.nanmedian(v[(grid > 7100) & (grid < 7950)])) for m, v in lim_cols.items()}
    shallowest = max(medians, key=lambda m: medians[m]) if medians else ""
    _describe(flux_limits, f"{limit_nsigma:g} sigma [OII] flux limit per mask: {limit_nsigma:g} x the median over "
              "slits of the 5x5-box flux error at the nominal object row (ROLES §3.4.2)",
              wavelength_frame="vacuum", nsigma=limit_nsigma, shallowest_mask=shallowest,
              median_limit=medians)
    slit_noise = np.concatenate(per_slit, axis=0) if per_slit else np.zeros((0, grid.size))
    # per-slit summary (every slit, with its status and line counts)
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
    summary = summarise(cat, slits, rep, ml, p)
    summary["apcorr"] = apinfo
    summary["shallowest_mask"] = shallowest
    # products
    _describe(cat, "ROLES-style emission-line catalogue: every group of connected pixels >= raw_sigma; status: "
              + "; ".join(f"{k} = {v}" for k, v in LINE_STATUS.items()), wavelength_frame="vacuum",
              apcorr=apinfo["apcorr"], params={k: v for k, v in vars(p).items()})
    write_table(cat, products / "ldss3_lines.ecsv")
    write_table(_describe(ml, "slits with two or more lines: best plausible multi-line redshift"),
                products / "ldss3_multiline.ecsv")
    write_table(_describe(rep, "detections of objects on several masks: reproduced on every other mask?",
                          tolerance_angstrom=repeat_tol), products / "ldss3_repeats.ecsv")
    write_table(_describe(seeing, "per mask: spatial FWHM of bright lines vs the flux standard; flux correction "
                          "for slit and box losses"), products / "ldss3_seeing.ecsv")
    write_table(sens.table(), products / "ldss3_sensitivity.ecsv")
    write_table(flux_limits, products / "ldss3_flux_limits.ecsv")
    write_table(_describe(summ, "every slit with its reduction status and line counts; noise_row = row of "
                          "ldss3_slit_noise.fits"), products / "ldss3_slit_summary.ecsv")
    hn = fits.Header()
    hn["BUNIT"] = "erg/s/cm2"
    hn["COMMENT"] = "1-sigma 5x5-box flux error per slit (rows of ldss3_slit_summary) on the WAVE grid"
    write_fits(fits.HDUList([fits.PrimaryHDU(slit_noise.astype(np.float32), header=hn),
                             fits.ImageHDU(grid, name="WAVE")]), products / "ldss3_slit_noise.fits")
    return DetectResult(cat, summ, sens, apinfo, seeing, ml, rep, flux_limits, slit_noise, summary, maps)


def summarise(cat: Table, slits: Table, rep: Table, ml: Table, p: DetectParams) -> dict:
    """Headline numbers of the catalogue (per field: slits, objects with adopted lines, ...)."""
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
