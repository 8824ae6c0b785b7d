"""The truth of a ROLES survey (exposures, slits, lines, galaxies, detector, counts), written
only to the truth folder."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import astropy.units as u
from astropy.table import Table

from ... import constants as C
from ...io import write_json, write_table
from .. import ldss3 as L
from .catalogues import truth_galaxy_table
from .fields import K_RANGE, OII_WINDOW
from .sources import LINES, expected_line_snr
from .survey import Survey, mask_sources

PUBLIC_COUNTS = ("n_slits", "n_photometric", "n_targets", "n_repeat_galaxies")


def survey_counts(sv: Survey) -> dict:
    """Counts of the survey: slits, photometric galaxies, targets (also those in the [OII]
    window), repeats, PDF completeness of the window and, once the truth is written, the
    expected detections.

    Parameters
    ----------
    sv : Survey

    Returns
    -------
    dict
        Only the keys in :data:`PUBLIC_COUNTS` may be written next to the raw data.
    """
    n_slits = sum(len(d) for d in sv.designs.values())
    out = {"n_slits": n_slits, "n_photometric": {}, "n_targets": {}, "n_targets_in_window": {},
           "n_repeat_galaxies": {}, "completeness_window_pdf": {}, "n_expected_detections": {}}
    for f, t in sv.cats.items():
        tgt = np.asarray(t["roles_target"])
        k = np.asarray(t["K"])
        inr = (k > K_RANGE[0]) & (k < K_RANGE[1])
        pw = np.asarray(t["_pwin"])
        zt = np.asarray(t["z_true"])
        out["n_photometric"][f] = int(len(t))
        out["n_targets"][f] = int(tgt.sum())
        out["n_targets_in_window"][f] = int((tgt & (zt > OII_WINDOW[0]) & (zt < OII_WINDOW[1])).sum())
        out["n_repeat_galaxies"][f] = int((tgt & (np.asarray(t["n_masks"]) > 1)).sum())
        out["completeness_window_pdf"][f] = round(float(pw[tgt & inr].sum() / max(pw[inr].sum(), 1e-9)), 3)
    det = sv.detectable
    if det is not None:
        out["n_expected_detections"] = det
    return out


def write_truth(sv: Survey, truth_dir: Path, comp_truth, det, std_cond, std_slit, cr_all, lookup):
    """Write the truth tables of the survey under ``truth_dir`` (exposures, slits, lines,
    galaxies, comparison sample, sensitivity, charge traps, cosmic rays, summary).

    Sets ``sv.detectable`` (targets with an in-window line of expected S/N >= 4, per field).

    Parameters
    ----------
    sv : Survey
    truth_dir : pathlib.Path
    comp_truth : astropy.table.Table
        Truth of the comparison sample.
    det : redshift1.mock.ldss3.Detector
    std_cond : redshift1.mock.ldss3.Conditions
        Conditions of the standard-star exposure.
    std_slit : int
        Slit holding the standard star.
    cr_all : list of (str, tuple)
        Cosmic rays added to each frame.
    lookup : dict
        :func:`~.survey.catalogue_row_lookup` of ``sv``.

    Returns
    -------
    list of pathlib.Path
    """
    pre = sv.preset
    nod_time = pre.n_cycles * pre.t_cycle
    files = []
    # exposures
    rows = []
    for m, info in sv.masks.items():
        for e, c in enumerate(info["conds"]):
            rows.append({"mask": m, "expnum": e + 1, "file": f"masks/{m}/raw/{m}_{e + 1:03d}.fits", **asdict(c),
                         "slit_fraction_point": float(L.slit_fraction(c.seeing))})
    rows.append({"mask": sv.standard_mask, "expnum": 0, "file": "calib/standard/standard_001.fits",
                 **asdict(std_cond), "slit_fraction_point": float(L.slit_fraction(std_cond.seeing))})
    ex = Table(rows=rows)
    for c, un in (("flex_dx", u.pix), ("flex_dy", u.pix), ("drift_dy", u.pix), ("seeing", u.arcsec)):
        ex[c].unit = un
    ex.meta["description"] = ("per-exposure hidden state: flexure shift of the spectral image (x, y), drift of the "
                              "objects along the slits, seeing FWHM, airmass, sky continuum/line scale factors, "
                              "slit fraction of a point source")
    files.append(write_table(ex, truth_dir / "roles_exposures.ecsv"))
    # slits and lines
    srows, lrows = [], []
    detectable = {f: set() for f in sv.cats}
    for m, info in sv.masks.items():
        design = sv.designs[m]
        sources = mask_sources(sv, m, lookup)
        for s, src in zip(design, sources):
            f = s["field"]
            row = sv.cats[f][lookup[f][s["object_id"]]]
            sf = float(np.mean([L.slit_fraction(np.hypot(c.seeing, src.fwhm_int), src.x_offset) for c in info["conds"]]))
            srows.append({"mask": m, "slit_id": int(s["slit_id"]), "object_id": s["object_id"], "field": f,
                          "z_true": float(row["z_true"]), "is_roles_target": bool(s["is_roles_target"]),
                          "y_offset": src.y_offset, "x_offset_arcsec": src.x_offset, "fwhm_int": src.fwhm_int,
                          "slit_fraction_mean": sf, "n_exp": info["n_exp"]})
            # one entry per line (doublet summed)
            done = set()
            for name in src.names:
                if name in done:
                    continue
                done.add(name)
                rest = LINES[name]
                lam = rest * (1 + float(row["z_true"]))
                flux = float(row["f_" + name])
                snr, cnt = expected_line_snr(flux, lam, lam * float(row["sigma_kms"]) / C.C_KMS,
                                             float(s["dispersion"]), info["conds"], src.fwhm_int, src.x_offset, nod_time)
                in_win = C.KG750_WINDOW[0] <= lam <= C.KG750_WINDOW[1]
                x0 = float(s["x_ref"]) + src.x_offset / L.PIXSCALE + (lam - float(s["lambda_ref"])) / float(s["dispersion"])
                lrows.append({"mask": m, "slit_id": int(s["slit_id"]), "object_id": s["object_id"], "line": name,
                              "rest_wave": rest, "obs_wave": lam, "flux": flux, "x_zero_flexure": x0,
                              "counts_per_nod_exposure": cnt, "snr_expected": snr, "in_window": in_win})
                if in_win and snr >= 4 and bool(s["is_roles_target"]):
                    detectable[f].add(s["object_id"])
    st = Table(rows=srows)
    st["y_offset"].unit = u.pix
    st["x_offset_arcsec"].unit = u.arcsec
    st["fwhm_int"].unit = u.arcsec
    st.meta["description"] = ("per slit: object offsets from the nominal nod positions along (y, px) and across "
                              "(x, arcsec) the slit, intrinsic FWHM, mean slit fraction over the exposures")
    files.append(write_table(st, truth_dir / "roles_slits.ecsv"))
    lt = Table(rows=lrows) if lrows else Table(names=("mask", "slit_id", "object_id", "line", "rest_wave", "obs_wave",
                                                      "flux", "x_zero_flexure", "counts_per_nod_exposure",
                                                      "snr_expected", "in_window"))
    lt["rest_wave"].unit = u.AA
    lt["obs_wave"].unit = u.AA
    lt["flux"].unit = u.erg / u.s / u.cm**2
    lt["x_zero_flexure"].unit = u.pix
    lt["counts_per_nod_exposure"].unit = u.electron
    lt.meta["description"] = ("every emission line rendered into a slit (vacuum wavelengths; [OII] doublet as one "
                              "entry); counts_per_nod_exposure = mean electrons at one nod position in one exposure; "
                              "snr_expected = matched-filter S/N in the combined A'-B' frame with the mean sky")
    files.append(write_table(lt, truth_dir / "roles_lines.ecsv"))
    sv.detectable = {f: len(v) for f, v in detectable.items()}
    # galaxies
    files.append(write_table(truth_galaxy_table(sv), truth_dir / "roles_galaxies.ecsv"))
    files.append(write_table(comp_truth, truth_dir / "roles_highmass_truth.ecsv"))
    # instrument
    lam = np.arange(6800.0, 8300.0, 1.0)
    sens = Table({"wavelength": lam * u.AA,
                  "sensitivity": L.sensitivity(lam) * u.electron / u.s / (u.erg / u.s / u.cm**2),
                  "filter": L.filter_transmission(lam), "system_eff": L.system_efficiency(lam),
                  "telluric_tau": L.telluric_tau(lam)})
    sens.meta["description"] = ("injected sensitivity S(lambda) above the atmosphere without slit losses; observed "
                                "electrons = f x S x exp(-airmass x telluric_tau) x slit_fraction x time; "
                                "vacuum wavelengths")
    sens.meta["sky_cont_e_per_px_1200s_at_7500"] = L.SKY_CONT_E
    files.append(write_table(sens, truth_dir / "roles_sensitivity.ecsv"))
    tr = det.traps.copy()
    tr.meta["description"] = ("charge traps: column x, row y; every transfer across adds q electrons to packets "
                              "with home rows y+1..y+16, decaying as exp(-(row-y-1)/length)")
    files.append(write_table(tr, truth_dir / "roles_charge_traps.ecsv"))
    crow = {"file": [], "x": [], "y": [], "electrons": []}
    for fname, cr in cr_all:
        crow["file"] += [fname] * len(cr[0])
        crow["y"] += list(np.asarray(cr[0], int))
        crow["x"] += list(np.asarray(cr[1], int))
        crow["electrons"] += list(np.round(np.asarray(cr[2], float), 1))
    ct = Table(crow, names=("file", "x", "y", "electrons"),
               dtype=(str, int, int, float)) if crow["file"] else Table(names=("file", "x", "y", "electrons"),
                                                                       dtype=(str, int, int, float))
    ct.meta["description"] = "cosmic-ray electrons added to each pixel of each frame (0-based x, y)"
    files.append(write_table(ct, truth_dir / "roles_cosmics.ecsv"))
    summ = {"preset": pre.name, "survey_seed": sv.seed, "noise_seed": sv.noise_seed, "standard_mask": sv.standard_mask, "standard_slit": std_slit,
            **survey_counts(sv)}
    files.append(write_json(summ, truth_dir / "roles_truth_summary.json"))
    return files
