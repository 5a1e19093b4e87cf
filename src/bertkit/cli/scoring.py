"""What a language model computes: score texts, a corpus perplexity, the next token's candidates."""

import argparse

from bertkit.cli.flags import add_model_flag, print_json
from bertkit.errors import InvalidArgumentError
from bertkit.pipelines.score import PLL_METRICS

LM_HEADS = "with a causal-LM head (bertkit pretrain --objective clm) or a masked-LM head"


def _scoring_flags(p: argparse.ArgumentParser) -> None:
    add_model_flag(p, LM_HEADS)
    p.add_argument(
        "--pll",
        default=PLL_METRICS[0],
        choices=PLL_METRICS,
        help="a masked model's pseudo-log-likelihood: mask each token alone (original) or with the later "
        "pieces of its word (within_word_l2r, the default)",
    )
    p.add_argument(
        "--stride",
        type=int,
        metavar="N",
        help="a causal model reads a text longer than its positions in windows N tokens apart "
        "(default: half a window)",
    )
    p.add_argument(
        "--no-end",
        dest="score_end",
        action="store_false",
        help="a causal model: do not score the end of each text ([SEP])",
    )
    p.add_argument(
        "--batch-size", type=int, default=32, metavar="N", help="rows per forward pass (default: 32)"
    )


def _scorer(args: argparse.Namespace, **options):
    from bertkit.pipelines import pipeline

    return pipeline(
        "text-scoring",
        args.model,
        batch_size=args.batch_size,
        pll=args.pll,
        stride=args.stride,
        score_end=args.score_end,
        dtype=args.dtype,
        **options,
    )


def add_score(sub) -> None:
    p = sub.add_parser(
        "score",
        help="how likely texts are under a language model: log-probability and perplexity",
        description="Prints each text's log-probability (natural log) and perplexity under the model: a "
        "causal model's chain of P(token | the tokens before it), or a masked model's pseudo-log-likelihood "
        "(each token masked in turn). --json prints one object per text with every token's log-probability; "
        "--input FILE --output FILE.jsonl scores a file, one text per line, with a progress bar.",
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help='e.g. "床前明月光" "床前月明光"')
    _scoring_flags(p)
    p.add_argument("--input", metavar="TXT", help="score every line of this file (with --output)")
    p.add_argument("--output", metavar="JSONL", help="one JSON object per line of --input")
    p.add_argument("--per-token", action="store_true", help="also print each token's log-probability")
    p.add_argument(
        "--alternatives",
        type=int,
        default=0,
        metavar="K",
        help="with --per-token or --json: the K most likely tokens in each token's place",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per text, with all the fields")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_score)


def _score(args: argparse.Namespace) -> None:
    from bertkit.pipelines import score_file

    if bool(args.texts) == (args.input is not None) or (args.input is None) != (args.output is None):
        raise InvalidArgumentError("give either TEXT... or both `input` and `output`")
    scorer = _scorer(args, top_k_alternatives=args.alternatives)
    if args.input is not None:
        count = score_file(scorer, args.input, args.output, progress=not args.quiet)
        print(f"wrote {count} scored texts to {args.output}")
        return
    records = scorer(args.texts)
    if args.json:
        for text, record in zip(args.texts, records, strict=True):
            print_json({"text": text, **record})
        return
    print(f"{'log_prob':>10} {'mean':>8} {'perplexity':>11} {'tokens':>6}  text")
    for text, r in zip(args.texts, records, strict=True):
        n = len(r["tokens"])
        print(f"{r['log_prob']:10.3f} {r['mean_log_prob']:8.3f} {r['perplexity']:11.3f} {n:6d}  {text}")
        if args.per_token:
            alternatives = r.get("alternatives") or [[]] * n
            for token, log_prob, ranked in zip(r["tokens"], r["token_log_probs"], alternatives, strict=True):
                line = f"{'':>10} {log_prob:8.3f}  {token}"
                if ranked:
                    line += "    top: " + "  ".join(f"{c['token_str']} {c['score']:.3f}" for c in ranked)
                print(line)


def add_perplexity(sub) -> None:
    p = sub.add_parser(
        "perplexity",
        help="one perplexity of a held-out text file under a language model",
        description="Prints the perplexity of a UTF-8 file under the model, token-weighted: exp(-(the "
        "log-probabilities of all its tokens) / (their number)). Every non-blank line is one text (blank "
        "lines may separate poems); a masked model gives the pseudo-perplexity.",
    )
    p.add_argument("--input", required=True, metavar="TXT", help="held-out text, one text per line")
    _scoring_flags(p)
    p.add_argument(
        "--json", action="store_true", help="print perplexity, log_prob, mean_log_prob, tokens, texts"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_perplexity)


def _perplexity(args: argparse.Namespace) -> None:
    from bertkit.pipelines import file_perplexity

    result = file_perplexity(_scorer(args), args.input, progress=not args.quiet)
    if args.json:
        print_json(result)
        return
    print(
        f"perplexity {result['perplexity']:.3f} ({result['tokens']} tokens in {result['texts']} texts, "
        f"mean log-probability {result['mean_log_prob']:.4f})"
    )


def add_next(sub) -> None:
    p = sub.add_parser(
        "next",
        help="the most likely next tokens after a text, under a causal language model",
        description="Prints the K most likely tokens to follow TEXT and their probabilities (the model reads "
        "[CLS] TEXT), e.g. bertkit next --model runs/demo/lm/final 床前.",
    )
    p.add_argument("text")
    add_model_flag(p, "with a causal-LM head")
    p.add_argument("--top-k", type=int, default=5, metavar="K", help="candidates to print (default: 5)")
    p.add_argument("--json", action="store_true", help='a JSON list of {"token", "token_str", "score"}')
    p.set_defaults(func=_next)


def _next(args: argparse.Namespace) -> None:
    from bertkit.pipelines import pipeline

    ranked = pipeline("next-token", args.model, top_k=args.top_k, dtype=args.dtype)(args.text)
    if args.json:
        print_json(ranked)
        return
    for rank, c in enumerate(ranked, start=1):
        print(f"{rank:3d}  {c['token_str']}  {c['score']:.4f}")


COMMANDS = [add_score, add_perplexity, add_next]
