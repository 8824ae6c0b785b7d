"""Run the whole mock observatory: population → KMOS cubes and LDSS3 frames → disk.

The survey is written to a temporary sibling folder and moved into place at the end,
so an interrupted run never leaves a half-written survey behind. A ``manifest.json``
lists every file with its size and SHA-256 (no timestamps: the same preset and seeds
give byte-identical files, and the manifest proves it). An existing folder is replaced only
when it is empty or a survey this mock wrote: files the project did not write are never
deleted (:func:`check_replaceable`).
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from pathlib import Path

from .. import __version__
from ..errors import ForeignDataError, ParameterError
from ..io import write_json
from ..paths import PRESETS
from ..survey_folder import file_digest, foreign_files, is_mock_generator, mock_manifest, survey_manifest
from .population import Relations

__all__ = ["DEFAULT_SEED", "PRESETS", "check_replaceable", "ensure_survey", "file_digest", "foreign_files",
           "generator_id", "is_mock_generator", "mock_manifest", "observe", "survey_manifest"]
DEFAULT_SEED = 20161


def observe(out: str | Path, preset: str = "quick", survey_seed: int = DEFAULT_SEED,
            noise_seed: int = DEFAULT_SEED, relations: Relations | None = None,
            instruments=("kmos", "ldss3"), progress: bool = False, *, seed: int | None = None,
            workers: int = 1) -> dict:
    """Generate a mock survey.

    Parameters
    ----------
    out : path
        Survey folder; ``kmos/`` and ``ldss3/`` hold what the pipeline reads,
        ``truth/`` what only the observe and validation notebooks may read. It is
        replaced only if it is absent, empty or a survey this mock wrote
        (:func:`check_replaceable`); anything else is left untouched.
    preset : {"tiny", "quick", "paper"}
    survey_seed : int
        What the sky is: the population, catalogues, targeting, PSFs and observing
        conditions, the detector's defects.
    noise_seed : int
        The noise realisation of the observations: the noise and cosmic rays of every
        cube and frame. With ``survey_seed`` fixed, another ``noise_seed`` observes the same
        sky again (same truth, new noise).
    relations : Relations, optional
        Population relations to inject (defaults tuned to the papers).
    instruments : iterable of {"kmos", "ldss3"}
    progress : bool
        Show progress bars.
    seed : int, optional
        Shorthand for ``survey_seed = noise_seed = seed`` (the single seed of older
        versions: equal seeds reproduce their files byte for byte).
    workers : int
        Local processes rendering the KMOS cubes; the files are the same for any number.

    Returns
    -------
    dict
        The manifest (also written to ``out/manifest.json``).

    Raises
    ------
    ParameterError
        Unknown preset or instrument, or a seed that is not a non-negative integer.
    ForeignDataError
        ``out`` holds files this mock did not write.
    """
    survey_seed, noise_seed = _seeds(survey_seed, noise_seed, seed)
    if preset not in PRESETS:
        raise ParameterError(f"preset {preset!r} is not one of {PRESETS}")
    unknown = set(instruments) - {"kmos", "ldss3"}
    if unknown or not instruments:
        raise ParameterError(f"unknown instruments {sorted(unknown) or 'none'}; choose kmos, ldss3 or both")
    relations = relations or Relations()
    out = Path(out).resolve()
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    work.chmod(0o755)  # mkdtemp makes it private; a survey folder is ordinary data
    summary, timing = {}, {}
    try:
        if "kmos" in instruments:
            from .kross import observe_kross
            t0 = time.perf_counter()
            summary["kmos"] = observe_kross(work / "kmos", preset, survey_seed, relations, work / "truth",
                                            progress=progress, noise_seed=noise_seed, workers=workers)
            timing["kmos"] = round(time.perf_counter() - t0, 2)
        if "ldss3" in instruments:
            from .roles import observe_roles
            t0 = time.perf_counter()
            summary["ldss3"] = observe_roles(work / "ldss3", preset, survey_seed, relations, work / "truth",
                                             progress=progress, noise_seed=noise_seed)
            timing["ldss3"] = round(time.perf_counter() - t0, 2)
        files = survey_manifest(work)
        manifest = {"generator": generator_id(), "preset": preset, "survey_seed": survey_seed,
                    "noise_seed": noise_seed, "instruments": sorted(instruments),
                    "relations": relations.as_dict(), "summary": summary,
                    "n_files": len(files), "bytes": sum(f["bytes"] for f in files), "files": files}
        write_json(manifest, work / "manifest.json")
        _move_into_place(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)   # our own temporary folder, never ``out``
        raise
    manifest["seconds"] = timing  # reported, not written: timings would break byte-identity
    return manifest


def _seeds(survey_seed, noise_seed, seed) -> tuple[int, int]:
    """The two seeds, after the ``seed`` shorthand; ParameterError if one is not a count."""
    if seed is not None:
        survey_seed = noise_seed = seed
    for name, value in (("survey_seed", survey_seed), ("noise_seed", noise_seed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParameterError(f"{name} must be a non-negative integer, got {value!r}")
    return survey_seed, noise_seed


def _move_into_place(work: Path, out: Path) -> None:
    """Swap the finished survey ``work`` in for ``out`` (checked by :func:`check_replaceable`:
    absent, empty or this mock's). Where the system can exchange two folders atomically
    (Linux ``renameat2``), a crash at any instant leaves the old survey or the new one at
    ``out``; elsewhere the old folder is set aside first, for the blink between two renames."""
    check_replaceable(out)   # again: the folder may have changed while the survey was made
    if not out.exists():
        work.rename(out)
        return
    if _exchange(work, out):
        shutil.rmtree(work, ignore_errors=True)   # now the old survey
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    out.rename(trash / out.name)
    work.rename(out)
    shutil.rmtree(trash, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``); ``False``
    where the C library or the file system does not offer it."""
    import ctypes
    import os
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def check_replaceable(folder: str | Path) -> None:
    """Raise :class:`ForeignDataError` unless ``folder`` may be replaced by a mock survey:
    it is absent, empty, or a survey this mock wrote holding only the files it lists.

    Parameters
    ----------
    folder : path

    Raises
    ------
    ForeignDataError
        Naming the folder, a few of the files the mock did not write, and what to do.
    """
    folder = Path(folder)
    foreign = foreign_files(folder)
    if not foreign:
        return
    if foreign == ["."]:
        raise ForeignDataError(f"{folder}: exists and is not a folder; the mock survey was not written "
                               "(choose another output folder)")
    shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    kind = ("is not a mock survey (no manifest.json of the redshift1 mock observatory)"
            if mock_manifest(folder) is None else "is a mock survey with files the mock did not write")
    raise ForeignDataError(f"{folder}: {kind} and holds {shown}; nothing was deleted: move those files "
                           "away, or choose another output folder (an absent or empty one)")


def generator_id() -> str:
    """The mock's version: the package version and a hash of the mock's own source (its
    subpackages included), the sky spectra it paints (:mod:`redshift1.skytables`) and the
    tables, so that any change to how the data are made regenerates them."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    sources = sorted(here.rglob("*.py")) + [here.parent / "skytables.py"]
    for f in sources + sorted((here.parent / "data").glob("*.ecsv")):
        h.update(f.name.encode() + f.read_bytes())
    return f"redshift1 {__version__} mock observatory {h.hexdigest()[:12]}"


def ensure_survey(out: str | Path, preset: str = "quick", survey_seed: int = DEFAULT_SEED,
                  noise_seed: int = DEFAULT_SEED, relations: Relations | None = None, regenerate: bool = False,
                  progress: bool = False, instruments=("kmos", "ldss3"), *, seed: int | None = None,
                  workers: int = 1) -> dict:
    """Return the manifest of the survey at ``out``, generating it unless the folder already
    holds this preset, both seeds, relations, instruments and generator version with every
    file intact.

    Parameters are those of :func:`observe`; ``regenerate`` rebuilds the survey even when it
    is intact. A folder holding anything else than a mock survey is never replaced
    (:class:`ForeignDataError`).
    """
    survey_seed, noise_seed = _seeds(survey_seed, noise_seed, seed)
    relations = relations or Relations()
    out = Path(out)
    m = None if regenerate else mock_manifest(out)
    if m is not None:
        same = (m.get("preset") == preset and m.get("survey_seed") == survey_seed
                and m.get("noise_seed") == noise_seed and m.get("relations") == relations.as_dict()
                and m.get("instruments") == sorted(instruments) and m.get("generator") == generator_id())
        if same and all((out / f["path"]).is_file() and (out / f["path"]).stat().st_size == f["bytes"]
                        for f in m.get("files", [])):
            m["seconds"] = {}
            m["reused"] = True
            return m
    m = observe(out, preset=preset, survey_seed=survey_seed, noise_seed=noise_seed, relations=relations,
                instruments=instruments, progress=progress, workers=workers)
    m["reused"] = False
    return m
