"""Contracts of what segments and campaigns keep: the member's purchase facts (each order counted once,
together with the member), the parallel scan (every member once, never a tombstone), attendance; the
member's recent messages and a conversion once per order (never onto an erased message); the send
queue's backlog; segments; campaigns (versions, status moves, cursors, keyword claims); poll votes
(the last one counts; the counts stay when a vote is forgotten); counters fed once per (message,
event); planning chunks on the campaign queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.campaigns import Campaign, campaign_to_data, parse_campaign
from chalicelib.domain.erasure import erased_message
from chalicelib.domain.model import Channel, Member, Message, MessageStatus, Order, OrderItem
from chalicelib.domain.rulebook import load_rule_book
from chalicelib.domain.segments import parse_segment
from chalicelib.domain.tallies import FIELDS
from chalicelib.ports import VersionConflict

from .conftest import Kind

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
STORE = load_rule_book().store


def member_saved(adapters: Any, member_id: str = "m-1", **fields: Any) -> Member:
    adapters.members.save(Member(member_id, name="王小明", created_at=T0, **fields))
    found = adapters.members.get(member_id)
    assert found is not None
    return found


def order_stored(adapters: Any, order_id: str, member_id: str = "m-1", total: float = 99.0) -> Order:
    order = Order(member_id, order_id, T0, (OrderItem("TRAIN-1", 1, total),), total)
    member = adapters.members.get(member_id)
    assert member is not None and adapters.members.add_order(order, member)
    return order


def counted(member: Member, order: Order) -> Member:
    return replace(
        member,
        orders_count=member.orders_count + 1,
        total_spent=member.total_spent + order.total,
        bought={**member.bought, "train": date(2026, 11, 22)},
    )


# -- the member's purchase facts, the scan, attendance ----------------------------------------------


def test_the_purchase_facts_round_trip_on_the_member(adapters: Any) -> None:
    facts = {
        "orders_count": 3,
        "total_spent": 250.5,
        "bought": {"train": date(2026, 11, 1), "doll": date(2026, 10, 3)},
        "attended": {"story-hour": T0},
    }
    member = member_saved(adapters, **facts)
    assert (member.orders_count, member.total_spent, member.bought, member.attended) == tuple(facts.values())


def test_an_order_is_counted_once_together_with_its_member(adapters: Any) -> None:
    store = adapters.members
    member_saved(adapters)
    order = order_stored(adapters, "o-1")
    assert store.count_order(order, counted(store.get("m-1"), order)) is True
    assert store.count_order(order, counted(store.get("m-1"), order)) is False  # a stream replay
    stored = store.get("m-1")
    assert (stored.orders_count, stored.total_spent, stored.bought) == (1, 99.0, {"train": date(2026, 11, 22)})
    nowhere = Order("m-1", "o-unknown", T0, (), 5.0)
    assert store.count_order(nowhere, counted(stored, nowhere)) is False  # no such order: nothing written
    assert store.get("m-1") == stored


def test_an_order_counted_on_a_member_changed_meanwhile_is_a_version_conflict(adapters: Any) -> None:
    store = adapters.members
    member_saved(adapters)
    order = order_stored(adapters, "o-1")
    stale = counted(store.get("m-1"), order)
    store.save(replace(store.get("m-1"), tier="gold"))
    with pytest.raises(VersionConflict):
        store.count_order(order, stale)
    assert store.count_order(order, counted(store.get("m-1"), order)) is True  # read again: counted


def test_an_erased_member_counts_no_order(adapters: Any) -> None:
    store = adapters.members
    member_saved(adapters)
    order = order_stored(adapters, "o-1")
    last = store.get("m-1")
    store.erase("m-1", T0)
    with pytest.raises(VersionConflict):
        store.count_order(order, counted(last, order))
    assert store.get("m-1") is None


def scan_all(store: Any, parts: int, limit: int) -> list[str]:
    seen: list[str] = []
    for part in range(parts):
        cursor = None
        while True:
            page, cursor = store.scan_page(part, parts, cursor, limit)
            assert len(page) <= limit
            seen += [m.member_id for m in page]
            if cursor is None:
                break
    return seen


def test_the_parallel_scan_reads_every_member_once_and_never_a_tombstone(adapters: Any) -> None:
    for i in range(23):
        member_saved(adapters, f"m-{i:02d}", tags=["lego"])
    for i in (3, 4, 5, 6, 7, 17):
        adapters.members.erase(f"m-{i:02d}", T0)
    seen = scan_all(adapters.members, 3, 2)
    assert sorted(seen) == [f"m-{i:02d}" for i in range(23) if i not in (3, 4, 5, 6, 7, 17)]
    page, _ = adapters.members.scan_page(0, 1, None, 50)
    assert all(m.tags == ["lego"] and m.name == "王小明" for m in page)  # whole members


def test_attendance_is_kept_once_and_never_on_a_tombstone(adapters: Any) -> None:
    store = adapters.attendance
    member_saved(adapters)
    member_saved(adapters, "m-2")
    assert store.attended("m-1", "lego-day", T0) is True
    assert store.attended("m-1", "lego-day", T0 + timedelta(hours=1)) is False
    assert adapters.members.get("m-1").attended == {"lego-day": T0}
    assert store.attended("nobody", "lego-day", T0) is False
    adapters.members.erase("m-2", T0)
    assert store.attended("m-2", "lego-day", T0) is False
    assert adapters.members.get("m-2") is None and adapters.members.erased_at("m-2") == T0


# -- messages: the member's recent ones, conversions --------------------------------------------------


def message(mid: str, created: datetime, member_id: str = "m-1", **fields: Any) -> Message:
    return Message(
        mid, member_id, "campaign", f"c-{mid}", Channel.SMS, "sandbox", "新火车", MessageStatus.SENT, created, **fields
    )


def test_the_recent_messages_of_a_member_newest_first_from_a_moment(adapters: Any) -> None:
    messages = adapters.messages
    for mid, hours in (("old", 24 * 100), ("a", 5), ("b", 3), ("c", 1)):
        messages.create(message(mid, T0 - timedelta(hours=hours)))
    messages.create(message("other", T0, member_id="m-2"))
    since = T0 - timedelta(hours=5)
    assert [m.message_id for m in messages.recent_for_member("m-1", since)] == ["c", "b", "a"]  # since included
    assert [m.message_id for m in messages.recent_for_member("m-1", since, limit=2)] == ["c", "b"]
    assert messages.recent_for_member("m-3", since) == []


def test_an_order_converts_one_message_once(adapters: Any) -> None:
    member_saved(adapters)
    order_stored(adapters, "o-1", total=50.0)
    order_stored(adapters, "o-2", total=20.5)
    messages = adapters.messages
    messages.create(message("msg-1", T0 - timedelta(hours=1), campaign_id="c1"))
    assert messages.convert("msg-1", "m-1", "o-1", 50.0, T0) is True
    assert messages.convert("msg-1", "m-1", "o-1", 50.0, T0) is False  # once per order
    assert messages.convert("msg-1", "m-1", "o-2", 20.5, T0 + timedelta(hours=1)) is True
    got = messages.get("msg-1")
    assert (got.converted_at, got.revenue, got.last_order) == (T0, 70.5, "o-2")  # the first time kept
    assert messages.convert("msg-1", "m-1", "o-unknown", 9.0, T0) is False  # no such order
    assert messages.convert("msg-none", "m-1", "o-2", 9.0, T0) is False
    assert messages.get("msg-1") == got


def test_no_conversion_is_written_onto_an_erased_message(adapters: Any) -> None:
    member_saved(adapters)
    order_stored(adapters, "o-1")
    messages = adapters.messages
    messages.create(message("msg-1", T0 - timedelta(hours=1)))
    scrubbed = erased_message(messages.get("msg-1"), T0)
    assert messages.erase(scrubbed, MessageStatus.SENT) is True
    assert messages.convert("msg-1", "m-1", "o-1", 99.0, T0) is False
    assert messages.get("msg-1") == scrubbed


def test_the_send_queue_says_how_many_sends_wait(kind: Kind, adapters: Any) -> None:
    queue = adapters.send_queue
    assert queue.waiting() == 0
    queue.enqueue(["m1", "m2", "m3"], T0)
    assert queue.waiting() == 3
    kind.arrived()
    assert queue.waiting() == 0


# -- segments and campaigns --------------------------------------------------------------------------

BODY = {
    "name": "新火车",
    "segment_id": "s1",
    "send_on": "2026-11-22",
    "local_time": "10:00",
    "holdout_percent": 20,
    "variants": [
        {"id": "a", "templates": {"zh-CN": "新火车到店"}},
        {"id": "b", "weight": 2, "templates": {"en": "Hi"}},
    ],
    "reply_keyword": {"keyword": "团圆", "expires_at": "2026-11-30T16:00:00Z", "action": {"points": 100}},
    "poll": {"options": {"1": "恐龙", "2": "火车"}, "closes_at": "2026-11-29T16:00:00Z"},
}
SEGMENT = {"name": "3–6 岁", "conditions": [{"field": "child_age_months", "op": "between", "value": [36, 72]}]}


def a_campaign(campaign_id: str = "c1") -> Campaign:
    campaign = parse_campaign(campaign_id, BODY, T0, STORE)
    campaign.created_at = campaign.updated_at = T0
    return campaign


def test_a_segment_round_trips(adapters: Any) -> None:
    segments = adapters.segments
    segment = parse_segment("s1", SEGMENT)
    segments.put(segment, T0)
    assert segments.get("s1") == segment
    assert segments.get("s-none") is None


def test_a_campaign_is_saved_on_the_version_read(adapters: Any) -> None:
    campaigns = adapters.campaigns
    campaign = a_campaign()
    campaigns.save(campaign)
    assert campaign.version == 1
    stored = campaigns.get("c1")
    assert campaign_to_data(stored) == campaign_to_data(campaign) and stored.version == 1
    with pytest.raises(VersionConflict):
        campaigns.save(a_campaign())  # a second create
    stored.name = "新火车 2"
    campaigns.save(stored)
    stale = replace(stored, name="stale", version=1)
    with pytest.raises(VersionConflict):
        campaigns.save(stale)
    assert campaigns.get("c1").name == "新火车 2" and campaigns.get("c-none") is None


def test_a_launched_campaign_keeps_its_frozen_segment_and_cursors(adapters: Any) -> None:
    campaigns = adapters.campaigns
    campaign = a_campaign()
    campaign.segment = parse_segment("s1", SEGMENT)
    campaign.status, campaign.launched_at, campaign.cursors = "scheduled", T0, {"0": "^", "1": "^"}
    campaigns.save(campaign)
    stored = campaigns.get("c1")
    assert (stored.segment, stored.status, stored.launched_at, stored.cursors) == (
        campaign.segment,
        "scheduled",
        T0,
        {"0": "^", "1": "^"},
    )
    assert [c.campaign_id for c in campaigns.with_status("scheduled")] == ["c1"]
    assert campaigns.with_status("sending") == []


def test_a_status_moves_only_from_an_allowed_one(adapters: Any) -> None:
    campaigns = adapters.campaigns
    campaigns.save(a_campaign())
    assert campaigns.move("c1", frozenset({"scheduled"}), "sending", T0) is None
    assert campaigns.move("c-none", frozenset({"draft"}), "sending", T0) is None
    before = campaigns.move("c1", frozenset({"draft"}), "sending", T0)
    assert before is not None and before.status == "draft" and before.version == 1
    stored = campaigns.get("c1")
    assert (stored.status, stored.started_at, stored.updated_at, stored.version) == ("sending", T0, T0, 2)
    later = T0 + timedelta(hours=1)
    campaigns.move("c1", frozenset({"sending"}), "paused", later)
    campaigns.move("c1", frozenset({"paused"}), "sending", later + timedelta(hours=1))
    assert campaigns.get("c1").started_at == T0  # started once
    assert [c.campaign_id for c in campaigns.all()] == ["c1"]


def test_a_parts_cursor_moves_only_from_where_it_stands(adapters: Any) -> None:
    campaigns = adapters.campaigns
    campaign = a_campaign()
    campaign.cursors = {"0": "^", "1": "^"}
    campaigns.save(campaign)
    assert campaigns.advance("c1", 0, "^", '{"member_id": {"S": "m-9"}}') == {
        "0": '{"member_id": {"S": "m-9"}}',
        "1": "^",
    }
    assert campaigns.advance("c1", 0, "^", "$") is None  # a duplicate chunk
    assert campaigns.advance("c1", 1, "^", "$") == {"0": '{"member_id": {"S": "m-9"}}', "1": "$"}
    assert campaigns.advance("c-none", 0, "^", "$") is None
    assert campaigns.get("c1").cursors == {"0": '{"member_id": {"S": "m-9"}}', "1": "$"}


def test_a_keyword_is_claimed_once_per_member_and_forgotten_with_them(adapters: Any) -> None:
    campaigns = adapters.campaigns
    assert campaigns.keyword_claimed("c1", "m-1") is False
    assert campaigns.claim_keyword("c1", "m-1", T0) is True
    assert campaigns.claim_keyword("c1", "m-1", T0 + timedelta(minutes=1)) is False
    campaigns.claim_keyword("c2", "m-1", T0 + timedelta(minutes=2))
    campaigns.claim_keyword("c1", "m-2", T0)
    assert campaigns.keyword_claimed("c1", "m-1") is True
    assert campaigns.keyword_claims("m-1") == [("c1", T0), ("c2", T0 + timedelta(minutes=2))]
    assert campaigns.forget_member("m-1") == 2
    assert campaigns.keyword_claims("m-1") == [] and campaigns.keyword_claimed("c1", "m-1") is False
    assert campaigns.keyword_claimed("c1", "m-2") is True and campaigns.forget_member("m-1") == 0


# -- polls, counters, the campaign queue ---------------------------------------------------------------


def test_the_last_vote_counts_and_a_forgotten_vote_leaves_the_counts(adapters: Any) -> None:
    polls = adapters.polls
    assert polls.vote("c1", "m-1", "1", T0) is None
    assert polls.vote("c1", "m-2", "1", T0) is None
    assert polls.vote("c1", "m-1", "2", T0 + timedelta(minutes=1)) == "1"
    assert polls.vote("c1", "m-1", "2", T0 + timedelta(minutes=2)) == "2"  # the same again: nothing moves
    polls.vote("c2", "m-1", "1", T0)
    assert polls.tally("c1") == ({"1": 1, "2": 1}, 2)
    assert polls.votes_of("m-1") == [("c1", "2", T0 + timedelta(minutes=1)), ("c2", "1", T0)]
    assert polls.forget_member("m-1") == 2
    assert polls.votes_of("m-1") == [] and polls.tally("c1") == ({"1": 1, "2": 1}, 2)
    assert polls.tally("c-none") == ({}, 0)


def test_counters_are_fed_once_per_message_and_event(adapters: Any) -> None:
    tallies = adapters.tallies
    keys = ["campaign#c1#a", "rule#welcome"]
    assert tallies.feed("msg-1", "planned", keys, {"members": 1, "queued": 1}) is True
    assert tallies.feed("msg-1", "planned", keys, {"members": 1, "queued": 1}) is False
    assert tallies.feed("msg-1", "status:sent", keys, {"queued": -1}) is True
    assert tallies.feed("msg-1", "order:o1", keys[:1], {"revenue": 99.5}) is True
    read = tallies.read([*keys, "rule#none"])
    assert set(read) == set(keys) and all(set(read[k]) == set(FIELDS) for k in keys)
    assert (read["campaign#c1#a"]["members"], read["campaign#c1#a"]["queued"]) == (1, 0)
    assert (read["campaign#c1#a"]["revenue"], read["rule#welcome"]["revenue"]) == (99.5, 0)


def stages(tallies: Any, keys: list[str]) -> list[dict[str, float]]:
    """Each counter's members, queued, sent and delivered."""
    read = tallies.read(keys)
    return [{k: read[key][k] for k in ("members", "queued", "sent", "delivered")} for key in keys]


