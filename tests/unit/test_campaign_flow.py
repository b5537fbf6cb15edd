"""A campaign end to end over fakes (services wired by bootstrap): the preview is exactly the
hand-computed members, launch plans each of them once (a message or a control record) and nobody
else, consent and quiet hours hold, a replayed chunk or tick plans nothing more, pause stops
within a chunk, arms are stable; orders convert the last message in its window, once; the
counters fed from the messages "stream" give the results; keyword replies and votes act once."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.campaign_planning import campaign_message_id
from chalicelib.domain.campaigns import CONTROL, arm_for
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.model import Child, Consent, Member, MessageStatus, Order, OrderItem, Product
from chalicelib.domain.rulebook import load_rule_book
from chalicelib.services.campaign_replies import REPLY_ENDED, REPLY_KEYWORD, REPLY_VOTE
from tests.fakes import FakeAdapters, fake_app

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 18:00 the day before in Los Angeles
KEEN = Consent(sms=True, im=True, marketing=True)


def kid(born: str) -> Child:
    return Child("乐乐", date.fromisoformat(born), "boy")


def person(mid: str, **fields: Any) -> Member:
    values: dict[str, Any] = {
        "name": "家长",
        "phone": "+86138001380" + mid[-2:],
        "consent": KEEN,
        "created_at": NOW - timedelta(days=30),
        "joined_at": NOW - timedelta(days=30),
        "version": 1,
    }
    values.update(fields)
    return Member(mid, **values)


MEMBERS = [
    person("m-01", children=[kid("2023-11-21")]),  # turned 3 yesterday: in
    person("m-02", children=[kid("2023-11-23")]),  # turns 3 tomorrow: out
    person("m-03", children=[kid("2020-11-23")]),  # 5 years 11 months: in
    person("m-04", children=[kid("2020-11-21")]),  # 6 years and a day: 72 months, in
    person("m-05", children=[kid("2019-11-21")]),  # 7: out
    person("m-06", children=[kid("2022-05-01")], consent=Consent(sms=True, im=True, marketing=False)),  # in, suppressed
    person("m-07", children=[kid("2022-05-01")], timezone="America/Los_Angeles"),  # in; 18:00 there: sent
    person("m-08", children=[kid("2022-05-01")], timezone="Pacific/Auckland"),  # in; 15:00 there
    person("m-09"),  # no children: out
    person("m-10", children=[kid("2022-05-01")], created_at=NOW + timedelta(minutes=5)),  # joins after launch
    *[person(f"m-{i:02d}", children=[kid("2022-01-15")]) for i in range(11, 41)],
]
IN = {"m-01", "m-03", "m-04", "m-06", "m-07", "m-08", *(f"m-{i:02d}" for i in range(11, 41))}

SEGMENT = {"name": "3–6 岁", "conditions": [{"field": "child_age_months", "op": "between", "value": [36, 72]}]}
CAMPAIGN = {
    "name": "新火车到店",
    "segment_id": "parents-3-6",
    "channels": ["sms"],
    "send_at": "2026-11-22T02:00:00Z",
    "holdout_percent": 20,
    "variants": [
        {"id": "a", "weight": 1, "templates": {"zh-CN": "新火车到店啦！回复“{{ keyword }}”领券。"}},
        {
            "id": "b",
            "weight": 1,
            "templates": {"zh-CN": "小火车来了，回复1/2投票：{{ poll.options['1'] }}/{{ poll.options['2'] }}"},
        },
    ],
    "reply_keyword": {
        "keyword": "团圆",
        "expires_at": "2026-11-30T16:00:00Z",
        "action": {"coupon": {"title": "团圆券", "value": 20, "expires_on": "2026-12-31"}},
    },
    "poll": {"options": {"1": "恐龙", "2": "火车"}, "closes_at": "2026-11-29T16:00:00Z"},
}


class World:
    def __init__(self, page: int = 5) -> None:
        self.fakes = FakeAdapters()
        self.app = fake_app(self.fakes, book=load_rule_book(), campaign_parts=3)
        self.app.planner.page = page
        for m in MEMBERS:
            self.fakes.members.members[m.member_id] = copy.deepcopy(m)
        self.seen: dict[str, Any] = {}

    def plan_all(self, at: datetime = NOW) -> int:
        rounds = 0
        while chunks := self.fakes.campaign_queue.take():
            for work in chunks:
                self.app.planner.plan(work, at)
            rounds += 1
        return rounds

    def stream(self) -> None:
        """The messages table's stream: every change since the last call, to the counters."""
        for mid, message in self.fakes.messages.messages.items():
            old = self.seen.get(mid)
            if old != message:
                self.app.tallies.message_changed(old, copy.deepcopy(message))
                self.seen[mid] = copy.deepcopy(message)

    def campaign_messages(self) -> dict[str, Any]:
        return {m.member_id: m for m in self.fakes.messages.messages.values() if m.campaign_id == "c1"}

    def launch(self) -> None:
        self.app.segments.put("parents-3-6", SEGMENT, NOW)
        self.app.campaigns.put("c1", CAMPAIGN, NOW)
        self.app.campaigns.launch("c1", NOW)


