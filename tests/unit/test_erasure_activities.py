"""Erasure (CONTRACT §9) reaches the store's activities: the erased member's seat passes on as their
cancellation would (the first in line moves up or is offered it, the line closes up), their
registrations (feedback, check-in code) and invitations are deleted, and no message planned for
them about an activity goes, from the moment of the tombstone. Over the fakes, wired through
``bootstrap`` (``tests/unit/activity_world.py``)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.activities import Feedback
from chalicelib.domain.model import MessageStatus
from tests.unit.activity_world import ENDS, MONDAY, SATURDAY, STARTS, World

ERASED_AT = MONDAY + timedelta(hours=3)


def contest(world: World, **changes: object) -> None:
    """Five seats, seven members: m-1 … m-5 confirmed, m-6 and m-7 in line."""
    world.put("sat-lego", {**SATURDAY, **changes})
    for i, member_id in enumerate(world.ids):
        world.register("sat-lego", member_id, MONDAY + timedelta(minutes=i))


def erase(world: World, member_id: str) -> None:
    """``DELETE /v1/members/{id}`` and every purge it queues (both rounds), then the stream."""
    world.app.erasure.erase(member_id, ERASED_AT)
    while requests := world.fakes.erasure_queue.take():
        for who, at, round_no, _ in requests:
            assert world.app.erasure.purge(who, at, round_no, lambda: True).done
    world.pump(ERASED_AT)


def test_erasing_a_confirmed_member_gives_their_seat_to_the_first_in_line() -> None:
    world = World()
    contest(world)

    erase(world, "m-3")

    assert world.status("sat-lego") == {f"m-{i}": "confirmed" for i in (1, 2, 4, 5, 6)} | {"m-7": "waitlisted"}
    assert world.who("activity_promoted") == ["m-6"]
    assert world.store.books["sat-lego"].line() == ["m-7"] and world.store.books["sat-lego"].position("m-7") == 1
    described = world.activities.get("sat-lego", ERASED_AT)
    assert described["counts"]["confirmed"] == 5 and described["seats_left"] == 0
    assert described["counts"]["waitlisted"] == 1 and described["counts"]["cancelled"] == 0
    assert [m for m in world.sent(member_id="m-3") if m.created_at >= ERASED_AT] == []


def test_erasing_a_confirmed_member_in_offer_mode_offers_their_seat_to_the_first_in_line() -> None:
    world = World()
    contest(world, waitlist={"mode": "offer", "claim_minutes": 120})

    erase(world, "m-2")

    assert world.status("sat-lego")["m-6"] == "offered" and "m-2" not in world.status("sat-lego")
    assert world.who("activity_offer") == ["m-6"]


def test_erasing_a_member_in_line_moves_those_behind_up_and_gives_no_seat_away() -> None:
    world = World(members=8)
    contest(world)

    erase(world, "m-6")

    book = world.store.books["sat-lego"]
    assert book.line() == ["m-7", "m-8"] and (book.position("m-7"), book.position("m-8")) == (1, 2)
    assert len(book.seats) == 5 and world.who("activity_promoted") == []
    listed = world.activities.registrations("sat-lego", ERASED_AT)
    assert [(r["member_id"], r.get("position")) for r in listed if r["status"] == "waitlisted"] == [
        ("m-7", 1),
        ("m-8", 2),
    ]


def test_erasing_a_member_deletes_their_registrations_feedback_and_invitations() -> None:
    world = World()
    world.put("sat-lego", {**SATURDAY, "invite": ["m-1", "m-2"]})
    world.register("sat-lego", "m-1")
    world.register("sat-lego", "m-2")
    for member_id in ("m-1", "m-2"):
        world.registrations.check_in("sat-lego", {"member_id": member_id}, STARTS)
        said = Feedback(rating=5, text=f"{member_id} 的孩子玩得很开心")
        world.registrations.add_feedback("sat-lego", member_id, said, ("img-" + member_id,), ENDS)
    code = world.store.registration("sat-lego", "m-1").code

    world.app.erasure.erase("m-1", ENDS + timedelta(days=1))
    while requests := world.fakes.erasure_queue.take():
        for who, at, round_no, _ in requests:
            world.app.erasure.purge(who, at, round_no, lambda: True)

    kept = repr([world.store.regs, world.store.invitations, world.store.books])
    for trace in ("m-1 的孩子", "img-m-1", code, "'m-1'"):
        assert trace not in kept, trace
    assert [f["member_id"] for f in world.activities.feedback("sat-lego")] == ["m-2"]
    counts = world.activities.get("sat-lego", ENDS + timedelta(days=1))["counts"]
    assert (counts["confirmed"], counts["checked_in"], counts["no_show"]) == (1, 1, 0)


def test_an_activity_reminder_planned_for_a_member_erased_a_moment_ago_never_goes() -> None:
    """The tombstone alone (the purge not run yet): the reminder timer finds no member."""
    world = World()
    contest(world)
    assert world.timers.get("m-1", "activity_reminder#sat-lego#1440") is not None

    world.app.erasure.erase("m-1", ERASED_AT)
    world.tick(STARTS - timedelta(days=1))
    world.tick(STARTS - timedelta(hours=1))

    reminders = world.sent("activity_reminder")
    assert sorted({m.member_id for m in reminders}) == ["m-2", "m-3", "m-4", "m-5"]
    pending = (MessageStatus.QUEUED, MessageStatus.DEFERRED)
    assert [m for m in world.sent(member_id="m-1") if m.created_at >= ERASED_AT and m.status in pending] == []


def test_an_erased_member_left_in_an_activitys_invite_list_is_not_invited_again() -> None:
    world = World()
    body = {**SATURDAY, "invite": ["m-1", "m-2"]}
    world.put("sat-lego", body)
    erase(world, "m-1")
    assert ("sat-lego", "m-1") not in world.store.invitations

    world.put("sat-lego", {**body, "location": "乐乐玩具大悦城店"}, ERASED_AT)  # the store's old list, sent again
    world.put("sat-lego", {**body, "invite": ["m-1", "m-2", "m-3"]}, ERASED_AT)

    assert sorted(world.store.invitations) == [("sat-lego", "m-2"), ("sat-lego", "m-3")]