def test_a_records_feeds_count_together_once_and_a_half_replay_counts_only_the_new(adapters: Any) -> None:
    tallies = adapters.tallies
    keys = ["rule#welcome", "funnel#2026-11-22#rule#welcome#-#im"]
    record = [("planned", {"members": 1}), ("status:queued", {"queued": 1})]
    assert tallies.feed_all("msg-1", record, keys) == 2
    assert tallies.feed_all("msg-1", record, keys) == 0
    later = [("status:delivered", {"queued": -1}), ("sent", {"sent": 1}), ("delivered", {"delivered": 1})]
    assert tallies.feed("msg-1", "sent", keys, {"sent": 1}) is True  # applied on its own before
    assert tallies.feed_all("msg-1", later, keys) == 2
    assert tallies.feed_all("msg-1", [], keys) == 0
    assert stages(tallies, keys) == [{"members": 1, "queued": 0, "sent": 1, "delivered": 1}] * len(keys)


def test_a_stream_batch_counts_each_feed_once_however_it_is_replayed(adapters: Any) -> None:
    tallies = adapters.tallies
    keys = ["campaign#c1#a", "funnel#2026-11-22#campaign#c1#a#sms"]
    planned = [(f"msg-{i}", [("planned", {"members": 1}), ("status:queued", {"queued": 1})], keys) for i in range(60)]
    assert tallies.feed_many(planned) == [2] * 60
    assert tallies.feed_many(planned) == [0] * 60  # the batch again: nothing
    # A batch half replayed, a message's two changes in it, and a change that feeds nothing.
    sent = [(f"msg-{i}", [("status:sent", {"queued": -1}), ("sent", {"sent": 1})], keys) for i in range(60)]
    batch = [*planned[:30], *sent, ("msg-0", [("delivered", {"delivered": 1})], keys), ("msg-1", [], keys)]
    assert tallies.feed_many(batch) == [0] * 30 + [2] * 60 + [1, 0]
    assert stages(tallies, keys) == [{"members": 60, "queued": 0, "sent": 60, "delivered": 1}] * len(keys)


