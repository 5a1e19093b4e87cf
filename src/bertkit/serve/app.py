"""The HTTP API and the explorer page: a Starlette app over an Explorer and a DynamicBatcher.

Every answer is JSON, errors included (`{"error": "..."}`): 400 malformed JSON, 404 an endpoint this model
cannot serve or a scorer it has not loaded (the reason says why), 413 a text or list over the limits, 422 a
missing or wrong field or an input the model rejects, 429 a full queue (with Retry-After). The page is static
files from this package.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bertkit.errors import BertkitError
from bertkit.pipelines.score import PLL_METRICS
from bertkit.serve.batcher import DynamicBatcher, QueueFullError
from bertkit.serve.explorer import SCORERS, Explorer
from bertkit.serve.requests import (
    Limits,
    RequestError,
    bool_field,
    choice_field,
    int_field,
    number_field,
    parse_body,
    text_field,
    texts_field,
)

STATIC = Path(__file__).parent / "static"
# The tutorial the page links to (`/tutorial`, `/tutorial?lang=zh`): in the source tree, beside src/.
DOCS = Path(__file__).resolve().parents[3] / "docs"
GUIDES = {"en": "tutorial.md", "zh": "tutorial.zh.md"}
logger = logging.getLogger("bertkit.serve")


@dataclass
class ServeConfig:
    """Where the models are, how requests are batched, and how much one request may ask for."""

    model: str
    lm: str | None = None
    dtype: str = "float32"  # the models' precision: float32, bfloat16, int8 or auto (bertkit.precision)
    host: str = "127.0.0.1"  # loopback only: the explorer is for this machine; --host 0.0.0.0 opens it up
    port: int = 8000
    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_queue: int = 256
    limits: Limits = field(default_factory=Limits)


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def create_app(config: ServeConfig, explorer: Explorer | None = None) -> Starlette:
    """The app for `config` (models loaded now, so a bad directory fails before the server starts)."""
    batcher = DynamicBatcher(config.max_batch_size, config.max_wait_ms, config.max_queue)  # checked first
    explorer = explorer or Explorer(config.model, config.lm, config.dtype)
    limits = config.limits
    n_layers, n_heads = explorer.config.num_hidden_layers, explorer.config.num_attention_heads

    async def tokenize(data: dict[str, Any]) -> dict[str, Any]:
        return await batcher.submit(explorer.tokenize, text_field(data, "text", limits))

    async def fill_mask(data: dict[str, Any]) -> dict[str, Any]:
        text = text_field(data, "text", limits)
        top_k = int_field(data, "top_k", 5, 1, limits.max_top_k)
        # A tuple: the batcher groups requests by their options, which must be hashable.
        targets = tuple(texts_field(data, "targets", limits)) if "targets" in data else None
        masks = await batcher.submit(explorer.fill_mask, text, top_k=top_k, targets=targets)
        return {"masks": masks}

    async def embed(data: dict[str, Any]) -> dict[str, Any]:
        texts = texts_field(data, "texts", limits)
        return {"embeddings": await batcher.submit(explorer.embed, texts)}

    async def similarity(data: dict[str, Any]) -> dict[str, Any]:
        words = texts_field(data, "words", limits)
        return {"words": words, **await batcher.submit(explorer.similarity, words)}

    async def attention(data: dict[str, Any]) -> dict[str, Any]:
        text = text_field(data, "text", limits)
        layer = int_field(data, "layer", None, 0, n_layers - 1)
        head = int_field(data, "head", None, 0, n_heads - 1)
        answer = await batcher.submit(explorer.attention, text, layer=layer, head=head)
        return {"layers": n_layers, "heads": n_heads, **answer}

    async def recite(data: dict[str, Any]) -> dict[str, Any]:
        prompt = text_field(data, "prompt", limits)
        options = {
            "max_new_tokens": int_field(data, "max_new_tokens", None, 1, limits.max_new_tokens),
            "do_sample": bool_field(data, "do_sample", False),
            "temperature": number_field(data, "temperature", 1.0),
            "top_k": int_field(data, "top_k", None, 1, 1_000_000),
            "top_p": number_field(data, "top_p", None),
            "seed": int_field(data, "seed", None, 0, 2**63 - 1),
        }
        return {"prompt": prompt, "text": await batcher.submit(explorer.recite, prompt, **options)}

    async def classify(data: dict[str, Any]) -> dict[str, Any]:
        return {"labels": await batcher.submit(explorer.classify, text_field(data, "text", limits))}

    async def score(data: dict[str, Any]) -> dict[str, Any]:
        text = text_field(data, "text", limits)
        name = choice_field(data, "model", next(iter(explorer.scorers)), SCORERS)
        if name not in explorer.scorers:
            raise RequestError(404, f"`model` {name!r} is not loaded: {explorer.no_scorer[name]}")
        top_k = int_field(data, "top_k", 5, 0, limits.max_top_k)
        pll = choice_field(data, "pll", None, PLL_METRICS)
        scorer = explorer.scorers[name]
        if pll is not None and scorer.causal:
            raise RequestError(
                422, "`pll` is a masked model's pseudo-log-likelihood; the causal LM scores by the chain rule"
            )
        record = await batcher.submit(explorer.score, text, scorer=name, top_k=top_k, pll=pll)
        metric = None if scorer.causal else pll or scorer.options["pll"]
        return {"model": name, "causal": scorer.causal, "pll": metric, **record}

    async def next_token(data: dict[str, Any]) -> dict[str, Any]:
        text = text_field(data, "text", limits)
        top_k = int_field(data, "top_k", 5, 1, limits.max_top_k)
        return {"text": text, "candidates": await batcher.submit(explorer.next_token, text, top_k=top_k)}

    handlers: dict[str, Handler] = {
        "tokenize": tokenize,
        "fill-mask": fill_mask,
        "embed": embed,
        "similarity": similarity,
        "attention": attention,
        "recite": recite,
        "classify": classify,
        "score": score,
        "next-token": next_token,
    }

    def endpoint(name: str, handler: Handler):
        async def answer(request: Request) -> JSONResponse:
            if name in explorer.unavailable:
                return _error(404, f"/api/{name} is not available: {explorer.unavailable[name]}")
            try:
                return JSONResponse(
                    await handler(parse_body(await read_body(request, limits.max_body_bytes)))
                )
            except RequestError as err:
                return _error(err.status, str(err))
            except QueueFullError as err:
                return _error(429, f"the server is busy: {err}", headers={"Retry-After": "1"})
            except BertkitError as err:  # the model's own checks: a text without [MASK], unknown characters
                return _error(422, str(err))

        return Route(f"/api/{name}", answer, methods=["POST"])

    async def health(request: Request) -> JSONResponse:
        stats = batcher.stats
        queue = {"waiting": batcher.waiting, "max_queue": batcher.max_queue, **vars(stats)}
        return JSONResponse({"status": "ok", "model": explorer.describe(), "queue": queue})

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def tutorial(request: Request) -> Response:
        name = GUIDES["zh" if request.query_params.get("lang") == "zh" else "en"]
        if not (DOCS / name).is_file():  # installed from a wheel: the docs stay in the source
            return _error(
                404, f"the tutorial is docs/{name} in bertkit's source; this installation has no docs/"
            )
        return PlainTextResponse((DOCS / name).read_text(encoding="utf-8"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        batcher.start()
        yield
        await batcher.stop()

    app = Starlette(
        routes=[
            Route("/", page),
            Route("/health", health),
            Route("/tutorial", tutorial),
            *(endpoint(name, handler) for name, handler in handlers.items()),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.batcher = batcher
    app.state.explorer = explorer
    return app


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, read no further than `limit` bytes: an oversized upload is refused, not buffered."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404 (no such path) and 405 (wrong method), in JSON like every other answer."""
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}", exc.headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("internal error answering %s", request.url.path, exc_info=exc)
    return _error(500, f"internal error: {type(exc).__name__}: {exc}")


def serve(config: ServeConfig) -> None:
    """Load the models and answer requests until interrupted (Ctrl-C)."""
    import uvicorn

    app = create_app(config)
    print(f"bertkit explorer on http://{config.host}:{config.port}/ (Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