@pytest.fixture
def world() -> World:
    return World()


def test_preview_is_exactly_the_hand_computed_members(world: World) -> None:
    world.app.segments.put("parents-3-6", SEGMENT, NOW)
    preview = world.app.segments.preview("parents-3-6", NOW)
    expected = IN | {"m-10"}  # the preview is now: m-10 exists already
    assert preview["count"] == len(expected)
    assert preview["sample"] == sorted(expected)[:20]
    assert preview["evaluated_at"] == "2026-11-22T02:00:00Z"


def test_a_launched_campaign_reaches_each_member_once_and_nobody_else(world: World) -> None:
    world.launch()
    assert world.plan_all() >= 3
    messages = world.campaign_messages()
    assert set(messages) == IN
    campaign = world.app.adapters.campaigns.get("c1")
    for mid, m in messages.items():
        assert m.message_id == campaign_message_id(mid, "c1")
        assert m.variant == arm_for(mid, campaign)
        if m.variant == CONTROL:
            assert m.status is MessageStatus.CONTROL and m.text == ""
        elif mid == "m-06":
            assert (m.status, m.reason) == (MessageStatus.SUPPRESSED, "no marketing consent")
        else:
            assert m.status is MessageStatus.QUEUED, (mid, m.status, m.reason)
    queued = [m.message_id for m in messages.values() if m.status is MessageStatus.QUEUED]
    assert sorted(world.fakes.send_queue.ids) == sorted(queued)
    assert world.app.adapters.campaigns.get("c1").status == "done"
    # Replays: the same chunks, another tick, another launch: nothing more.
    before = copy.deepcopy(world.fakes.messages.messages)
    world.fakes.campaign_queue.enqueue([{"campaign_id": "c1", "part": 0, "parts": 3, "cursor": "^", "at": "x"}])
    world.plan_all()
    assert world.app.campaigns.start_due(NOW + timedelta(minutes=1)) == []
    with pytest.raises(Conflict):
        world.app.campaigns.launch("c1", NOW)
    assert world.fakes.messages.messages == before
    assert len(world.fakes.send_queue.ids) == len(queued)


