"""The entry point of the mock ROLES survey: :func:`observe_roles`."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ...io import write_fits, write_json, write_table
from ..population import Relations
from .catalogues import pdf_hdul, photometry_table
from .comparison import draw_comparison
from .fields import CONTRACT_VERSION, FIELDS, ROLES_PRESETS, pointing_field
from .rendering import render_mask, write_bpm, write_darks, write_standard
from .survey import build_survey, catalogue_row_lookup, mask_sources
from .truth import PUBLIC_COUNTS, survey_counts, write_truth


def observe_roles(out_dir: Path, preset: str, survey_seed: int, relations: Relations, truth_dir: Path,
                  progress: bool = False, noise_seed: int | None = None) -> dict:
    """Write the ROLES/LDSS3 raw data under ``out_dir`` (= <survey>/ldss3) and the truth tables
    under ``truth_dir``; return a summary dict (counts, n_files, bytes).

    The summary holds only what the raw data show (masks, exposures, slits, photometric
    galaxies, targets, repeats, files, bytes); truth-derived counts (targets in the window,
    completeness, expected detections) go to ``truth_dir/roles_truth_summary.json``.
    ``survey_seed`` fixes the sky, the targeting, the observing conditions and the detector's
    defects; ``noise_seed`` (default ``survey_seed``) the noise and cosmic rays of every frame.
    """
    seed = survey_seed
    t0 = time.perf_counter()
    if preset not in ROLES_PRESETS:
        from ...errors import ParameterError
        raise ParameterError(f"observe_roles: unknown preset {preset!r} (choose from {sorted(ROLES_PRESETS)})")
    pre = ROLES_PRESETS[preset]
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    sv = build_survey(pre, seed, relations, noise_seed)
    files = []

    # photometry and photo-z PDFs
    for f, t in sv.cats.items():
        spec = FIELDS[f]
        files.append(write_table(photometry_table(t, spec), out_dir / "photometry" / f"{f}_photometry.ecsv"))
        files.append(write_fits(pdf_hdul(t, sv.pdfs[f], spec), out_dir / "photometry" / f"{f}_photoz_pdf.fits"))
    # comparison sample
    comp, comp_truth = draw_comparison(seed, relations, pre.comparison_area, pre.calibration)
    comp.meta["contract"] = f"redshift1 LDSS3 data contract {CONTRACT_VERSION}"
    files.append(write_table(comp, out_dir / "comparison" / "highmass_z1.ecsv"))
    # calibrations
    bpm_path, det = write_bpm(pre, seed, out_dir)
    files.append(bpm_path)
    dark_paths, cr_all = write_darks(pre, seed, out_dir, sv.noise_seed)
    files += dark_paths
    std_files, std_cond, std_slit, std_cr = write_standard(sv, out_dir)
    files += std_files
    cr_all += std_cr
    # mask designs and raw frames
    lookup = catalogue_row_lookup(sv)
    jobs = []
    for m, info in sv.masks.items():
        design = sv.designs[m]
        d = design.copy()
        d.meta["n_exposures"] = info["n_exp"]
        files.append(write_table(d, out_dir / "masks" / m / "design.ecsv"))
        jobs.append((pre, seed, sv.noise_seed, m, design, mask_sources(sv, m, lookup), info["conds"], info["pointing"],
                     info["index"], str(out_dir)))
    results = []
    workers = max(1, min(int(os.environ.get("REDSHIFT1_WORKERS", pre.workers)), len(jobs)))
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(jobs), desc="ROLES masks")
        except ImportError:  # pragma: no cover
            bar = None
    if workers > 1:
        import concurrent.futures as cf
        import multiprocessing as mp
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with cf.ProcessPoolExecutor(workers, mp_context=ctx) as ex:
            for r in ex.map(render_mask, jobs):
                results.append(r)
                if bar is not None:
                    bar.update(1)
    else:
        for j in jobs:
            results.append(render_mask(j))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    for _, written, crs in results:
        files += written
        cr_all += crs

    # ---------------- truth
    truth_files = write_truth(sv, truth_dir, comp_truth, det, std_cond, std_slit, cr_all, lookup)

    # manifest (no truth, no timings: byte-identical for the same seed)
    counts = survey_counts(sv)
    manifest = {
        "contract": f"redshift1 LDSS3 data contract {CONTRACT_VERSION} (docs/data-format.md, section LDSS3)",
        "instrument": "LDSS3 (mock)", "survey": "ROLES", "preset": preset,
        "fields": {f: {"area_arcmin2": FIELDS[f].area_arcmin2, "pointings": list(FIELDS[f].pointings)}
                   for f in sv.cats},
        "masks": {m: {"pointing": i["pointing"], "field": pointing_field(i["pointing"]),
                      "n_exposures": i["n_exp"], "exptime_table_ks": i["ks"]} for m, i in sv.masks.items()},
        "frame_shape": list(pre.layout.shape),
        "standard": {"mask": sv.standard_mask, "slit_id": std_slit},
        "files": {str(Path(p).relative_to(out_dir)): Path(p).stat().st_size for p in sorted(files)},
    }
    files.append(write_json(manifest, out_dir / "manifest.json"))
    n_bytes = sum(Path(p).stat().st_size for p in files)
    # public counts only: the summary may be written next to the raw data (no truth, no timings,
    # so that it is byte-identical for the same seed); truth counts are in roles_truth_summary.json
    public = {k: v for k, v in counts.items() if k in PUBLIC_COUNTS}
    summary = {
        "instrument": "ldss3", "preset": preset, "survey_seed": seed, "noise_seed": sv.noise_seed,
        "n_masks": len(sv.masks), "n_exposures": sum(i["n_exp"] for i in sv.masks.values()),
        **public,
        "n_files": len(files), "bytes": int(n_bytes),
        "n_truth_files": len(truth_files),
    }
    if progress:
        print(f"ROLES/LDSS3 {preset}: {summary['n_masks']} masks, {summary['n_exposures']} exposures, "
              f"{n_bytes / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
    return summary
