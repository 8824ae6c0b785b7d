"""``python -m redshift1 detect-lines MASKDIR [--json] [--out FILE]``: reduce one LDSS3 mask and list its lines.

MASKDIR is a ``masks/<mask>`` folder of the LDSS3 data contract (its survey's ``calib/``
folder supplies the bad-pixel mask, the N&S darks and the flux standard). The command
reduces the mask (ROLES §2.3), detects and cleans the lines (§2.4), calibrates their
fluxes (§2.5.1) and prints the adopted catalogue: slit, object id, wavelength,
significance, flux and flux error. Unreadable or inconsistent inputs end in a one-line
error naming the file (exit status 2); library warnings are not printed, so that stderr
holds only that line (or the note on a missing flux calibration).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import MissingInputError
from .doubt import DOUBT_WORDS, doubt_summary, split_doubts

__all__ = ["add_parser", "detect_lines"]

#: Marks the catalogues ``--out`` writes: only such a file is ever replaced.
WRITTEN_BY = "redshift1 detect-lines"


def detect_lines(mask_dir, all_lines: bool = False, adopt_sigma: float = 4.0, raw_sigma: float = 3.0):
    """Reduce one mask folder and detect its lines (the ``detect-lines`` command).

    Parameters
    ----------
    mask_dir : str or pathlib.Path
        ``<survey>/ldss3/masks/<mask>`` with ``design.ecsv`` and ``raw/``.
    all_lines : bool, optional
        Return the raw catalogue (every line with its status), not only the adopted lines.
    adopt_sigma : float, optional
        Significance of an adopted line.
    raw_sigma : float, optional
        Significance of a raw detection.

    Returns
    -------
    catalogue : astropy.table.Table
        The lines.
    info : dict
        Flux-calibration summary, ``note`` (why fluxes are NaN, if they are), ``mask`` and ``n_slits``.

    Raises
    ------
    MissingInputError
        If the folder or its design table is missing.
    """
    from .catalogue import DetectParams, detect_mask
    from .flux_corrections import finalise_fluxes
    from .standard_star import standard_sensitivity
    from ..science.roles import likely_oii_objects
    from .reduce import reduce_mask, survey_root, survey_trap_mask
    mask_dir = Path(mask_dir)
    if not mask_dir.is_dir():
        raise MissingInputError(f"{mask_dir}: not a mask folder (expected masks/<mask> with design.ecsv and raw/)")
    if not (mask_dir / "design.ecsv").is_file():
        raise MissingInputError(f"{mask_dir / 'design.ecsv'}: required LDSS3 mask design table is missing")
    root = survey_root(mask_dir.parent.parent)
    bad, _ = survey_trap_mask(root)
    red = reduce_mask(mask_dir, bad, progress=False)
    note = ""
    try:
        sens = standard_sensitivity(root, bad)
    except MissingInputError as exc:     # detection does not need it; the fluxes are flagged uncalibrated
        sens, note = None, f"no flux calibration: {exc}; fluxes are NaN (flagged uncalibrated), counts kept"
    params = DetectParams(adopt_sigma=adopt_sigma, raw_sigma=raw_sigma)
    cat, _ = detect_mask(red, sens, params)
    likely = likely_oii_objects(root, red.slits)
    cat, info = finalise_fluxes(cat, sens, params, likely, {red.name: red.meta.get("median_loss", 1.0)})
    if len(cat):   # multi-line consistency (ROLES §2.4.3): unexplained companions are rejected
        from .reliability import multiline_redshifts
        _, verdict = multiline_redshifts(cat)
        cat["status"][(verdict == "spurious") & (np.asarray(cat["status"]) == "adopted")] = "multiline_rejected"
    if not all_lines and len(cat):
        cat = cat[np.asarray(cat["status"]) == "adopted"]
    info["note"] = note
    info["mask"] = red.name
    info["n_slits"] = len(red.slits)
    return cat, info


def _rows(cat, all_lines):
    out = []
    for r in cat:
        d = {"slit": int(r["slit_id"]), "object_id": str(r["object_id"]),
             "wavelength": round(float(r["wavelength"]), 2), "significance": round(float(r["sigma"]), 2),
             "flux": None if not np.isfinite(r["flux"]) else float(f"{float(r['flux']):.4e}"),
             "flux_err": None if not np.isfinite(r["flux_err"]) else float(f"{float(r['flux_err']):.4e}")}
        if all_lines:
            d["status"] = str(r["status"])
        d["doubt"] = split_doubts(r["doubt"] or "") if "doubt" in cat.colnames else []
        out.append(d)
    return out


def _write_catalogue(cat, doc: dict, path: Path) -> Path:
    """Write the catalogue atomically (the old file or the new one, never half of one):
    ECSV (the catalogue's columns) for ``.ecsv``, else the JSON of ``--json``."""
    from ..io import write_json, write_table
    if path.suffix == ".json":
        return write_json({**doc, "written_by": WRITTEN_BY}, path)
    cat = cat.copy()
    cat.meta.update({"written_by": WRITTEN_BY, "mask": doc["mask"], "n_slits": doc["n_slits"], "note": doc["note"],
                     "aperture_correction": doc["aperture_correction"]})
    return write_table(cat, path)


def _check_out(path) -> None:
    """Fail before any work on an ``--out`` that cannot be written as a catalogue, or that is
    a file this command did not write (never replaced)."""
    from ..errors import ForeignDataError, ParameterError
    if path is None:
        return
    path = Path(path)
    if path.suffix not in (".ecsv", ".json") or path.is_dir():
        raise ParameterError(f"--out {path}: give a .ecsv or .json file name (not a folder)")
    if path.exists() and not _written_by_us(path):
        raise ForeignDataError(f"--out {path}: exists and is not a catalogue detect-lines wrote; nothing was "
                               "replaced: move it away or choose another file name")


def _written_by_us(path: Path) -> bool:
    """Whether ``path`` is a catalogue an earlier ``detect-lines --out`` wrote."""
    try:
        if path.suffix == ".json":
            return json.loads(path.read_text()).get("written_by") == WRITTEN_BY
        from astropy.table import Table
        return Table.read(path, format="ascii.ecsv").meta.get("written_by") == WRITTEN_BY
    except Exception:   # unreadable, not JSON/ECSV, not a mapping: not ours
        return False


def _cmd_detect_lines(args) -> int:
    import warnings
    _check_out(args.out)
    with warnings.catch_warnings():     # stderr carries the note or the one-line error, nothing else
        warnings.simplefilter("ignore")
        cat, info = detect_lines(args.maskdir, all_lines=args.all, adopt_sigma=args.adopt_sigma)
    rows = _rows(cat, args.all)
    summary = doubt_summary(cat, "lines")
    if info["note"]:       # one line on stderr, in both output modes
        print(f"warning: {info['note']}", file=sys.stderr)
    doc = {"mask": info["mask"], "n_slits": info["n_slits"], "n_lines": len(rows),
           "units": {"wavelength": "Angstrom (vacuum)", "flux": "erg s-1 cm-2"},
           "aperture_correction": round(float(info["apcorr"]), 4),
           "aperture_correction_source": str(info.get("source", "")),
           "flux_calibrated": not bool(info["note"]), "note": info["note"],
           "doubt_summary": summary,
           "doubt_words": {k: DOUBT_WORDS[k] for k in sorted({f for d in rows for f in d["doubt"]})},
           "lines": rows}
    if args.out:
        _write_catalogue(cat, doc, Path(args.out))
    if args.json:
        print(json.dumps(doc, indent=1))
        return 0
    head = f"{'slit':>5} {'object_id':<14} {'wavelength[A]':>13} {'sigma':>7} {'flux[erg/s/cm2]':>16} {'flux_err':>10}"
    if args.all:
        head += f"  {'status':<18}"
    head += "  doubt"
    print(f"# {info['mask']}: {len(rows)} lines in {info['n_slits']} slits (vacuum wavelengths)")
    print(head)
    for d in rows:
        f = "nan" if d["flux"] is None else f"{d['flux']:.3e}"
        e = "nan" if d["flux_err"] is None else f"{d['flux_err']:.2e}"
        line = (f"{d['slit']:>5} {d['object_id']:<14} {d['wavelength']:>13.2f} {d['significance']:>7.2f} "
                f"{f:>16} {e:>10}")
        if args.all:
            line += f"  {d['status']:<18}"
        line += f"  {','.join(d['doubt']) or '-'}"
        print(line)
    print(f"# {summary}")
    for k in sorted({f for d in rows for f in d["doubt"]}):
        print(f"#   {k}: {DOUBT_WORDS[k]}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``detect-lines`` on an ``argparse`` sub-parser collection.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The new sub-parser.
    """
    p = subparsers.add_parser(
        "detect-lines", help="reduce one LDSS3 N&S mask folder and print its emission-line catalogue",
        description="Reduce one mask folder laid out per docs/data-format.md (LDSS3) -- charge traps, N&S sky "
                    "subtraction, registration, median combination, A'-B' -- detect lines with the ROLES optimal "
                    "filter and print slit, object id, vacuum wavelength, significance, flux and flux error.")
    p.add_argument("maskdir", metavar="MASKDIR", help="the mask folder, e.g. data/quick/ldss3/masks/mask4")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--all", action="store_true", help="the raw catalogue (>= 3 sigma) with each line's status")
    p.add_argument("--adopt-sigma", type=float, default=4.0, help="significance of adopted lines (default 4)")
    p.add_argument("--out", metavar="FILE", help="also write the catalogue to FILE (.ecsv: its columns; .json: as "
                   "--json), atomically: a killed run leaves the old file or the new one; an existing FILE is "
                   "replaced only if detect-lines wrote it")
    p.set_defaults(func=_cmd_detect_lines)
    return p
