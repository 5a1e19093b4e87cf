"""The `bertkit` command: argument parsing only; every subcommand is one call into the library.

Each module of this package adds a group of subcommands (its `COMMANDS`: functions that add one subparser
and set `func`, a callable taking the parsed namespace).

The library's errors name its parameters in backquotes (`batch_size`); `main` prints them as this command's
flags (--batch-size), so one message serves both the Python API and the command line.
"""

import argparse
import re
import sys

from bertkit.cli import (
    checkpoints,
    export,
    finetune,
    inference,
    pipelines,
    scoring,
    serve,
    show,
    text,
    training,
)
from bertkit.cli.flags import add_revision_flags, resolve_hub_ids
from bertkit.errors import BertkitError

DESCRIPTION = """\
BERT from scratch: learn a WordPiece vocabulary from your text, prepare it, pre-train a BERT (masked language
model + next-sentence prediction, or a causal language model; on one CPU or many GPUs with torchrun), then use
it: fill in [MASK]s, continue a text (recite), convert and inspect Hugging Face checkpoints. `bertkit demo`
runs it all on the bundled Tang poems. `bertkit COMMAND --help` explains each command."""

# The groups in the order `bertkit --help` lists them.
COMMAND_MODULES = [text, training, finetune, inference, scoring, pipelines, checkpoints, export, show, serve]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bertkit", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        for add in module.COMMANDS:
            add(sub)
    add_revision_flags(parser)
    return parser


def as_flags(message: str, parser: argparse.ArgumentParser) -> str:
    """The library's `parameter` names in `message` written as `parser`'s flags; other quoted names stay."""
    flags = {a.dest: _long_flag(a.option_strings) for a in parser._actions if a.option_strings}
    return re.sub(r"`(\w+)`", lambda m: flags.get(m[1], m[0]), message)


def _long_flag(option_strings: list[str]) -> str:
    """--batch-size of ["-b", "--batch-size"]; --resume of ["--resume", "--no-resume"]."""
    return next((o for o in option_strings if o.startswith("--")), option_strings[0])


def _innermost(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The subparser the arguments were parsed with (for `bertkit show attention`: attention's)."""
    while parser._subparsers is not None:
        action = parser._subparsers._group_actions[0]
        if (name := getattr(args, action.dest, None)) is None:
            break
        parser = action.choices[name]
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        resolve_hub_ids(args)
        return args.func(args) or 0
    except BertkitError as err:
        print(f"bertkit: error: {as_flags(str(err), _innermost(parser, args))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bertkit: interrupted", file=sys.stderr)
        return 130
