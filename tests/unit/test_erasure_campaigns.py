"""Erasure (CONTRACT §9) reaches what segments and campaigns keep about a member: their campaign
message and control record are scrubbed like every message (and lose the conversion: an order's
amount and time under their id), their poll votes and keyword claims are deleted, the purchase facts
on the member item go with the tombstone; the counters and poll counts, which name no one, stay.
And nothing brings it back: a replayed order counts and converts nothing, a check-in marks nothing,
a segment or a campaign never reads the erased member. Over the fakes, wired through ``bootstrap``."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.campaigns import CONTROL
from chalicelib.domain.erasure import ERASED_OCCURRENCE
from chalicelib.domain.model import Child, Consent, Member, MessageStatus, Order, OrderItem, Product
from chalicelib.domain.rulebook import load_rule_book
from tests.fakes import FakeAdapters, fake_app

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
LATER = NOW + timedelta(hours=6)
KEEN = Consent(sms=True, im=True, marketing=True)
SEGMENT = {"name": "3–6 岁", "conditions": [{"field": "child_age_months", "op": "between", "value": [36, 72]}]}
CAMPAIGN = {
    "name": "新火车到店",
    "segment_id": "parents-3-6",
    "channels": ["sms"],
    "send_at": "2026-11-22T02:00:00Z",
    "holdout_percent": 20,
    "variants": [{"id": "a", "templates": {"zh-CN": "新火车到店啦！回复“{{ keyword }}”领券，回复1/2投票。"}}],
    "reply_keyword": {"keyword": "团圆", "expires_at": "2026-11-30T16:00:00Z", "action": {"tag": "train-fan"}},
    "poll": {"options": {"1": "恐龙", "2": "火车"}, "closes_at": "2026-11-29T16:00:00Z"},
}


def person(mid: str) -> Member:
    return Member(
        mid,
        name="家长" + mid,
        phone="+86138001380" + mid[-2:],
        children=[Child("乐乐", date(2022, 5, 1), "boy")],
        consent=KEEN,
        created_at=NOW - timedelta(days=30),
        joined_at=NOW - timedelta(days=30),
        version=1,
    )


class World:
    """Forty members in the segment, a campaign with a poll and a keyword launched, planned and sent."""

    def __init__(self) -> None:
        self.fakes = FakeAdapters()
        self.app = fake_app(self.fakes, book=load_rule_book(), campaign_parts=2)
        for i in range(1, 41):
            self.fakes.members.members[f"m-{i:02d}"] = person(f"m-{i:02d}")
        self.fakes.catalog.add(Product("TRAIN-1", "小火车", category="train"))
        self.seen: dict[str, Any] = {}
        self.app.segments.put("parents-3-6", SEGMENT, NOW)
        self.app.campaigns.put("c1", CAMPAIGN, NOW)
        self.app.campaigns.launch("c1", NOW)
        while chunks := self.fakes.campaign_queue.take():
            for work in chunks:
                self.app.planner.plan(work, NOW)
        for mid in self.fakes.send_queue.ids:
            self.app.sender.deliver(mid, NOW)
        self.stream()

    def stream(self) -> None:
        """The messages table's stream: every change since the last call, to the counters."""
        for mid, message in self.fakes.messages.messages.items():
            old = self.seen.get(mid)
            if old != message:
                self.app.tallies.message_changed(old, copy.deepcopy(message))
                self.seen[mid] = copy.deepcopy(message)

    def campaign_message(self, member_id: str) -> Any:
        return next(m for m in self.fakes.messages.messages.values() if m.member_id == member_id)

    def sent_to(self) -> list[str]:
        return sorted(m.member_id for m in self.fakes.messages.messages.values() if m.status is MessageStatus.SENT)

    def buys(self, member_id: str, order_id: str, at: datetime) -> Order:
        """An order, with what the activity stream does with it: counted on the member, attributed."""
        order = Order(member_id, order_id, at, (OrderItem("TRAIN-1", 1, 99.0),), 99.0)
        stored = self.fakes.members.get(member_id)
        assert stored is not None
        assert self.fakes.members.add_order(order, stored)
        self.app.facts.order_placed(order, at)
        self.app.attribution.order_placed(order, at)
        return order

    def engages(self, member_id: str) -> None:
        """Votes, replies with the keyword, buys (a conversion) and checks in at an activity."""
        member = self.fakes.members.get(member_id)
        assert member is not None
        replies = self.app.campaign_replies
        assert replies.try_vote(member, "2", NOW + timedelta(minutes=5)) is not None
        assert replies.try_keyword(member, "团圆", NOW + timedelta(minutes=6)) is not None
        self.buys(member_id, f"o-{member_id}", NOW + timedelta(hours=2))
        assert self.fakes.attendance.attended(member_id, "story-hour", NOW + timedelta(hours=3))

    def erase_and_purge(self, member_id: str) -> None:
        assert self.app.erasure.erase(member_id, LATER) == "erased"
        while requests := self.fakes.erasure_queue.take():
            for mid, at, round_no, _ in requests:
                assert self.app.erasure.purge(mid, at, round_no, lambda: True).done


@pytest.fixture
def world() -> World:
    w = World()
    erased, kept = w.sent_to()[:2]
    w.engages(erased)
    w.engages(kept)
    w.stream()
    return w


def erased_and_kept(world: World) -> tuple[str, str]:
    first, second = world.sent_to()[:2]
    return first, second


