"""A member's timeline (CONTRACT §8): what happened to them, newest first, from what is stored —
joined, orders, points, coupons, messages with their status trail, replies, consent changes,
sign-ups for store activities and check-ins —
paged with an opaque cursor. Pure: the service hands in the stored records.

Entries are ordered by (time, kind, id), newest first, so the order is total and stable: a cursor
names the last entry of a page, and the next page is everything after it, whatever was added
since at the top."""

from __future__ import annotations

import base64
import heapq
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .activities import Registration
from .errors import ValidationFailed
from .isotime import parse_iso, to_iso
from .model import Member, Message

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
Key = tuple[str, str, str]

# Activity table kinds → timeline kinds (and the data fields shown).
_ACTIVITY_KINDS = {
    "order": ("order", ("order_id", "items", "total", "store_id")),
    "points": ("points", ("txn_id", "delta", "reason", "expires_on")),
    "coupon": ("coupon", ("coupon_id", "title", "value", "expires_on")),
    "chat": ("reply", ("channel", "provider", "text")),
    "consent": ("consent", ("changes", "source")),
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    ref: str  # an id that orders entries of the same moment and kind
    data: Mapping[str, Any]

    @property
    def key(self) -> Key:
        return (to_iso(self.at), self.kind, self.ref)

    def to_json(self) -> dict[str, Any]:
        return {"at": to_iso(self.at), "kind": self.kind, **self.data}


def joined(member: Member) -> Entry | None:
    at = member.joined_at or member.created_at
    return Entry(at, "joined", member.member_id, {}) if at else None


def from_activity(kind: str, key: str, at: datetime, data: Mapping[str, Any]) -> Entry | None:
    """An item of the activity table; None for a kind the timeline does not show."""
    known = _ACTIVITY_KINDS.get(kind)
    if known is None:
        return None
    name, fields = known
    return Entry(at, name, key, {f: data.get(f) for f in fields if data.get(f) is not None})


def from_registration(registration: Registration, title: str | None) -> list[Entry]:
    """A registration's entries: the sign-up (``registration``, with its status now) and the
    check-in (``checkin``), each at its own time."""
    about = {"activity_id": registration.activity_id, **({"title": title} if title else {})}
    entries = []
    if registration.registered_at is not None:
        data = {**about, "status": registration.status.value}
        entries.append(Entry(registration.registered_at, "registration", registration.activity_id, data))
    if registration.checked_in_at is not None:
        entries.append(Entry(registration.checked_in_at, "checkin", registration.activity_id, about))
    return entries


def from_message(message: Message) -> Entry:
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "trigger": message.trigger,
        "channel": message.channel.value,
        "status": message.status.value,
        "text": message.text,
        "trail": [
            {"status": h.status.value, "at": to_iso(h.at), **({"reason": h.reason} if h.reason else {})}
            for h in message.history
        ],
    }
    if message.reason:
        data["reason"] = message.reason
    if message.clicked_at:
        data["clicked_at"] = to_iso(message.clicked_at)
    return Entry(message.created_at, "message", message.message_id, data)


def parse_page(params: Mapping[str, str] | None) -> tuple[int, Key | None]:
    """``limit`` (1–200, default 50) and ``cursor`` from the query string; 400 naming the field."""
    params = params or {}
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ValidationFailed({"limit": f"must be a whole number from 1 to {MAX_LIMIT}"})
        limit = int(raw_limit)
    cursor = params.get("cursor")
    return limit, (decode_cursor(cursor) if cursor else None)


def encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Key:
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value):
            parse_iso(value[0])
            return (value[0], value[1], value[2])
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    raise ValidationFailed({"cursor": "is not a cursor this API gave out"})


def newest_first(entries: Iterable[Entry]) -> Iterator[Entry]:
    """Entries already newest first by time (a store's index) in full order: each run of the same
    time sorted by kind and id."""
    for _, same_time in itertools.groupby(entries, key=lambda e: to_iso(e.at)):
        yield from sorted(same_time, key=lambda e: e.key, reverse=True)


def page(sources: Iterable[Iterable[Entry]], limit: int, after: Key | None) -> tuple[list[Entry], str | None]:
    """Up to ``limit`` entries after the cursor, newest first, merged from ``sources`` (each newest
    first), and the cursor of the next page (None on the last)."""
    merged = heapq.merge(*(newest_first(s) for s in sources), key=lambda e: e.key, reverse=True)
    taken: list[Entry] = []
    for entry in merged:
        if after is not None and entry.key >= after:
            continue
        taken.append(entry)
        if len(taken) > limit:
            break
    if len(taken) > limit:
        return taken[:limit], encode_cursor(taken[limit - 1].key)
    return taken, None


def cursor_time(key: Key) -> datetime:
    """The time of the entry a cursor names (entries after it are no newer)."""
    return parse_iso(key[0])
