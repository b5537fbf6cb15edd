"""What the store's activities keep about a member, read back (CONTRACT §8, §9): the export lists
their registrations (status, place in line, times, check-in code and check-in, feedback) and
invitations; the timeline shows each sign-up (``registration``) and check-in (``checkin``). Over
the fakes, wired through ``bootstrap`` (``tests/unit/activity_world.py``)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.activities import Feedback
from tests.unit.activity_world import ENDS, MONDAY, SATURDAY, STARTS, World

AFTER = ENDS + timedelta(hours=2)


def contest() -> World:
    """Five seats, seven members (m-6, m-7 in line); m-1 invited, checked in, gave feedback."""
    world = World()
    world.put("sat-lego", {**SATURDAY, "invite": ["m-1"]})
    for i, member_id in enumerate(world.ids):
        world.register("sat-lego", member_id, MONDAY + timedelta(minutes=i))
    world.registrations.check_in("sat-lego", {"member_id": "m-1"}, STARTS + timedelta(minutes=5))
    said = Feedback(rating=4, text="孩子很喜欢")
    world.registrations.add_feedback("sat-lego", "m-1", said, ("wx-media-1",), ENDS + timedelta(hours=1))
    return world


def test_the_export_holds_the_members_registrations_with_check_in_and_feedback_and_invitations() -> None:
    world = contest()
    code = world.store.registration("sat-lego", "m-1").code

    activities = world.app.member_data.export("m-1", AFTER)["activities"]

    assert activities["registrations"] == [
        {
            "activity_id": "sat-lego",
            "title": SATURDAY["title"],
            "starts_at": "2026-11-28T06:00:00Z",
            "member_id": "m-1",
            "status": "confirmed",
            "arrival": 1,
            "registered_at": "2026-11-23T02:00:00Z",
            "checked_in_at": "2026-11-28T06:05:00Z",
            "code": code,
            "source": "api",
            "feedback": {"rating": 4, "text": "孩子很喜欢", "media": ["wx-media-1"], "at": "2026-11-28T09:00:00Z"},
        }
    ]
    assert activities["invitations"] == [{"activity_id": "sat-lego", "invited_at": "2026-11-23T02:00:00Z"}]


def test_the_export_gives_a_waiting_members_place_in_line() -> None:
    world = contest()

    [registration] = world.app.member_data.export("m-7", AFTER)["activities"]["registrations"]

    assert (registration["status"], registration["position"], registration["arrival"]) == ("waitlisted", 2, 7)
    assert "feedback" not in registration and "checked_in_at" not in registration
    assert world.app.member_data.export("m-7", AFTER)["activities"]["invitations"] == []


def test_the_timeline_shows_the_sign_up_and_the_check_in_newest_first() -> None:
    world = contest()

    entries, _ = world.app.member_data.timeline("m-1", {})

    ours = [e for e in entries if e["kind"] in ("registration", "checkin")]
    assert ours == [
        {"at": "2026-11-28T06:05:00Z", "kind": "checkin", "activity_id": "sat-lego", "title": SATURDAY["title"]},
        {
            "at": "2026-11-23T02:00:00Z",
            "kind": "registration",
            "activity_id": "sat-lego",
            "title": SATURDAY["title"],
            "status": "confirmed",
        },
    ]
    assert entries.index(ours[0]) < entries.index(ours[1])
