#!/usr/bin/env python
"""Seconds per widget update of notebook 11's explorer, on the products of one preset.

Every control is moved through a few values (each move is one update, as a reader's
release of a slider or pick in a dropdown), timed by wall clock — what the reader waits —
and by this process's CPU time (all its threads, so it can exceed the wall time; when it is
much shorter than the wall time, other programs were competing for the CPUs: the load
average is printed beside it).

    python benchmarks/bench_explore.py --preset paper
    python benchmarks/bench_explore.py --preset quick --json
    python benchmarks/bench_explore.py --products-dir /tmp/build/tiny/products --data-dir /tmp/data --preset tiny

Needs the walk's products (``python run_all.py --preset <preset>``); nothing is written.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")

#: the moves: control -> values visited in turn (then back to the walk's value)
MOVES = {
    "snr_halpha_min": [4.0, 5.0, 2.5],
    "snr_nii_min": [5.0, 2.0],
    "resolved_factor": [1.3, 2.0],
    "psf_correction": [False],
    "ms_prescription": ["whitaker12"],
    "delta_edges": ["0.1, 1, 10", "0.2, 0.5, 1, 2, 5, 20"],
    "z_mass_range": [(9.0, 11.0), (9.8, 10.4)],
    "regression": ["ols", "emcee"],
    "detect_sigma": [3.0, 5.0, 6.5],
    "p_clamps": [(0.2, 0.8), (0.0, 1.0)],
    "cdfs_mass_bins": ["8.5, 9.0, 9.5", "8.4, 8.8, 9.2, 9.6"],
    "fires_mass_bins": ["8.5, 9.8", "8.5, 9.0, 9.5, 10.0"],
    "sfr_estimator": ["g10"],
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="quick", choices=("tiny", "quick", "paper"))
    p.add_argument("--products-dir", default="", help="products folder (default build/<preset>/products)")
    p.add_argument("--data-dir", default="", help="survey folder (default data/<preset>)")
    p.add_argument("--nwalkers", type=int, default=24, help="emcee walkers of the live fits")
    p.add_argument("--nsteps", type=int, default=200, help="emcee steps of the live fits (half burn-in)")
    p.add_argument("--budget", type=float, default=1.0, help="seconds an update may take (default 1)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)

    from redshift1.explore import CONTROLS, build_explorer

    t0 = time.perf_counter()
    ex = build_explorer(args.preset, args.data_dir, args.products_dir, nwalkers=args.nwalkers,
                        nsteps=args.nsteps, raise_errors=True)
    start = time.perf_counter() - t0
    walk = {name: w.value for name, w in ex.controls.items()}
    rows = []
    for name in CONTROLS:
        for value in MOVES[name] + [walk[name]]:
            if ex.controls[name].value == value:
                continue
            c0, w0 = time.process_time(), time.perf_counter()
            ex.controls[name].value = value
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            rows.append({"control": name, "value": value if not isinstance(value, tuple) else list(value),
                         "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
                         "panels": list(ex.timings[-1]["panels"])})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    slow_wall = max(rows, key=lambda r: r["wall_s"])
    slow_cpu = max(rows, key=lambda r: r["cpu_s"])
    summary = {"preset": args.preset, "n_kross_targets": ex.data.n_kross, "n_roles_objects": ex.data.n_roles_objects,
               "emcee": f"{args.nwalkers}x{args.nsteps}", "start_s": round(start, 3), "n_updates": len(rows),
               "slowest_wall": slow_wall, "slowest_cpu": slow_cpu, "load_average_1min": round(load, 2),
               "over_budget_wall": [r for r in rows if r["wall_s"] > args.budget],
               "over_budget_cpu": [r for r in rows if r["cpu_s"] > args.budget]}
    if args.json:
        print(json.dumps({"updates": rows, **summary}, indent=1, default=str))
        return 0
    print(f"explorer on the {args.preset} products: {ex.data.n_kross} KROSS targets, "
          f"{ex.data.n_roles_objects} ROLES objects; emcee {args.nwalkers}x{args.nsteps}; "
          f"start (load + first draw) {start:.2f} s; 1-min load average {load:.2f} on {os.cpu_count()} CPUs")
    print(f"{'control':<17} {'value':<24} {'wall s':>7} {'cpu s':>7}  redrawn")
    for r in rows:
        print(f"{r['control']:<17} {str(r['value']):<24.24} {r['wall_s']:7.3f} {r['cpu_s']:7.3f}  "
              f"{', '.join(r['panels']) or '-'}")
    print(f"slowest update: {slow_wall['wall_s']:.3f} s wall ({slow_wall['control']} -> {slow_wall['value']}); "
          f"{slow_cpu['cpu_s']:.3f} s CPU ({slow_cpu['control']} -> {slow_cpu['value']})")
    over = summary["over_budget_wall"]
    print(f"updates over {args.budget:g} s (wall): {len(over)} of {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
