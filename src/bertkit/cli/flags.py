"""A run config's fields as command-line flags: one flag per dataclass field, the same name with dashes, and
`--config TOML` for a file of them (flags given override the file)."""

import argparse
import dataclasses
import typing
from typing import Any

from bertkit.errors import InvalidArgumentError


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
    if "bf16" in {field.name for field in dataclasses.fields(config_class)}:
        add_dtype_flag(parser, training=True)


def add_dtype_flag(parser: argparse.ArgumentParser, training: bool = False) -> None:
    """--dtype, the one precision setting (bertkit.precision). A training command's is its config's `bf16`
    in other words (auto / float32 / bfloat16); inference's default is float32 (docs/inference.md says why)."""
    if training:
        parser.add_argument(
            "--dtype",
            default=argparse.SUPPRESS,
            metavar="DTYPE",
            help="auto (bf16 where the device multiplies it fast: a GPU, a CPU with AMX or AVX512-BF16), "
            "float32 or bfloat16 (mixed precision: fp32 weights, bf16 products); --bf16/--no-bf16 likewise "
            "(default: auto)",
        )
        return
    parser.add_argument(
        "--dtype",
        default="float32",
        metavar="DTYPE",
        help="float32, bfloat16 (fast with AMX/AVX512-BF16 or a GPU, emulated and slow elsewhere), int8 "
        "(dynamically quantized linear layers, CPU) or auto (bfloat16 where fast, else float32) "
        "(default: float32)",
    )


def config_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields given as flags (everything in the namespace but the command's own bookkeeping, and
    --revision, which main has applied to the model or tokenizer); a training command's --dtype becomes its
    `bf16`."""
    from bertkit.precision import training_bf16

    settings = {k: v for k, v in vars(args).items() if k not in ("command", "func", "config", "revision")}
    if "dtype" in settings:
        if "bf16" in settings:
            raise InvalidArgumentError("--dtype and --bf16/--no-bf16 both set the precision; give one")
        settings["bf16"] = training_bf16(settings.pop("dtype"))
    return settings
