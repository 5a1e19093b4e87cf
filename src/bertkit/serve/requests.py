"""Reading an API request's JSON body: each malformed or oversized request gets a 4xx status and one line that
says which field is wrong and how, so the server never fails on what a client sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bertkit.checks import check_int


class RequestError(Exception):
    """A request the server will not run: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """How much one request may ask for: the server's memory and latency stay bounded whatever clients send."""

    max_body_bytes: int = 64 * 1024
    max_text_chars: int = 2000
    max_texts: int = 64  # texts in one /api/embed request, words in one /api/similarity request
    max_top_k: int = 50
    max_new_tokens: int = 400

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            check_int(f"`{name}`", value)


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object a request sends (its size was checked while it was read)."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(400, f"the request body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise RequestError(400, f"the request body must be a JSON object, got {type(data).__name__}")
    return data


def text_field(data: dict[str, Any], name: str, limits: Limits) -> str:
    """A non-blank string of at most `max_text_chars` characters."""
    if name not in data:
        raise RequestError(422, f"missing field `{name}`")
    return _text(data[name], f"`{name}`", limits)


def texts_field(data: dict[str, Any], name: str, limits: Limits) -> list[str]:
    """A non-empty list of at most `max_texts` texts."""
    if name not in data:
        raise RequestError(422, f"missing field `{name}`")
    values = data[name]
    if not isinstance(values, list) or not values:
        raise RequestError(422, f"`{name}` must be a non-empty list of strings")
    if len(values) > limits.max_texts:
        raise RequestError(413, f"`{name}` has {len(values)} items; the limit is {limits.max_texts}")
    return [_text(v, f"`{name}`[{i}]", limits) for i, v in enumerate(values)]


def int_field(data: dict[str, Any], name: str, default: int | None, low: int, high: int) -> int | None:
    """An integer in [low, high], or `default` when the field is absent or null."""
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RequestError(422, f"`{name}` must be an integer from {low} to {high}, got {value!r}")
    return value


def number_field(data: dict[str, Any], name: str, default: float | None) -> float | None:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise RequestError(422, f"`{name}` must be a number, got {value!r}")
    return float(value)


def choice_field(
    data: dict[str, Any], name: str, default: str | None, choices: tuple[str, ...]
) -> str | None:
    """One of `choices`, or `default` when the field is absent or null."""
    value = data.get(name)
    if value is None:
        return default
    if value not in choices:
        raise RequestError(422, f"`{name}` must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def bool_field(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise RequestError(422, f"`{name}` must be true or false, got {value!r}")
    return value


def _text(value: Any, where: str, limits: Limits) -> str:
    if not isinstance(value, str):
        raise RequestError(422, f"{where} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise RequestError(422, f"{where} is empty")
    if len(value) > limits.max_text_chars:
        raise RequestError(413, f"{where} has {len(value)} characters; the limit is {limits.max_text_chars}")
    return value
