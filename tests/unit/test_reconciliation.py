"""Messages whose receipt never came (issue 9, B5): the pure decision (``domain/reconciliation.py``),
its windows, and the reconciler service over the fakes (a message stuck ``sent`` is delivered by the
provider's status query, or ``unknown`` when the provider cannot be asked, after the window)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from chalicelib.domain.model import Channel, Message, MessageStatus, StatusChange
from chalicelib.domain.planning import plan_message
from chalicelib.domain.reconciliation import (
    QUERYING,
    SILENT,
    Apply,
    Capabilities,
    Decision,
    KeepWaiting,
    MarkUnknown,
    StopWaiting,
    Window,
    decide,
    parse_windows,
    should_ask,
    window_for,
)
from chalicelib.domain.tallies import feeds
from chalicelib.domain.triggers import Trigger
from chalicelib.ports import Receipt
from tests.fakes import NOW, FakeAdapters, FakeProvider, fake_app, member, rule_book

SENT_AT = NOW
QUERY = Capabilities(gives_receipts=True, can_query=True)
NO_QUERY = Capabilities(gives_receipts=True, can_query=False)
NO_RECEIPTS = Capabilities(gives_receipts=False, can_query=False)
D, F, U, R = MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.READ


def sent(status: MessageStatus = MessageStatus.SENT) -> Message:
    return Message(
        message_id="msg-1",
        member_id="m-1",
        trigger="welcome",
        occurrence="join",
        channel=Channel.SMS,
        provider="aliyun",
        text="hi",
        status=status,
        created_at=SENT_AT - timedelta(seconds=5),
        sent_at=SENT_AT,
        provider_message_id="biz-1",
        history=[StatusChange(MessageStatus.SENT, SENT_AT)],
    )


def minutes(n: float) -> datetime:
    return SENT_AT + timedelta(minutes=n)


# (case, message status, capabilities, the provider's answer, minutes since the send, decision)
CASES: list[tuple[str, MessageStatus, Capabilities, MessageStatus | None, float, Decision]] = [
    ("query: nothing yet, early", MessageStatus.SENT, QUERY, None, 25, KeepWaiting()),
    ("query: delivered", MessageStatus.SENT, QUERY, D, 25, Apply(D)),
    ("query: failed", MessageStatus.SENT, QUERY, F, 25, Apply(F)),
    ("query: undelivered", MessageStatus.SENT, QUERY, U, 25, Apply(U)),
    ("query: read", MessageStatus.SENT, QUERY, R, 25, Apply(R)),
    ("query: delivered after the window still applies", MessageStatus.SENT, QUERY, D, 25 * 60, Apply(D)),
    ("query: a 'sent' answer knows no more", MessageStatus.SENT, QUERY, MessageStatus.SENT, 25, KeepWaiting()),
    ("query: nothing by 24 h", MessageStatus.SENT, QUERY, None, 24 * 60, MarkUnknown("")),
    ("query: nothing just before 24 h", MessageStatus.SENT, QUERY, None, 24 * 60 - 1, KeepWaiting()),
    ("no query: before 2 h", MessageStatus.SENT, NO_QUERY, None, 119, KeepWaiting()),
    ("no query: at 2 h", MessageStatus.SENT, NO_QUERY, None, 120, MarkUnknown("")),
    ("no receipts ever: stop waiting", MessageStatus.SENT, NO_RECEIPTS, None, 5 * 60, StopWaiting("")),
    ("a receipt got there first", MessageStatus.DELIVERED, QUERY, None, 25, StopWaiting("")),
    ("already unknown", MessageStatus.UNKNOWN, QUERY, D, 25 * 60, StopWaiting("")),
]


@pytest.mark.parametrize(("case", "status", "caps", "answer", "after", "expected"), CASES, ids=[c[0] for c in CASES])
def test_decide(
    case: str, status: MessageStatus, caps: Capabilities, answer: MessageStatus | None, after: float, expected: Decision
) -> None:
    window = window_for("aliyun", caps.can_query, {})
    decision = decide(sent(status), caps, answer, window, minutes(after))
    assert type(decision) is type(expected)
    if isinstance(expected, Apply):
        assert decision == expected


def test_unknown_says_why_in_the_window_of_the_provider() -> None:
    assert decide(sent(), QUERY, None, QUERYING, minutes(24 * 60)) == MarkUnknown(
        "no receipt within 24 h; the provider's status query knows no more"
    )
    assert decide(sent(), NO_QUERY, None, SILENT, minutes(120)) == MarkUnknown(
        "no receipt within 2 h; the provider cannot be asked"
    )
    short = Window(timedelta(minutes=10), timedelta(minutes=45))
    assert decide(sent(), NO_QUERY, None, short, minutes(45)) == MarkUnknown(
        "no receipt within 45 min; the provider cannot be asked"
    )


@pytest.mark.parametrize(
    ("caps", "status", "after", "ask"),
    [
        (QUERY, MessageStatus.SENT, 19, False),
        (QUERY, MessageStatus.SENT, 20, True),
        (QUERY, MessageStatus.DELIVERED, 30, False),
        (NO_QUERY, MessageStatus.SENT, 300, False),
        (NO_RECEIPTS, MessageStatus.SENT, 300, False),
    ],
)
def test_should_ask_only_a_provider_with_a_query_after_its_first_window(
    caps: Capabilities, status: MessageStatus, after: float, ask: bool
) -> None:
    assert should_ask(sent(status), caps, QUERYING, minutes(after)) is ask


def test_windows_default_by_capability_and_are_configurable_per_provider() -> None:
    assert window_for("aliyun", True, {}) == Window(timedelta(minutes=20), timedelta(hours=24))
    assert window_for("agora", False, {}) == Window(timedelta(hours=2), timedelta(hours=2))
    windows = parse_windows(" aliyun=30m/12h, agora=3h ")
    assert windows == {
        "aliyun": Window(timedelta(minutes=30), timedelta(hours=12)),
        "agora": Window(timedelta(hours=3), timedelta(hours=3)),
    }
    assert window_for("aliyun", True, windows).give_up_after == timedelta(hours=12)
    assert parse_windows("") == {}


@pytest.mark.parametrize(
    "spec", ["aliyun", "aliyun=", "aliyun=20", "aliyun=0m", "aliyun=2d", "=2h", "a=1m/2m/3m", "a=2h/1h"]
)
def test_a_bad_window_is_named(spec: str) -> None:
    with pytest.raises(ValueError, match="RECEIPT_WINDOWS"):
        parse_windows(spec)


def test_unknown_counts_as_sent_and_is_a_gauge_a_late_receipt_moves_it_on() -> None:
    queued = replace(sent(), status=MessageStatus.QUEUED, sent_at=None, history=[])
    was_sent = sent()
    unknown = replace(was_sent, status=MessageStatus.UNKNOWN)
    late = replace(unknown, status=MessageStatus.DELIVERED, delivered_at=minutes(30 * 60))
    assert [(f.event, f.deltas) for f in feeds(queued, was_sent)] == [
        ("status:sent#1", {"queued": -1}),
        ("sent", {"sent": 1}),
    ]
    assert [(f.event, f.deltas) for f in feeds(was_sent, unknown)] == [("status:unknown#1", {"unknown": 1})]
    assert [(f.event, f.deltas) for f in feeds(unknown, late)] == [
        ("status:delivered#1", {"unknown": -1}),
        ("delivered", {"delivered": 1}),
    ]


# -- the reconciler over the fakes ---------------------------------------------------------------------


class World:
    def __init__(self, *, can_query: bool) -> None:
        self.provider = FakeProvider("fake")
        self.provider.can_query_status = can_query
        fakes = FakeAdapters(providers={"fake": self.provider})
        self.messages = fakes.messages
        self.logged: list[tuple[str, dict[str, object]]] = []
        self.app = fake_app(
            fakes,
            rule_book(),
            log=lambda what, **fields: self.logged.append((what, fields)),
            sms_provider="fake",
            im_provider="fake",
        )
        self.member = member()
        fakes.members.save(self.member)

    def sent_message(self, occurrence: str = "join") -> str:
        """A message sent by the provider, no receipt (as the sender leaves it)."""
        message = plan_message(
            self.member,
            Trigger("welcome", self.member.member_id, occurrence, NOW),
            self.app.policy,
            {Channel.SMS: "fake", Channel.IM: "fake"},
            NOW,
        )
        assert self.messages.create(message)
        assert self.app.sender.deliver(message.message_id, SENT_AT) is MessageStatus.SENT
        return message.message_id

    def status(self, message_id: str) -> MessageStatus:
        got = self.messages.get(message_id)
        assert got is not None
        return got.status


def test_a_message_stuck_sent_is_delivered_by_the_providers_status_query() -> None:
    world = World(can_query=True)
    mid = world.sent_message()
    reconciler = world.app.reconciler
    # Before the first window nothing is asked
    assert reconciler.run(minutes(10)) == {}
    assert world.provider.queried == []
    # After 20 min the provider is asked; it knows no more yet: still sent, looked at again later
    assert reconciler.run(minutes(20)) == {"looked_at": 1, "queried": 1, "still_waiting": 1}
    assert reconciler.run(minutes(30)) == {}  # not due again until 20 min after the last look
    world.provider.status_answers[mid] = MessageStatus.DELIVERED
    assert reconciler.run(minutes(40)) == {"looked_at": 1, "queried": 1, "applied_delivered": 1}
    assert world.status(mid) is MessageStatus.DELIVERED
    message = world.messages.get(mid)
    assert message is not None and [h.status for h in message.history][-2:] == [
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
    ]
    # No longer awaited: never looked at again
    assert reconciler.run(minutes(24 * 60 + 1)) == {}
    assert (
        "receipts reconciled",
        {"provider": "fake", "looked_at": 1, "queried": 1, "applied_delivered": 1},
    ) in world.logged


def test_a_message_stuck_sent_becomes_unknown_after_the_window_when_the_provider_cannot_be_asked() -> None:
    world = World(can_query=False)
    mid = world.sent_message()
    reconciler = world.app.reconciler
    assert reconciler.run(minutes(119)) == {}
    assert reconciler.run(minutes(120)) == {"looked_at": 1, "unknown": 1}
    assert world.provider.queried == []
    message = world.messages.get(mid)
    assert message is not None and message.status is MessageStatus.UNKNOWN
    assert message.reason == "no receipt within 2 h; the provider cannot be asked"
    assert message.history[-1].status is MessageStatus.UNKNOWN
    # A late real receipt still moves it on
    assert world.app.receipts.apply(Receipt(mid, None, MessageStatus.DELIVERED, minutes(300)))
    assert world.status(mid) is MessageStatus.DELIVERED
    assert reconciler.run(minutes(600)) == {}


def test_a_querying_provider_that_never_learns_gives_up_after_24_h() -> None:
    world = World(can_query=True)
    mid = world.sent_message()
    reconciler = world.app.reconciler
    for m in range(20, 24 * 60, 20):
        reconciler.run(minutes(m))
    assert world.status(mid) is MessageStatus.SENT
    assert reconciler.run(minutes(24 * 60)) == {"looked_at": 1, "queried": 1, "unknown": 1}
    assert world.status(mid) is MessageStatus.UNKNOWN


def test_a_run_looks_at_no_more_than_its_maximum_oldest_first() -> None:
    world = World(can_query=False)
    ids = [world.sent_message(f"o{i}") for i in range(5)]
    reconciler = world.app.reconciler
    reconciler.max_per_run = 3
    assert reconciler.run(minutes(120)) == {"looked_at": 3, "unknown": 3}
    assert reconciler.run(minutes(121)) == {"looked_at": 2, "unknown": 2}
    assert {world.status(i) for i in ids} == {MessageStatus.UNKNOWN}


def test_logs_name_no_phone_number() -> None:
    world = World(can_query=False)
    world.sent_message()
    world.app.reconciler.run(minutes(120))
    assert world.member.phone and world.member.phone[-8:] not in repr(world.logged)
