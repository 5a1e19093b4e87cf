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


def _add_convert(sub) -> None:
    p = sub.add_parser("convert", help="rewrite a Hugging Face BERT directory as config.json + model.safetensors",
                       description="Reads single or sharded safetensors, or pytorch_model.bin (tensors only, never "
                       "arbitrary pickles), renames old names, checks every shape, writes one model.safetensors "
                       "that bertkit and transformers both load, and copies the other files (tokenizer, ...).")
    p.add_argument("src", help="source directory (config.json + weights)")
    p.add_argument("dst", help="destination directory (created)")
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], help="cast the weights (default: keep)")
    p.set_defaults(func=_convert)


def _convert(args: argparse.Namespace) -> None:
    from bertkit.model.checkpoint import convert_checkpoint, format_conversion

    print(format_conversion(convert_checkpoint(args.src, args.dst, dtype=args.dtype)))


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="config, parameter count and FLOPs per token of a checkpoint directory")
    p.add_argument("directory", help="a Hugging Face BERT directory")
    p.add_argument("--seq-len", type=int, help="sequence length for the FLOPs (default: max_position_embeddings)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_info)


def _info(args: argparse.Namespace) -> None:
    import json

    from bertkit.model.checkpoint import checkpoint_info, format_info

    info = checkpoint_info(args.directory, seq_len=args.seq_len)
    print(json.dumps(info, indent=2) if args.json else format_info(info))


def _add_prepare(sub) -> None:
    p = sub.add_parser("prepare", help="tokenize a corpus into pre-training shards",
                       description="Reads text files (one sentence per line, a blank line between documents), "
                       ".jsonl files with a 'text' field, or directories of them, tokenizes them in parallel "
                       "and writes memory-mapped shards and manifest.json. Rerun the same command to resume.")
    p.add_argument("--input", nargs="+", required=True, metavar="FILE", help="corpus files or directories")
    p.add_argument("--tokenizer", required=True, metavar="DIR", help="tokenizer directory (vocab.txt)")
    p.add_argument("--out", required=True, metavar="DATA_DIR", help="output directory")
    p.add_argument("--heldout-fraction", type=float, default=0.01, metavar="F",
                   help="share of documents held out for evaluation (default: 0.01)")
    p.add_argument("--workers", type=int, metavar="N", help="tokenizing processes (default: all cores)")
    p.set_defaults(func=_prepare)


def _prepare(args: argparse.Namespace) -> None:
    from bertkit.data.prepare import prepare_corpus

    manifest = prepare_corpus(args.input, args.tokenizer, args.out, heldout_fraction=args.heldout_fraction,
                              workers=args.workers)
    print(f"{args.out}: {manifest.summary()}")


def _add_train_tokenizer(sub) -> None:
    p = sub.add_parser("train-tokenizer", help="learn a WordPiece vocabulary from text files",
                       description="Counts BERT's words in UTF-8 text files and merges frequent pieces into a "
                       "WordPiece vocabulary (see docs/tokenizer_training.md); writes vocab.txt and "
                       "tokenizer_config.json, which bertkit and transformers' BertTokenizer load.")
    p.add_argument("--input", nargs="+", required=True, metavar="FILE", help="UTF-8 text files")
    p.add_argument("--vocab-size", type=int, default=30000, metavar="N", help="at most N tokens (default: 30000)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    p.add_argument("--min-frequency", type=int, default=2, metavar="F",
                   help="keep characters and merge pairs seen at least F times (default: 2)")
    p.add_argument("--cased", action="store_true", help="keep case and accents (default: lowercase, as uncased BERT)")
    p.set_defaults(func=_train_tokenizer)


def _train_tokenizer(args: argparse.Namespace) -> None:
    from bertkit.tokenizer.wordpiece import WordPieceTokenizer

    tok = WordPieceTokenizer.train(args.input, vocab_size=args.vocab_size, lowercase=not args.cased,
                                   min_frequency=args.min_frequency)
    print(f"{tok.save_pretrained(args.out)}: {len(tok)}-token vocabulary ({'cased' if args.cased else 'uncased'})")


# Each entry adds one subparser and sets `func`, a callable taking the parsed namespace.
SUBCOMMANDS: list = [_add_convert, _add_info, _add_prepare, _add_train_tokenizer]


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
