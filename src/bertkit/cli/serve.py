"""`bertkit serve`: the local explorer (HTTP API and page) over a model directory."""

import argparse

from bertkit.cli.flags import add_model_flag
from bertkit.errors import BertkitError


def add_serve(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="a local page and JSON API to explore a model: tokens, [MASK]s, attention, similarity, recite",
        description="Loads a model directory (and, with --lm, a causal LM to recite and score with) and serves "
        "a page at http://HOST:PORT/ and a JSON API (POST /api/tokenize, /api/fill-mask, /api/embed, "
        "/api/similarity, /api/attention, /api/recite, /api/classify, /api/score, /api/next-token; GET "
        "/health). Requests that arrive together are batched. Needs the serve extra: pip install "
        "'bertkit[serve]'. See docs/serve.md.",
    )
    add_model_flag(p)
    add_model_flag(
        p,
        "with a causal-LM head (bertkit pretrain --objective clm), for /api/recite, /api/next-token and "
        "/api/score",
        dtype=False,
        flag="--lm",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="(default: 8000)")
    p.add_argument(
        "--max-batch-size", type=int, default=32, metavar="N", help="requests per model call (default: 32)"
    )
    p.add_argument(
        "--max-wait-ms",
        type=float,
        default=5.0,
        metavar="MS",
        help="how long a request waits for others to batch with (default: 5)",
    )
    p.add_argument(
        "--max-queue",
        type=int,
        default=256,
        metavar="N",
        help="waiting requests past which the server answers 429 (default: 256)",
    )
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> None:
    try:
        from bertkit.serve import ServeConfig, serve
    except ImportError as err:
        raise BertkitError(
            f"serve needs the serve extra ({err.name} is missing): pip install 'bertkit[serve]'"
        ) from None

    options = ("model", "lm", "dtype", "host", "port", "max_batch_size", "max_wait_ms", "max_queue")
    serve(ServeConfig(**{k: getattr(args, k) for k in options}))


COMMANDS = [add_serve]
