"""Same preset, same seed → the same products, byte for byte (tables, FITS, JSON, figures)."""
import hashlib

from conftest import run_tiny_walk


def _hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_walk_products_are_identical(tiny_walk, tmp_path):
    data, build, figures = tiny_walk
    again = run_tiny_walk(tmp_path, data)                  # same survey, a fresh build
    second = _hashes(again / "products")
    first = {k: v for k, v in _hashes(build / "products").items() if k in second}  # the session walk also ran 11-12
    assert len(first) > 20 and first.keys() == second.keys()
    differ = [k for k in first if first[k] != second[k]]
    assert not differ, f"products differ between identical runs: {differ}"
    f1, f2 = _hashes(figures), _hashes(again / "figures")
    assert [k for k in f1 if k in f2 and f1[k] != f2[k]] == []
