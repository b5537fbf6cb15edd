"""Paging of list answers: ``limit`` and an opaque ``cursor`` from the query string, the cursor
naming the last item of the page before (an index's sort key and the item's id)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from .errors import ValidationFailed


def limit_of(params: Mapping[str, str], default: int, most: int) -> int:
    raw = params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ValidationFailed({"limit": f"must be a whole number from 1 to {most}"})
    return int(raw)


def encode_cursor(key: tuple[str, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str, size: int) -> tuple[str, ...]:
    """A cursor this API gave out (``size`` strings) → its key; anything else a 400 naming it."""
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        value = None
    if isinstance(value, list) and len(value) == size and all(isinstance(v, str) and 0 < len(v) <= 128 for v in value):
        return tuple(value)
    raise ValidationFailed({"cursor": "is not a cursor this API gave out"})


def only(params: Mapping[str, str], known: tuple[str, ...]) -> None:
    """A 400 naming every parameter the route does not take (a typo is not silently ignored)."""
    unknown = {name: f"is not a parameter here ({', '.join(known)})" for name in params if name not in known}
    if unknown:
        raise ValidationFailed(unknown, "invalid query: " + ", ".join(sorted(unknown)))
