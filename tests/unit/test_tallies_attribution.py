"""What a message change feeds (domain/tallies.py) and which message an order converts
(domain/attribution.py). Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain.attribution import converting, reached_at
from chalicelib.domain.model import Channel, Message, MessageStatus
from chalicelib.domain.tallies import counter_keys, feeds

T = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def msg(mid: str = "m1", **fields: object) -> Message:
    base = Message(mid, "a", "campaign", "c1", Channel.SMS, "sandbox", "hi", MessageStatus.QUEUED, T)
    return replace(base, campaign_id="c1", variant="v1", **fields)  # type: ignore[arg-type]


def test_feeds_follow_the_messages_life_once_per_stage() -> None:
    queued = msg()
    assert [(f.event, f.deltas) for f in feeds(None, queued)] == [
        ("planned", {"members": 1}),
        ("status:queued", {"queued": 1}),
    ]
    delivered = replace(queued, status=MessageStatus.DELIVERED, sent_at=T, delivered_at=T)
    assert [(f.event, f.deltas) for f in feeds(queued, delivered)] == [
        ("status:delivered", {"queued": -1}),
        ("sent", {"sent": 1}),
        ("delivered", {"delivered": 1}),
    ]
    converted = replace(delivered, converted_at=T, revenue=99.0, last_order="o1")
    assert [(f.event, f.deltas) for f in feeds(delivered, converted)] == [
        ("converted", {"converted": 1}),
        ("order:o1", {"revenue": 99.0}),
    ]
    again = replace(converted, revenue=149.0, last_order="o2")
    assert [(f.event, f.deltas) for f in feeds(converted, again)] == [("order:o2", {"revenue": 50.0})]
    assert feeds(again, again) == []
    assert counter_keys(again) == ["campaign#c1#v1"]
    assert counter_keys(replace(again, campaign_id=None, trigger="welcome")) == ["rule#welcome"]


def test_the_last_message_within_its_window_converts() -> None:
    older = msg("old", status=MessageStatus.DELIVERED, sent_at=T, delivered_at=T)
    newer = msg("new", status=MessageStatus.SENT, sent_at=T + timedelta(hours=5))
    failed = msg("bad", status=MessageStatus.FAILED, sent_at=T + timedelta(hours=6))
    reply = replace(
        msg("rep", status=MessageStatus.DELIVERED, delivered_at=T + timedelta(hours=7)), trigger="reply_help"
    )
    control = msg("ctl", status=MessageStatus.CONTROL, send_after=T)
    order_at = T + timedelta(hours=10)
    assert converting([older, newer, failed, reply], order_at, lambda m: 168) is newer
    assert converting([older, newer], T + timedelta(hours=200), lambda m: 168) is None
    assert converting([older, newer], T + timedelta(hours=4), lambda m: 168) is older
    assert converting([newer], T + timedelta(hours=4), lambda m: 168) is None  # before it reached them
    assert reached_at(control) == T
    assert converting([control], order_at, lambda m: 168) is control
