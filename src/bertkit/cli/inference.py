"""Commands that use a trained model on text: fill in [MASK]s, recite a poem."""

import argparse

from bertkit.cli.flags import add_model_flag, print_json


def add_fill_mask(sub) -> None:
    p = sub.add_parser(
        "fill-mask",
        help="the most likely tokens for each [MASK] in a text",
        description="Loads a model directory with an MLM head and its tokenizer (e.g. RUN_DIR/final) "
        "and prints, for each [MASK] left to right, the top-k tokens with their probabilities.",
    )
    p.add_argument("text", help='text with one or more [MASK] tokens, e.g. "床前明[MASK]光"')
    add_model_flag(p, "with an MLM head")
    p.add_argument("--top-k", type=int, default=5, metavar="K", help="predictions per [MASK] (default: 5)")
    p.add_argument(
        "--targets",
        nargs="+",
        metavar="TOKEN",
        help="rank only these tokens, each scored over the whole vocabulary, e.g. --targets 月 日 "
        "(after the text); a word not in the vocabulary stands for its first WordPiece, with a warning",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print a JSON list per [MASK] of the fill-mask pipeline\'s records, best first: {"score", '
        '"token" (the id), "token_str", "sequence"}',
    )
    p.set_defaults(func=_fill_mask)


def _fill_mask(args: argparse.Namespace) -> None:
    from bertkit.pipelines import fill_mask, load_for_inference

    predictions = fill_mask(
        *load_for_inference(args.model, dtype=args.dtype), args.text, top_k=args.top_k, targets=args.targets
    )
    if args.json:
        print_json(predictions)
        return
    for i, candidates in enumerate(predictions, start=1):
        print(f"[MASK] {i}: " + "  ".join(f"{c['token_str']} {c['score']:.3f}" for c in candidates))


def add_recite(sub) -> None:
    p = sub.add_parser(
        "recite",
        help="continue a text with a causal language model, e.g. the rest of a poem",
        description="Loads a model directory with a causal language-model head (from `bertkit pretrain "
        "--objective clm`) and its tokenizer, and continues [CLS] PROMPT token by token until [SEP] (a "
        "document's end in training): the most likely token, or a random draw with --sample.",
    )
    p.add_argument("prompt", help='the beginning of the text, e.g. "床前"')
    add_model_flag(p, "with a causal-LM head (bertkit pretrain --objective clm)")
    p.add_argument("--max-new-tokens", type=int, metavar="N", help="(default: 400, or what positions allow)")
    p.add_argument("--sample", action="store_true", dest="do_sample", help="draw tokens at random")
    p.add_argument("--temperature", type=float, default=1.0, metavar="T", help="<1 sharper, >1 flatter")
    p.add_argument("--top-k", type=int, metavar="K", help="draw from the K most likely tokens")
    p.add_argument(
        "--top-p", type=float, metavar="P", help="draw from the likeliest tokens holding probability P"
    )
    p.add_argument("--seed", type=int, metavar="S", help="the same S draws the same text")
    p.add_argument(
        "--explain",
        type=int,
        nargs="?",
        const=5,
        metavar="K",
        help="also show, for each token recited, the model's K most likely tokens there (default K: 5)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"prompt": ..., "text": ...} (with --explain, "steps": [...])',
    )
    p.set_defaults(func=_recite)


def _recite(args: argparse.Namespace) -> None:
    from bertkit.pipelines import load_causal_lm, recite, recite_explained

    options = {
        k: getattr(args, k) for k in ("max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "seed")
    }
    model, tokenizer = load_causal_lm(args.model, args.dtype)
    if args.explain is None:
        text = recite(model, tokenizer, args.prompt, **options)
        if args.json:
            print_json({"prompt": args.prompt, "text": text})
        else:
            print(text)
        return
    explained = recite_explained(model, tokenizer, args.prompt, candidates=args.explain, **options)
    if args.json:
        print_json(explained)
        return
    print(explained["text"])
    for step in explained["steps"]:
        ranked = "  ".join(f"{c['token_str']} {c['score']:.3f}" for c in step["candidates"])
        print(f"{step['token_str']:>6} {step['score']:.3f}   from: {ranked}")


COMMANDS = [add_fill_mask, add_recite]
