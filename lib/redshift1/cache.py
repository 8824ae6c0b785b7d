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


def is_fresh(entry: dict, key: str, upstream: str, executed: Path, data: Path, products: Path) -> bool:
    """Whether a notebook may be skipped: nothing it depends on changed since it last ran.

    Parameters
    ----------
    entry : dict
        The notebook's record in the cache (empty if none).
    key : str
        Its :func:`notebook_key` now.
    upstream : str
        The chain of the notebook before it now (:func:`upstream_chain`).
    executed : Path
        Its executed copy, which must still be there.
    data : Path
        The survey folder it read (its :func:`folder_state` must be as recorded).
    products : Path
        The products folder, where every file it wrote must still be untouched.

    Returns
    -------
    bool
        ``True`` when key, upstream chain, survey and outputs are all as recorded.
    """
    return stale_reason(entry, key, upstream, executed, data, products) is None


def stale_reason(entry: dict, key: str, upstream: str, executed: Path, data: Path, products: Path) -> str | None:
    """Why a notebook must run again (``None``: it may be skipped); arguments as :func:`is_fresh`.

    Returns
    -------
    str or None
        The first of: no record, cells/parameters/package code changed, upstream changed, executed
        copy missing, survey changed, an output changed (named).
    """
    # cheapest tests first: the survey's state and the outputs' snapshot read the disk
    if not entry.get("key"):
        return "not in the cache (first run, --force, or killed while running)"
    if entry["key"] != key:
        return "its cells, parameters or the package code changed"
    if entry.get("upstream") != upstream:
        return "a notebook before it changed or reran"
    if not Path(executed).exists():
        return f"{executed} is missing"
    if entry.get("data_state") != folder_state(data):
        return f"the survey {data} changed"
    outputs = entry.get("outputs", {})
    now = snapshot(products) if outputs else {}
    changed = sorted(k for k, v in outputs.items() if now.get(k) != v)
    if changed:
        return f"its output {changed[0]} changed or is missing" + (f" (and {len(changed) - 1} more)" if len(changed) > 1 else "")
    return None


def upstream_chain(notebooks: list, path: Path, cache: dict) -> str:
    """The recorded chain of the notebook just before ``path`` in the whole walk ("" for the first).

    Parameters
    ----------
    notebooks : list of Path
        Every notebook of the walk, in order (not only the selected ones).
    path : Path
        The notebook about to run.
    cache : dict
        The cache.

    Returns
    -------
    str
        ``"missing"`` when the notebook before has no record.
    """
    i = list(notebooks).index(path)
    return "" if i == 0 else cache.get(notebooks[i - 1].stem, {}).get("chain", "missing")


def ran_entry(key: str, upstream: str, outputs: dict, data_state: str, seconds: float) -> dict:
    """The record of a notebook that just ran: what it depended on, what it wrote, its chain."""
    return {"key": key, "upstream": upstream, "outputs": outputs, "data_state": data_state,
            "chain": chain(upstream, key, outputs, data_state), "seconds": round(seconds, 2)}


def skipped_entry(reason: str, upstream: str) -> dict:
    """The record of a notebook skipped for ``reason``: the chain passes through it unchanged."""
    return {"skipped": reason, "chain": upstream}


def settle_outputs(cache: dict, products: Path) -> None:
    """Record every notebook's outputs as the finished run left them.

    Later notebooks may rewrite a shared product (``kross_fits.json`` gathers 04-06), so an
    unchanged rerun must find each file as the run left it, not as the first writer did.
    """
    final = snapshot(products)
    for entry in cache.values():
        entry["outputs"] = {k: final.get(k, v) for k, v in entry.get("outputs", {}).items()}


def chain(upstream: str, key: str, outputs: dict, data_state: str) -> str:
    """The state of the walk after a notebook: everything upstream, its key, what it wrote."""
    h = _h()
    for part in (upstream, key, json.dumps(outputs, sort_keys=True), data_state):
        h.update(part.encode())
    return h.hexdigest()


def load(path: Path) -> dict:
    """The cache recorded at ``path``; empty when absent or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def save(path: Path, cache: dict) -> None:
    """Write the cache atomically (a killed run leaves the old record or the new one)."""
    from .io import write_json
    write_json(cache, path)
