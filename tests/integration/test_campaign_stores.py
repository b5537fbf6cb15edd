"""The campaign side's DynamoDB and SQS adapters against moto: orders counted once on the member,
the parallel scan, attendance, recent messages and conversions once per order, segments and
campaigns (versions, status moves, cursor advances, keyword claims), poll votes, counters fed once,
and the campaign queue."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.campaign_queue import SqsCampaignQueue
from chalicelib.adapters.campaign_store import DynamoCampaignStore
from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.adapters.poll_box import DynamoPollBox
from chalicelib.adapters.segment_store import DynamoSegmentStore
from chalicelib.adapters.tally_store import DynamoTallies
from chalicelib.domain.campaigns import parse_campaign
from chalicelib.domain.member_facts import with_order
from chalicelib.domain.model import Channel, Member, Message, MessageStatus, Order, OrderItem, Product
from chalicelib.domain.rulebook import load_rule_book
from chalicelib.domain.segments import parse_segment
from chalicelib.ports import VersionConflict

T = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def test_an_order_is_counted_once_on_its_member() -> None:
    store = DynamoMemberStore()
    store.save(Member("m-1", created_at=T))
    member = store.get("m-1")
    assert member is not None
    order = Order("m-1", "o-1", T, (OrderItem("TRAIN", 1, 99.0),), 99.0)
    store.add_order(order, member)
    catalog = {"TRAIN": Product("TRAIN", "小火车", category="train")}
    counted = with_order(store.get("m-1"), order, catalog, "Asia/Shanghai")  # type: ignore[arg-type]
    assert store.count_order(order, counted) is True
    again = with_order(store.get("m-1"), order, catalog, "Asia/Shanghai")  # type: ignore[arg-type]
    assert store.count_order(order, again) is False
    stored = store.get("m-1")
    assert stored is not None
    assert (stored.orders_count, stored.total_spent, stored.bought) == (1, 99.0, {"train": date(2026, 11, 22)})
    stale = with_order(stored, Order("m-1", "o-2", T, (), 1.0), {}, "Asia/Shanghai")
    stale.version -= 1
    store.add_order(Order("m-1", "o-2", T, (), 1.0), store.get("m-1"))  # type: ignore[arg-type]
    with pytest.raises(VersionConflict):
        store.count_order(Order("m-1", "o-2", T, (), 1.0), stale)


def test_the_parallel_scan_reads_every_member_once_page_by_page() -> None:
    store = DynamoMemberStore()
    for i in range(37):
        store.save(Member(f"m-{i:02d}", created_at=T))
    seen: list[str] = []
    for part in range(3):
        cursor = None
        while True:
            page, cursor = store.scan_page(part, 3, cursor, 5)
            seen += [m.member_id for m in page]
            if cursor is None:
                break
    assert sorted(seen) == [f"m-{i:02d}" for i in range(37)]


def test_attendance_is_kept_once() -> None:
    store = DynamoMemberStore()
    store.save(Member("m-1", created_at=T))
    assert store.attended("m-1", "lego-day", T) is True
    assert store.attended("m-1", "lego-day", T + timedelta(hours=1)) is False
    assert store.get("m-1").attended == {"lego-day": T}  # type: ignore[union-attr]
    assert store.attended("nobody", "lego-day", T) is False


def message(mid: str, created: datetime, **fields: Any) -> Message:
    return Message(mid, "m-1", "campaign", "c1", Channel.SMS, "sandbox", "hi", MessageStatus.SENT, created, **fields)


def test_recent_messages_and_a_conversion_once_per_order() -> None:
    members, messages = DynamoMemberStore(), DynamoMessageStore()
    members.save(Member("m-1", created_at=T))
    members.add_order(Order("m-1", "o-1", T, (), 50.0), members.get("m-1"))  # type: ignore[arg-type]
    messages.create(message("old", T - timedelta(days=100)))
    messages.create(message("new", T - timedelta(hours=1), campaign_id="c1"))
    assert [m.message_id for m in messages.recent_for_member("m-1", T - timedelta(days=90))] == ["new"]
    assert messages.convert("new", "m-1", "o-1", 50.0, T) is True
    assert messages.convert("new", "m-1", "o-1", 50.0, T) is False
    got = messages.get("new")
    assert got is not None and (got.converted_at, got.revenue, got.last_order) == (T, 50.0, "o-1")


def test_segments_and_campaigns_round_trip_with_versions_moves_and_cursors() -> None:
    segments, campaigns = DynamoSegmentStore(), DynamoCampaignStore()
    segment = parse_segment("s1", {"conditions": [{"field": "tags", "op": "contains", "value": "train"}]})
    segments.put(segment, T)
    assert segments.get("s1") == segment
    body = {
        "name": "新火车",
        "segment_id": "s1",
        "send_at": "2026-11-22T02:00:00Z",
        "variants": [{"id": "a", "templates": {"zh-CN": "新火车到店"}}],
    }
    campaign = parse_campaign("c1", body, T, load_rule_book().store)
    campaign.cursors = {"0": "^", "1": "^"}
    campaigns.save(campaign)
    with pytest.raises(VersionConflict):
        stale = parse_campaign("c1", body, T, load_rule_book().store)
        campaigns.save(stale)
    assert campaigns.move("c1", frozenset({"scheduled"}), "sending", T) is None
    assert campaigns.move("c1", frozenset({"draft"}), "sending", T) is not None
    stored = campaigns.get("c1")
    assert stored is not None and stored.status == "sending" and stored.started_at == T
    assert [c.campaign_id for c in campaigns.with_status("sending")] == ["c1"]
    assert campaigns.advance("c1", 0, "^", json.dumps({"member_id": {"S": "m-9"}})) == {
        "0": json.dumps({"member_id": {"S": "m-9"}}),
        "1": "^",
    }
    assert campaigns.advance("c1", 0, "^", "$") is None  # a duplicate chunk
    assert campaigns.keyword_claimed("c1", "m-1") is False
    assert campaigns.claim_keyword("c1", "m-1", T) is True
    assert campaigns.claim_keyword("c1", "m-1", T) is False
    assert campaigns.keyword_claimed("c1", "m-1") is True
    assert [c.campaign_id for c in campaigns.all()] == ["c1"]


def test_votes_the_last_one_counts() -> None:
    polls = DynamoPollBox()
    assert polls.vote("c1", "m-1", "1", T) is None
    assert polls.vote("c1", "m-2", "1", T) is None
    assert polls.vote("c1", "m-1", "2", T) == "1"
    assert polls.vote("c1", "m-1", "2", T) == "2"
    assert polls.tally("c1") == ({"1": 1, "2": 1}, 2)


def test_counters_are_fed_once_per_message_and_event() -> None:
    tallies = DynamoTallies()
    keys = ["campaign#c1#a", "rule#x"]
    assert tallies.feed("m1", "planned", keys, {"members": 1, "queued": 1}) is True
    assert tallies.feed("m1", "planned", keys, {"members": 1, "queued": 1}) is False
    assert tallies.feed("m1", "order:o1", keys[:1], {"revenue": 99.5}) is True
    read = tallies.read(keys)
    assert read["campaign#c1#a"]["members"] == 1 and read["campaign#c1#a"]["revenue"] == 99.5
    assert read["rule#x"]["queued"] == 1


def test_planning_chunks_go_to_sqs_with_their_delay(aws: Any) -> None:
    url = aws.queues["CampaignQueue"]
    queue = SqsCampaignQueue(aws.sqs, url)
    chunks = [
        {"campaign_id": "c1", "part": i, "parts": 12, "cursor": "^", "at": "2026-11-22T02:00:00Z"} for i in range(12)
    ]
    assert queue.enqueue(chunks) == 2
    got = aws.drain_queue(url)
    assert sorted(json.loads(m["Body"])["part"] for m in got) == list(range(12))


def test_the_send_queue_says_how_many_wait(aws: Any) -> None:
    from chalicelib.adapters.send_queue import SqsSendQueue

    queue = SqsSendQueue(aws.sqs, aws.queue_url)
    assert queue.waiting() == 0
    queue.enqueue(["m1", "m2", "m3"])
    assert queue.waiting() == 3
