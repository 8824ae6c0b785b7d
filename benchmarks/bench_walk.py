"""Seconds and peak memory of every notebook of the walk.

    python benchmarks/bench_walk.py [--preset quick] [--only 00 02 ...] [--workers N] [--json]

Each notebook runs through ``run_all.py --only NN --force`` inside a fresh wrapper process,
so the wrapper's children -- run_all and the notebook's kernel -- are all that its
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` sees: the peak resident memory of that notebook.
Notebooks run in walk order, each on the products of the ones before.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = """
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--only", nargs="+", help="notebooks (default: all numbered notebooks)")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    names = a.only or sorted(p.stem[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    rows = []
    for nb in names:
        cmd = [sys.executable, str(ROOT / "run_all.py"), "--preset", a.preset, "--only", nb, "--force"]
        if a.workers:
            cmd += ["--workers", str(a.workers)]
        out = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, cwd=ROOT)
        code, seconds, rss_kb = out.stdout.split()
        rows.append({"notebook": nb, "seconds": round(float(seconds), 1), "peak_rss_mb": round(int(rss_kb) / 1024, 1),
                     "status": "ok" if code == "0" else "failed"})
        print(f"{nb:>4}  {float(seconds):8.1f} s  {int(rss_kb) / 1024:8.1f} MB  {rows[-1]['status']}", flush=True)
    total = sum(r["seconds"] for r in rows)
    print(f"total {total:.1f} s; largest peak {max(r['peak_rss_mb'] for r in rows):.0f} MB")
    if a.json:
        print(json.dumps({"preset": a.preset, "notebooks": rows, "total_seconds": round(total, 1)}))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
