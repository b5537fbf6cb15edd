"""``MessageStore`` contract: created once per id, read one by one or together; status transitions
only from the expected statuses (and with a claim only while it holds); claims given back one by one
or together, each only while it holds; a tracked claim's mark that its provider call started, only
while the claim holds (the batch's sends so far recorded with it); sends recorded only under their
claim, never moving back a status a receipt set first; newest first per member; the provider-id
look-up."""

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


def claimed(adapters: Any, message_id: str = "msg-1", claim: str = "c1", tracks_call: bool = False) -> None:
    """Claimed for sending, through the send gate (the only place claims are made)."""
    request = ClaimRequest(message_id, claim, "sandbox", 1, tracks_call=tracks_call)
    result = adapters.send_gate.claim([request], T0, T0.timestamp())
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

    def test_messages_read_together_are_the_found_ones_by_id(self, adapters: Any) -> None:
        store = adapters.messages
        for i in range(3):
            store.create(a_message(f"msg-{i}"))
        assert store.get_many(["msg-0", "msg-2", "msg-none"]) == {
            "msg-0": store.get("msg-0"),
            "msg-2": store.get("msg-2"),
        }
        assert store.get_many([]) == {}


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


class TestClaimsGivenBack:
    def test_claims_handed_back_together_each_only_while_it_holds(self, adapters: Any) -> None:
        store = adapters.messages
        for i in range(3):
            store.create(a_message(f"msg-{i}"))
            claimed(adapters, f"msg-{i}", f"c{i}")
        store.unclaim_all([("msg-0", "c0"), ("msg-1", "c-other"), ("msg-2", "c2")], "waiting for the provider's rate")
        got = [store.get(f"msg-{i}") for i in range(3)]
        assert [(m.claim, m.status) for m in got] == [
            (None, MessageStatus.QUEUED),
            ("c1", MessageStatus.QUEUED),
            (None, MessageStatus.QUEUED),
        ]
        assert (got[0].reason, got[2].reason) == ("waiting for the provider's rate",) * 2
        store.unclaim_all([], "nothing")


class TestCallStarted:
    """What the sender writes before a provider call it must account for after a crash."""

    def test_a_tracked_claim_has_not_started_its_call_until_marked(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message())
        claimed(adapters, tracks_call=True)
        assert store.get("msg-1").call_started is False
        assert store.mark_call_started("msg-1", "c1", []) is True
        assert store.get("msg-1").call_started is True

    def test_an_untracked_claim_says_nothing_about_its_call(self, adapters: Any) -> None:
        adapters.messages.create(a_message())
        claimed(adapters)
        assert adapters.messages.get("msg-1").call_started is None

    def test_the_batchs_sends_so_far_are_recorded_with_the_mark(self, adapters: Any) -> None:
        store = adapters.messages
        for mid, claim in (("msg-a", "c1"), ("msg-b", "c2")):
            store.create(a_message(mid))
            claimed(adapters, mid, claim, tracks_call=True)
        store.mark_call_started("msg-a", "c1", [])
        assert store.mark_call_started("msg-b", "c2", [SentRecord("msg-a", "c1", LATER, "sbx-msg-a", 1)]) is True
        sent, started = store.get("msg-a"), store.get("msg-b")
        assert (sent.status, sent.sent_at, sent.claim, sent.call_started) == (MessageStatus.SENT, LATER, None, None)
        assert (started.claim, started.call_started) == ("c2", True)

    def test_no_mark_without_the_claim_but_the_sends_so_far_are_recorded(self, adapters: Any) -> None:
        store = adapters.messages
        for mid, claim in (("msg-a", "c1"), ("msg-b", "c2")):
            store.create(a_message(mid))
            claimed(adapters, mid, claim, tracks_call=True)
        assert store.mark_call_started("msg-b", "c-old", [SentRecord("msg-a", "c1", LATER, "sbx-msg-a", 1)]) is False
        assert store.get("msg-a").status is MessageStatus.SENT
        assert store.get("msg-b").call_started is False
        assert store.mark_call_started("msg-none", "c9", []) is False

    def test_the_mark_goes_with_the_claim(self, adapters: Any) -> None:
        store = adapters.messages
        for i in range(3):
            store.create(a_message(f"msg-{i}"))
            claimed(adapters, f"msg-{i}", f"c{i}", tracks_call=True)
            store.mark_call_started(f"msg-{i}", f"c{i}", [])
        assert store.unclaim("msg-0", "c0", "retrying: 429")
        store.unclaim_all([("msg-1", "c1")], "waiting")
        assert store.transition("msg-2", MessageStatus.FAILED, LATER, expect=PENDING_STATUSES, claim="c2")
        for i in range(3):
            message = store.get(f"msg-{i}")
            assert (message.claim, message.claimed_at, message.call_started) == (None, None, None)


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


