"""Content keys for cached reruns of the walk.

Make-like: after a notebook runs, the runner records its *key* (its cells, its parameters
and the code of ``lib/redshift1`` with its data tables), the files it wrote (size and
modification time), the state of the raw survey, and a *chain* value that folds in the
chain of the notebook before it. A later run skips a notebook when its key and its upstream
chain are unchanged, the survey is as it was, and every file it wrote is still there
untouched. A notebook that reruns rewrites its products, which changes its chain, so every
notebook downstream reruns too; a run killed mid-notebook leaves that notebook without a
record, so the next run resumes there.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _h():
    return hashlib.sha256()


def notebook_source_hash(path: Path) -> str:
    """Hash of the cells' sources and types (outputs and metadata ignored)."""
    nb = json.loads(Path(path).read_text())
    h = _h()
    for c in nb.get("cells", []):
        src = c.get("source", "")
        h.update(c.get("cell_type", "").encode())
        h.update(("".join(src) if isinstance(src, list) else src).encode())
    return h.hexdigest()


def code_hash(package: Path = PACKAGE) -> str:
    """Hash of every source and data file of the package."""
    h = _h()
    for p in sorted(package.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".ecsv", ".json", ".md") and "__pycache__" not in p.parts:
            h.update(p.relative_to(package).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def folder_state(folder: Path) -> str:
    """Fingerprint of a folder: its manifest's bytes when it has one (the mock lists every
    file's SHA-256 there), else every file's path, size and modification time."""
    folder = Path(folder)
    if not folder.exists():
        return "absent"
    manifest = folder / "manifest.json"
    h = _h()
    if manifest.is_file():
        h.update(manifest.read_bytes())
        return h.hexdigest()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            st = p.stat()
            h.update(f"{p.relative_to(folder).as_posix()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()


def snapshot(folder: Path) -> dict:
    """{relative path: [size, mtime_ns]} of every file below ``folder``."""
    folder = Path(folder)
    out = {}
    if folder.exists():
        for root, _, files in os.walk(folder):
            for name in files:
                p = Path(root) / name
                st = p.stat()
                out[p.relative_to(folder).as_posix()] = [st.st_size, st.st_mtime_ns]
    return out


def written_since(before: dict, after: dict) -> dict:
    """Files that a step created or rewrote."""
    return {k: v for k, v in after.items() if before.get(k) != v}


def outputs_intact(folder: Path, outputs: dict) -> bool:
    """Every file a step wrote is still there, untouched since."""
    now = snapshot(folder) if outputs else {}
    return all(now.get(k) == v for k, v in outputs.items())


def notebook_key(path: Path, parameters: dict, code: str) -> str:
    """Hash of what defines a notebook's work: its cells, parameters and the package code."""
    h = _h()
    for part in (notebook_source_hash(path), json.dumps(parameters, sort_keys=True, default=str), code):
        h.update(part.encode())
    return h.hexdigest()


def chain(upstream: str, key: str, outputs: dict, data_state: str) -> str:
    """The state of the walk after a notebook: everything upstream, its key, what it wrote."""
    h = _h()
    for part in (upstream, key, json.dumps(outputs, sort_keys=True), data_state):
        h.update(part.encode())
    return h.hexdigest()


def load(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def save(path: Path, cache: dict) -> None:
    from .io import write_json
    write_json(cache, path)
