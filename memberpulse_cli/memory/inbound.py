"""The inbound side and the small stores in memory: the inbound log (each event handled once, the
kept records of a member's events forgotten with the member), conversations, handoff tickets (paged),
tracked links, pulling adapters' cursors, API keys; and the outward calls a dry run only records
(the inbound queue, the staff topic, webhook follow-ups). Each keeps its DynamoDB/SQS/SNS adapter's
promises (``chalicelib/adapters/``)."""

from __future__ import annotations

import builtins
import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.domain.isotime import to_iso
from chalicelib.domain.links import Link
from chalicelib.domain.replies import HandoffTicket

from .messages import MemoryMessageStore


class MemoryInboundStore:
    """``InboundStore``: a claim holds unless the event was handled to the end before. The dedupe row
    holds ids and the outcome; a kept (masked) record of the event rides on it under the member's
    id, so the member's erasure finds it (DynamoDB keeps it as an item of its own)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    def claim(self, provider: str, event_id: str, kind: str, at: datetime, now: datetime) -> bool:
        row = self.rows.get((provider, event_id))
        if row is not None and row["status"] == "done":
            return False
        kept = {"record": row["record"], "member_id": row["member_id"]} if row is not None else {}
        self.rows[(provider, event_id)] = {
            "kind": kind,
            "at": at,
            "status": "processing",
            "updated_at": now,
            "record": None,
            "member_id": None,
            **kept,
        }
        return True

    def finish(
        self,
        provider: str,
        event_id: str,
        outcome: str,
        now: datetime,
        record: dict[str, object] | None = None,
        member_id: str | None = None,
    ) -> None:
        row = self.rows.setdefault((provider, event_id), {"record": None, "member_id": None})
        row.update(status="done", outcome=outcome, updated_at=now)
        if record:
            row.update(record=copy.deepcopy(record), member_id=member_id)

    def forget_member(self, member_id: str) -> int:
        mine = [row for row in self.rows.values() if row.get("member_id") == member_id and row.get("record")]
        for row in mine:
            row.update(record=None, member_id=None)
        return len(mine)

    def get(self, provider: str, event_id: str) -> dict[str, Any] | None:
        row = self.rows.get((provider, event_id))
        return copy.deepcopy(row) if row is not None else None


class MemoryConversationLog:
    """``ConversationLog``: what members wrote, once per (member, ``CHAT#<at>#<event id>``): items of
    the member's partition of the activity table (``MemoryActivityLog`` reads and forgets them)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], dict[str, object]] = {}

    def append(self, member_id: str, at: datetime, event_id: str, data: dict[str, object]) -> None:
        self.entries.setdefault((member_id, f"CHAT#{to_iso(at)}#{event_id}"), copy.deepcopy(data))

    def of_member(self, member_id: str) -> dict[str, dict[str, object]]:
        """The member's entries: range key → what they wrote."""
        return {sk: data for (mid, sk), data in self.entries.items() if mid == member_id}

    def forget_member(self, member_id: str) -> int:
        mine = [key for key in self.entries if key[0] == member_id]
        for key in mine:
            del self.entries[key]
        return len(mine)


class MemoryHandoffStore:
    """``HandoffStore``: tickets opened once per id; by status newest first (the ``by_status`` index:
    created_at as stored, then the ticket id), by member oldest first (``by_member``)."""

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

    def for_member(self, member_id: str) -> list[HandoffTicket]:
        return sorted((t for t in self.tickets.values() if t.member_id == member_id), key=_position)

    def list(self, status: str, limit: int = 100) -> list[HandoffTicket]:
        return self.page(status, limit)[0]

    def page(
        self, status: str, limit: int, after: tuple[str, str] | None = None
    ) -> tuple[builtins.list[HandoffTicket], tuple[str, str] | None]:
        found = sorted((t for t in self.tickets.values() if t.status == status), key=_position, reverse=True)
        rows = [t for t in found if after is None or _position(t) < after]
        if len(rows) <= limit:
            return rows, None
        return rows[:limit], _position(rows[limit - 1])

    def forget_member(self, member_id: str) -> int:
        mine = [t.ticket_id for t in self.tickets.values() if t.member_id == member_id]
        for ticket_id in mine:
            del self.tickets[ticket_id]
        return len(mine)


def _position(ticket: HandoffTicket) -> tuple[str, str]:
    """(created_at as stored, ticket id): where a ticket stands on the indexes."""
    return to_iso(ticket.created_at), ticket.ticket_id


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

    def forget_message(self, message_id: str) -> int:
        """The message's links and their clicks (a target may carry the member)."""
        mine = [token for token, link in self.links.items() if link.message_id == message_id]
        for token in mine:
            del self.links[token]
            self.clicks.pop(token, None)
        return len(mine)


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
