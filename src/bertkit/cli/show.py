"""`bertkit show attention|positions|embeddings`: pictures of what a model does, written as PNG files."""

import argparse

MODEL_HELP = "model directory (config.json, weights, vocab.txt), any BERT checkpoint"


def add_show(sub) -> None:
    p = sub.add_parser(
        "show",
        help="pictures of a model: attention weights, position encodings, word similarities",
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
    a.add_argument("--model", required=True, metavar="DIR", help=MODEL_HELP)
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
    s.add_argument("--model", required=True, metavar="DIR", help=MODEL_HELP)
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
    e.add_argument("--model", required=True, metavar="DIR", help=MODEL_HELP)
    e.add_argument(
        "--vectors", choices=("contextual", "input"), default="contextual", help="(default: contextual)"
    )
    e.add_argument("--out", default="embeddings.png", metavar="PNG", help="(default: embeddings.png)")
    e.set_defaults(func=_embeddings)


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


COMMANDS = [add_show]
