"""Run the whole mock observatory: population → KMOS cubes and LDSS3 frames → disk.

The survey is written to a temporary sibling folder and moved into place at the end,
so an interrupted run never leaves a half-written survey behind. A ``manifest.json``
lists every file with its size and SHA-256 (no timestamps: the same preset and seed
give byte-identical files, and the manifest proves it).
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from pathlib import Path

from .. import __version__
from ..errors import ParameterError
from ..io import write_json
from .population import Relations

PRESETS = ("tiny", "quick", "paper")
DEFAULT_SEED = 20161


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def survey_manifest(root: Path) -> list[dict]:
    """Every file below ``root`` (relative path, bytes, sha256), sorted."""
    return [{"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size, "sha256": file_digest(p)}
            for p in sorted(root.rglob("*")) if p.is_file() and p != root / "manifest.json"]


def observe(out: str | Path, preset: str = "quick", seed: int = DEFAULT_SEED,
            relations: Relations | None = None, instruments=("kmos", "ldss3"),
            progress: bool = False) -> dict:
    """Generate a mock survey.

    Parameters
    ----------
    out : path
        Survey folder; ``kmos/`` and ``ldss3/`` hold what the pipeline reads,
        ``truth/`` what only the observe and validation notebooks may read.
    preset : {"tiny", "quick", "paper"}
    seed : int
    relations : Relations, optional
        Population relations to inject (defaults tuned to the papers).
    instruments : iterable of {"kmos", "ldss3"}
    progress : bool
        Show progress bars.

    Returns
    -------
    dict
        The manifest (also written to ``out/manifest.json``).
    """
    if preset not in PRESETS:
        raise ParameterError(f"preset {preset!r} is not one of {PRESETS}")
    if not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    unknown = set(instruments) - {"kmos", "ldss3"}
    if unknown:
        raise ParameterError(f"unknown instruments {sorted(unknown)}; choose from kmos, ldss3")
    relations = relations or Relations()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    work.chmod(0o755)  # mkdtemp makes it private; a survey folder is ordinary data
    summary, timing = {}, {}
    try:
        if "kmos" in instruments:
            from .kross import observe_kross
            t0 = time.perf_counter()
            summary["kmos"] = observe_kross(work / "kmos", preset, seed, relations, work / "truth", progress=progress)
            timing["kmos"] = round(time.perf_counter() - t0, 2)
        if "ldss3" in instruments:
            from .roles import observe_roles
            t0 = time.perf_counter()
            summary["ldss3"] = observe_roles(work / "ldss3", preset, seed, relations, work / "truth", progress=progress)
            timing["ldss3"] = round(time.perf_counter() - t0, 2)
        files = survey_manifest(work)
        manifest = {"generator": generator_id(), "preset": preset, "seed": seed,
                    "instruments": sorted(instruments), "relations": relations.as_dict(), "summary": summary,
                    "n_files": len(files), "bytes": sum(f["bytes"] for f in files), "files": files}
        write_json(manifest, work / "manifest.json")
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(trash / out.name)
            work.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    manifest["seconds"] = timing  # reported, not written: timings would break byte-identity
    return manifest


def generator_id() -> str:
    """The mock's version: the package version and a hash of the mock's own source and
    tables, so that any change to how the data are made regenerates them."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for f in sorted(here.glob("*.py")) + sorted((here.parent / "data").glob("*.ecsv")):
        h.update(f.name.encode() + f.read_bytes())
    return f"redshift1 {__version__} mock observatory {h.hexdigest()[:12]}"


def ensure_survey(out: str | Path, preset: str = "quick", seed: int = DEFAULT_SEED,
                  relations: Relations | None = None, regenerate: bool = False, progress: bool = False) -> dict:
    """Return the manifest of the survey at ``out``, generating it unless the folder already
    holds this preset, seed, relations and generator version with every file intact."""
    import json
    relations = relations or Relations()
    out = Path(out)
    mf = out / "manifest.json"
    if not regenerate and mf.is_file():
        try:
            m = json.loads(mf.read_text())
        except ValueError:
            m = {}
        same = (m.get("preset") == preset and m.get("seed") == seed and m.get("relations") == relations.as_dict()
                and m.get("generator") == generator_id())
        if same and all((out / f["path"]).is_file() and (out / f["path"]).stat().st_size == f["bytes"]
                        for f in m.get("files", [])):
            m["seconds"] = {}
            m["reused"] = True
            return m
    m = observe(out, preset=preset, seed=seed, relations=relations, progress=progress)
    m["reused"] = False
    return m
