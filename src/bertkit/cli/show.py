"""`bertkit show attention|positions|embeddings|probabilities`: pictures of what a model does, written as PNG
files."""

import argparse

from bertkit.cli.flags import add_model_flag
from bertkit.pipelines.score import PLL_METRICS
from bertkit.viz.embeddings import VECTORS


def add_show(sub) -> None:
    p = sub.add_parser(
        "show",
        help="pictures of a model: attention, position encodings, word similarities, token probabilities",
        description="Draws what a model does into a PNG file (needs matplotlib: pip install 'bertkit[plot]'). "
        "Chinese labels need a CJK font: apt-get install fonts-noto-cjk, or pip install mplfonts.",
    )
    pictures = p.add_subparsers(dest="picture", required=True, metavar="PICTURE")

    a = pictures.add_parser(
        "attention",
        help="the attention weights of a text, every layer and head",
        description="softmax(QK^T/sqrt(d_k)) of [CLS] TEXT [SEP] in each layer and head, a heatmap each with "
        "the WordPiece tokens on both axes (row: the token attending; column: the token attended to). A "
        "causal model shows its triangle. Layers and heads are numbered from 0.",
    )
    a.add_argument("text", help='e.g. "床前明月光，疑是地上霜。"')
    add_model_flag(a, "any BERT checkpoint", dtype=False)
    a.add_argument("--layer", type=int, metavar="L", help="only this layer (default: all)")
    a.add_argument("--head", type=int, metavar="H", help="only this head (default: all)")
    a.add_argument("--out", default="attention.png", metavar="PNG", help="(default: attention.png)")
    a.set_defaults(func=_attention)

    s = pictures.add_parser(
        "positions",
        help="the position encodings and how alike positions are",
        description="The table added to each token for its position (learned, or sinusoidal when the config "
        "says so) as a heatmap, and the cosine similarity of every pair of positions.",
    )
    add_model_flag(s, "any BERT checkpoint", dtype=False)
    s.add_argument("--max-positions", type=int, metavar="N", help="only the first N positions (default: all)")
    s.add_argument("--out", default="positions.png", metavar="PNG", help="(default: positions.png)")
    s.set_defaults(func=_positions)

    e = pictures.add_parser(
        "embeddings",
        help="the cosine similarity and a PCA projection of some words' vectors",
        description="One vector per word: by default the word alone through the encoder, mean-pooled over its "
        "tokens (what sentence-transformers gives); --vectors input: its input embedding, averaged over its "
        "WordPieces. Draws their cosine-similarity matrix and their 2-D PCA projection. A word not in the "
        "vocabulary is split into WordPieces; the picture and the output say how.",
    )
    e.add_argument("words", nargs="+", metavar="WORD", help="e.g. cherry digital information")
    add_model_flag(e, "any BERT checkpoint", dtype=False)
    e.add_argument("--vectors", choices=VECTORS, default=VECTORS[0], help=f"(default: {VECTORS[0]})")
    e.add_argument("--out", default="embeddings.png", metavar="PNG", help="(default: embeddings.png)")
    e.set_defaults(func=_embeddings)

    b = pictures.add_parser(
        "probabilities",
        help="how likely a language model finds each token of a text",
        description="A bar per token of TEXT: a causal model's P(token | the tokens before it) (the chain "
        "rule; the closing [SEP] too), or a masked model's pseudo-log-likelihood terms, P(token | the rest, "
        "it masked). The title gives the text's log-probability and perplexity; above a bar, the model's own "
        "first choice when it is another token. Needs a model with a language-model head.",
    )
    b.add_argument("text", help='e.g. "床前明月光，疑是地上霜。"')
    add_model_flag(b, "with a causal or masked language-model head", dtype=False)
    b.add_argument(
        "--pll",
        default=PLL_METRICS[0],
        metavar="METRIC",
        help="a masked model's pseudo-log-likelihood: within_word_l2r also masks the later pieces of the "
        "token's word, original masks the token alone (default: within_word_l2r)",
    )
    b.add_argument("--out", default="probabilities.png", metavar="PNG", help="(default: probabilities.png)")
    b.set_defaults(func=_probabilities)


def _attention(args: argparse.Namespace) -> None:
    from bertkit.viz import attention_picture

    print(attention_picture(args.model, args.text, args.out, layer=args.layer, head=args.head))


def _positions(args: argparse.Namespace) -> None:
    from bertkit.viz import positions_picture

    print(positions_picture(args.model, args.out, max_positions=args.max_positions))


def _embeddings(args: argparse.Namespace) -> None:
    from bertkit.viz import draw_embeddings, load_encoder, word_vectors

    found = word_vectors(*load_encoder(args.model), args.words, args.vectors)
    for note in found.notes:
        print(note)
    print(draw_embeddings(found, args.out, args.model))


def _probabilities(args: argparse.Namespace) -> None:
    from bertkit.viz import probabilities_picture

    print(probabilities_picture(args.model, args.text, args.out, pll=args.pll))


COMMANDS = [add_show]
