"""A store activity from sign-up to feedback over the fakes, through the services, the rule engine
(what the stream carries) and the timers: the Saturday building contest of the demo, the offer
mode, a moved start and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.activities import RegistrationStatus
from chalicelib.domain.model import MessageStatus
from tests.unit.activity_world import ENDS, MONDAY, SATURDAY, STARTS, World

PENDING = (MessageStatus.QUEUED, MessageStatus.DEFERRED)


def contest(world: World, **changes: object) -> None:
    world.put("sat-lego", {**SATURDAY, **changes})
    for i, member_id in enumerate(world.ids):
        world.register("sat-lego", member_id, MONDAY + timedelta(minutes=i))


def test_seven_sign_ups_for_five_seats_five_confirmed_two_in_line_in_order() -> None:
    world = World()
    contest(world)
    assert world.who("activity_confirmed") == world.ids[:5]
    waitlisted = world.sent("activity_waitlisted")
    assert [m.member_id for m in waitlisted] == ["m-6", "m-7"]
    assert "候补第1位" in waitlisted[0].text and "候补第2位" in waitlisted[1].text
    confirmed = world.sent("activity_confirmed", "m-1")[0]
    code = world.store.registration("sat-lego", "m-1").code
    assert code and code in confirmed.text and "11月28日（周六）14:00" in confirmed.text
    assert confirmed.send_before == STARTS


def test_a_cancellation_promotes_the_first_in_line_and_its_reminders_never_go() -> None:
    world = World()
    contest(world)
    world.registrations.cancel("sat-lego", "m-3", MONDAY + timedelta(hours=1))
    world.pump(MONDAY + timedelta(hours=1))
    assert world.status("sat-lego")["m-3"] == "cancelled" and world.status("sat-lego")["m-6"] == "confirmed"
    promoted = world.sent("activity_promoted")
    assert [m.member_id for m in promoted] == ["m-6"]
    assert world.store.registration("sat-lego", "m-6").code in promoted[0].text
    assert world.store.books["sat-lego"].position("m-7") == 1
    # the day before and the hour before: the five holding seats, not the one who cancelled
    world.tick(STARTS - timedelta(days=1))
    world.tick(STARTS - timedelta(hours=1))
    reminders = world.sent("activity_reminder")
    assert sorted({m.member_id for m in reminders}) == ["m-1", "m-2", "m-4", "m-5", "m-6"]
    assert all(len([m for m in reminders if m.member_id == who]) == 2 for who in ("m-1", "m-6"))
    dropped = world.timers.get("m-3", "activity_reminder#sat-lego#1440")
    assert dropped is not None and dropped.status == "dropped" and dropped.reason == "registration cancelled"


def test_after_the_end_attendees_are_asked_for_feedback_and_no_shows_are_missed() -> None:
    world = World()
    contest(world)
    for member_id in ("m-1", "m-2", "m-3", "m-4"):
        world.registrations.check_in("sat-lego", {"member_id": member_id}, STARTS)
    code = world.store.registration("sat-lego", "m-5").code
    assert world.registrations.check_in("sat-lego", {"code": code.lower()}, STARTS).member_id == "m-5"
    world.registrations.cancel("sat-lego", "m-5", STARTS)  # after the start: nobody moves up
    world.pump(STARTS)
    assert world.status("sat-lego")["m-6"] == "waitlisted"
    world.tick(ENDS + timedelta(minutes=61))
    assert world.who("activity_feedback") == ["m-1", "m-2", "m-3", "m-4"]
    assert world.who("activity_missed") == []
    details = world.activities.get("sat-lego", ENDS + timedelta(minutes=61))
    assert details["counts"]["checked_in"] == 4 and details["counts"]["no_show"] == 0


def test_a_no_show_gets_activity_missed_with_the_next_date() -> None:
    world = World(members=2)
    world.put("sat-lego", {**SATURDAY, "capacity": 2})
    world.put(
        "next-lego", {**SATURDAY, "starts_at": "2026-12-05T14:00:00+08:00", "ends_at": "2026-12-05T16:00:00+08:00"}
    )
    world.register("sat-lego", "m-1")
    world.register("sat-lego", "m-2")
    world.registrations.check_in("sat-lego", {"member_id": "m-1"}, STARTS)
    world.tick(ENDS + timedelta(minutes=61))
    assert world.who("activity_feedback") == ["m-1"] and world.who("activity_missed") == ["m-2"]
    assert "12月5日（周六）14:00" in world.sent("activity_missed")[0].text
    details = world.activities.get("sat-lego", ENDS + timedelta(minutes=61))
    assert details["counts"]["no_show"] == 1
    row = next(r for r in world.activities.registrations("sat-lego", ENDS) if r["member_id"] == "m-2")
    assert row["no_show"] is True


def test_offer_mode_offers_the_seat_and_passes_it_on_when_the_claim_window_passes() -> None:
    world = World()
    contest(world, waitlist={"mode": "offer", "claim_minutes": 60})
    cancelled_at = MONDAY + timedelta(hours=2)
    world.registrations.cancel("sat-lego", "m-1", cancelled_at)
    world.pump(cancelled_at)
    offer = world.store.registration("sat-lego", "m-6")
    assert offer.status is RegistrationStatus.OFFERED and offer.offer_expires_at == cancelled_at + timedelta(hours=1)
    offered = world.sent("activity_offer", "m-6")
    assert len(offered) == 1 and "确认" in offered[0].text and offered[0].send_before == offer.offer_expires_at
    assert world.activities.get("sat-lego", cancelled_at)["counts"]["offered"] == 1
    world.tick(cancelled_at + timedelta(minutes=62))  # the deadline passed unclaimed
    assert world.status("sat-lego")["m-6"] == "cancelled"
    assert world.store.registration("sat-lego", "m-6").reason == "offer not claimed in time"
    assert world.status("sat-lego")["m-7"] == "offered" and world.who("activity_offer") == ["m-6", "m-7"]
    assert world.reply(7, "确认", cancelled_at + timedelta(minutes=70)) == "activity offer claimed"
    assert world.status("sat-lego")["m-7"] == "confirmed" and world.who("activity_promoted") == ["m-7"]


def test_no_offers_in_the_last_two_hours_the_freed_seat_goes_to_whoever_signs_up() -> None:
    world = World(members=8)
    world.put("sat-lego", {**SATURDAY, "waitlist": {"mode": "offer"}})
    for member_id in world.ids[:7]:
        world.register("sat-lego", member_id)
    late = STARTS - timedelta(minutes=90)
    world.registrations.cancel("sat-lego", "m-2", late)
    world.pump(late)
    assert world.status("sat-lego")["m-6"] == "waitlisted" and world.store.books["sat-lego"].seats_left == 1
    reg, _, _ = world.register("sat-lego", "m-7", late + timedelta(minutes=1))  # in line: takes the free seat
    assert reg.status is RegistrationStatus.CONFIRMED and world.who("activity_promoted") == ["m-7"]


def test_moving_the_start_tells_each_registered_member_once_and_moves_their_reminders() -> None:
    world = World()
    contest(world)
    world.registrations.cancel("sat-lego", "m-2", MONDAY + timedelta(hours=1))
    world.pump(MONDAY + timedelta(hours=1))
    moved_at = MONDAY + timedelta(days=1)
    world.put("sat-lego", {"starts_at": "2026-11-28T15:00:00+08:00", "ends_at": "2026-11-28T17:00:00+08:00"}, moved_at)
    world.put("sat-lego", {"starts_at": "2026-11-28T15:00:00+08:00"}, moved_at + timedelta(minutes=5))  # the same again
    told = world.sent("activity_changed")
    assert sorted(m.member_id for m in told) == ["m-1", "m-3", "m-4", "m-5", "m-6", "m-7"]
    assert all("15:00" in m.text for m in told)
    new_start = STARTS + timedelta(hours=1)
    slot = world.timers.get("m-1", "activity_reminder#sat-lego#60")
    assert slot is not None and slot.status == "pending" and slot.timer.due_at == new_start - timedelta(hours=1)
    world.tick(STARTS - timedelta(hours=1))  # the old hour-before passes: nothing
    world.tick(new_start - timedelta(hours=1))
    hour_before = [m for m in world.sent("activity_reminder") if m.created_at >= new_start - timedelta(hours=1)]
    assert sorted(m.member_id for m in hour_before) == ["m-1", "m-3", "m-4", "m-5", "m-6"]


def test_cancelling_the_activity_tells_everyone_once_and_no_reminder_goes() -> None:
    world = World()
    contest(world)
    world.put("sat-lego", {"status": "cancelled"}, MONDAY + timedelta(days=2))
    assert len(world.sent("activity_changed")) == 7 and "取消" in world.sent("activity_changed")[0].text
    world.tick(STARTS - timedelta(days=1))
    assert world.sent("activity_reminder") == []


def test_a_reminder_that_would_fall_in_quiet_hours_goes_at_the_last_open_minute_before() -> None:
    world = World(members=1)
    early = {**SATURDAY, "starts_at": "2026-11-28T08:30:00+08:00", "ends_at": "2026-11-28T10:00:00+08:00"}
    world.put("early", early)
    world.register("early", "m-1")
    slot = world.timers.get("m-1", "activity_reminder#early#60")
    assert slot is not None
    assert slot.timer.due_at == datetime(2026, 11, 27, 12, 59, tzinfo=UTC)  # 20:59 the evening before
    world.tick(datetime(2026, 11, 27, 12, 59, tzinfo=UTC))  # the minute schedule at 20:59
    [reminder] = [m for m in world.sent("activity_reminder") if "08:30" in m.text]
    assert reminder.status is MessageStatus.QUEUED and reminder.send_before == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)


def test_a_reminder_whose_timer_fires_after_the_start_is_dropped() -> None:
    world = World(members=1)
    world.put("sat-lego", {**SATURDAY, "reminders_minutes": [30]})
    world.register("sat-lego", "m-1")
    world.tick(STARTS + timedelta(minutes=5))  # the schedule was down: the reminder is late
    assert world.sent("activity_reminder") == []
    slot = world.timers.get("m-1", "activity_reminder#sat-lego#30")
    assert slot is not None and (slot.status, slot.reason) == ("dropped", "activity started")


def test_signing_up_after_the_reminder_times_schedules_only_the_ones_still_ahead() -> None:
    world = World(members=1)
    world.put("sat-lego", SATURDAY)
    world.register("sat-lego", "m-1", STARTS - timedelta(hours=3))
    assert world.timers.get("m-1", "activity_reminder#sat-lego#1440") is None
    assert world.timers.get("m-1", "activity_reminder#sat-lego#60") is not None


def test_invited_members_hear_about_it_once_while_sign_up_is_open() -> None:
    world = World(members=3)
    world.put("sat-lego", {**SATURDAY, "invite": ["m-1", "m-2"]})
    world.put("sat-lego", {"invite": ["m-1", "m-2", "m-3"]}, MONDAY + timedelta(hours=1))
    invites = world.sent("activity_invite")
    assert sorted(m.member_id for m in invites) == ["m-1", "m-2", "m-3"]
    assert all(m.rule_class == "marketing" and "回复“报名”" in m.text for m in invites)
