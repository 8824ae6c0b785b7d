"""``python -m redshift1 observe``: generate a mock survey from the command line."""
from __future__ import annotations

import argparse
import sys

from ..paths import PRESETS
from .observe import DEFAULT_SEED, observe


def _cmd_observe(args) -> int:
    seeds = dict(survey_seed=args.survey_seed, noise_seed=args.noise_seed)
    if args.seed is not None:
        seeds = {k: args.seed if v is None else v for k, v in seeds.items()}
    seeds = {k: DEFAULT_SEED if v is None else v for k, v in seeds.items()}
    m = observe(args.out, preset=args.preset, instruments=tuple(args.instruments),
                progress=not args.quiet and sys.stderr.isatty(), **seeds)
    print(f"wrote {m['n_files']} files ({m['bytes'] / 1e6:.1f} MB) to {args.out} "
          f"[preset={m['preset']} survey_seed={m['survey_seed']} noise_seed={m['noise_seed']}; "
          f"seconds: {m['seconds']}]")
    for inst, s in m["summary"].items():
        print(f"  {inst}: " + ", ".join(f"{k}={v}" for k, v in s.items() if not isinstance(v, (dict, list))))
    return 0


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``observe`` on an ``argparse`` sub-parser collection.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The sub-parsers of ``python -m redshift1``.

    Returns
    -------
    argparse.ArgumentParser
        The ``observe`` parser.
    """
    p = sub.add_parser("observe", help="generate a mock survey (raw KMOS cubes and LDSS3 frames + truth)",
                       description="Generate a mock survey: raw data under OUT/kmos and OUT/ldss3, truth under OUT/truth.")
    p.add_argument("--preset", choices=PRESETS, default="quick", help="survey size (default: quick)")
    p.add_argument("--survey-seed", type=int, help=f"what the sky is: population, targeting, conditions "
                   f"(default: {DEFAULT_SEED})")
    p.add_argument("--noise-seed", type=int, help=f"the noise realisation of every cube and frame "
                   f"(default: {DEFAULT_SEED})")
    p.add_argument("--seed", type=int, help="shorthand for both seeds (an explicit --survey-seed or --noise-seed wins)")
    p.add_argument("--instruments", nargs="+", choices=("kmos", "ldss3"), default=["kmos", "ldss3"],
                   help="instruments to observe with (default: both)")
    p.add_argument("--out", required=True, help="survey folder to write, replaced atomically; only an absent or "
                   "empty folder or a survey the mock wrote is replaced, anything else is an error")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_observe)
    return p
