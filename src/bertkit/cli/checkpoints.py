"""Commands on checkpoint directories: convert Hugging Face files, describe a model."""

import argparse

from bertkit.cli.flags import print_json
from bertkit.export.convert import CAST_DTYPES


def add_convert(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="rewrite a Hugging Face BERT directory as config.json + model.safetensors",
        description="Reads single or sharded safetensors, or pytorch_model.bin (tensors only, never "
        "arbitrary pickles), renames old names, checks every shape, writes one model.safetensors "
        "that bertkit and transformers both load, and copies the other files (tokenizer, ...).",
    )
    p.add_argument("src", help="source directory (config.json + weights)")
    p.add_argument("dst", help="destination directory (created)")
    p.add_argument("--dtype", choices=CAST_DTYPES, help="cast the weights (default: keep)")
    p.set_defaults(func=_convert)


def _convert(args: argparse.Namespace) -> None:
    from bertkit.export import convert_checkpoint, format_conversion

    print(format_conversion(convert_checkpoint(args.src, args.dst, dtype=args.dtype)))


def add_info(sub) -> None:
    p = sub.add_parser("info", help="config, parameter count and FLOPs per token of a checkpoint directory")
    p.add_argument("directory", help="a Hugging Face BERT directory")
    p.add_argument(
        "--seq-len", type=int, help="sequence length for the FLOPs (default: max_position_embeddings)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_info)


def _info(args: argparse.Namespace) -> None:
    from bertkit.checkpoint.info import checkpoint_info, format_info

    info = checkpoint_info(args.directory, seq_len=args.seq_len)
    if args.json:
        print_json(info, indent=2)
    else:
        print(format_info(info))


COMMANDS = [add_convert, add_info]
