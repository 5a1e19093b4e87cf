"""The flags and output every command shares, declared once: a dataclass's fields as flags (a run config's,
with `--config TOML` for a file of them; the reading options of a task file), the model a command reads (a
directory or Hub id, --revision, --dtype), and JSON printing.

Choices come from the library's own constants, so the command line accepts what the library does (--dtype is
checked by the library, whose error names the flag)."""

import argparse
import dataclasses
import json
import typing
from typing import Any

from bertkit.errors import InvalidArgumentError

MODEL_HELP = "a model directory (config.json, weights, vocab.txt or tokenizer.json) or a Hugging Face Hub id"
# The arguments that name a model or tokenizer to read, each of which may be a Hugging Face Hub id ("org/name"):
# a command taking one also takes --revision, and main resolves them to local directories before it runs.
HUB_ARGUMENTS = ("model", "tokenizer", "tokenizer_dir", "vocab", "lm", "src", "directory")


def add_config_flags(parser: argparse.ArgumentParser, config_class: type) -> None:
    """--config, and one flag per field of `config_class` (booleans as --x / --no-x). Unset flags are left out
    of the namespace (SUPPRESS), so the TOML value or the field's default stands."""
    parser.add_argument("--config", metavar="TOML", help="run settings file; flags given here override it")
    add_field_flags(parser, config_class, default=argparse.SUPPRESS)
    if "bf16" in {field.name for field in dataclasses.fields(config_class)}:
        add_dtype_flag(parser, training=True)


def add_field_flags(parser: argparse.ArgumentParser, cls: type, default: Any = None) -> None:
    """One flag per field of the dataclass `cls`, the same name with dashes (booleans as --x / --no-x), its
    help the field's `metadata["help"]`, else its default. `default`: what an unset flag leaves in the
    namespace (SUPPRESS: nothing, so a TOML value or the field's default stands)."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        kinds = typing.get_args(hints[field.name]) or (hints[field.name],)
        shown = field.metadata.get("help", f"(default: {field.default!r})")
        if bool in kinds:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=shown)
        else:
            kind = next((k for k in kinds if k in (int, float, str)), str)  # a list or tuple: as its text
            parser.add_argument(flag, type=kind, default=default, metavar=field.name.upper(), help=shown)


def add_model_flag(
    parser: argparse.ArgumentParser, holds: str = "", dtype: bool = True, flag: str = "--model"
) -> None:
    """The model a command reads (`--model`, or `flag`): a directory or Hub id (--revision is added to every
    such command: add_revision_flags); `holds` says what it must hold. With `dtype`, --dtype too."""
    parser.add_argument(
        flag, required=flag == "--model", metavar="DIR", help=MODEL_HELP + (f", {holds}" if holds else "")
    )
    if dtype:
        add_dtype_flag(parser)


def add_revision_flags(parser: argparse.ArgumentParser) -> None:
    """--revision on every command (and subcommand) that reads a model or tokenizer (HUB_ARGUMENTS)."""
    if parser._subparsers is not None:
        for command in parser._subparsers._group_actions[0].choices.values():
            add_revision_flags(command)
    elif any(action.dest in HUB_ARGUMENTS for action in parser._actions):
        parser.add_argument(
            "--revision",
            metavar="REV",
            help="the branch, tag or commit of a Hugging Face Hub id (org/name) given as the model or "
            "tokenizer (default: main)",
        )


def resolve_hub_ids(args: argparse.Namespace) -> None:
    """Each model or tokenizer given as a Hub id, replaced by its local snapshot directory (see bertkit.hub),
    so that the command reads a directory once, as it reads any other."""
    from bertkit.hub import is_hub_id, resolve_pretrained

    for name in HUB_ARGUMENTS:
        value = getattr(args, name, None)
        if is_hub_id(value):
            setattr(args, name, str(resolve_pretrained(value, args.revision)))


def print_json(value: Any, indent: int | None = None) -> None:
    """`value` as JSON on one line (or indented), text as it is (no \\u escapes)."""
    print(json.dumps(value, ensure_ascii=False, indent=indent))


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
