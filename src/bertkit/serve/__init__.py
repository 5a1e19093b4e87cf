"""`bertkit serve`: a local HTTP explorer of a model: a JSON API (tokenize, fill-mask, embed, similarity,
attention, recite, classify) with dynamic batching, and one static page that draws it. Needs the `serve`
extra (Starlette and uvicorn)."""

from bertkit.serve.app import ServeConfig, create_app, serve
from bertkit.serve.batcher import BatchStats, DynamicBatcher, QueueFullError
from bertkit.serve.explorer import Explorer
from bertkit.serve.requests import Limits

__all__ = [
    "BatchStats",
    "DynamicBatcher",
    "Explorer",
    "Limits",
    "QueueFullError",
    "ServeConfig",
    "create_app",
    "serve",
]
