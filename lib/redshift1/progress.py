"""Progress bars that speak on a terminal and stay quiet in logs and CI."""
from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(iterable=None, desc: str = "", disable: bool | None = None, **kw):
    """``tqdm`` over ``iterable``; silent unless stderr is a terminal (or ``disable=False``)."""
    if disable is None:
        disable = not sys.stderr.isatty()
    return tqdm(iterable, desc=desc, disable=disable, leave=False, **kw)
