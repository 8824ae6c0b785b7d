"""A run_all.py killed mid-notebook leaves no partial product, and the next run resumes there."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_run_all import PARAMS, _notebook, _project

SLOW = '''
import os, pathlib, time
from redshift1.io import atomic_path
out = pathlib.Path(products_dir)
with atomic_path(out / "beta.txt") as tmp:
    tmp.write_text("half")                       # a product being written...
    if (pathlib.Path(os.environ["REDSHIFT1_ROOT"]) / "hold").exists():
        time.sleep(120)                          # ...when the run is killed
    tmp.write_text("complete")
'''


def test_killed_run_leaves_no_partial_product_and_resumes(tmp_path):
    root = _project(tmp_path / "p")
    _notebook(root / "notebooks" / "01_beta.ipynb", PARAMS + "scale = 1.5  # a float\n", SLOW)
    hold = root / "hold"                                     # outside the survey: not an input
    hold.write_text("")
    products = root / "build" / "quick" / "products"
    # The killed run must run the package this test imports: with a relative PYTHONPATH (``lib``)
    # the child, started in the temporary project, would import the installed copy instead, whose
    # different code hash makes the resume rerun 00_alpha ("package code changed").
    import redshift1
    package_parent = str(Path(redshift1.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "redshift1.runner", "--root", str(root)], env=env,
                            cwd=root, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not list(products.glob(".beta.txt.*.tmp")):
            assert time.time() < deadline and proc.poll() is None, "01_beta never started writing"
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (products / "alpha.txt").exists()                 # 00 had finished
    assert not (products / "beta.txt").exists()              # no partial product
    cache = json.loads((root / "build" / "quick" / "cache.json").read_text())
    assert "00_alpha" in cache and "01_beta" not in cache

    hold.unlink()
    from redshift1.runner import main
    assert main(["--root", str(root)]) == 0
    summary = json.loads((root / "build" / "quick" / "run_summary.json").read_text())
    # a rerun says why the cache could not serve it: a failure here names its cause
    assert [(n["name"], n["status"], n["reason"]) for n in summary["notebooks"]] == [
        ("00_alpha", "cached", None),
        ("01_beta", "ok", "ran: not in the cache (first run, --force, or killed while running)"),
        ("02_gamma", "ok", "ran: not in the cache (first run, --force, or killed while running)")]
    assert (products / "beta.txt").read_text() == "complete"
    assert not list(products.glob(".*.tmp"))                 # the killed run's leftovers are swept
