"""Contracts of a member's history and its erasure: the activity log (the member's whole partition of
the activity table, read in key order and forgotten at once) and every store's part of the purge
(``services/erasure.py``): messages read newest first and erased only from the status read, timers,
audience rows, handoff tickets, tracked links, the inbound log's kept records, the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain.activities import Activity, Feedback, Registration, RegistrationStatus
from chalicelib.domain.consent import BY_STORE, ConsentChange
from chalicelib.domain.erasure import erased_message
from chalicelib.domain.links import Link
from chalicelib.domain.model import (
    Channel,
    Coupon,
    Member,
    Message,
    MessageStatus,
    Order,
    OrderItem,
    PointsTxn,
    StatusChange,
)
from chalicelib.domain.replies import HandoffTicket
from chalicelib.domain.timers import Timer
from chalicelib.ports import OutboundMessage, StoredTimer

from .conftest import Kind

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 3, 15, 7, 250000, tzinfo=UTC)


def a_member(member_id: str = "m-1") -> Member:
    return Member(member_id=member_id, name="王小明", phone="+8613800138000", created_at=T0, updated_at=T0)


def with_history(adapters: Any, member_id: str = "m-1") -> None:
    """An order, a points transaction, a coupon, a consent change and something the member wrote."""
    store = adapters.members
    member = a_member(member_id)
    store.save(member, ConsentChange(member_id, T0, {"sms": True, "im": True, "marketing": False}, BY_STORE))
    store.add_order(Order(member_id, "o-1", T1, (OrderItem("PUZ-1", 2, 59.5),), 119.0, "store-sh-01"), member)
    store.add_points(PointsTxn(member_id, "t-1", 30, "order o-1", None, T1), member)
    store.add_coupon(Coupon(member_id, "c-1", "满100减20", 20.0, date(2026, 12, 31), T1))
    adapters.conversations.append(member_id, T1, "e-1", {"text": "售后", "channel": "sms"})


class TestActivityLog:
    def test_the_partition_reads_in_key_order_with_kinds_times_and_data(self, adapters: Any) -> None:
        with_history(adapters)
        with_history(adapters, "m-2")
        records = adapters.activity.for_member("m-1")
        assert {r.member_id for r in records} == {"m-1"}
        second = T1.replace(microsecond=0)
        assert [(r.key, r.kind, r.at) for r in records] == [
            ("CHAT#2026-11-20T03:15:07Z#e-1", "chat", second),
            ("CONSENT#2026-11-20T02:00:00Z#1", "consent", T0),
            ("COUPON#c-1", "coupon", second),
            ("ORDER#o-1", "order", second),
            ("POINTS#t-1", "points", second),
        ]
        chat, consent, coupon, order, points = (r.data for r in records)
        assert chat == {"text": "售后", "channel": "sms"}
        assert consent == {"changes": {"sms": True, "im": True, "marketing": False}, "source": "api"}
        assert (coupon["coupon_id"], coupon["value"]) == ("c-1", 20)
        assert (order["order_id"], order["total"], order["items"][0]["sku"]) == ("o-1", 119, "PUZ-1")
        assert (points["txn_id"], points["delta"]) == ("t-1", 30)

    def test_forgetting_a_member_deletes_their_whole_partition_only(self, adapters: Any) -> None:
        with_history(adapters)
        with_history(adapters, "m-2")
        assert adapters.activity.forget_member("m-1") == 5
        assert adapters.activity.for_member("m-1") == []
        assert adapters.members.get_order("m-1", "o-1") is None
        assert len(adapters.activity.for_member("m-2")) == 5
        assert adapters.activity.forget_member("m-1") == 0

    def test_no_history_reads_empty(self, adapters: Any) -> None:
        assert adapters.activity.for_member("m-none") == []


def a_message(n: int, member_id: str = "m-1", **fields: Any) -> Message:
    at = T0 + timedelta(hours=n)
    values: dict[str, Any] = {
        "message_id": f"msg-{n}",
        "member_id": member_id,
        "trigger": "child_birthday",
        "occurrence": "0:乐乐:2026",
        "channel": Channel.SMS,
        "provider": "sandbox",
        "text": "乐乐生日快乐！请致电13800138000",
        "status": MessageStatus.DELIVERED,
        "created_at": at,
        "history": [StatusChange(MessageStatus.QUEUED, at), StatusChange(MessageStatus.DELIVERED, at, None)],
    }
    values.update(fields)
    return Message(**values)


class TestMessages:
    def test_a_members_messages_read_newest_first_up_to_a_time(self, adapters: Any) -> None:
        for n in range(4):
            adapters.messages.create(a_message(n))
        adapters.messages.create(a_message(9, member_id="m-2"))
        assert [m.message_id for m in adapters.messages.for_member("m-1")] == ["msg-3", "msg-2", "msg-1", "msg-0"]
        until = T0 + timedelta(hours=1)
        assert [m.message_id for m in adapters.messages.for_member("m-1", until)] == ["msg-1", "msg-0"]
        assert list(adapters.messages.for_member("m-none")) == []

    def test_a_message_is_erased_only_from_the_status_read(self, adapters: Any) -> None:
        adapters.messages.create(a_message(1, provider_message_id="sbx-msg-1"))
        stored = adapters.messages.get("msg-1")
        erased = erased_message(stored, T1)
        assert adapters.messages.erase(erased, expect=MessageStatus.QUEUED) is False
        assert adapters.messages.get("msg-1") == stored
        assert adapters.messages.erase(erased, expect=MessageStatus.DELIVERED) is True
        got = adapters.messages.get("msg-1")
        assert got == erased and got.text == "" and got.provider_message_id is None
        assert adapters.message_index.by_provider_id("sbx-msg-1") is None
        assert [m.message_id for m in adapters.messages.for_member("m-1")] == ["msg-1"]  # kept for the counts

    def test_a_message_that_is_not_stored_is_not_erased(self, adapters: Any) -> None:
        assert adapters.messages.erase(erased_message(a_message(1), T1), expect=MessageStatus.DELIVERED) is False
        assert adapters.messages.get("msg-1") is None


def timer(member_id: str, key: str, due: datetime) -> StoredTimer:
    facts = {"child": {"name": "乐乐", "age": 6}}
    return StoredTimer(Timer(member_id, key, key.split("#")[0], "0:乐乐:2026", due, facts), "pending")


def test_forgetting_a_members_timers_deletes_them_and_takes_them_off_the_index(kind: Kind) -> None:
    store = kind.timer_store()
    store.put([timer("m-1", "child_birthday#child0", T0), timer("m-1", "dormant_45d#last_purchase", T0)], T0)
    store.put([timer("m-2", "child_birthday#child0", T0)], T0)
    assert store.forget_member("m-1") == 2
    assert store.for_member("m-1") == [] and store.get("m-1", "child_birthday#child0") is None
    assert list(store.due(T0 - timedelta(hours=1), T0 + timedelta(hours=1))) == [("m-2", "child_birthday#child0")]
    assert store.forget_member("m-1") == 0


def test_forgetting_a_member_takes_them_out_of_every_segment(adapters: Any) -> None:
    audience = adapters.audience
    audience.update("m-1", {"born#2021-06": 0, "tag#lego": None}, [])
    audience.update("m-2", {"tag#lego": None}, [])
    assert audience.forget_member("m-1") == 2
    assert list(audience.members_in("born#2021-06")) == []
    assert list(audience.members_in("tag#lego")) == [("m-2", None)]
    assert audience.forget_member("m-1") == 0


def ticket(ticket_id: str, member_id: str, at: datetime) -> HandoffTicket:
    return HandoffTicket(ticket_id, member_id, Channel.SMS, "售后，电话13800138000", "open", at, "sandbox", ticket_id)


def test_a_members_handoff_tickets_are_listed_oldest_first_and_forgotten(adapters: Any) -> None:
    handoffs = adapters.handoffs
    handoffs.open(ticket("h2", "m-1", T1))
    handoffs.open(ticket("h1", "m-1", T0))
    handoffs.open(ticket("h3", "m-2", T0))
    assert [t.ticket_id for t in handoffs.for_member("m-1")] == ["h1", "h2"]
    assert handoffs.forget_member("m-1") == 2
    assert handoffs.for_member("m-1") == [] and handoffs.get("h1") is None
    assert [t.ticket_id for t in handoffs.page("open", 10)[0]] == ["h3"]
    assert handoffs.forget_member("m-1") == 0


def test_a_messages_tracked_links_are_forgotten_with_it(adapters: Any) -> None:
    adapters.messages.create(a_message(1))
    links = [Link("tok-1", "msg-1", "https://a.example/?m=m-1"), Link("tok-2", "msg-1", "https://b.example/")]
    adapters.links.put([*links, Link("tok-3", "msg-2", "https://c.example/")], T0)
    adapters.links.record_click(links[0], T1)
    assert adapters.links.forget_message("msg-1") == 2
    assert adapters.links.get("tok-1") is None and adapters.links.get("tok-2") is None
    assert adapters.links.get("tok-3") is not None
    assert adapters.links.forget_message("msg-1") == 0


def test_the_kept_records_of_a_members_events_are_forgotten_and_the_events_stay_handled(adapters: Any) -> None:
    log = adapters.inbound_log
    kept = {"sender": "+86*******8000", "kind": "reply"}
    for event_id, member_id in (("e-1", "m-1"), ("e-2", "m-1"), ("e-3", "m-2")):
        log.claim("sandbox", event_id, "reply", T0, T0)
        log.finish("sandbox", event_id, "replied", T0, kept, member_id)
    log.claim("sandbox", "e-4", "receipt", T0, T0)
    log.finish("sandbox", "e-4", "receipt recorded", T0, None, "m-1")  # nothing kept
    assert log.forget_member("m-1") == 2
    assert (log.get("sandbox", "e-1") or {}).get("record") is None
    assert log.get("sandbox", "e-3")["record"] == kept
    assert log.claim("sandbox", "e-1", "reply", T0, T1) is False  # still handled once
    assert log.forget_member("m-1") == 0


def test_the_outbox_forgets_a_message(kind: Kind) -> None:
    outbox = kind.outbox()
    message = OutboundMessage("msg-1", "sms", "+8613800138000", "你好", "transactional", "welcome")
    outbox.record("sbx-msg-1", message, 1, T0)
    outbox.record("sbx-msg-2", OutboundMessage("msg-2", "sms", "+8613800138000", "hi", "transactional"), 1, T0)
    outbox.forget("msg-1")
    outbox.forget("msg-none")
    assert outbox.find("sbx-msg-1") is None
    assert outbox.find("sbx-msg-2") == (1, T0)


def test_forgetting_a_member_deletes_their_registrations_and_invitations_and_their_place_in_the_book(
    adapters: Any,
) -> None:
    store = adapters.activities
    starts = T1 + timedelta(days=8)
    for activity_id in ("sat-lego", "sun-story"):
        store.save(Activity(activity_id, "周六积木大赛", starts, starts + timedelta(hours=2), "店", 1))
    for member_id in ("m-1", "m-2"):  # m-1 holds the seat of sat-lego, m-2 waits for it
        placed = store.place("sat-lego", member_id, T1)
        status = RegistrationStatus.CONFIRMED if placed.ticket == 1 else RegistrationStatus.WAITLISTED
        said = Feedback(5, "很好玩", ("img-1",), T1)
        registration = Registration("sat-lego", member_id, status, placed.ticket, T1, "CODE12", feedback=said)
        assert store.record(registration, None)
    store.record(Registration("sun-story", "m-1", RegistrationStatus.CANCELLED, 1, T1, cancelled_at=T1), None)
    store.invite("sat-lego", ["m-1", "m-2"], T0)
    store.invite("sun-story", ["m-1"], T0 + timedelta(hours=1))
    assert store.invitations_of("m-1") == [("sat-lego", T0), ("sun-story", T0 + timedelta(hours=1))]

    assert store.forget_member("m-1") == 4  # two registrations, two invitations

    assert store.of_member("m-1") == [] and store.registration("sat-lego", "m-1") is None
    assert store.last_invited("m-1") is None and store.invitations_of("m-1") == []
    assert store.invited("sat-lego") == ["m-2"]
    book = store.get("sat-lego").book
    assert "m-1" not in book.seats and book.line() == ["m-2"] and book.position("m-2") == 1
    assert [r.member_id for r in store.registrations("sat-lego")] == ["m-2"]
    assert store.forget_member("m-1") == 0
