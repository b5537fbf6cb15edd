"""The activity store on moto (``adapters/activity_store.py``) through the registration service:
zero oversell and fair order under concurrent sign-ups, idempotent repeats, the seat passing on in
one transaction, and the activities table's stream record turned into a message.

moto handles requests in the calling thread without a lock, so two requests could interleave inside
moto itself; DynamoDB applies each request to an item atomically. The ``atomic_moto`` fixture
gives moto that property (one request at a time), and the threads interleave our multi-request
flows (read, conditional update, put) however the scheduler likes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.activity_store import DynamoActivityStore
from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.domain.activities import RegistrationStatus
from chalicelib.domain.ids import message_id
from chalicelib.domain.model import Consent, Member
from chalicelib.domain.waitlist import Place
from chalicelib.handlers import streams
from chalicelib.services.activities import ActivityService
from chalicelib.services.registrations import RegistrationService

from .conftest import app_with, load_event

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SATURDAY = {
    "title": "周六积木大赛",
    "starts_at": "2026-11-28T14:00:00+08:00",
    "ends_at": "2026-11-28T16:00:00+08:00",
    "location": "万象城店",
    "capacity": 1,
}


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    real = BotocoreStubber.process_request

    def one_at_a_time(self: Any, request: Any) -> Any:
        with lock:
            return real(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", one_at_a_time)


@pytest.fixture
def services(aws: Any, atomic_moto: None) -> Iterator[tuple[ActivityService, RegistrationService]]:
    store, members = DynamoActivityStore(), DynamoMemberStore()
    registrations = RegistrationService(store, members)
    yield ActivityService(store, registrations), registrations


def join(count: int) -> list[str]:
    members = DynamoMemberStore()
    ids = [f"m-{i:03d}" for i in range(count)]
    for member_id in ids:
        members.save(Member(member_id, name=member_id, phone=None, consent=Consent(), joined_at=NOW, created_at=NOW))
    return ids


def test_two_hundred_concurrent_sign_ups_for_one_seat(services: tuple[ActivityService, RegistrationService]) -> None:
    activities, registrations = services
    activities.put("sat-lego", SATURDAY, NOW)
    ids = join(200)
    start = threading.Barrier(50)

    def sign_up(member_id: str) -> tuple[str, str, int | None]:
        if int(member_id[2:]) < 50:
            start.wait()  # the first fifty leave together
        reg, position, created = registrations.register("sat-lego", member_id, NOW)
        assert created
        return member_id, reg.status.value, position

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(sign_up, ids))

    statuses = [status for _, status, _ in answers]
    assert statuses.count("confirmed") == 1 and statuses.count("waitlisted") == 199
    positions = sorted(position for _, status, position in answers if status == "waitlisted")
    assert positions == list(range(1, 200)), "distinct positions 1…199"
    stored = DynamoActivityStore().get("sat-lego")
    assert stored is not None and len(stored.book.seats) == 1 and len(stored.book.waiting) == 199
    rows = activities.registrations("sat-lego", NOW)
    assert len(rows) == 200
    lined = [r for r in rows if r["status"] == "waitlisted"]
    assert [r["position"] for r in lined] == list(range(1, 200))
    # arrival order: positions follow the tickets drawn, and the seat went to the first ticket
    regs = {r.member_id: r for r in DynamoActivityStore().registrations("sat-lego")}
    by_ticket = sorted(regs.values(), key=lambda r: r.ticket)
    assert by_ticket[0].status is RegistrationStatus.CONFIRMED
    assert [r.member_id for r in by_ticket[1:]] == [r["member_id"] for r in lined]
    # each answer's position was the member's place in line when they joined it
    said = {member_id: position for member_id, status, position in answers if status == "waitlisted"}
    assert all(said[r["member_id"]] == r["position"] for r in lined)


def test_the_same_member_signing_up_at_once_from_twenty_places_gets_one_place(
    services: tuple[ActivityService, RegistrationService],
) -> None:
    activities, registrations = services
    activities.put("sat-lego", {**SATURDAY, "capacity": 3}, NOW)
    [member_id] = join(1)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: registrations.register("sat-lego", member_id, NOW), range(20)))
    tickets = {reg.ticket for reg, _, _ in results}
    assert len(tickets) == 1 and sum(1 for _, _, created in results if created) == 1
    stored = DynamoActivityStore().get("sat-lego")
    assert stored is not None and dict(stored.book.seats) == {member_id: tickets.pop()} and not stored.book.waiting


def test_a_cancellation_moves_the_first_in_line_up_in_one_transaction(
    services: tuple[ActivityService, RegistrationService],
) -> None:
    activities, registrations = services
    activities.put("sat-lego", SATURDAY, NOW)
    a, b, c = join(3)
    for member_id in (a, b, c):
        registrations.register("sat-lego", member_id, NOW)
    registrations.cancel("sat-lego", a, NOW + timedelta(minutes=1))
    store = DynamoActivityStore()
    got = {r.member_id: r.status for r in store.registrations("sat-lego")}
    assert got == {a: RegistrationStatus.CANCELLED, b: RegistrationStatus.CONFIRMED, c: RegistrationStatus.WAITLISTED}
    stored = store.get("sat-lego")
    assert stored is not None and list(stored.book.seats) == [b] and stored.book.position(c) == 1


def test_offer_mode_holds_the_seat_until_the_deadline(services: tuple[ActivityService, RegistrationService]) -> None:
    activities, registrations = services
    activities.put("sat-lego", {**SATURDAY, "waitlist": {"mode": "offer", "claim_minutes": 30}}, NOW)
    a, b = join(2)
    registrations.register("sat-lego", a, NOW)
    registrations.register("sat-lego", b, NOW)
    registrations.cancel("sat-lego", a, NOW)
    offered = DynamoActivityStore().registration("sat-lego", b)
    assert offered is not None and offered.status is RegistrationStatus.OFFERED
    assert offered.offer_expires_at == NOW + timedelta(minutes=30)
    claimed = registrations.claim("sat-lego", b, NOW + timedelta(minutes=10))
    assert claimed is not None and claimed.status is RegistrationStatus.CONFIRMED


def test_a_move_on_a_stale_book_changes_nothing(services: tuple[ActivityService, RegistrationService]) -> None:
    activities, registrations = services
    activities.put("sat-lego", SATURDAY, NOW)
    a, b = join(2)
    registrations.register("sat-lego", a, NOW)
    store = DynamoActivityStore()
    stale = store.get("sat-lego")
    assert stale is not None
    registrations.register("sat-lego", b, NOW)  # the book moves on
    reg = store.registration("sat-lego", a)
    assert reg is not None
    from dataclasses import replace

    fresh = store.get("sat-lego")
    assert fresh is not None
    stale_line = replace(stale.book, waiting={b: 99})
    leaving = replace(reg, status=RegistrationStatus.CANCELLED)
    head = store.registration("sat-lego", b)
    assert head is not None
    promoted = [(replace(head, status=RegistrationStatus.CONFIRMED), head)]
    assert store.move("sat-lego", stale_line, leaving, promoted) is False
    assert store.registration("sat-lego", a) == reg and store.get("sat-lego") == fresh


def test_a_sign_up_interrupted_after_its_place_was_taken_finds_it_again(
    services: tuple[ActivityService, RegistrationService],
) -> None:
    activities, registrations = services
    activities.put("sat-lego", SATURDAY, NOW)
    [a] = join(1)
    placed = DynamoActivityStore().place("sat-lego", a, NOW)  # … and the Lambda died here
    assert placed is not None and placed.place is Place.SEAT
    reg, _, created = registrations.register("sat-lego", a, NOW)
    assert created and reg.ticket == placed.ticket and reg.status is RegistrationStatus.CONFIRMED


def test_the_stream_record_of_a_seat_plans_the_confirmation(aws: Any, lambda_context: Any) -> None:
    app = app_with()
    app.activities.put("sat-lego-1128", {**SATURDAY, "capacity": 5}, NOW)
    DynamoMemberStore().save(
        Member("m-1001", name="王小明", phone="+8613800138000", consent=Consent(), joined_at=NOW, created_at=NOW)
    )
    event = load_event("registration_insert.json")

    assert streams.activities_changed(event, lambda_context) == {"batchItemFailures": []}

    confirmed = app.adapters.messages.get(message_id("m-1001", "activity_confirmed", "sat-lego-1128#3"))
    assert confirmed is not None and "K7M2QX" in confirmed.text and "周六积木大赛" in confirmed.text
    timers = {t.timer.key for t in app.adapters.timers.for_member("m-1001")}
    assert {"activity_reminder#sat-lego-1128#1440", "activity_reminder#sat-lego-1128#60"} <= timers
