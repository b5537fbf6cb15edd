"""Campaign replies in the inbound reply chain beside the activities' (CONTRACT §7 routing order):
a poll vote is the member's open context, a campaign keyword comes before activity keywords, an
``activity_id`` keyword signs the member up through the registration service, and a check-in is
told to the member's record (segments' ``attended_activity``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.isotime import to_iso
from chalicelib.services.replies import MemberReply
from chalicelib.services.replies.campaigns import PollVoteReply
from tests.fakes import FakeCampaignStore, FakeMessageStore
from tests.unit.activity_world import ENDS, MONDAY, SATURDAY, STARTS, World

LATER = MONDAY + timedelta(hours=1)
EVERYONE = {"name": "everyone", "conditions": [{"field": "joined_days_ago", "op": "gte", "value": 0}]}


def campaign(**extra: Any) -> dict[str, Any]:
    return {
        "name": "积木周",
        "segment_id": "everyone",
        "channels": ["sms"],
        "send_at": "2026-11-23T02:00:00Z",
        "variants": [{"id": "a", "weight": 1, "templates": {"zh-CN": "积木周来了！"}}],
        **extra,
    }


def sent_campaign(world: World, body: dict[str, Any], at: datetime = MONDAY) -> None:
    """The campaign ``c1`` sent to everyone at ``at`` (its messages created then)."""
    world.app.segments.put("everyone", EVERYONE, MONDAY)
    world.app.campaigns.put("c1", {**body, "send_at": to_iso(at)}, MONDAY)
    world.app.campaigns.launch("c1", at)
    while chunks := world.fakes.campaign_queue.take():
        for work in chunks:
            world.app.planner.plan(work, at)


def test_a_keyword_whose_action_is_an_activity_signs_the_member_up_once() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    keyword = {"keyword": "积木", "expires_at": "2026-11-27T16:00:00Z", "action": {"activity_id": "sat-lego"}}
    sent_campaign(world, campaign(reply_keyword=keyword))
    assert world.reply(1, "积木", LATER) == "campaign registered: confirmed"
    assert world.status("sat-lego") == {"m-1": "confirmed"}
    assert world.store.registration("sat-lego", "m-1").source == "keyword"
    assert world.who("activity_confirmed") == ["m-1"]
    assert world.reply(1, "积木", LATER + timedelta(minutes=1)) == "campaign keyword used before"
    assert world.status("sat-lego") == {"m-1": "confirmed"}


def test_a_keyword_for_an_activity_closed_for_sign_up_ends_politely() -> None:
    world = World()
    world.put("sat-lego", {**SATURDAY, "signup_closes_at": "2026-11-23T09:00:00+08:00"})
    keyword = {"keyword": "积木", "expires_at": "2026-11-27T16:00:00Z", "action": {"activity_id": "sat-lego"}}
    sent_campaign(world, campaign(reply_keyword=keyword))
    assert world.reply(1, "积木", LATER) == "campaign activity closed"
    assert world.status("sat-lego") == {} and world.who("reply_campaign_ended") == ["m-1"]


def test_a_poll_vote_is_the_members_open_context_and_opt_out_words_still_come_first() -> None:
    world = World()
    sent_campaign(world, campaign(poll={"options": {"1": "恐龙", "2": "火车"}, "closes_at": "2026-11-29T16:00:00Z"}))
    assert world.reply(1, "投2", LATER) == "campaign voted"
    assert world.app.adapters.polls.tally("c1") == ({"2": 1}, 1)
    assert world.who("reply_poll_vote") == ["m-1"]
    assert world.reply(2, "T", LATER) == "opt_out"
    assert world.app.adapters.polls.tally("c1") == ({"2": 1}, 1)


def test_a_campaign_keyword_comes_before_an_activity_sign_up_word() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    world.put(
        "sun-lego", {**SATURDAY, "starts_at": "2026-11-29T14:00:00+08:00", "ends_at": "2026-11-29T16:00:00+08:00"}
    )
    keyword = {"keyword": "报名", "expires_at": "2026-11-27T16:00:00Z", "action": {"activity_id": "sun-lego"}}
    sent_campaign(world, campaign(reply_keyword=keyword))
    assert world.reply(1, "报名", LATER) == "campaign registered: confirmed"
    assert world.status("sun-lego") == {"m-1": "confirmed"} and world.status("sat-lego") == {}


def test_a_check_in_is_kept_on_the_members_record_for_segments() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    world.register("sat-lego", "m-1")
    world.registrations.check_in("sat-lego", {"member_id": "m-1"}, STARTS)
    assert world.fakes.members.attended("m-1", "sat-lego", STARTS) is False  # known already


def test_a_campaign_keyword_is_not_taken_for_words_of_feedback_after_an_activity() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    world.register("sat-lego", "m-1")
    coupon = {"coupon": {"title": "团圆券", "value": 20, "expires_on": "2026-12-31"}}
    sent_campaign(
        world, campaign(reply_keyword={"keyword": "团圆", "expires_at": "2026-12-10T00:00:00Z", "action": coupon})
    )
    world.registrations.check_in("sat-lego", {"member_id": "m-1"}, STARTS)
    after = ENDS + timedelta(minutes=61)
    world.tick(after)  # feedback asked for: words are feedback for 72 hours
    assert world.reply(1, "团圆", after + timedelta(minutes=3)) == "campaign coupon issued"
    assert world.activities.feedback("sat-lego") == []
    assert world.reply(1, "好玩", after + timedelta(minutes=4)) == "activity feedback"


# -- a bare digit while feedback and a poll are both open: the one asked last takes it ---------------
POLL = {"options": {"1": "恐龙", "2": "火车"}, "closes_at": "2026-11-30T16:00:00Z"}
ASKED = ENDS + timedelta(minutes=61)  # activity_feedback is sent then ("回复1到5分")


def attended(world: World) -> None:
    world.put("sat-lego", SATURDAY)
    world.register("sat-lego", "m-1")
    world.registrations.check_in("sat-lego", {"member_id": "m-1"}, STARTS)


def test_a_digit_is_a_vote_when_the_poll_was_asked_after_the_feedback() -> None:
    world = World()
    attended(world)
    world.tick(ASKED)
    assert world.who("activity_feedback") == ["m-1"]
    sent_campaign(world, campaign(poll=POLL), ASKED + timedelta(hours=2))
    assert world.reply(1, "1", ASKED + timedelta(hours=3)) == "campaign voted"
    assert world.app.adapters.polls.tally("c1") == ({"1": 1}, 1)
    assert world.activities.feedback("sat-lego") == []  # the rating is left untouched
    # unambiguous replies keep their meaning: words with a rating, stars, a digit the poll lacks
    assert world.reply(1, "5 太好玩了", ASKED + timedelta(hours=4)) == "activity feedback"
    assert world.reply(1, "3", ASKED + timedelta(hours=5)) == "activity feedback"
    [said] = world.activities.feedback("sat-lego")
    assert (said["rating"], said["text"]) == (3, "太好玩了")
    assert world.app.adapters.polls.tally("c1") == ({"1": 1}, 1)


def test_a_digit_is_a_rating_when_the_feedback_was_asked_after_the_poll() -> None:
    world = World()
    attended(world)
    sent_campaign(world, campaign(poll=POLL), ENDS - timedelta(hours=1))
    world.tick(ASKED)
    assert world.reply(1, "1", ASKED + timedelta(minutes=5)) == "activity feedback"
    [said] = world.activities.feedback("sat-lego")
    assert said["rating"] == 1
    assert world.app.adapters.polls.tally("c1") == ({}, 0)  # the vote is left untouched
    assert world.reply(1, "投2", ASKED + timedelta(minutes=6)) == "campaign voted"  # a vote, plainly
    assert world.app.adapters.polls.tally("c1") == ({"2": 1}, 1)


def test_the_poll_handler_leaves_a_rating_asked_for_later_alone_wherever_it_stands_in_the_chain() -> None:
    world = World()
    attended(world)
    sent_campaign(world, campaign(poll=POLL), ENDS - timedelta(hours=1))
    world.tick(ASKED)
    poll = next(h for h in world.app.inbound.replies.handlers if isinstance(h, PollVoteReply))
    at = ASKED + timedelta(minutes=5)
    member = world.fakes.members.get("m-1")
    assert member is not None
    event = world.event(1, "1", at)
    reply = MemberReply(member, event, "1", at, world.app.inbound.classify, lambda *_: None)
    assert poll.handle(reply) is None
    assert world.app.adapters.polls.tally("c1") == ({}, 0)


def test_before_the_feedback_is_asked_a_digit_is_the_polls() -> None:
    world = World()
    attended(world)
    sent_campaign(world, campaign(poll=POLL), ENDS + timedelta(minutes=10))  # the activity over, not yet asked
    assert world.reply(1, "2", ENDS + timedelta(minutes=20)) == "campaign voted"
    assert world.activities.feedback("sat-lego") == []


def test_a_digit_both_could_take_costs_one_message_query_and_one_read_per_campaign() -> None:
    world = World()
    attended(world)
    world.tick(ASKED)
    sent_campaign(world, campaign(poll=POLL), ASKED + timedelta(hours=2))
    messages, campaigns = world.fakes.messages, world.fakes.campaigns
    assert isinstance(messages, FakeMessageStore) and isinstance(campaigns, FakeCampaignStore)
    messages.recent_calls = campaigns.get_calls = 0
    assert world.reply(1, "1", ASKED + timedelta(hours=3)) == "campaign voted"
    # the feedback question's time and the poll's from one query; the poll and keyword handlers reuse it
    assert (messages.recent_calls, campaigns.get_calls) == (1, 1)
    messages.recent_calls = campaigns.get_calls = 0
    assert world.reply(1, "好玩", ASKED + timedelta(hours=4)) == "activity feedback"
    assert (messages.recent_calls, campaigns.get_calls) == (1, 1)  # is it a campaign's keyword? asked once
