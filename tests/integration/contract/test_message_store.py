"""``MessageStore`` contract: created once per id; status transitions only from the expected
statuses (and with a claim only while it holds); sends recorded only under their claim, never
moving back a status a receipt set first; newest first per member; the provider-id look-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.model import PENDING_STATUSES, Channel, Message, MessageStatus, StatusChange
from chalicelib.ports import ClaimRequest, SentRecord

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=3)
QUEUED = frozenset({MessageStatus.QUEUED})


def a_message(message_id: str = "msg-1", member_id: str = "m-1", created_at: datetime = T0) -> Message:
    return Message(
        message_id=message_id,
        member_id=member_id,
        trigger="welcome",
        occurrence="join",
        channel=Channel.IM,
        provider="sandbox",
        text="王小明，欢迎加入乐乐玩具会员！",
        status=MessageStatus.QUEUED,
        created_at=created_at,
        history=[StatusChange(MessageStatus.QUEUED, created_at)],
    )


def claimed(adapters: Any, message_id: str = "msg-1", claim: str = "c1") -> None:
    """Claimed for sending, through the send gate (the only place claims are made)."""
    result = adapters.send_gate.claim([ClaimRequest(message_id, claim, "sandbox", 1)], T0, T0.timestamp())
    assert message_id in result.slots


class TestCreate:
    def test_a_new_message_is_stored_once_and_reads_back_equal(self, adapters: Any) -> None:
        store = adapters.messages
        assert store.create(a_message()) is True
        again = replace(a_message(), text="other", status=MessageStatus.SUPPRESSED, reason="x")
        assert store.create(again) is False
        assert store.get("msg-1") == a_message()

    def test_reads_are_copies(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        got = store.get("msg-1")
        got.history.append(StatusChange(MessageStatus.SENT, LATER))
        got.status = MessageStatus.SENT
        assert store.get("msg-1") == a_message()

    def test_no_message_reads_none(self, adapters: Any) -> None:
        assert adapters.messages.get("msg-none") is None


class TestTransition:
    def test_a_transition_sets_the_status_its_time_and_the_history(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        assert store.transition("msg-1", MessageStatus.SENT, LATER, expect=PENDING_STATUSES, parts=2)
        assert store.transition(
            "msg-1", MessageStatus.DELIVERED, LATER, expect=frozenset({MessageStatus.SENT}), provider_message_id="p-1"
        )
        got = store.get("msg-1")
        assert (got.status, got.sent_at, got.delivered_at, got.parts, got.provider_message_id) == (
            MessageStatus.DELIVERED,
            LATER,
            LATER,
            2,
            "p-1",
        )
        assert [h.status for h in got.history] == [MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED]

    def test_a_status_outside_expect_or_an_empty_expect_or_no_message_changes_nothing(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        assert (
            store.transition("msg-1", MessageStatus.DELIVERED, LATER, expect=frozenset({MessageStatus.SENT})) is False
        )
        assert store.transition("msg-1", MessageStatus.SENT, LATER, expect=frozenset()) is False
        assert store.transition("msg-none", MessageStatus.SENT, LATER, expect=QUEUED) is False
        assert store.get("msg-1") == a_message()
        assert store.get("msg-none") is None

    def test_a_deferral_keeps_its_reason_and_send_after(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        until = T0 + timedelta(hours=8)
        assert store.transition(
            "msg-1", MessageStatus.DEFERRED, LATER, expect=PENDING_STATUSES, reason="quiet hours", send_after=until
        )
        got = store.get("msg-1")
        assert (got.status, got.reason, got.send_after) == (MessageStatus.DEFERRED, "quiet hours", until)
        assert got.history[-1] == StatusChange(MessageStatus.DEFERRED, LATER, "quiet hours")

    def test_with_a_claim_only_while_it_holds_and_the_claim_goes(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        claimed(adapters)
        assert store.transition("msg-1", MessageStatus.FAILED, LATER, expect=PENDING_STATUSES, claim="c-other") is False
        assert store.transition("msg-1", MessageStatus.FAILED, LATER, expect=PENDING_STATUSES, claim="c1") is True
        got = store.get("msg-1")
        assert (got.status, got.claim, got.claimed_at) == (MessageStatus.FAILED, None, None)

    def test_unclaim_only_with_the_claim_and_the_message_stays_pending(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        claimed(adapters)
        assert store.unclaim("msg-1", "c-other", "retrying") is False
        assert store.unclaim("msg-1", "c1", "retrying: 429") is True
        got = store.get("msg-1")
        assert (got.status, got.claim, got.reason, got.attempts) == (MessageStatus.QUEUED, None, "retrying: 429", 1)
        assert store.unclaim("msg-none", "c1", "x") is False


class TestRecordSent:
    def test_sends_are_recorded_under_their_claims(self, adapters: Any) -> None:
        store = adapters.messages
        for mid in ("msg-1", "msg-2", "msg-3"):
            store.create(a_message(mid))
            claimed(adapters, mid, f"c-{mid}")
        sends = [
            SentRecord("msg-1", "c-msg-1", LATER, "p-1", 1),
            SentRecord("msg-2", "c-msg-2", LATER, "p-2", 2, delivered_at=LATER),
        ]
        assert sorted(store.record_sent(sends)) == ["msg-1", "msg-2"]
        one, two, three = store.get("msg-1"), store.get("msg-2"), store.get("msg-3")
        assert (one.status, one.sent_at, one.provider_message_id, one.parts, one.claim) == (
            MessageStatus.SENT,
            LATER,
            "p-1",
            1,
            None,
        )
        assert (two.status, two.delivered_at) == (MessageStatus.DELIVERED, LATER)
        assert [h.status for h in two.history] == [MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED]
        assert three.status is MessageStatus.QUEUED and three.claim == "c-msg-3"

    def test_a_send_whose_claim_was_lost_is_not_recorded(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message("msg-1"))
        store.create(a_message("msg-2"))
        claimed(adapters, "msg-1", "c1")
        claimed(adapters, "msg-2", "c2")
        store.unclaim("msg-2", "c2", "given up")
        assert store.record_sent(
            [SentRecord("msg-1", "c1", LATER, "p-1", 1), SentRecord("msg-2", "c2", LATER, "p-2", 1)]
        ) == ["msg-1"]
        assert store.get("msg-2").status is MessageStatus.QUEUED

    def test_a_receipt_that_came_first_keeps_its_status(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        claimed(adapters)
        store.transition("msg-1", MessageStatus.DELIVERED, LATER, expect=PENDING_STATUSES)
        assert store.record_sent([SentRecord("msg-1", "c1", LATER, "p-1", 3)]) == []
        got = store.get("msg-1")
        assert (got.status, got.sent_at, got.provider_message_id, got.parts, got.claim) == (
            MessageStatus.DELIVERED,
            LATER,
            "p-1",
            3,
            None,
        )

    def test_the_provider_id_finds_the_message(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        claimed(adapters)
        store.record_sent([SentRecord("msg-1", "c1", LATER, "sbx-msg-1", 1)])
        assert adapters.message_index.by_provider_id("sbx-msg-1") == "msg-1"
        assert adapters.message_index.by_provider_id("sbx-none") is None


class TestListForMember:
    def test_only_the_members_newest_first_up_to_the_limit(self, adapters: Any) -> None:
        store = adapters.messages
        for i in range(4):
            store.create(a_message(f"msg-{i}", "m-1", T0 + timedelta(minutes=i)))
        store.create(a_message("msg-other", "m-2", T0 + timedelta(hours=1)))
        assert [m.message_id for m in store.list_for_member("m-1")] == ["msg-3", "msg-2", "msg-1", "msg-0"]
        assert [m.message_id for m in store.list_for_member("m-1", limit=2)] == ["msg-3", "msg-2"]
        assert store.list_for_member("m-none") == []
