"""Command line of the compendium: ``python -m redshift1 SUBCOMMAND`` (or ``redshift1``).

Bad input ends in one line naming the file and what is wrong, and a non-zero exit
status; no traceback.
"""
from __future__ import annotations

import argparse
import sys

from .errors import Redshift1Error
from .mock.observe import DEFAULT_SEED


def _cmd_observe(args) -> int:
    from .mock.observe import observe
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


def build_parser() -> argparse.ArgumentParser:
    from .mock.observe import PRESETS
    parser = argparse.ArgumentParser(prog="python -m redshift1", description=(
        "redshift-one: rebuild KROSS (KMOS) and ROLES (LDSS3) from raw pixels."))
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
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
    from .kmos import cli as kmos_cli
    kmos_cli.add_parser(sub)
    __import__("redshift1.ldss3.cli", fromlist=["add_parser"]).add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except Redshift1Error as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)   # always one line
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
