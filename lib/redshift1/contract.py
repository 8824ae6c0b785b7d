"""The tables of ``docs/data-format.md`` generated from the readers' schemas.

The contract's column and keyword tables sit between markers::

    <!-- BEGIN schema kmos/targets.ecsv -->
    ...
    <!-- END schema kmos/targets.ecsv -->

and are written by :func:`update` (``python scripts/update_contract.py``) from the same
:class:`~redshift1.schema.TableSchema` / :class:`~redshift1.schema.Key` definitions the
readers check, so the page and the code cannot disagree; ``tests/test_contract.py`` fails
when a block is stale.
"""
from __future__ import annotations

import re
from pathlib import Path

from .kmos import catalogue as kcat
from .ldss3 import survey_files as lio
from .schema import keyword_markdown

__all__ = ["blocks", "render", "stale", "update"]

_BLOCK = re.compile(r"(<!-- BEGIN schema (?P<name>\S+) -->\n)(?P<body>.*?)\n?(<!-- END schema (?P=name) -->)", re.S)


def blocks() -> dict[str, str]:
    """Name of each generated block → its markdown."""
    out = {name: s.markdown() for name, s in {**kcat.SCHEMAS, **lio.SCHEMAS}.items()}
    out["ldss3/raw-keywords"] = keyword_markdown(lio.KEYWORDS, lio.OBSTYPES)
    return out


def render(text: str) -> str:
    """``text`` with every marked block replaced by its generated markdown."""
    gen = blocks()
    return _BLOCK.sub(lambda m: m.group(1) + gen.get(m.group("name"), m.group("body")) + "\n" + m.group(4), text)


def stale(text: str) -> list[str]:
    """Names of blocks that differ from the schemas, or that the text lacks."""
    found = {m.group("name"): m.group("body") for m in _BLOCK.finditer(text)}
    return [name for name, md in blocks().items() if found.get(name) != md]


def update(path) -> list[str]:
    """Rewrite the contract at ``path`` from the schemas; returns the blocks that changed."""
    path = Path(path)
    text = path.read_text()
    changed = stale(text)
    path.write_text(render(text))
    return changed
