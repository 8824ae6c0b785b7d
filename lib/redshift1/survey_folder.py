"""What a survey folder holds, read from its ``manifest.json``: neutral ground for the runner
(which must not overwrite real data) and the mock observatory (which writes the manifest).

A survey the mock observatory wrote carries a ``manifest.json`` whose ``generator`` names the
mock and which lists every file with its size and SHA-256. Anything else in a survey folder
is *foreign*: real data, or a user's files, which nothing in the project may replace.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["file_digest", "foreign_files", "is_mock_generator", "mock_manifest", "survey_manifest"]


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    str
        The hexadecimal digest.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def survey_manifest(root: Path) -> list[dict]:
    """Every file below ``root`` (relative path, bytes, sha256), sorted.

    Parameters
    ----------
    root : Path
        The survey folder (its own ``manifest.json`` is left out).

    Returns
    -------
    list of dict
        ``{"path", "bytes", "sha256"}`` per file.
    """
    return [{"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size, "sha256": file_digest(p)}
            for p in sorted(root.rglob("*")) if p.is_file() and p != root / "manifest.json"]


def is_mock_generator(generator) -> bool:
    """Whether a manifest's ``generator`` value is this project's mock observatory.

    Parameters
    ----------
    generator : object
        The manifest's ``generator`` entry.

    Returns
    -------
    bool
    """
    return isinstance(generator, str) and generator.startswith("redshift1 ") and "mock observatory" in generator


def mock_manifest(folder: str | Path) -> dict | None:
    """The manifest of a survey folder written by the mock, or ``None``.

    Parameters
    ----------
    folder : path-like
        The survey folder.

    Returns
    -------
    dict or None
        ``None`` when there is no manifest, an unreadable one, or one another program wrote.
    """
    mf = Path(folder) / "manifest.json"
    try:
        m = json.loads(mf.read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and is_mock_generator(m.get("generator")) else None


def foreign_files(folder: str | Path) -> list[str]:
    """Files and folders below ``folder`` that the mock did not write (relative paths).

    Parameters
    ----------
    folder : path-like
        The survey folder.

    Returns
    -------
    list of str
        Empty for an absent or empty folder and for a mock survey whose every file is listed
        in its manifest; a folder without the mock's manifest is foreign as a whole; ``["."]``
        when ``folder`` is not a folder at all.
    """
    folder = Path(folder)
    if not folder.exists():
        return []
    if not folder.is_dir() or folder.is_symlink():
        return ["."]
    entries = sorted(p for p in folder.rglob("*") if not p.is_dir() or p.is_symlink())
    m = mock_manifest(folder)
    if m is None:
        return [p.relative_to(folder).as_posix() for p in entries]
    listed = {f.get("path") for f in m.get("files", []) if isinstance(f, dict)} | {"manifest.json"}
    return [p.relative_to(folder).as_posix() for p in entries
            if p.relative_to(folder).as_posix() not in listed or p.is_symlink()]
