"""Seconds, CPU seconds and peak memory of the walk, as ``run_all.py`` runs it.

    python benchmarks/bench_walk.py [--preset quick] [--only 00 02 ...] [--workers N] [--per-notebook]
                                    [--json] [--readme]

By default the selected notebooks run as a user runs them: one ``run_all.py --force`` call, so one
Jupyter kernel for the walk (started once, reset between notebooks). It runs inside a fresh
wrapper process whose ``getrusage(RUSAGE_CHILDREN)`` sees run_all and the kernel only: their CPU
seconds (user + system) and the peak resident memory of the largest of them. Each notebook's
seconds are the runner's wall-clock time around it (``run_summary.json``; the kernel start is in
the first notebook's, each reset in its notebook's); papermill's own record (``duration``, which
no longer includes a kernel start) is shown beside it. *walk* is the sum of the runner's seconds.

``--per-notebook`` runs each notebook alone (``run_all.py --only NN --force``, a kernel each, in
walk order on the products of the ones before), which gives each notebook's own peak memory.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = """
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.returncode, time.perf_counter() - t, u.ru_maxrss, u.ru_utime + u.ru_stime)
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


def measured(cmd: list[str]) -> tuple[int, float, float, float]:
    """Run ``cmd`` in a fresh wrapper: (return code, wall seconds, peak RSS in MB, CPU seconds)."""
    out = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, cwd=ROOT)
    code, seconds, rss_kb, cpu = out.stdout.split()
    return int(code), float(seconds), int(rss_kb) / 1024, float(cpu)


def runner_seconds(preset: str) -> dict:
    """The runner's seconds and status per notebook from the run's ``run_summary.json``."""
    path = ROOT / "build" / preset / "run_summary.json"
    if not path.is_file():
        return {}
    return {n["name"][:2]: n for n in json.loads(path.read_text())["notebooks"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--only", nargs="+", help="notebooks (default: all numbered notebooks)")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--per-notebook", action="store_true",
                    help="run each notebook alone (a kernel each): per-notebook peak memory")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--readme", action="store_true",
                    help="write time, peak memory and disk use into README.md between this preset's markers")
    a = ap.parse_args(argv)
    names = a.only or sorted(p.stem[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    base = [sys.executable, str(ROOT / "run_all.py"), "--preset", a.preset, "--force"]
    if a.workers:
        base += ["--workers", str(a.workers)]
    rows, load = [], os.getloadavg()[0]
    if a.per_notebook:
        for nb in names:
            code, seconds, rss, cpu = measured(base + ["--only", nb])
            load = max(load, os.getloadavg()[0])
            run = runner_seconds(a.preset).get(nb, {})
            rows.append({"notebook": nb, "seconds": round(run.get("seconds") or seconds, 1),
                         "process_seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
                         "peak_rss_mb": round(rss, 1), "papermill_seconds": _rounded(notebook_seconds(a.preset, nb)),
                         "status": "ok" if code == 0 else "failed"})
            print(f"{nb:>4}  {seconds:8.1f} s  {cpu:8.1f} CPU-s  {rss:8.1f} MB  {rows[-1]['status']}", flush=True)
        total, cpu_total = sum(r["process_seconds"] for r in rows), sum(r["cpu_seconds"] for r in rows)
        peak = max(r["peak_rss_mb"] for r in rows)
    else:
        code, total, peak, cpu_total = measured(base + ["--only", *names])
        load = max(load, os.getloadavg()[0])
        runs = runner_seconds(a.preset)
        for nb in names:
            run = runs.get(nb, {})
            rows.append({"notebook": nb, "seconds": _rounded(run.get("seconds")),
                         "papermill_seconds": _rounded(notebook_seconds(a.preset, nb)),
                         "status": run.get("status", "not run")})
            print(f"{nb:>4}  {rows[-1]['seconds'] or 0:8.1f} s  (papermill {rows[-1]['papermill_seconds'] or 0:6.1f} s)"
                  f"  {rows[-1]['status']}", flush=True)
        if code != 0 and all(r["status"] == "ok" for r in rows):
            rows[-1]["status"] = "failed"
    walk = sum(r["seconds"] or 0.0 for r in rows)   # the runner's seconds per notebook
    data_bytes, build_bytes = folder_size(ROOT / "data" / a.preset), folder_size(ROOT / "build" / a.preset)
    print(f"walk {walk:.1f} s of notebooks; {total:.1f} s wall and {cpu_total:.1f} CPU-s for the whole run; "
          f"largest peak {peak:.0f} MB; data {human(data_bytes)}, build {human(build_bytes)}; "
          f"highest load average {load:.1f}" + (" (kernel per notebook)" if a.per_notebook else " (one kernel)"))
    if a.readme:
        if a.only or a.per_notebook or any(r["status"] != "ok" for r in rows):
            print("README not updated: it takes a complete, successful walk in one run", file=sys.stderr)
        elif update_readme(ROOT / "README.md", a.preset, readme_row(a.preset, walk, peak, data_bytes, build_bytes, load)):
            print(f"README.md updated ({a.preset})")
        else:
            print(f"README.md has no bench_walk:{a.preset} markers", file=sys.stderr)
    if a.json:
        print(json.dumps({"preset": a.preset, "mode": "per-notebook" if a.per_notebook else "walk", "notebooks": rows,
                          "walk_seconds": round(walk, 1), "total_seconds": round(total, 1),
                          "cpu_seconds": round(cpu_total, 1), "peak_rss_mb": round(peak, 1), "load": round(load, 2)}))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def _rounded(x):
    return None if x is None else round(x, 1)


if __name__ == "__main__":
    raise SystemExit(main())
