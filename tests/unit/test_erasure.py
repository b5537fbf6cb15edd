"""Erasure (CONTRACT §9, services/erasure.py): the tombstone at once, the purge everywhere, and every
path that could bring the member back — a stream replay, a timer, a queued send, a receipt, a
reply — creating and sending nothing. Over the fakes, wired through ``bootstrap``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.erasure import ERASED, PURGE_AGAIN_SECONDS
from chalicelib.domain.inbound import InboundEvent, InboundKind
from chalicelib.domain.links import Link
from chalicelib.domain.model import Channel, Child, Consent, MessageStatus
from chalicelib.domain.rulebook import load_rule_book
from chalicelib.domain.timers import Timer
from chalicelib.ports import OutboundMessage, StoredTimer
from tests.fakes import FakeAdapters, fake_app

BOOK = load_rule_book()
T0 = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # noon in Shanghai: inside quiet hours' window
LATER = T0 + timedelta(hours=1)
PHONE = "+8613800138000"
PROFILE = {
    "name": "王小明",
    "phone": PHONE,
    "im_user_id": "wx_wang",
    "tags": ["lego"],
    "children": [{"name": "豆豆", "birthday": "2022-12-01", "gender": "boy"}],
    "consent": {"sms": True, "im": True, "marketing": True},
    "stored_value": {"balance": 88, "expires_on": "2027-01-01"},
}


class World:
    def __init__(self) -> None:
        self.fakes = FakeAdapters()
        self.app = fake_app(self.fakes, BOOK)

    def member_with_history(self, member_id: str = "m-1") -> None:
        """A member with everything the stores can hold about them."""
        app, f = self.app, self.fakes
        member, _ = app.members.upsert(member_id, PROFILE, T0)
        app.engine.member_changed(None, member, T0)  # welcome, date timers, audience
        order = {
            "order_id": "o-1",
            "purchased_at": "2026-11-22T03:00:00Z",
            "items": [{"sku": "PZ-1", "qty": 1, "price": 59}],
            "total": 59,
        }
        app.members.record_order(member_id, order)
        app.members.record_points(member_id, {"txn_id": "p-1", "delta": 100, "reason": "order o-1"}, T0)
        app.members.issue_coupon(
            member_id, {"coupon_id": "c-1", "title": "九折", "value": 10, "expires_on": "2027-01-01"}, T0
        )
        for message in f.messages.list_for_member(member_id):
            f.links.put([Link(f"tok{message.message_id[:8]}", message.message_id, "https://shop.example/u/王小明")], T0)
            sent = OutboundMessage(message.message_id, "sms", PHONE, message.text, "transactional")
            f.outbox.record("sbx-" + message.message_id, sent, 1, T0)
        self.reply(member_id, "售后", "r-1")  # a chat row, a handoff ticket, a reply message
        self.reply(member_id, "谢谢，玩具很好", "r-2")

    def reply(self, member_id: str, text: str, event_id: str, at: datetime = T0) -> str:
        event = InboundEvent("sandbox", InboundKind.REPLY, event_id, at, Channel.SMS, sender=PHONE, text=text)
        return str(self.app.inbound.handle(event, at))

    def purge_all(self) -> None:
        """Run every purge queued (both rounds), as the on_erasure worker would."""
        while requests := self.fakes.erasure_queue.take():
            for member_id, at, round_no, _ in requests:
                assert self.app.erasure.purge(member_id, at, round_no, lambda: True).done

    def everything(self) -> str:
        """Every fake store's content, as text (for "no trace of …")."""
        f = self.fakes
        parts: list[Any] = [
            f.members.members,
            f.members.activity,
            f.messages.messages,
            f.timers.rows,
            f.audience.segments,
            f.conversations.entries,
            f.handoffs.tickets,
            f.links.links,
            f.outbox.entries,
            f.inbound_log.rows,
        ]
        return repr(parts)


@pytest.fixture
def world() -> World:
    return World()


# -- the tombstone and the purge ---------------------------------------------------------------------


def test_given_a_member_with_a_history_when_erased_and_purged_then_no_trace_of_their_name_phone_or_words(
    world: World,
) -> None:
    world.member_with_history()
    before = world.everything()
    assert PHONE in before and "王小明" in before and "豆豆" in before and "玩具很好" in before

    assert world.app.erasure.erase("m-1", LATER) == "erased"
    world.purge_all()

    after = world.everything()
    for trace in (PHONE, "13800138000", "王小明", "豆豆", "wx_wang", "玩具很好", "售后", "lego", "shop.example"):
        assert trace not in after, trace
    assert world.fakes.members.get("m-1") is None and world.fakes.members.erased_at("m-1") == LATER