def test_quiet_hours_defer_and_local_time_waits_for_each_member(world: World) -> None:
    world.app.segments.put("parents-3-6", SEGMENT, NOW)
    body = {**CAMPAIGN, "send_at": None, "send_on": "2026-11-22", "local_time": "10:00"}
    del body["send_at"]
    world.app.campaigns.put("c1", body, NOW - timedelta(days=1))
    world.app.campaigns.launch("c1", NOW - timedelta(days=1))
    assert world.fakes.campaign_queue.chunks == []  # scheduled: not yet
    assert world.app.campaigns.start_due(datetime(2026, 11, 21, 19, 59, tzinfo=UTC)) == []
    assert world.app.campaigns.start_due(datetime(2026, 11, 21, 20, 0, tzinfo=UTC)) == ["c1"]  # 10:00 at UTC+14
    world.plan_all(datetime(2026, 11, 21, 20, 0, tzinfo=UTC))
    messages = world.campaign_messages()
    la = messages["m-07"]
    if la.variant != CONTROL:
        assert la.status is MessageStatus.DEFERRED
        assert la.send_after == datetime(2026, 11, 22, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles
    shanghai = next(m for m in messages.values() if m.variant != CONTROL and m.member_id.startswith("m-1"))
    assert shanghai.send_after == NOW and shanghai.status is MessageStatus.DEFERRED
    assert world.fakes.timers.pending(shanghai.member_id)  # the durable timer that releases it


def test_pause_takes_effect_within_one_chunk_and_resume_carries_on(world: World) -> None:
    world.launch()
    first = world.fakes.campaign_queue.take()
    world.app.planner.plan(first[0], NOW)  # one chunk of part 0
    planned = len(world.campaign_messages())
    assert 0 < planned <= 5
    world.app.campaigns.pause("c1", NOW)
    world.fakes.campaign_queue.chunks += [(c, 0) for c in first[1:]]
    world.plan_all()
    assert len(world.campaign_messages()) == planned
    world.app.campaigns.resume("c1", NOW)
    world.plan_all()
    assert set(world.campaign_messages()) == IN
    assert world.app.adapters.campaigns.get("c1").status == "done"


def test_cancel_stops_planning(world: World) -> None:
    world.launch()
    world.app.campaigns.cancel("c1", NOW)
    world.plan_all()
    assert world.campaign_messages() == {}


def test_marketing_consent_withdrawn_after_planning_stops_the_send(world: World) -> None:
    """The send-time check applies the campaign's class: an opt-out while the send waits in SQS stops it."""
    world.launch()
    world.plan_all()
    queued = [m for m in world.campaign_messages().values() if m.status is MessageStatus.QUEUED]
    withdrawn, kept = queued[0], queued[1]
    stored = world.fakes.members.members[withdrawn.member_id]
    stored.consent = Consent(sms=True, im=True, marketing=False)
    for message in (withdrawn, kept):
        world.app.sender.deliver(message.message_id, NOW)
    after = world.campaign_messages()
    assert (after[withdrawn.member_id].status, after[withdrawn.member_id].reason) == (
        MessageStatus.SUPPRESSED,
        "no marketing consent",
    )
    assert after[kept.member_id].status is MessageStatus.SENT
    assert [s.message_id for s in world.fakes.providers["sandbox"].sends] == [kept.message_id]


def test_sends_orders_and_the_results_per_arm(world: World) -> None:
    world.launch()
    world.plan_all()
    world.stream()
    for mid in world.fakes.send_queue.ids:
        world.app.sender.deliver(mid, NOW)
    world.stream()
    messages = world.campaign_messages()
    sent_member = next(m for m in messages.values() if m.status is MessageStatus.SENT)
    control_member = next(m for m in messages.values() if m.status is MessageStatus.CONTROL)
    world.fakes.catalog.add(Product("TRAIN-1", "小火车", category="train"))
    for i, m in enumerate([sent_member, control_member, sent_member]):
        order = Order(m.member_id, f"o-{i}", NOW + timedelta(hours=2 + i), (OrderItem("TRAIN-1", 1, 99.0),), 99.0)
        world.fakes.members.add_order(order, world.fakes.members.get(m.member_id))  # type: ignore[arg-type]
        for _ in range(2):  # the activity stream, replayed
            world.app.facts.order_placed(order, order.purchased_at)
            world.app.attribution.order_placed(order, order.purchased_at)
    late = Order(control_member.member_id, "o-late", NOW + timedelta(days=8), (), 10.0)
    assert world.app.attribution.order_placed(late, late.purchased_at) is None  # outside the 168 h window
    world.stream()
    world.stream()
    assert world.fakes.members.get(sent_member.member_id).orders_count == 2  # type: ignore[union-attr]
    assert world.fakes.members.get(sent_member.member_id).bought == {"train": date(2026, 11, 22)}  # type: ignore[union-attr]
    results = world.app.campaigns.results("c1")["arms"]
    arms = Counter(m.variant for m in messages.values())
    for arm, n in arms.items():
        assert results[arm]["members"] == n
    won = results[sent_member.variant]
    assert (won["converted"], won["revenue"]) == (1, 198.0)
    assert (results[CONTROL]["converted"], results[CONTROL]["revenue"]) == (1, 99.0)
    assert won["underpowered"] is True and "p_value" in won and "prob_beats_control" in won
    progress = world.app.campaigns.get("c1")["progress"]
    assert progress[sent_member.variant]["sent"] == sum(
        1 for m in messages.values() if m.variant == sent_member.variant and m.status is MessageStatus.SENT
    )
    assert progress[sent_member.variant]["queued"] == 0
    assert world.app.campaigns.get("c1")["audience"] == len(IN)


def test_keyword_acts_once_and_ends_politely(world: World) -> None:
    world.launch()
    world.plan_all()
    replies = world.app.campaign_replies
    member = next(
        world.fakes.members.get(m.member_id)
        for m in world.campaign_messages().values()
        if m.status is MessageStatus.QUEUED
    )
    assert member is not None
    first = replies.try_keyword(member, "“团圆”！", NOW)
    again = replies.try_keyword(member, "团圆", NOW + timedelta(minutes=1))
    assert first is not None and first.outcome == "coupon issued" and first.reply_rule is None
    assert again is not None and again.reply_rule == REPLY_KEYWORD and again.facts["already"] is True
    assert len(world.fakes.members.coupons(member.member_id)) == 1
    assert replies.try_keyword(member, "你好", NOW) is None
    ended = replies.try_keyword(member, "团圆", datetime(2026, 12, 1, tzinfo=UTC))
    assert ended is not None and ended.reply_rule == REPLY_ENDED
    outsider = world.fakes.members.get("m-05")
    assert outsider is not None and replies.try_keyword(outsider, "团圆", NOW) is None


def test_a_poll_counts_one_vote_per_member_the_last_one(world: World) -> None:
    world.launch()
    world.plan_all()
    replies = world.app.campaign_replies
    voters = [m.member_id for m in world.campaign_messages().values() if m.status is MessageStatus.QUEUED][:3]
    for mid in voters:
        member = world.fakes.members.get(mid)
        assert member is not None
        assert replies.try_vote(member, "1", NOW).reply_rule == REPLY_VOTE
    last = world.fakes.members.get(voters[0])
    assert last is not None
    replies.try_vote(last, "投2", NOW)
    replies.try_vote(last, "投2", NOW)
    poll = world.app.campaigns.poll("c1")
    assert poll["voters"] == 3
    assert {k: v["votes"] for k, v in poll["options"].items()} == {"1": 2, "2": 1}
    closed = replies.try_vote(last, "1", datetime(2026, 12, 1, tzinfo=UTC))
    assert closed is not None and closed.reply_rule == REPLY_ENDED
    assert replies.try_vote(last, "hello", NOW) is None


def test_a_campaign_can_only_be_edited_as_a_draft_and_needs_its_segment(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        world.app.campaigns.put("c1", CAMPAIGN, NOW)
    assert "segment_id" in caught.value.fields
    world.launch()
    with pytest.raises(Conflict):
        world.app.campaigns.put("c1", CAMPAIGN, NOW)


def test_a_chunk_that_dies_before_its_cursor_moves_is_planned_again_and_its_sends_still_go(world: World) -> None:
    world.launch()
    chunks = world.fakes.campaign_queue.take()
    real = world.fakes.campaigns.advance
    calls = {"n": 0}

    def dies_once(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the Lambda died here")
        return real(*args)

    world.fakes.campaigns.advance = dies_once  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        world.app.planner.plan(chunks[0], NOW)
    world.fakes.campaign_queue.take()  # its continuation went out before it died: a duplicate to come
    world.app.planner.plan(chunks[0], NOW)  # SQS hands the chunk back
    world.fakes.campaign_queue.chunks += [(c, 0) for c in chunks[1:]]
    world.plan_all()
    queued = {m.message_id for m in world.campaign_messages().values() if m.status is MessageStatus.QUEUED}
    assert queued and queued <= set(world.fakes.send_queue.ids)
    assert set(world.campaign_messages()) == IN


def test_planning_waits_while_the_send_queue_holds_more_than_a_round() -> None:
    world = World(page=5)
    world.app.planner.rates = {"sandbox": 10}
    world.launch()
    first = world.fakes.campaign_queue.take()
    world.fakes.send_queue.backlog = 0
    world.app.planner.plan(first[0], NOW)
    assert [delay for _, delay in world.fakes.campaign_queue.chunks] == [0]  # the senders would run dry
    world.fakes.campaign_queue.take()
    world.fakes.send_queue.backlog = 3 * 5 + 20  # one round (3 parts × 5) and 20 more sends
    world.app.planner.plan(first[1], NOW)
    assert [delay for _, delay in world.fakes.campaign_queue.chunks] == [2]  # 20 sends at 10/s
