"""The `bertkit` command: argument parsing only; every subcommand is one call into the library."""

import argparse
import sys

from bertkit.errors import BertkitError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bertkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


# Each entry adds one subparser and sets `func`, a callable taking the parsed namespace.
SUBCOMMANDS: list = []


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except BertkitError as err:
        print(f"bertkit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bertkit: interrupted", file=sys.stderr)
        return 130