def test_given_an_erased_member_when_purged_then_messages_keep_only_what_counts_need(world: World) -> None:
    world.member_with_history()
    statuses = {m.message_id: m.status for m in world.fakes.messages.messages.values()}

    world.app.erasure.erase("m-1", LATER)
    world.purge_all()

    messages = world.fakes.messages.messages.values()
    assert len(messages) == len(statuses) and all(m.text == "" and m.provider_message_id is None for m in messages)
    for m in messages:
        if statuses[m.message_id] in (MessageStatus.QUEUED, MessageStatus.DEFERRED):
            assert (m.status, m.reason) == (MessageStatus.SUPPRESSED, ERASED)
        else:
            assert m.status is statuses[m.message_id]
        assert m.trigger and m.created_at and m.history  # counts per rule, status and day stay right


def test_given_a_purge_when_done_then_a_second_round_is_queued_for_what_was_in_flight(world: World) -> None:
    world.member_with_history()
    world.app.erasure.erase("m-1", LATER)
    [(member_id, _, round_no, delay)] = world.fakes.erasure_queue.take()
    assert (member_id, round_no, delay) == ("m-1", 1, 0)

    world.app.erasure.purge("m-1", LATER, 1, lambda: True)

    assert [(r[2], r[3]) for r in world.fakes.erasure_queue.take()] == [(2, PURGE_AGAIN_SECONDS)]
    world.app.erasure.purge("m-1", LATER, 2, lambda: True)
    assert world.fakes.erasure_queue.take() == []


def test_given_thousands_of_messages_when_the_time_runs_out_then_the_purge_stops_and_goes_on_where_it_stopped(
    world: World,
) -> None:
    from chalicelib.domain.model import Message, StatusChange

    world.app.members.upsert("m-1", PROFILE, T0)
    for i in range(3000):
        at = T0 + timedelta(seconds=i)
        world.fakes.messages.create(
            Message(
                f"msg-{i:05d}",
                "m-1",
                "welcome",
                f"o{i}",
                Channel.SMS,
                "sandbox",
                "王小明，你好",
                MessageStatus.DELIVERED,
                at,
                history=[StatusChange(MessageStatus.DELIVERED, at)],
            )
        )
    world.app.erasure.erase("m-1", LATER)
    budget = iter([True] * 1000 + [False])

    first = world.app.erasure.purge("m-1", LATER, 1, lambda: next(budget))

    assert not first.done and first.counts["messages"] == 1000
    runs = 1
    while True:
        runs += 1
        if world.app.erasure.purge("m-1", LATER, 1, iter([True] * 1000 + [False]).__next__).done:
            break
    assert runs == 3
    assert "王小明" not in repr(world.fakes.messages.messages)


# -- the API -------------------------------------------------------------------------------------------


def test_given_an_erased_member_when_read_changed_or_erased_again_then_404_409_and_204(world: World) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from chalicelib.handlers import http
    from tests.unit.test_http_api import AUTH, KEY, PROJECT_DIR

    world.fakes.api_keys.add(KEY)
    world.member_with_history()
    http._KEY_CACHE.clear()
    with bootstrap.using(world.app):
        client = Client(app, project_dir=PROJECT_DIR).http

        def call(method: str, path: str, body: Any = None) -> Any:
            return client.request(method, path, headers=AUTH, body=json.dumps(body).encode() if body else b"")

        assert call("DELETE", "/v1/members/m-1").status_code == 204
        for path in (
            "/v1/members/m-1",
            "/v1/members/m-1/messages",
            "/v1/members/m-1/export",
            "/v1/members/m-1/timeline",
        ):
            assert call("GET", path).status_code == 404, path
        again = call("PUT", "/v1/members/m-1", {"name": "王小明", "phone": PHONE})
        assert again.status_code == 409 and "erased" in again.json_body["error"]["message"]
        assert (
            call(
                "POST",
                "/v1/members/m-1/orders",
                {
                    "order_id": "o-2",
                    "purchased_at": "2026-11-23T03:00:00Z",
                    "items": [{"sku": "PZ-1", "qty": 1, "price": 1}],
                    "total": 1,
                },
            ).status_code
            == 404
        )
        assert call("DELETE", "/v1/members/m-1").status_code == 204  # idempotent: the purge is queued again
        assert call("DELETE", "/v1/members/nobody").status_code == 404
        bad = call("DELETE", "/v1/members/bad%20id")
        assert bad.status_code == 400 and "member_id" in bad.json_body["error"]["fields"]
    http._KEY_CACHE.clear()
    assert [r[2] for r in world.fakes.erasure_queue.take()] == [1, 1]


# -- nothing comes back --------------------------------------------------------------------------------


@pytest.fixture
def erased(world: World) -> World:
    world.member_with_history()
    world.app.erasure.erase("m-1", LATER)
    world.purge_all()
    world.fakes.send_queue.batches.clear()
    return world


def assert_nothing_personal_came_back(world: World) -> None:
    after = world.everything()
    for trace in (PHONE, "王小明", "豆豆", "wx_wang"):
        assert trace not in after, trace
    assert world.fakes.send_queue.ids == []
    assert world.fakes.providers["sandbox"].sends == []


