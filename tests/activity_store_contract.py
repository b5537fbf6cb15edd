"""What every ``ActivityStore`` promises (``chalicelib/ports.py``), as checks run against the fake
(tests/unit/test_activity_store_contract.py) and the DynamoDB adapter on moto
(tests/integration/test_activity_store_contract.py): a fake that drifts from the real store fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.activities import Activity, ActivityStatus, Registration, RegistrationStatus
from chalicelib.domain.waitlist import Place
from chalicelib.ports import VersionConflict

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
STARTS = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def activity(activity_id: str = "sat-lego", **fields: Any) -> Activity:
    values: dict[str, Any] = {
        "title": "周六积木大赛",
        "starts_at": STARTS,
        "ends_at": STARTS + timedelta(hours=2),
        "location": "万象城店",
        "capacity": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return Activity(activity_id=activity_id, **values)


def reg(member_id: str, status: RegistrationStatus, ticket: int, **fields: Any) -> Registration:
    return Registration("sat-lego", member_id, status, ticket, NOW, code=f"C{ticket}", **fields)


def saved(store: Any, **fields: Any) -> Activity:
    store.save(activity(**fields))
    got = store.get("sat-lego")
    assert got is not None
    return got.activity  # type: ignore[no-any-return]


def a_definition_is_created_once_and_changed_only_at_its_version(store: Any) -> None:
    first = saved(store)
    assert first.version == 1 and store.get("sat-lego").book.capacity == 1
    with pytest.raises(VersionConflict):
        store.save(activity())
    store.save(replace(first, location="大悦城店", capacity=3))
    with pytest.raises(VersionConflict):
        store.save(replace(first, location="old news"))
    now = store.get("sat-lego")
    assert (now.activity.location, now.activity.version, now.book.capacity) == ("大悦城店", 2, 3)


def a_sign_up_takes_the_seat_then_the_end_of_the_line_and_a_repeat_keeps_its_place(store: Any) -> None:
    saved(store)
    seat = store.place("sat-lego", "a", NOW)
    line = store.place("sat-lego", "b", NOW)
    third = store.place("sat-lego", "c", NOW)
    again = store.place("sat-lego", "b", NOW)
    assert (seat.place, seat.ticket) == (Place.SEAT, 1)
    assert (line.place, line.ticket, line.position) == (Place.LINE, 2, 1)
    assert (third.ticket, third.position) == (3, 2)
    assert (again.place, again.ticket, again.new) == (Place.LINE, 2, False)
    book = store.get("sat-lego").book
    assert dict(book.seats) == {"a": 1} and book.line() == ["b", "c"] and book.last_ticket == 3


def no_place_is_given_when_the_activity_takes_no_sign_ups(store: Any) -> None:
    saved(store, status=ActivityStatus.CLOSED)
    assert store.place("sat-lego", "a", NOW) is None
    store.save(activity("later", signup_closes_at=NOW - timedelta(minutes=1)))
    assert store.place("later", "a", NOW) is None
    assert store.place("sat-lego", "a", STARTS) is None
    assert store.place("none-such", "a", NOW) is None
    assert not store.get("sat-lego").book.seats


def a_registration_is_written_new_once_or_over_the_version_read(store: Any) -> None:
    saved(store)
    first = reg("a", RegistrationStatus.CONFIRMED, 1)
    assert store.record(first, None) is True
    assert store.record(first, None) is False
    stored = store.registration("sat-lego", "a")
    assert stored.version == 1
    assert store.record(replace(stored, checked_in_at=NOW), stored) is True
    assert store.record(replace(stored, reason="stale"), stored) is False
    assert store.registration("sat-lego", "a").checked_in_at == NOW
    assert [r.member_id for r in store.registrations("sat-lego")] == ["a"]
    assert [r.activity_id for r in store.of_member("a")] == ["sat-lego"]


def a_move_applies_only_to_the_book_and_registrations_as_read(store: Any) -> None:
    saved(store)
    for member_id in ("a", "b"):
        placed = store.place("sat-lego", member_id, NOW)
        status = RegistrationStatus.CONFIRMED if placed.place is Place.SEAT else RegistrationStatus.WAITLISTED
        store.record(reg(member_id, status, placed.ticket), None)
    book = store.get("sat-lego").book
    a, b = store.registration("sat-lego", "a"), store.registration("sat-lego", "b")
    leaving = replace(a, status=RegistrationStatus.CANCELLED)
    stale = replace(b, version=b.version + 7)
    assert store.move("sat-lego", book, leaving, [(replace(b, status=RegistrationStatus.CONFIRMED), stale)]) is False
    assert store.registration("sat-lego", "a") == a and store.get("sat-lego").book == book
    assert store.move("sat-lego", book, leaving, [(replace(b, status=RegistrationStatus.CONFIRMED), b)]) is True
    after = store.get("sat-lego").book
    assert dict(after.seats) == {"b": 2} and not after.waiting
    assert store.registration("sat-lego", "a").status is RegistrationStatus.CANCELLED
    assert store.registration("sat-lego", "b").status is RegistrationStatus.CONFIRMED
    assert store.move("sat-lego", book, leaving, []) is False  # the book moved on since it was read


def invitations_and_the_last_one(store: Any) -> None:
    saved(store)
    store.save(activity("sun-story", starts_at=STARTS + timedelta(days=1), ends_at=STARTS + timedelta(days=1, hours=1)))
    store.invite("sat-lego", ["a", "b"], NOW)
    store.invite("sun-story", ["a"], NOW + timedelta(minutes=1))
    assert sorted(store.invited("sat-lego")) == ["a", "b"]
    assert store.last_invited("a") == "sun-story" and store.last_invited("b") == "sat-lego"
    assert store.last_invited("c") is None


def activities_are_listed_by_start(store: Any) -> None:
    store.save(activity("later", starts_at=STARTS + timedelta(days=7), ends_at=STARTS + timedelta(days=7, hours=1)))
    store.save(activity("sooner"))
    assert [a.activity_id for a in store.listed()] == ["sooner", "later"]
    assert [a.activity_id for a in store.listed(since=STARTS + timedelta(days=1))] == ["later"]


CHECKS: list[Callable[[Any], None]] = [
    a_definition_is_created_once_and_changed_only_at_its_version,
    a_sign_up_takes_the_seat_then_the_end_of_the_line_and_a_repeat_keeps_its_place,
    no_place_is_given_when_the_activity_takes_no_sign_ups,
    a_registration_is_written_new_once_or_over_the_version_read,
    a_move_applies_only_to_the_book_and_registrations_as_read,
    invitations_and_the_last_one,
    activities_are_listed_by_start,
]
