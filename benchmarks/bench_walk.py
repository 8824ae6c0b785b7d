"""Seconds and peak memory of every notebook of the walk.

    python benchmarks/bench_walk.py [--preset quick] [--only 00 02 ...] [--workers N] [--json] [--readme]

Each notebook runs through ``run_all.py --only NN --force`` inside a fresh wrapper process,
so the wrapper's children -- run_all and the notebook's kernel -- are all that its
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` sees: the peak resident memory of that notebook.
Notebooks run in walk order, each on the products of the ones before.

``--readme`` writes the measured time, peak memory and disk use of the preset into the README's
table, between the markers ``<!-- bench_walk:<preset>:start -->`` and ``<!-- bench_walk:<preset>:end -->``
(the other presets' rows stay as they are), so the README's figures come from a run, not by hand.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
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


def folder_size(folder: Path) -> int:
    """Bytes of the files under a folder (0 if it does not exist)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def human(nbytes: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit in ("B", "kB", "MB") else f"{nbytes:.1f} {unit}"
        nbytes /= 1000


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def notebook_seconds(preset: str, nb: str) -> float | None:
    """Execution time papermill recorded in the executed copy of notebook ``nb`` (None if absent)."""
    import nbformat

    found = sorted((ROOT / "build" / preset / "notebooks").glob(f"{nb}_*.ipynb"))
    if not found:
        return None
    return nbformat.read(str(found[0]), as_version=4).metadata.get("papermill", {}).get("duration")


def readme_row(preset: str, total_s: float, peak_mb: float, data_bytes: int, build_bytes: int,
               load: float) -> str:
    """One line of the README's table (the text between a preset's markers)."""
    return (f"| `{preset}` | {minutes(total_s)} | {peak_mb:.0f} MB | {human(data_bytes)} | {human(build_bytes)} | "
            f"{os.cpu_count()} cores (load {load:.1f}), Python {platform.python_version()}, "
            f"{datetime.date.today().isoformat()} |")


def update_readme(readme: Path, preset: str, row: str) -> bool:
    """Replace the text between the preset's markers; False if the README has no such markers."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(rf"(<!-- bench_walk:{re.escape(preset)}:start -->\n).*?(<!-- bench_walk:{re.escape(preset)}:end -->)",
                         re.S)
    if not pattern.search(text):
        return False
    readme.write_text(pattern.sub(lambda m: m.group(1) + row + "\n" + m.group(2), text), encoding="utf-8")
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--only", nargs="+", help="notebooks (default: all numbered notebooks)")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--readme", action="store_true",
                    help="write time, peak memory and disk use into README.md between this preset's markers")
    a = ap.parse_args(argv)
    names = a.only or sorted(p.stem[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    rows, load = [], 0.0
    for nb in names:
        cmd = [sys.executable, str(ROOT / "run_all.py"), "--preset", a.preset, "--only", nb, "--force"]
        if a.workers:
            cmd += ["--workers", str(a.workers)]
        out = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, cwd=ROOT)
        code, seconds, rss_kb = out.stdout.split()
        executed = notebook_seconds(a.preset, nb)
        load = max(load, os.getloadavg()[0])
        rows.append({"notebook": nb, "seconds": round(float(seconds), 1), "peak_rss_mb": round(int(rss_kb) / 1024, 1),
                     "notebook_seconds": None if executed is None else round(executed, 1),
                     "status": "ok" if code == "0" else "failed"})
        print(f"{nb:>4}  {float(seconds):8.1f} s  {int(rss_kb) / 1024:8.1f} MB  {rows[-1]['status']}", flush=True)
    total = sum(r["seconds"] for r in rows)
    walk = sum(r["notebook_seconds"] or 0.0 for r in rows)   # the notebooks' own execution, as papermill timed it
    peak = max(r["peak_rss_mb"] for r in rows)
    data_bytes, build_bytes = folder_size(ROOT / "data" / a.preset), folder_size(ROOT / "build" / a.preset)
    print(f"total {total:.1f} s ({walk:.1f} s executing notebooks); largest peak {peak:.0f} MB; "
          f"data {human(data_bytes)}, build {human(build_bytes)}; highest load average {load:.1f}")
    if a.readme:
        if a.only or any(r["status"] != "ok" for r in rows):
            print("README not updated: it takes a complete, successful walk", file=sys.stderr)
        elif update_readme(ROOT / "README.md", a.preset, readme_row(a.preset, walk, peak, data_bytes, build_bytes, load)):
            print(f"README.md updated ({a.preset})")
        else:
            print(f"README.md has no bench_walk:{a.preset} markers", file=sys.stderr)
    if a.json:
        print(json.dumps({"preset": a.preset, "notebooks": rows, "total_seconds": round(total, 1),
                          "notebook_seconds": round(walk, 1)}))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