def test_a_days_funnel_counters_are_read_by_day_and_nothing_else(adapters: Any) -> None:
    from datetime import date

    tallies = adapters.tallies
    day1 = "funnel#2026-11-21#rule#welcome#-#im"
    day2 = ["funnel#2026-11-22#rule#welcome#-#im", "funnel#2026-11-22#campaign#c1#a#sms"]
    assert tallies.feed("m1", "planned", ["rule#welcome", day1], {"members": 1}) is True
    for n, key in enumerate(day2):
        assert tallies.feed(f"m{n + 2}", "planned", [key], {"members": 1}) is True
        assert tallies.feed(f"m{n + 2}", "status:suppressed", [key], {"suppressed_no_consent": 1}) is True
    assert tallies.feed("m2", "order:o1", [day2[0]], {"revenue": 12.5}) is True
    got = dict(tallies.funnel_days([date(2026, 11, 22)]))
    assert sorted(got) == sorted(day2) and all(set(counts) == set(FIELDS) for counts in got.values())
    assert got[day2[0]]["members"] == 1 and got[day2[0]]["revenue"] == 12.5
    assert got[day2[1]]["suppressed_no_consent"] == 1
    assert [key for key, _ in tallies.funnel_days([date(2026, 11, 21), date(2026, 11, 23)])] == [day1]


def chunk(part: int) -> dict[str, Any]:
    return {"campaign_id": "c1", "part": part, "parts": 12, "cursor": "^", "at": "2026-11-22T02:00:00Z"}


def test_planning_chunks_reach_the_campaign_queue_ten_to_a_request(kind: Kind, adapters: Any) -> None:
    assert adapters.campaign_queue.enqueue([chunk(i) for i in range(12)]) == 2
    assert adapters.campaign_queue.enqueue([chunk(12)]) == 1
    assert adapters.campaign_queue.enqueue([]) == 0
    assert sorted(kind.chunks(), key=lambda c: c["part"]) == [chunk(i) for i in range(13)]
