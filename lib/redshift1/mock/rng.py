"""Deterministic, independent random streams per object.

A stream is keyed by the survey seed and a path of names (``"kmos", "cube", "UDS-0042"``),
so an object's pixels do not depend on the order objects are generated in, or on how
many other objects a preset has -- the precondition for byte-identical files and for
generating objects in parallel.
"""
from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *keys) -> np.random.Generator:
    """A generator for ``seed`` and a path of keys (str or int)."""
    words = [int(seed)] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))
