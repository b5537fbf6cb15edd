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
        ("status:queued#0", {"queued": 1}),
    ]
    delivered = replace(queued, status=MessageStatus.DELIVERED, sent_at=T, delivered_at=T)
    assert [(f.event, f.deltas) for f in feeds(queued, delivered)] == [
        ("status:delivered#0", {"queued": -1}),
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
    assert counter_keys(again, "Asia/Shanghai") == ["campaign#c1#v1", "funnel#2026-11-22#campaign#c1#v1#sms"]
    assert counter_keys(replace(again, campaign_id=None, trigger="welcome", variant=None), "America/New_York") == [
        "rule#welcome",
        "funnel#2026-11-21#rule#welcome#-#sms",
    ]


def test_suppressions_count_by_reason_deferrals_once_and_a_fallback_is_no_second_member() -> None:
    suppressed = msg(status=MessageStatus.SUPPRESSED, reason="no im address; no sms consent")
    assert [(f.event, f.deltas) for f in feeds(None, suppressed)] == [
        ("planned", {"members": 1}),
        ("status:suppressed", {"suppressed": 1, "suppressed_no_consent": 1}),
    ]
    deferred = msg(status=MessageStatus.DEFERRED, reason="quiet hours: sends 09:00–21:00 Asia/Shanghai")
    assert [(f.event, f.deltas) for f in feeds(None, deferred)[1:]] == [
        ("status:deferred#0", {"deferred": 1}),
        ("status:deferred", {"deferrals": 1}),
    ]
    fallback = msg("m1#sms", fallback_of="m1")
    assert feeds(None, fallback)[0].deltas == {"members": 0}


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


def test_a_message_deferred_released_and_deferred_again_leaves_the_gauges_where_they_belong() -> None:
    """Quiet hours defer a message, a timer releases it, it is deferred again, then sent: what waits
    (queued, deferred) ends at zero, it counts once among the messages ever deferred, and the
    stream's records replayed change nothing."""
    from chalicelib.domain.model import StatusChange
    from memberpulse_cli.memory.campaigns import MemoryTallies

    def moved(m: Message, status: MessageStatus, **fields: object) -> Message:
        return replace(m, status=status, history=[*m.history, StatusChange(status, T, None)], **fields)  # type: ignore[arg-type]

    life = [msg(history=[StatusChange(MessageStatus.QUEUED, T, None)])]
    for status in (MessageStatus.DEFERRED, MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.QUEUED):
        life.append(moved(life[-1], status))
    life.append(moved(life[-1], MessageStatus.SENT, sent_at=T))
    tallies = MemoryTallies()
    keys = counter_keys(life[0], "Asia/Shanghai")
    for _ in range(2):  # the second time: every stream record replayed
        for old, new in zip([None, *life[:-1]], life, strict=True):
            tallies.feed_all(new.message_id, [(f.event, f.deltas) for f in feeds(old, new)], keys)
    counted = tallies.read(keys)[keys[0]]
    assert {k: counted[k] for k in ("members", "queued", "deferred", "deferrals", "sent")} == {
        "members": 1,
        "queued": 0,
        "deferred": 0,
        "deferrals": 1,
        "sent": 1,
    }
