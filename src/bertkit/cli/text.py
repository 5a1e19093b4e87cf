"""Commands on text: learn a vocabulary, tokenize, prepare a corpus into pre-training shards."""

import argparse

from bertkit.cli.flags import print_json
from bertkit.files import DECODING_ERRORS


def add_train_tokenizer(sub) -> None:
    p = sub.add_parser(
        "train-tokenizer",
        help="learn a WordPiece vocabulary from text files",
        description="Counts BERT's words in UTF-8 text files and merges frequent pieces into a "
        "WordPiece vocabulary (see docs/tokenizer_training.md); writes vocab.txt, tokenizer.json and "
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


def add_tokenize(sub) -> None:
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
        "--vocab",
        required=True,
        metavar="DIR",
        help="tokenizer directory (vocab.txt or tokenizer.json), one of those files, or a Hub id",
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
        choices=DECODING_ERRORS,
        default="strict",
        help="invalid UTF-8 in --input: stop with its byte offset (default) or replace with U+FFFD",
    )
    p.set_defaults(func=_tokenize)


def _tokenize(args: argparse.Namespace) -> None:

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
        print_json({"tokens": enc.tokens, "ids": enc.ids, "offsets": enc.offsets})
    else:
        print(" ".join(map(str, enc.ids)) if args.ids else " ".join(enc.tokens))


def add_prepare(sub) -> None:
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
        help="tokenizer directory (vocab.txt or tokenizer.json) or a Hub id",
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


COMMANDS = [add_train_tokenizer, add_tokenize, add_prepare]
