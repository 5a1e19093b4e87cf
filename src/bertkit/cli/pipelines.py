"""One-liners over `bertkit.pipeline(...)`: embed a file, a similarity matrix, and classify / tag / answer /
choose printing JSON."""

import argparse

from bertkit.cli.flags import add_model_flag, print_json
from bertkit.pipelines.tagging import STRATEGIES


def _max_length_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-length",
        type=int,
        metavar="N",
        help="tokens per input (default: the model's fine-tuning setting, else its positions up to 512)",
    )


def add_embed(sub) -> None:
    p = sub.add_parser(
        "embed",
        help="sentence vectors of every line of a text file, into a .npy matrix",
        description="Embeds each line of a UTF-8 file (one text per line) with the model's sentence pooling "
        "(a sentence-transformers directory's modules.json, else mean pooling) into an (N, H) float32 .npy "
        "file, streamed in chunks with a progress bar.",
    )
    add_model_flag(p, "e.g. sentence-transformers/all-MiniLM-L6-v2")
    p.add_argument("--input", required=True, metavar="TXT", help="one text per line")
    p.add_argument("--output", required=True, metavar="NPY", help="the (lines, hidden) matrix")
    p.add_argument(
        "--batch-size", type=int, default=32, metavar="N", help="texts per forward pass (default: 32)"
    )
    p.add_argument("--chunk-size", type=int, default=4096, metavar="N", help="lines read at a time")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_embed)


def _embed(args: argparse.Namespace) -> None:
    from bertkit.pipelines import embed_file, pipeline

    encoder = pipeline("sentence-embedding", args.model, dtype=args.dtype, batch_size=args.batch_size)
    rows, dim = embed_file(encoder, args.input, args.output, args.chunk_size, progress=not args.quiet)
    print(f"wrote {rows} x {dim} vectors to {args.output}")


def add_similarity(sub) -> None:
    p = sub.add_parser(
        "similarity",
        help="the cosine similarity of texts' sentence vectors",
        description="Prints the matrix of cosine similarities between the texts' sentence vectors, e.g. "
        'bertkit similarity --model DIR "cherry" "digital" "information".',
    )
    p.add_argument("texts", nargs="+", metavar="TEXT", help="two or more words or sentences")
    add_model_flag(p)
    p.add_argument("--json", action="store_true", help="print the matrix as a JSON list of rows")
    p.set_defaults(func=_similarity)


def _similarity(args: argparse.Namespace) -> None:
    from bertkit.pipelines import pipeline, similarity

    matrix = similarity(pipeline("sentence-embedding", args.model, dtype=args.dtype), args.texts)
    if args.json:
        print_json(matrix.round(6).tolist())
        return
    width = max(len(t) for t in args.texts)
    print(" " * width + "".join(f"  {t[:12]:>12}" for t in args.texts))
    for text, row in zip(args.texts, matrix, strict=True):
        print(f"{text:>{width}}" + "".join(f"  {v:12.4f}" for v in row))


def add_classify(sub) -> None:
    p = sub.add_parser(
        "classify",
        help="the label of a text (or a text pair), as JSON",
        description='Prints {"label": ..., "score": ...} (a list of them with --top-k) for the text, or the pair '
        "TEXT PAIR, with a sequence-classification model.",
    )
    p.add_argument("text")
    p.add_argument("pair", nargs="?", help="the second text of a pair (e.g. NLI's hypothesis)")
    add_model_flag(p)
    p.add_argument("--top-k", type=int, metavar="K", help="the K best labels (default: the best one)")
    _max_length_flag(p)
    p.set_defaults(func=_classify)


def _classify(args: argparse.Namespace) -> None:
    from bertkit.pipelines import pipeline

    options = {} if args.top_k is None else {"top_k": args.top_k}
    text = args.text if args.pair is None else (args.text, args.pair)
    classifier = pipeline("text-classification", args.model, dtype=args.dtype, max_length=args.max_length)
    print_json(classifier(text, **options))


def add_tag(sub) -> None:
    p = sub.add_parser(
        "tag",
        help="the entities in a text (named entities, tags), as JSON",
        description="Prints the entities a token-classification model finds in the text: "
        '[{"entity_group", "score", "word", "start", "end"}, ...] (per token with --aggregation none).',
    )
    p.add_argument("text")
    add_model_flag(p)
    p.add_argument(
        "--aggregation",
        dest="aggregation_strategy",
        default="simple",
        choices=STRATEGIES,
        help="how tokens become entities (default: simple)",
    )
    p.add_argument(
        "--stride",
        type=int,
        metavar="N",
        help="read a text longer than the model's positions in windows overlapping by N tokens "
        "(default: cut it there)",
    )
    _max_length_flag(p)
    p.set_defaults(func=_tag)


def _tag(args: argparse.Namespace) -> None:
    from bertkit.pipelines import pipeline

    tagger = pipeline(
        "token-classification",
        args.model,
        dtype=args.dtype,
        aggregation_strategy=args.aggregation_strategy,
        stride=args.stride,
        max_length=args.max_length,
    )
    print_json(tagger(args.text))


def add_answer(sub) -> None:
    p = sub.add_parser(
        "answer",
        help="the answer to a question, a span of a context, as JSON",
        description='Prints {"answer", "score", "start", "end"} (start/end: character positions in the '
        "context) from a question-answering model; long contexts are read in overlapping windows.",
    )
    p.add_argument("question")
    p.add_argument("--context", required=True, help="the text holding the answer")
    add_model_flag(p)
    p.add_argument("--top-k", type=int, default=1, metavar="K", help="the K best answers (default: 1)")
    p.add_argument(
        "--allow-no-answer",
        action="store_true",
        dest="handle_impossible_answer",
        help="SQuAD-2 models: the empty answer may win",
    )
    p.add_argument(
        "--max-length",
        type=int,
        dest="max_seq_len",
        metavar="N",
        help="tokens per window (default: the model's fine-tuning setting, else 384)",
    )
    p.add_argument(
        "--doc-stride",
        type=int,
        metavar="N",
        help="tokens a window shares with the next (default: the model's fine-tuning setting, else 128)",
    )
    p.set_defaults(func=_answer)


def _answer(args: argparse.Namespace) -> None:
    from bertkit.pipelines import pipeline

    reader = pipeline("question-answering", args.model, dtype=args.dtype)
    print_json(
        reader(
            question=args.question,
            context=args.context,
            top_k=args.top_k,
            handle_impossible_answer=args.handle_impossible_answer,
            max_seq_len=args.max_seq_len,
            doc_stride=args.doc_stride,
        )
    )


def add_choose(sub) -> None:
    p = sub.add_parser(
        "choose",
        help="the best of several endings for a text, as JSON",
        description='Prints {"choice": index, "scores": [...]} from a multiple-choice model: which CHOICE best '
        "follows (or answers) TEXT.",
    )
    p.add_argument("text")
    p.add_argument("choices", nargs="+", metavar="CHOICE", help="two or more candidates")
    add_model_flag(p)
    _max_length_flag(p)
    p.set_defaults(func=_choose)


def _choose(args: argparse.Namespace) -> None:
    from bertkit.pipelines import pipeline

    chooser = pipeline("multiple-choice", args.model, dtype=args.dtype, max_length=args.max_length)
    print_json(chooser((args.text, args.choices)))


COMMANDS = [add_embed, add_similarity, add_classify, add_tag, add_answer, add_choose]
