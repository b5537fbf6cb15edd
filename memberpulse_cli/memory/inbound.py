"""The inbound side and the small stores in memory: the inbound log (each event handled once),
conversations, handoff tickets, tracked links, pulling adapters' cursors, API keys; and the outward
calls a dry run only records (the inbound queue, the staff topic, webhook follow-ups). Each keeps
its DynamoDB/SQS/SNS adapter's promises (``chalicelib/adapters/``)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.domain.isotime import to_iso
from chalicelib.domain.links import Link
from chalicelib.domain.replies import HandoffTicket

from .messages import MemoryMessageStore


class MemoryInboundStore:
    """``InboundStore``: a claim holds unless the event was handled to the end before."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    def claim(self, provider: str, event_id: str, kind: str, at: datetime, now: datetime) -> bool:
        row = self.rows.get((provider, event_id))
        if row is not None and row["status"] == "done":
            return False
        self.rows[(provider, event_id)] = {
            "kind": kind,
            "at": at,
            "status": "processing",
            "updated_at": now,
            "record": None,
        }
        return True

    def finish(
        self, provider: str, event_id: str, outcome: str, now: datetime, record: dict[str, object] | None = None
    ) -> None:
        row = self.rows.setdefault((provider, event_id), {"record": None})
        row.update(status="done", outcome=outcome, updated_at=now)
        if record:
            row["record"] = copy.deepcopy(record)

    def get(self, provider: str, event_id: str) -> dict[str, Any] | None:
        row = self.rows.get((provider, event_id))
        return copy.deepcopy(row) if row is not None else None


class MemoryConversationLog:
    """``ConversationLog``: what members wrote, once per (member, ``CHAT#<at>#<event id>``)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], dict[str, object]] = {}

    def append(self, member_id: str, at: datetime, event_id: str, data: dict[str, object]) -> None:
        self.entries.setdefault((member_id, f"CHAT#{to_iso(at)}#{event_id}"), copy.deepcopy(data))


class MemoryHandoffStore:
    """``HandoffStore``: tickets opened once per id; listed newest first per status."""

    def __init__(self) -> None:
        self.tickets: dict[str, HandoffTicket] = {}

    def get(self, ticket_id: str) -> HandoffTicket | None:
        return self.tickets.get(ticket_id)

    def open(self, ticket: HandoffTicket) -> bool:
        if ticket.ticket_id in self.tickets:
            return False
        self.tickets[ticket.ticket_id] = ticket
        return True

    def mark_notified(self, ticket_id: str) -> None:
        ticket = self.tickets.get(ticket_id)
        if ticket is not None:
            self.tickets[ticket_id] = replace(ticket, notified=True)

    def list(self, status: str, limit: int = 100) -> list[HandoffTicket]:
        found = [t for t in self.tickets.values() if t.status == status]
        return sorted(found, key=lambda t: t.created_at.replace(microsecond=0), reverse=True)[:limit]


class MemoryLinkStore:
    """``LinkStore``: each token stored once; a click is counted on the link and the message keeps
    the time of its first click."""

    def __init__(self, messages: MemoryMessageStore) -> None:
        self.messages = messages
        self.links: dict[str, Link] = {}
        self.clicks: dict[str, list[datetime]] = {}

    def put(self, links: list[Link], now: datetime) -> None:
        for link in links:
            self.links.setdefault(link.token, link)

    def get(self, token: str) -> Link | None:
        return self.links.get(token)

    def record_click(self, link: Link, at: datetime) -> None:
        if link.token not in self.links:
            return
        self.clicks.setdefault(link.token, []).append(at)
        self.messages.record_click(link.message_id, at)


class MemoryCursors:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def put(self, key: str, value: str) -> None:
        self.values[key] = value


class MemoryApiKeyStore:
    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}

    def is_active(self, key_hash: str) -> bool:
        entry = self.keys.get(key_hash)
        return bool(entry and entry["active"])

    def put(self, key_hash: str, key_id: str, label: str, created_at: datetime) -> None:
        self.keys[key_hash] = {"key_id": key_id, "label": label, "created_at": created_at, "active": True}


class MemoryInboundQueue:
    """``InboundQueue``: the events, in order, for whoever works them off."""

    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []

    def put(self, events: list[dict[str, object]]) -> None:
        self.events.extend(copy.deepcopy(events))


class MemoryStaffNotifier:
    """``StaffNotifier``: what the staff topic would have been told."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []

    def notify(self, subject: str, body: dict[str, object]) -> None:
        self.sent.append((subject, dict(body)))


class MemoryFollowUp:
    """``FollowUp``: the URLs an adapter asked to call, answered 200 without calling them."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def get(self, url: str) -> int:
        self.urls.append(url)
        return 200
