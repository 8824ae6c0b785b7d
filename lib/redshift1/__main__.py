"""Command line of the compendium: ``python -m redshift1 SUBCOMMAND`` (or ``redshift1``).

Each subcommand lives beside the code it drives and registers itself with an ``add_parser``
function; :data:`SUBCOMMANDS` says where, and the modules are imported only when the parser is
built (so this module depends on no layer, the mock observatory included).

Bad input ends in one line naming the file and what is wrong, and a non-zero exit
status; no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import Redshift1Error

#: subcommand -> "module:function" that adds its parser, in the order ``--help`` lists them
SUBCOMMANDS = {
    "observe": "redshift1.mock.cli:add_parser",
    "fit-cube": "redshift1.kmos.cli:add_parser",
    "detect-lines": "redshift1.ldss3.cli:add_parser",
}


def _resolve(target: str):
    """The function named by ``"module:function"``."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m redshift1`` with every subcommand of :data:`SUBCOMMANDS`.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(prog="python -m redshift1", description=(
        "redshift-one: rebuild KROSS (KMOS) and ROLES (LDSS3) from raw pixels."))
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for target in SUBCOMMANDS.values():
        _resolve(target)(sub)
    return parser


def main(argv=None) -> int:
    """Run one subcommand.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The subcommand's status; 0 after printing the help when none is given, 2 after a
        one-line error on bad input, 130 when interrupted.
    """
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
