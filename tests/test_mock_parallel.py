"""The mock's KMOS cubes are the same files whether rendered on one process or several."""
import hashlib

from redshift1.mock.observe import observe


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def test_two_workers_write_the_same_files(tmp_path):
    one = observe(tmp_path / "one", preset="tiny", instruments=("kmos",), workers=1)
    two = observe(tmp_path / "two", preset="tiny", instruments=("kmos",), workers=2)
    a, b = _digests(tmp_path / "one"), _digests(tmp_path / "two")
    assert len(a) > 5 and any(k.startswith("kmos/cubes/") for k in a)
    assert a == b
    assert one["files"] == two["files"]