def sent_messages(adapters: Any, count: int, *, at: datetime = LATER, provider: str = "sandbox") -> list[str]:
    """``count`` messages claimed and recorded sent together (one batch: the transaction path)."""
    store = adapters.messages
    ids = [f"{provider}-{i}" for i in range(count)]
    for i, mid in enumerate(ids):
        store.create(replace(a_message(mid, created_at=T0 + timedelta(seconds=i)), provider=provider))
        claimed(adapters, mid, f"c-{mid}")
    sends = [SentRecord(mid, f"c-{mid}", at + timedelta(seconds=i), f"p-{mid}", 1) for i, mid in enumerate(ids)]
    assert sorted(adapters.messages.record_sent(sends)) == sorted(ids)
    return ids


class TestAwaitingReceipt:
    """The sparse ``awaiting_receipt`` index: set when a message is recorded sent, by provider and
    when it was sent (or last looked at); ended by any later status or erasure."""

    def test_sent_messages_await_their_receipt_by_provider_oldest_first(self, adapters: Any) -> None:
        store = adapters.messages
        ids = sent_messages(adapters, 3)
        (other,) = sent_messages(adapters, 1, provider="aliyun")
        store.create(a_message("queued"))
        late = LATER + timedelta(hours=1)
        assert store.awaiting_receipt("sandbox", late, 10) == ids
        assert store.awaiting_receipt("sandbox", late, 2) == ids[:2]
        assert store.awaiting_receipt("sandbox", LATER + timedelta(seconds=1), 10) == ids[:2]  # at or before
        assert store.awaiting_receipt("sandbox", LATER - timedelta(seconds=1), 10) == []
        assert store.awaiting_receipt("aliyun", late, 10) == [other]
        assert store.awaiting_receipt("twilio", late, 10) == []

    def test_one_send_alone_awaits_too_but_not_one_delivered_in_the_providers_answer(self, adapters: Any) -> None:
        store = adapters.messages
        store.create(a_message("msg-1"))
        store.create(a_message("msg-2", created_at=LATER))
        claimed(adapters, "msg-1", "c1")
        claimed(adapters, "msg-2", "c2")
        assert store.record_sent([SentRecord("msg-1", "c1", LATER, "p-1", 1)]) == ["msg-1"]
        assert store.record_sent([SentRecord("msg-2", "c2", LATER, "p-2", 1, delivered_at=LATER)]) == ["msg-2"]
        assert store.awaiting_receipt("sandbox", LATER + timedelta(hours=1), 10) == ["msg-1"]

    def test_any_later_status_ends_it_the_status_stays_recorded(self, adapters: Any) -> None:
        store = adapters.messages
        a, b, c = sent_messages(adapters, 3)
        late = LATER + timedelta(hours=1)
        assert store.transition(a, MessageStatus.DELIVERED, late, expect=frozenset({MessageStatus.SENT}))
        assert store.transition(b, MessageStatus.UNKNOWN, late, expect=frozenset({MessageStatus.SENT}), reason="r")
        assert store.awaiting_receipt("sandbox", late, 10) == [c]
        assert store.transition(c, MessageStatus.FAILED, late, expect=frozenset({MessageStatus.SENT}))
        assert store.awaiting_receipt("sandbox", late, 10) == []
        assert store.get(b).status is MessageStatus.UNKNOWN
        # a late receipt moves an unknown message on; it is not awaited again
        assert store.transition(b, MessageStatus.DELIVERED, late, expect=frozenset({MessageStatus.UNKNOWN}))
        assert store.awaiting_receipt("sandbox", late, 10) == []

    def test_recheck_later_moves_it_back_in_the_line_and_stop_awaiting_ends_it(self, adapters: Any) -> None:
        store = adapters.messages
        a, b = sent_messages(adapters, 2)
        checked = LATER + timedelta(minutes=20)
        assert store.recheck_later(a, checked) is True
        assert store.awaiting_receipt("sandbox", checked - timedelta(seconds=1), 10) == [b]
        assert store.awaiting_receipt("sandbox", checked, 10) == [b, a]
        assert store.stop_awaiting(b) is True
        assert store.stop_awaiting(b) is False
        assert store.recheck_later(b, checked) is False
        assert store.get(b).status is MessageStatus.SENT
        assert store.awaiting_receipt("sandbox", checked, 10) == [a]

    def test_an_erased_message_is_not_awaited(self, adapters: Any) -> None:
        from chalicelib.domain.erasure import erased_message

        store = adapters.messages
        a, b = sent_messages(adapters, 2)
        message = store.get(a)
        assert store.erase(erased_message(message, LATER), MessageStatus.SENT)
        assert store.awaiting_receipt("sandbox", LATER + timedelta(hours=1), 10) == [b]
