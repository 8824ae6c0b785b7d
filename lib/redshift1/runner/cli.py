"""The command line of ``run_all.py``: parse, then run the walk's stages in order."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .. import paths
from ..errors import Redshift1Error
from ..paths import PRESETS
from .report import format_listing, report_run
from .walk import plan_run, prepare_folders, run_walk, select_walk

__all__ = ["build_parser", "main", "run"]


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``run_all.py`` (see ``python run_all.py --help``).

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="run_all.py",
        description="Execute the numbered notebooks NN_name.ipynb in order with papermill. "
        "Relative paths are relative to the project root.",
    )
    parser.add_argument("--preset", choices=PRESETS, default="quick",
                        help="size of the run (default: quick)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="raw survey folder (default: data/<preset>)")
    parser.add_argument("--out", metavar="DIR",
                        help="build folder (default: build/); the run goes to <out>/<preset>/")
    selection = parser.add_mutually_exclusive_group()
    selection.add_argument("--only", nargs="+", metavar="SEL",
                           help="run only these notebooks (number like 03 or name like kmos_sizes)")
    selection.add_argument("--from", dest="start", metavar="SEL",
                           help="run from this notebook to the end")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), dest="parameters",
                        help="forward a parameter to the notebooks declaring it "
                        "(VALUE is a Python literal, else a string); repeatable")
    parser.add_argument("--list", action="store_true",
                        help="list the notebooks with their parameters and exit")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="local processes for the per-galaxy and per-mask stages (notebooks declaring 'workers')")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask.distributed scheduler for those stages, e.g. tcp://host:8786 (needs the dask extra)")
    parser.add_argument("--force", action="store_true",
                        help="rerun every selected notebook, ignoring the cache of unchanged ones")
    parser.add_argument("--kernel", metavar="NAME",
                        help="Jupyter kernel (default: the notebook's kernelspec, else python3)")
    parser.add_argument("--fresh-kernels", action="store_true",
                        help="start a kernel per notebook (default: one kernel for the walk, "
                        "reset to a fresh kernel's state before each notebook)")
    # Hidden hooks for tests and unusual layouts.
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--notebooks", help=argparse.SUPPRESS)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the walk the parsed command line asks for (or list its parameters).

    The stages: select the notebooks, plan the run (folders and every notebook's parameters,
    checked before anything runs), prepare the folders, run the notebooks, report.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`build_parser`.

    Returns
    -------
    int
        0 on success or ``--list``, 1 if a notebook failed.

    Raises
    ------
    Redshift1Error
        On bad input, before any notebook runs.
    """
    root = Path(args.root).resolve() if args.root else paths.project_root()
    notebooks_dir = paths.resolve(args.notebooks, root) if args.notebooks else paths.notebooks_dir(root)
    walk = select_walk(root, notebooks_dir, only=args.only, start=args.start)
    if args.list:
        print(format_listing(walk.declared, root))
        return 0
    build_dir = paths.resolve(args.out, root) if args.out else paths.default_build_dir(root).resolve()
    data_dir = (paths.resolve(args.data_dir, root) if args.data_dir
                else paths.default_data_dir(args.preset, root).resolve())
    plan = plan_run(walk, args.preset, build_dir, data_dir, args.parameters, args.workers, args.scheduler)
    prepare_folders(plan)
    results, failed, cache = run_walk(plan, force=args.force, kernel=args.kernel, fresh_kernels=args.fresh_kernels)
    # only the paper run with the default folders updates the committed results
    default_folders = not args.out and not args.data_dir and plan.figures_dir == plan.layout.figures
    publish_to = paths.figures_dir(root) if args.preset == "paper" and default_folders else None
    return report_run(plan, results, failed, cache, publish_to)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``run_all.py``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 if every selected notebook ran (or ``--list``), 1 if a notebook
        failed, 2 on bad input (unknown selector or parameter, wrong type,
        missing notebooks folder) -- reported on one line, before anything runs.
    """
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except Redshift1Error as exc:
        print(f"run_all.py: error: {exc}", file=sys.stderr)
        return 2
