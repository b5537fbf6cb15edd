"""Members' replies about activities, through the inbound worker and its reply chain (CONTRACT §6,
§7 order): the sign-up word, 取消/请假/cancel, 确认/yes, feedback after the activity; opt-out words
first, intents after."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.activities import RegistrationStatus
from chalicelib.services.replies import MemberReply, ReplyChain, ReplyHandler, Stage
from tests.unit.activity_world import ENDS, MONDAY, SATURDAY, STARTS, World

SUNDAY = {
    **SATURDAY,
    "title": "绘本故事会",
    "starts_at": "2026-11-29T10:00:00+08:00",
    "ends_at": "2026-11-29T11:00:00+08:00",
}
LATER = MONDAY + timedelta(hours=1)


def answers(world: World, member_id: str = "m-1") -> list[str]:
    return [m.text for m in world.sent("reply_activity", member_id)]


def test_the_sign_up_word_registers_for_the_only_open_activity() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    assert world.reply(1, "报名", LATER) == "activity sign-up"
    assert world.status("sat-lego") == {"m-1": "confirmed"}
    assert world.who("activity_confirmed") == ["m-1"]
    assert world.reply(1, " 报名！", LATER) == "activity sign-up repeated"  # a second 报名 keeps the place
    assert world.store.registration("sat-lego", "m-1").ticket == 1
    assert "您已报名11月28日（周六）14:00的周六积木大赛，签到码" in answers(world)[0]


def test_with_two_open_activities_the_one_invited_to_last_wins_else_a_short_list() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    world.put("sun-story", {**SUNDAY, "invite": ["m-2"]})
    assert world.reply(2, "报名", LATER) == "activity sign-up"
    assert world.status("sun-story") == {"m-2": "confirmed"}
    assert world.reply(1, "报名", LATER) == "activity choices"
    [choices] = answers(world)
    assert "回复“报名1”：周六积木大赛" in choices and "回复“报名2”：绘本故事会" in choices
    assert world.reply(1, "报名2", LATER) == "activity sign-up"
    assert world.status("sun-story")["m-1"] == "confirmed"


def test_a_sign_up_word_of_an_activity_closed_for_sign_up_gets_told_so() -> None:
    world = World()
    world.put("sat-lego", {**SATURDAY, "signup_closes_at": "2026-11-23T09:00:00+08:00"})
    assert world.reply(1, "报名", LATER) == "activity sign-up closed"
    assert "报名已截止" in answers(world)[0] and world.status("sat-lego") == {}


def test_qingjia_cancels_the_next_registration_and_the_first_in_line_moves_up() -> None:
    world = World()
    world.put("sat-lego", {**SATURDAY, "capacity": 1})
    world.register("sat-lego", "m-1")
    world.register("sat-lego", "m-2")
    assert world.reply(1, "请假", LATER) == "activity cancelled"
    assert world.status("sat-lego") == {"m-1": "cancelled", "m-2": "confirmed"}
    assert "已取消您11月28日（周六）14:00周六积木大赛的报名" in answers(world)[0]
    assert world.who("activity_promoted") == ["m-2"]


def test_cancel_from_a_member_holding_a_place_cancels_it_and_opts_out_otherwise() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    world.register("sat-lego", "m-1")
    assert world.reply(1, "CANCEL", LATER) == "activity cancelled"
    assert world.fakes.members.get("m-1").consent.sms is True
    assert world.reply(2, "CANCEL", LATER) == "opt_out"
    assert world.fakes.members.get("m-2").consent.sms is False


def test_opt_out_words_come_first_whatever_the_member_was_asked() -> None:
    world = World()
    world.put("sat-lego", {**SATURDAY, "capacity": 1, "waitlist": {"mode": "offer"}})
    world.register("sat-lego", "m-1")
    world.register("sat-lego", "m-2")
    world.registrations.cancel("sat-lego", "m-1", LATER)
    world.pump(LATER)
    assert world.reply(2, "T", LATER) == "opt_out"
    assert world.status("sat-lego")["m-2"] == "offered"


def test_queren_claims_an_open_offer_and_yes_without_one_is_an_opt_in() -> None:
    world = World()
    world.put("sat-lego", {**SATURDAY, "capacity": 1, "waitlist": {"mode": "offer", "claim_minutes": 30}})
    world.register("sat-lego", "m-1")
    world.register("sat-lego", "m-2")
    world.registrations.cancel("sat-lego", "m-1", LATER)
    world.pump(LATER)
    assert world.reply(2, "确认", LATER + timedelta(minutes=5)) == "activity offer claimed"
    assert world.status("sat-lego")["m-2"] == "confirmed"
    assert world.reply(3, "YES", LATER) == "opt_in"


def test_a_claim_after_the_deadline_is_told_the_seat_has_passed_on() -> None:
    world = World()
    world.put("sat-lego", {**SATURDAY, "capacity": 1, "waitlist": {"mode": "offer", "claim_minutes": 30}})
    for member_id in ("m-1", "m-2", "m-3"):
        world.register("sat-lego", member_id)
    world.registrations.cancel("sat-lego", "m-1", LATER)
    world.pump(LATER)
    assert world.reply(2, "确认", LATER + timedelta(minutes=31)) == "activity offer lapsed"
    assert world.status("sat-lego")["m-2"] == "cancelled" and world.status("sat-lego")["m-3"] == "offered"
    assert "让给下一位" in answers(world, "m-2")[0]


def test_after_the_activity_a_rating_words_and_a_picture_are_its_feedback() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    world.register("sat-lego", "m-1")
    world.registrations.check_in("sat-lego", {"member_id": "m-1"}, STARTS)
    after = ENDS + timedelta(minutes=61)
    world.tick(after)
    assert world.reply(1, "5 太好玩了", after + timedelta(minutes=3)) == "activity feedback"
    assert world.reply(1, "", after + timedelta(minutes=4), media=("https://img.example/1.jpg",)) == "activity feedback"
    [said] = world.activities.feedback("sat-lego")
    assert (said["member_id"], said["rating"], said["text"]) == ("m-1", 5, "太好玩了")
    assert said["media"] == ["https://img.example/1.jpg"]
    # a request for a person is not feedback, even then
    assert world.reply(1, "售后", after + timedelta(minutes=5)) == "handoff"


def test_without_an_attended_activity_words_are_just_history() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    world.register("sat-lego", "m-1")  # signed up, never came
    assert world.reply(1, "5 太好玩了", ENDS + timedelta(hours=2)) == "history"


def test_handlers_added_later_take_their_place_by_stage() -> None:
    class Poll(ReplyHandler):
        stage = Stage.CONTEXT

        def handle(self, reply: MemberReply) -> str | None:
            return "poll" if reply.text == "1" else None

    class OptOut(ReplyHandler):
        stage = Stage.OPT_OUT

        def handle(self, reply: MemberReply) -> str | None:
            return "opt_out" if reply.text == "T" else None

    chain = ReplyChain([Poll(), OptOut()])
    assert [type(h).__name__ for h in chain.handlers] == ["OptOut", "Poll"]


def test_the_registration_status_after_replies() -> None:
    world = World()
    world.put("sat-lego", SATURDAY)
    world.reply(1, "报名", LATER)
    world.reply(1, "取消", LATER)
    assert world.store.registration("sat-lego", "m-1").status is RegistrationStatus.CANCELLED
    assert world.reply(1, "报名", LATER + timedelta(minutes=1)) == "activity sign-up"  # back in, a new place
    assert world.store.registration("sat-lego", "m-1").ticket == 2
    assert len(world.sent("activity_confirmed", "m-1")) == 2
