"""A run config's fields as command-line flags: one flag per dataclass field, the same name with dashes, and
`--config TOML` for a file of them (flags given override the file)."""

import argparse
import dataclasses
import typing
from typing import Any


def add_config_flags(parser: argparse.ArgumentParser, config_class: type) -> None:
    """--config, and one flag per field of `config_class` (booleans as --x / --no-x). Unset flags are left out
    of the namespace (SUPPRESS), so the TOML value or the field's default stands."""
    parser.add_argument("--config", metavar="TOML", help="run settings file; flags given here override it")
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        flag = "--" + field.name.replace("_", "-")
        kinds = typing.get_args(hints[field.name]) or (hints[field.name],)
        if bool in kinds:
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=f"(default: {field.default})",
            )
        else:
            parser.add_argument(
                flag,
                type=kinds[0],
                default=argparse.SUPPRESS,
                metavar=field.name.upper(),
                help=f"(default: {field.default!r})",
            )


def config_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields given as flags (everything in the namespace but the command's own bookkeeping)."""
    return {k: v for k, v in vars(args).items() if k not in ("command", "func", "config")}
