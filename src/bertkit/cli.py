"""The `bertkit` command: argument parsing only; every subcommand is one call into the library.

The library's errors name its parameters in backquotes (`batch_size`); `main` prints them as this command's
flags (--batch-size), so one message serves both the Python API and the command line.
"""

import argparse
import re
import sys

from bertkit.errors import BertkitError

DESCRIPTION = """\
BERT from scratch: learn a WordPiece vocabulary from your text, prepare it, pre-train a BERT (masked language
model + next-sentence prediction, or a causal language model; on one CPU or many GPUs with torchrun), then use
it: fill in [MASK]s, continue a text (recite), convert and inspect Hugging Face checkpoints. `bertkit demo`
runs it all on the bundled Tang poems. `bertkit COMMAND --help` explains each command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bertkit", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _add_convert(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="rewrite a Hugging Face BERT directory as config.json + model.safetensors",
        description="Reads single or sharded safetensors, or pytorch_model.bin (tensors only, never "
        "arbitrary pickles), renames old names, checks every shape, writes one model.safetensors "
        "that bertkit and transformers both load, and copies the other files (tokenizer, ...).",
    )
    p.add_argument("src", help="source directory (config.json + weights)")
    p.add_argument("dst", help="destination directory (created)")
    p.add_argument(
        "--dtype", choices=["float32", "float16", "bfloat16"], help="cast the weights (default: keep)"
    )
    p.set_defaults(func=_convert)


def _convert(args: argparse.Namespace) -> None:
    from bertkit.checkpoint.convert import convert_checkpoint, format_conversion

    print(format_conversion(convert_checkpoint(args.src, args.dst, dtype=args.dtype)))


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="config, parameter count and FLOPs per token of a checkpoint directory")
    p.add_argument("directory", help="a Hugging Face BERT directory")
    p.add_argument(
        "--seq-len", type=int, help="sequence length for the FLOPs (default: max_position_embeddings)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_info)


def _info(args: argparse.Namespace) -> None:
    import json

    from bertkit.checkpoint.info import checkpoint_info, format_info

    info = checkpoint_info(args.directory, seq_len=args.seq_len)
    print(json.dumps(info, indent=2) if args.json else format_info(info))


def _add_prepare(sub) -> None:
    p = sub.add_parser(
        "prepare",
        help="tokenize a corpus into pre-training shards",
        description="Reads text files (one sentence per line, a blank line between documents), "
        ".jsonl files with a 'text' field, or directories of them, tokenizes them in parallel "
        "and writes memory-mapped shards and manifest.json. Rerun the same command to resume.",
    )
    p.add_argument(
        "--input", nargs="+", required=True, dest="inputs", metavar="FILE", help="corpus files or directories"
    )
    p.add_argument(
        "--tokenizer",
        required=True,
        dest="tokenizer_dir",
        metavar="DIR",
        help="tokenizer directory (vocab.txt)",
    )
    p.add_argument("--out", required=True, dest="out_dir", metavar="DATA_DIR", help="output directory")
    p.add_argument(
        "--heldout-fraction",
        type=float,
        default=0.01,
        metavar="F",
        help="share of documents held out for evaluation (default: 0.01)",
    )
    p.add_argument("--workers", type=int, metavar="N", help="tokenizing processes (default: all cores)")
    p.set_defaults(func=_prepare)


def _prepare(args: argparse.Namespace) -> None:
    from bertkit.data.prepare import prepare_corpus

    manifest = prepare_corpus(
        args.inputs,
        args.tokenizer_dir,
        args.out_dir,
        heldout_fraction=args.heldout_fraction,
        workers=args.workers,
    )
    print(f"{args.out_dir}: {manifest.summary()}")


def _add_train_tokenizer(sub) -> None:
    p = sub.add_parser(
        "train-tokenizer",
        help="learn a WordPiece vocabulary from text files",
        description="Counts BERT's words in UTF-8 text files and merges frequent pieces into a "
        "WordPiece vocabulary (see docs/tokenizer_training.md); writes vocab.txt and "
        "tokenizer_config.json, which bertkit and transformers' BertTokenizer load.",
    )
    p.add_argument("--input", nargs="+", required=True, metavar="FILE", help="UTF-8 text files")
    p.add_argument(
        "--vocab-size", type=int, default=30000, metavar="N", help="at most N tokens (default: 30000)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    p.add_argument(
        "--min-frequency",
        type=int,
        default=2,
        metavar="F",
        help="keep characters and merge pairs seen at least F times (default: 2)",
    )
    p.add_argument(
        "--cased", action="store_true", help="keep case and accents (default: lowercase, as uncased BERT)"
    )
    p.set_defaults(func=_train_tokenizer)


def _train_tokenizer(args: argparse.Namespace) -> None:
    from bertkit.tokenizer import WordPieceTokenizer

    tok = WordPieceTokenizer.train(
        args.input, vocab_size=args.vocab_size, lowercase=not args.cased, min_frequency=args.min_frequency
    )
    print(
        f"{tok.save_pretrained(args.out)}: {len(tok)}-token vocabulary ({'cased' if args.cased else 'uncased'})"
    )


def _add_pretrain(sub) -> None:
    import dataclasses
    import typing

    from bertkit.train.config import PretrainConfig

    p = sub.add_parser(
        "pretrain",
        help="pre-train BERT on prepared data (MLM + NSP, or --objective clm: a causal LM); works under torchrun",
        description="Trains, logs RUN_DIR/metrics.jsonl, checkpoints RUN_DIR/checkpoints/step-N "
        "and exports RUN_DIR/final (see docs/training.md). Every setting is a flag or a key of the "
        "--config TOML file (same name, underscores); flags override the file.",
    )
    p.add_argument("--config", metavar="TOML", help="run settings file; flags given here override it")
    hints = typing.get_type_hints(PretrainConfig)
    # One flag per PretrainConfig field; SUPPRESS leaves unset flags out, so the TOML value or default stands.
    for field in dataclasses.fields(PretrainConfig):
        flag = "--" + field.name.replace("_", "-")
        kinds = typing.get_args(hints[field.name]) or (hints[field.name],)
        if bool in kinds:
            p.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=f"(default: {field.default})",
            )
        else:
            p.add_argument(
                flag,
                type=kinds[0],
                default=argparse.SUPPRESS,
                metavar=field.name.upper(),
                help=f"(default: {field.default!r})",
            )
    p.set_defaults(func=_pretrain)


def _pretrain(args: argparse.Namespace) -> None:
    from bertkit.train.config import PretrainConfig
    from bertkit.train.loop import pretrain

    flags = {k: v for k, v in vars(args).items() if k not in ("command", "func", "config")}
    final = pretrain(PretrainConfig.from_toml(args.config, **flags))
    if final is not None:  # None in torchrun's other processes: rank 0 reports
        print(f"{final}: the pre-trained model")


def _add_plot(sub) -> None:
    p = sub.add_parser("plot", help="draw a run's loss and accuracy curves to a PNG (needs bertkit[plot])")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a `bertkit pretrain` --out directory")
    p.add_argument("--out", metavar="PNG", help="output image (default: RUN_DIR/loss.png)")
    p.set_defaults(func=_plot)


def _plot(args: argparse.Namespace) -> None:
    from bertkit.train.plot import plot_run

    print(plot_run(args.run_dir, args.out))


def _add_fill_mask(sub) -> None:
    p = sub.add_parser(
        "fill-mask",
        help="the most likely tokens for each [MASK] in a text",
        description="Loads a model directory with an MLM head and its tokenizer (e.g. RUN_DIR/final) "
        "and prints, for each [MASK] left to right, the top-k tokens with their probabilities.",
    )
    p.add_argument("text", help='text with one or more [MASK] tokens, e.g. "床前明[MASK]光"')
    p.add_argument(
        "--model", required=True, metavar="DIR", help="model directory (config.json, weights, vocab.txt)"
    )
    p.add_argument("--top-k", type=int, default=5, metavar="K", help="predictions per [MASK] (default: 5)")
    p.add_argument(
        "--json",
        action="store_true",
        help='print a JSON list per [MASK] of {"token": ..., "score": ...}, best first',
    )
    p.set_defaults(func=_fill_mask)


def _fill_mask(args: argparse.Namespace) -> None:
    import json

    from bertkit.pipelines import fill_mask, load_for_inference

    predictions = fill_mask(*load_for_inference(args.model), args.text, top_k=args.top_k)
    if args.json:
        print(json.dumps(predictions, ensure_ascii=False))
        return
    for i, candidates in enumerate(predictions, start=1):
        print(f"[MASK] {i}: " + "  ".join(f"{c['token']} {c['score']:.3f}" for c in candidates))


def _add_recite(sub) -> None:
    p = sub.add_parser(
        "recite",
        help="continue a text with a causal language model, e.g. the rest of a poem",
        description="Loads a model directory with a causal language-model head (from `bertkit pretrain "
        "--objective clm`) and its tokenizer, and continues [CLS] PROMPT token by token until [SEP] (a "
        "document's end in training): the most likely token, or a random draw with --sample.",
    )
    p.add_argument("prompt", help='the beginning of the text, e.g. "床前"')
    p.add_argument("--model", required=True, metavar="DIR", help="directory: config.json, weights, vocab.txt")
    p.add_argument("--max-new-tokens", type=int, metavar="N", help="(default: 400, or what positions allow)")
    p.add_argument("--sample", action="store_true", dest="do_sample", help="draw tokens at random")
    p.add_argument("--temperature", type=float, default=1.0, metavar="T", help="<1 sharper, >1 flatter")
    p.add_argument("--top-k", type=int, metavar="K", help="draw from the K most likely tokens")
    p.add_argument(
        "--top-p", type=float, metavar="P", help="draw from the likeliest tokens holding probability P"
    )
    p.add_argument("--seed", type=int, metavar="S", help="the same S draws the same text")
    p.add_argument("--json", action="store_true", help='print {"prompt": ..., "text": ...}')
    p.set_defaults(func=_recite)


def _recite(args: argparse.Namespace) -> None:
    import json

    from bertkit.pipelines import load_causal_lm, recite

    options = ("max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "seed")
    text = recite(*load_causal_lm(args.model), args.prompt, **{k: getattr(args, k) for k in options})
    print(json.dumps({"prompt": args.prompt, "text": text}, ensure_ascii=False) if args.json else text)


def _add_demo(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: pre-train BERT on the Tang poems, then fill in masked characters",
        description="Learns a vocabulary from the corpus, prepares it, pre-trains a tiny BERT on the "
        "CPU (resumable: rerun after an interruption), then shows fill-mask and next-sentence "
        "predictions and draws the loss curves.",
    )
    p.add_argument("--corpus", default="data/tang300.txt", help="training text (default: data/tang300.txt)")
    p.add_argument("--out", default="runs/demo", metavar="DIR", help="where every stage's output goes")
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        metavar="S",
        help="pre-training steps (default: the demo's own, a few minutes on 2 cores)",
    )
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> None:
    from bertkit.demo import run_demo

    steps = {} if args.max_steps is None else {"max_steps": args.max_steps}
    run_demo(args.corpus, args.out, **steps)


def _add_tokenize(sub) -> None:
    p = sub.add_parser(
        "tokenize",
        help="tokenize text (tokens, ids or JSON) or stream a file to ids",
        description="Tokenizes TEXT and prints its WordPiece tokens (or --ids, or --json with ids, "
        "tokens and character offsets), or streams --input FILE, any size, into --output IDS.npy "
        "(int32 ids of all lines, no [CLS]/[SEP]) plus IDS.offsets.npy (line i is "
        "ids[offsets[i]:offsets[i+1]]), with a progress bar.",
    )
    p.add_argument("text", nargs="?", help="the text to tokenize (or use --input)")
    p.add_argument(
        "--vocab", required=True, metavar="DIR", help="tokenizer directory (vocab.txt) or a vocab.txt"
    )
    p.add_argument("--ids", action="store_true", help="print ids instead of tokens")
    p.add_argument("--json", action="store_true", help="print one JSON object: tokens, ids, offsets")
    p.add_argument("--no-special", action="store_true", help="leave out [CLS] and [SEP]")
    p.add_argument(
        "--input",
        dest="input_path",
        metavar="FILE",
        help="a UTF-8 text file to encode line by line (needs --output)",
    )
    p.add_argument("--output", dest="output_path", metavar="IDS.npy", help="where --input's ids go")
    p.add_argument(
        "--errors",
        choices=["strict", "replace"],
        default="strict",
        help="invalid UTF-8 in --input: stop with its byte offset (default) or replace with U+FFFD",
    )
    p.set_defaults(func=_tokenize)


def _tokenize(args: argparse.Namespace) -> None:
    import json

    from bertkit.errors import InvalidArgumentError
    from bertkit.tokenizer import WordPieceTokenizer, encode_file

    if (args.text is None) == (args.input_path is None):
        raise InvalidArgumentError("give either TEXT or --input FILE")
    if args.input_path is not None and args.output_path is None:
        raise InvalidArgumentError("--input needs --output IDS.npy")
    tok = WordPieceTokenizer.from_pretrained(args.vocab)
    if args.input_path is not None:
        ids_path, offsets_path = encode_file(tok, args.input_path, args.output_path, errors=args.errors)
        print(f"{ids_path}, {offsets_path}")
        return
    enc = tok.encode(args.text, add_special_tokens=not args.no_special)
    if args.json:
        print(json.dumps({"tokens": enc.tokens, "ids": enc.ids, "offsets": enc.offsets}, ensure_ascii=False))
    else:
        print(" ".join(map(str, enc.ids)) if args.ids else " ".join(enc.tokens))


# Each entry adds one subparser and sets `func`, a callable taking the parsed namespace.
SUBCOMMANDS: list = [
    _add_convert,
    _add_info,
    _add_prepare,
    _add_train_tokenizer,
    _add_pretrain,
    _add_plot,
    _add_fill_mask,
    _add_recite,
    _add_demo,
    _add_tokenize,
]


def as_flags(message: str, parser: argparse.ArgumentParser) -> str:
    """The library's `parameter` names in `message` written as `parser`'s flags; other quoted names stay."""
    flags = {a.dest: _long_flag(a.option_strings) for a in parser._actions if a.option_strings}
    return re.sub(r"`(\w+)`", lambda m: flags.get(m[1], m[0]), message)


def _long_flag(option_strings: list[str]) -> str:
    """--batch-size of ["-b", "--batch-size"]; --resume of ["--resume", "--no-resume"]."""
    return next((o for o in option_strings if o.startswith("--")), option_strings[0])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except BertkitError as err:
        command = parser._subparsers._group_actions[0].choices[args.command]
        print(f"bertkit: error: {as_flags(str(err), command)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bertkit: interrupted", file=sys.stderr)
        return 130