def test_given_an_erased_member_when_an_old_member_record_is_replayed_then_nothing_is_planned_or_kept(
    erased: World,
) -> None:
    old = erased.app.members.members.get("m-1")  # the store has none: replay the profile as the stream had it
    assert old is None
    from chalicelib.domain.model import Member

    image = Member(
        "m-1",
        name="王小明",
        phone=PHONE,
        im_user_id="wx_wang",
        tags=["lego"],
        children=[Child("豆豆", date(2022, 12, 1), "boy")],
        consent=Consent(marketing=True),
        joined_at=T0,
        created_at=T0,
        version=1,
    )
    assert erased.app.engine.member_changed(None, image, LATER) == 0
    assert erased.app.engine.member_changed(image, image, LATER) == 0

    assert_nothing_personal_came_back(erased)
    assert erased.fakes.timers.rows == {} and erased.fakes.audience.segments.get("tag#lego", {}) == {}


def test_given_an_erased_member_when_an_old_order_points_or_coupon_record_is_replayed_then_nothing(
    erased: World,
) -> None:
    from chalicelib.domain.model import Coupon, Order, OrderItem, PointsTxn

    engine = erased.app.engine
    assert engine.order_recorded(Order("m-1", "o-1", T0, (OrderItem("PZ-1", 1, 59.0),), 59.0), LATER) == 0
    assert engine.points_recorded(PointsTxn("m-1", "p-1", 100, "order", None, T0), LATER) == 0
    assert engine.coupon_issued(Coupon("m-1", "c-1", "九折", 10.0, date(2027, 1, 1), T0), LATER) == 0
    assert_nothing_personal_came_back(erased)


def test_given_an_erased_member_when_a_timer_written_in_flight_falls_due_then_it_is_dropped_and_sends_nothing(
    erased: World,
) -> None:
    facts = {"child": {"name": "豆豆", "index": 0}}
    timer = Timer("m-1", "child_birthday#child0", "child_birthday", "0:豆豆:2026", LATER, facts)
    erased.fakes.timers.put([StoredTimer(timer, "pending")], T0)

    counts = erased.app.timers.fire([("m-1", "child_birthday#child0")], LATER + timedelta(hours=1))

    assert counts == {"fired": 0, "dropped": 1, "skipped": 0}
    assert erased.fakes.timers.rows == {}  # no member: the timer (its facts name a child) is deleted
    assert all(m.text == "" for m in erased.fakes.messages.list_for_member("m-1"))
    assert_nothing_personal_came_back(erased)


def test_given_an_erased_member_when_a_queued_send_arrives_then_nothing_is_sent(erased: World) -> None:
    from chalicelib.domain.model import Message, StatusChange

    # A message a handler in flight wrote after the purge had passed.
    queued = Message(
        "m-late",
        "m-1",
        "welcome",
        "join#2",
        Channel.SMS,
        "sandbox",
        "王小明，欢迎",
        MessageStatus.QUEUED,
        LATER,
        history=[StatusChange(MessageStatus.QUEUED, LATER)],
    )
    erased.fakes.messages.create(queued)

    status = erased.app.sender.deliver("m-late", LATER)

    assert status is MessageStatus.SUPPRESSED
    assert erased.fakes.providers["sandbox"].sends == []
    erased.app.erasure.erase("m-1", LATER)  # a repeated DELETE (or the second round) clears it too
    erased.purge_all()
    assert_nothing_personal_came_back(erased)


def test_given_an_erased_member_when_a_late_receipt_arrives_then_nothing_is_kept_or_changed(erased: World) -> None:
    message = next(iter(erased.fakes.messages.messages.values()))
    receipt = InboundEvent(
        "sandbox",
        InboundKind.RECEIPT,
        "late-1",
        LATER,
        Channel.SMS,
        message_id=message.message_id,
        status=MessageStatus.READ,
        raw=json.dumps({"to": PHONE}),
    )

    assert erased.app.inbound.handle(receipt, LATER) == "receipt for no message"

    assert erased.fakes.inbound_log.rows[("sandbox", "late-1")]["record"] is None
    assert erased.fakes.messages.get(message.message_id).status is message.status  # type: ignore[union-attr]
    assert_nothing_personal_came_back(erased)


def test_given_an_erased_member_when_they_reply_then_an_unknown_sender_and_nothing_of_them_kept(
    erased: World,
) -> None:
    assert erased.reply("m-1", "3岁男孩", "r-late") == "unknown sender"

    kept = erased.fakes.inbound_log.rows[("sandbox", "r-late")]["record"]
    assert kept["sender"] == "+86*******8000" and "text" not in kept
    assert_nothing_personal_came_back(erased)


def test_given_an_erased_member_when_their_im_message_needs_a_fallback_then_no_sms(erased: World) -> None:
    message = next(iter(erased.fakes.messages.messages.values()))
    assert erased.app.lifecycle.fall_back(message, "no ack", LATER) is None
    assert_nothing_personal_came_back(erased)
