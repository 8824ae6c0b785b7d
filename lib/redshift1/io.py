"""Writing products so that a crash never leaves a half-written file.

Every writer goes to a temporary file in the target folder and renames it into place
(``os.replace`` is atomic on POSIX), so a reader sees the old file or the new one.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path

from astropy.io import fits
from astropy.table import Table


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


#: Suffix of the temporary files of :func:`atomic_path` (``.<name>.<8 random>.r1.tmp``).
ATOMIC_SUFFIX = ".r1.tmp"
_LEFTOVER = re.compile(r"^\..+\.[A-Za-z0-9_]{8}" + re.escape(ATOMIC_SUFFIX) + "$")


def is_atomic_leftover(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`atomic_path` (what a killed
    writer leaves behind), as opposed to any other hidden file."""
    return bool(_LEFTOVER.match(Path(path).name))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=ATOMIC_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)   # mkstemp makes files private; products are ordinary files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_fits(hdul: fits.HDUList, path) -> Path:
    """Write an HDUList atomically (no checksums or dates: same input, same bytes)."""
    with atomic_path(path) as tmp:
        hdul.writeto(tmp, overwrite=True, output_verify="exception")
    return Path(path)


def write_table(table: Table, path) -> Path:
    """Write an astropy Table atomically; ECSV keeps units and metadata."""
    path = Path(path)
    fmt = "ascii.ecsv" if path.suffix == ".ecsv" else None
    with atomic_path(path) as tmp:
        table.write(tmp, format=fmt, overwrite=True) if fmt else table.write(tmp, format="fits", overwrite=True)
    return path


def write_json(obj, path) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    return Path(path)