def test_given_a_member_who_voted_and_claimed_a_keyword_when_purged_then_both_are_gone_and_the_counts_stay(
    world: World,
) -> None:
    erased, kept = erased_and_kept(world)
    poll_before = world.app.campaigns.poll("c1")

    world.erase_and_purge(erased)

    assert world.fakes.polls.votes_of(erased) == []
    assert world.fakes.campaigns.keyword_claims(erased) == []
    assert [option for _, option, _ in world.fakes.polls.votes_of(kept)] == ["2"]
    assert [cid for cid, _ in world.fakes.campaigns.keyword_claims(kept)] == ["c1"]
    assert world.app.campaigns.poll("c1") == poll_before  # votes per option and voters: no one named
    assert erased not in repr((world.fakes.polls.votes, world.fakes.campaigns.claims))


def test_given_a_campaign_message_that_converted_when_purged_then_scrubbed_without_the_conversion(
    world: World,
) -> None:
    erased, kept = erased_and_kept(world)
    before = world.campaign_message(erased)
    assert before.converted_at is not None and before.revenue == 99.0 and before.last_order == f"o-{erased}"

    world.erase_and_purge(erased)

    after = world.campaign_message(erased)
    assert (after.text, after.occurrence) == ("", ERASED_OCCURRENCE)
    assert (after.converted_at, after.revenue, after.last_order) == (None, 0.0, None)
    assert (after.campaign_id, after.variant, after.status, after.sent_at) == (
        "c1",
        before.variant,
        MessageStatus.SENT,
        before.sent_at,
    )  # what the campaign's counts need
    untouched = world.campaign_message(kept)
    assert untouched.text and untouched.revenue == 99.0 and untouched.last_order == f"o-{kept}"


def test_given_a_control_record_when_purged_then_scrubbed_like_a_message(world: World) -> None:
    control = next(m for m in world.fakes.messages.messages.values() if m.status is MessageStatus.CONTROL)

    world.erase_and_purge(control.member_id)

    after = world.campaign_message(control.member_id)
    assert (after.status, after.variant, after.campaign_id) == (MessageStatus.CONTROL, CONTROL, "c1")
    assert after.occurrence == ERASED_OCCURRENCE and after.text == ""


def test_given_the_campaign_counters_when_the_erasure_is_streamed_then_they_do_not_move(world: World) -> None:
    erased, _ = erased_and_kept(world)
    keys = [f"campaign#c1#{arm}" for arm in ("a", CONTROL)]
    before = world.fakes.tallies.read(keys)
    results = world.app.campaigns.results("c1")

    world.erase_and_purge(erased)
    world.stream()  # the scrubbed messages' MODIFY records

    assert world.fakes.tallies.read(keys) == before
    assert world.app.campaigns.results("c1") == results


def test_given_an_erased_member_when_their_order_is_replayed_then_nothing_is_counted_or_converted(
    world: World,
) -> None:
    erased, _ = erased_and_kept(world)
    world.erase_and_purge(erased)
    scrubbed = world.campaign_message(erased)
    order = Order(erased, f"o-{erased}", NOW + timedelta(hours=2), (OrderItem("TRAIN-1", 1, 99.0),), 99.0)
    late = Order(erased, "o-new", LATER, (OrderItem("TRAIN-1", 1, 99.0),), 99.0)

    for replayed in (order, late):
        assert world.app.facts.order_placed(replayed, LATER) is False
        world.app.attribution.order_placed(replayed, LATER)

    assert world.campaign_message(erased) == scrubbed
    assert world.fakes.members.get(erased) is None


def test_given_an_erased_member_when_a_check_in_arrives_then_the_tombstone_takes_nothing(world: World) -> None:
    erased, _ = erased_and_kept(world)
    world.erase_and_purge(erased)

    assert world.fakes.attendance.attended(erased, "building-contest", LATER) is False
    assert world.fakes.members.get(erased) is None and erased not in world.fakes.members.members


def test_given_an_erased_member_when_a_segment_is_previewed_or_a_campaign_planned_then_they_are_not_read(
    world: World,
) -> None:
    erased, _ = erased_and_kept(world)
    before = world.app.segments.preview("parents-3-6", LATER)
    world.erase_and_purge(erased)

    after = world.app.segments.preview("parents-3-6", LATER)
    assert after["count"] == before["count"] - 1 and erased not in after["sample"]
    world.app.campaigns.put("c2", {**CAMPAIGN, "send_at": "2026-11-22T08:00:00Z"}, LATER)
    world.app.campaigns.launch("c2", LATER)
    while chunks := world.fakes.campaign_queue.take():
        for work in chunks:
            world.app.planner.plan(work, LATER)
    planned = {m.member_id for m in world.fakes.messages.messages.values() if m.campaign_id == "c2"}
    assert len(planned) == before["count"] - 1 and erased not in planned


def test_given_a_member_who_took_part_when_exported_then_their_votes_claims_and_purchase_facts_are_there(
    world: World,
) -> None:
    _, kept = erased_and_kept(world)

    export = world.app.member_data.export(kept, LATER)

    assert export["purchases"] == {
        "orders_count": 1,
        "total_spent": 99.0,
        "bought": {"train": "2026-11-22"},
        "attended": {"story-hour": "2026-11-22T05:00:00Z"},
    }
    assert export["campaigns"] == {
        "votes": [{"campaign_id": "c1", "option": "2", "at": "2026-11-22T02:05:00Z"}],
        "keyword_claims": [{"campaign_id": "c1", "at": "2026-11-22T02:06:00Z"}],
    }
