"""Contracts of the small stores: the sandbox's outbox, the inbound log (each event handled once),
handoff tickets, tracked links and their clicks, pulling adapters' cursors, API keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.links import Link
from chalicelib.domain.model import Channel, Message, MessageStatus
from chalicelib.domain.replies import HandoffTicket
from chalicelib.ports import OutboundMessage

from .conftest import Kind

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_the_outbox_finds_what_was_recorded(kind: Kind) -> None:
    outbox = kind.outbox()
    message = OutboundMessage("msg-1", "sms", "+8613800138000", "你好", "transactional", "welcome")
    outbox.record("sbx-msg-1", message, 2, T0)
    assert outbox.find("sbx-msg-1") == (2, T0)
    assert outbox.find("sbx-none") is None


def test_an_inbound_event_is_handled_to_the_end_once(adapters: Any) -> None:
    log = adapters.inbound_log
    assert log.claim("sandbox", "e-1", "reply", T0, T0) is True
    assert log.claim("sandbox", "e-1", "reply", T0, T0) is True  # died half-way: may be claimed again
    log.finish("sandbox", "e-1", "opted out", T0, {"text": "T"})
    assert log.claim("sandbox", "e-1", "reply", T0, T0 + timedelta(minutes=1)) is False
    assert log.claim("other", "e-1", "reply", T0, T0) is True


def ticket(ticket_id: str, at: datetime, status: str = "open") -> HandoffTicket:
    return HandoffTicket(ticket_id, "m-1", Channel.SMS, "售后", status, at, "sandbox", f"e-{ticket_id}")


def test_a_handoff_ticket_is_opened_once_and_listed_newest_first(adapters: Any) -> None:
    handoffs = adapters.handoffs
    assert handoffs.open(ticket("h1", T0)) is True
    assert handoffs.open(ticket("h1", T0 + timedelta(hours=1))) is False
    handoffs.open(ticket("h2", T0 + timedelta(minutes=5)))
    handoffs.open(ticket("h3", T0 + timedelta(minutes=9), status="closed"))
    assert handoffs.get("h1") == ticket("h1", T0)
    handoffs.mark_notified("h1")
    assert handoffs.get("h1").notified is True
    assert [t.ticket_id for t in handoffs.list("open")] == ["h2", "h1"]
    assert [t.ticket_id for t in handoffs.list("open", limit=1)] == ["h2"]
    assert handoffs.get("h-none") is None


def test_a_link_is_stored_once_and_its_message_keeps_the_first_click(adapters: Any) -> None:
    message = Message("msg-1", "m-1", "new_arrivals", "x", Channel.SMS, "sandbox", "t", MessageStatus.SENT, T0)
    adapters.messages.create(message)
    link = Link("tok-1", "msg-1", "https://a.example/x")
    adapters.links.put([link], T0)
    adapters.links.put([Link("tok-1", "msg-2", "https://b.example/")], T0)
    assert adapters.links.get("tok-1") == link
    assert adapters.links.get("tok-none") is None
    adapters.links.record_click(link, T0 + timedelta(minutes=1))
    adapters.links.record_click(link, T0 + timedelta(minutes=2))
    assert adapters.messages.get("msg-1").clicked_at == T0 + timedelta(minutes=1)


def test_a_cursor_keeps_the_last_value(adapters: Any) -> None:
    assert adapters.cursors.get("wecom#kf") is None
    adapters.cursors.put("wecom#kf", "c1")
    adapters.cursors.put("wecom#kf", "c2")
    assert adapters.cursors.get("wecom#kf") == "c2"


def test_an_api_key_is_active_once_stored(adapters: Any) -> None:
    assert adapters.api_keys.is_active("hash-1") is False
    adapters.api_keys.put("hash-1", "mp_abc", "pos", T0)
    assert adapters.api_keys.is_active("hash-1") is True
