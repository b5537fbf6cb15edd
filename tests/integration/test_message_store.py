"""DynamoMessageStore against moto: create-once, conditional transitions, the by_member GSI."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.domain.model import PENDING_STATUSES, Message, MessageStatus, StatusChange
from tests.integration.contract.test_message_store import a_message as contract_message

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def a_message(message_id: str = "m-msg-1", member_id: str = "m-1001", created_at: datetime = T0) -> Message:
    """The contract suite's queued welcome (tests/integration/contract)."""
    return contract_message(message_id, member_id, created_at)


def raw_item(aws, message_id: str) -> dict:
    return aws.dynamodb.get_item(
        TableName=aws.tables["MessagesTable"], Key={"message_id": {"S": message_id}}, ConsistentRead=True
    )["Item"]


class TestCreate:
    def test_given_a_new_message_when_created_then_true_and_it_reads_back_the_same(self, aws):
        store = DynamoMessageStore()
        message = a_message()

        assert store.create(message) is True

        assert store.get("m-msg-1") == message

    def test_given_the_id_exists_when_created_again_then_false_and_the_first_is_kept(self, aws):
        store = DynamoMessageStore()
        store.create(a_message())

        again = replace(a_message(), text="other text", status=MessageStatus.SUPPRESSED, reason="x")
        assert store.create(again) is False

        kept = store.get("m-msg-1")
        assert kept.text == "王小明，欢迎加入乐乐玩具会员！"
        assert kept.status is MessageStatus.QUEUED
        assert len(aws.scan("MessagesTable")) == 1

    def test_given_no_message_when_get_then_none(self, aws):
        assert DynamoMessageStore().get("m-none") is None


class TestTransition:
    def test_given_a_queued_message_when_sent_then_status_sent_at_and_history_are_recorded(self, aws):
        store = DynamoMessageStore()
        store.create(a_message())
        at = T0 + timedelta(seconds=3)

        ok = store.transition(
            "m-msg-1", MessageStatus.SENT, at, expect=PENDING_STATUSES, provider_message_id="sbx-m-msg-1", parts=2
        )

        assert ok is True
        message = store.get("m-msg-1")
        assert message.status is MessageStatus.SENT
        assert message.sent_at == at
        assert message.delivered_at is None
        assert message.provider_message_id == "sbx-m-msg-1"
        assert message.parts == 2
        assert message.history == [StatusChange(MessageStatus.QUEUED, T0), StatusChange(MessageStatus.SENT, at)]

    def test_given_a_sent_message_when_delivered_then_delivered_at_is_set_and_history_grows(self, aws):
        store = DynamoMessageStore()
        store.create(a_message())
        sent, delivered = T0 + timedelta(seconds=3), T0 + timedelta(seconds=9)
        store.transition("m-msg-1", MessageStatus.SENT, sent, expect=PENDING_STATUSES)

        ok = store.transition("m-msg-1", MessageStatus.DELIVERED, delivered, expect=frozenset({MessageStatus.SENT}))

        assert ok is True
        message = store.get("m-msg-1")
        assert message.status is MessageStatus.DELIVERED
        assert message.sent_at == sent
        assert message.delivered_at == delivered
        assert [h.status for h in message.history] == [
            MessageStatus.QUEUED,
            MessageStatus.SENT,
            MessageStatus.DELIVERED,
        ]

    def test_given_status_not_in_expect_when_transition_then_false_and_nothing_changes(self, aws):
        store = DynamoMessageStore()
        store.create(a_message())
        before = raw_item(aws, "m-msg-1")

        ok = store.transition(
            "m-msg-1",
            MessageStatus.DELIVERED,
            T0 + timedelta(seconds=9),
            expect=frozenset({MessageStatus.SENT}),
            reason="should not land",
        )

        assert ok is False
        assert raw_item(aws, "m-msg-1") == before

    def test_given_a_reason_when_suppressed_then_reason_is_stored_on_the_message_and_its_history(self, aws):
        store = DynamoMessageStore()
        store.create(a_message())
        at = T0 + timedelta(minutes=1)

        assert store.transition("m-msg-1", MessageStatus.SUPPRESSED, at, expect=PENDING_STATUSES, reason="no consent")

        message = store.get("m-msg-1")
        assert message.status is MessageStatus.SUPPRESSED
        assert message.reason == "no consent"
        assert message.history[-1] == StatusChange(MessageStatus.SUPPRESSED, at, "no consent")
        assert message.sent_at is None

    def test_given_empty_expect_when_transition_then_false(self, aws):
        store = DynamoMessageStore()
        store.create(a_message())

        assert store.transition("m-msg-1", MessageStatus.SENT, T0, expect=frozenset()) is False
        assert store.get("m-msg-1").status is MessageStatus.QUEUED

    def test_given_an_unknown_id_when_transition_then_false_and_no_item_is_created(self, aws):
        store = DynamoMessageStore()

        assert store.transition("m-ghost", MessageStatus.DELIVERED, T0, expect=PENDING_STATUSES) is False
        assert aws.scan("MessagesTable") == []

    def test_given_a_message_stored_without_history_when_transition_then_history_starts(self, aws):
        store = DynamoMessageStore()
        store.create(replace(a_message(), history=[]))

        assert store.transition("m-msg-1", MessageStatus.SENT, T0, expect=PENDING_STATUSES) is True

        assert store.get("m-msg-1").history == [StatusChange(MessageStatus.SENT, T0)]


class TestListForMember:
    def test_given_messages_of_two_members_when_listed_then_only_theirs_newest_first(self, aws):
        store = DynamoMessageStore()
        times = [T0 + timedelta(hours=h) for h in (5, 1, 9, 3)]
        for i, at in enumerate(times):
            store.create(a_message(f"m-a-{i}", "m-a", at))
        store.create(a_message("m-b-0", "m-b", T0 + timedelta(hours=7)))

        listed = store.list_for_member("m-a")

        assert [m.created_at for m in listed] == sorted(times, reverse=True)
        assert [m.message_id for m in listed] == ["m-a-2", "m-a-0", "m-a-3", "m-a-1"]
        assert all(m.member_id == "m-a" for m in listed)

    def test_given_more_messages_than_the_limit_when_listed_then_the_newest_up_to_the_limit(self, aws):
        store = DynamoMessageStore()
        for h in range(5):
            store.create(a_message(f"m-l-{h}", "m-l", T0 + timedelta(hours=h)))

        listed = store.list_for_member("m-l", limit=2)

        assert [m.message_id for m in listed] == ["m-l-4", "m-l-3"]

    def test_given_no_messages_when_listed_then_empty(self, aws):
        assert DynamoMessageStore().list_for_member("m-nobody") == []


class TestBatchReads:
    def test_given_some_ids_when_read_together_then_the_found_ones_by_id(self, aws):
        store = DynamoMessageStore()
        for i in range(3):
            store.create(a_message(f"m-{i}"))

        found = store.get_many(["m-0", "m-2", "m-ghost"])

        assert found == {"m-0": store.get("m-0"), "m-2": store.get("m-2")}
        assert store.get_many([]) == {}


class TestCallStarted:
    """What the sender writes before a provider call it must be able to account for after a crash."""

    def claimed(self, message_id: str, claim: str) -> None:
        from chalicelib.adapters.send_gate import DynamoSendGate
        from chalicelib.ports import ClaimRequest

        DynamoMessageStore().create(a_message(message_id))
        result = DynamoSendGate({}).claim(
            [ClaimRequest(message_id, claim, "sandbox", 1, tracks_call=True)], T0, T0.timestamp()
        )
        assert message_id in result.slots

    def test_given_a_tracked_claim_then_the_call_has_not_started_until_marked(self, aws):
        store = DynamoMessageStore()
        self.claimed("m-a", "c1")
        assert store.get("m-a").call_started is False

        assert store.mark_call_started("m-a", "c1", []) is True

        assert store.get("m-a").call_started is True

    def test_given_earlier_sends_of_the_batch_then_they_are_recorded_with_the_mark_in_one_request(
        self, aws, monkeypatch
    ):
        from pynamodb.connection.base import Connection

        from chalicelib.ports import SentRecord

        store = DynamoMessageStore()
        self.claimed("m-a", "c1")
        self.claimed("m-b", "c2")
        calls: list[str] = []
        real = Connection._make_api_call

        def counting(self, operation_name, *args, **kwargs):
            calls.append(operation_name)
            return real(self, operation_name, *args, **kwargs)

        monkeypatch.setattr(Connection, "_make_api_call", counting)
        at = T0 + timedelta(seconds=2)

        assert store.mark_call_started("m-b", "c2", [SentRecord("m-a", "c1", at, "sbx-m-a", 1)]) is True

        assert calls == ["TransactWriteItems"]
        sent, started = store.get("m-a"), store.get("m-b")
        assert (sent.status, sent.sent_at, sent.claim, sent.call_started) == (MessageStatus.SENT, at, None, None)
        assert (started.claim, started.call_started) == ("c2", True)

    def test_given_the_claim_was_taken_over_then_no_mark_but_the_earlier_sends_are_recorded(self, aws):
        from chalicelib.ports import SentRecord

        store = DynamoMessageStore()
        self.claimed("m-a", "c1")
        self.claimed("m-b", "c2")

        assert store.mark_call_started("m-b", "c-old", [SentRecord("m-a", "c1", T0, "sbx-m-a", 1)]) is False

        assert store.get("m-a").status is MessageStatus.SENT
        assert store.get("m-b").call_started is False

    def test_given_an_outcome_then_the_claim_and_its_mark_go_together(self, aws):
        store = DynamoMessageStore()
        self.claimed("m-a", "c1")
        store.mark_call_started("m-a", "c1", [])

        assert store.unclaim("m-a", "c1", "retrying: 429")

        message = store.get("m-a")
        assert (message.claim, message.claimed_at, message.call_started) == (None, None, None)


class TestUnclaimAll:
    def claimed(self, message_id: str, claim: str) -> None:
        from chalicelib.adapters.send_gate import DynamoSendGate
        from chalicelib.ports import ClaimRequest

        DynamoMessageStore().create(a_message(message_id))
        DynamoSendGate({}).claim([ClaimRequest(message_id, claim, "sandbox", 1)], T0, T0.timestamp())

    def test_given_claims_handed_back_together_then_one_request_releases_them(self, aws, monkeypatch):
        from pynamodb.connection.base import Connection

        store = DynamoMessageStore()
        for i in range(3):
            self.claimed(f"m-{i}", f"c{i}")
        calls: list[str] = []
        real = Connection._make_api_call

        def counting(self, operation_name, *args, **kwargs):
            calls.append(operation_name)
            return real(self, operation_name, *args, **kwargs)

        monkeypatch.setattr(Connection, "_make_api_call", counting)

        store.unclaim_all([(f"m-{i}", f"c{i}") for i in range(3)], "waiting for the provider's rate")

        assert calls == ["TransactWriteItems"]
        for i in range(3):
            message = store.get(f"m-{i}")
            assert (message.claim, message.reason) == (None, "waiting for the provider's rate")

    def test_given_one_claim_taken_over_then_the_others_are_still_released(self, aws):
        store = DynamoMessageStore()
        for i in range(3):
            self.claimed(f"m-{i}", f"c{i}")

        store.unclaim_all([("m-0", "c0"), ("m-1", "c-other"), ("m-2", "c2")], "waiting")

        assert [store.get(f"m-{i}").claim for i in range(3)] == [None, "c1", None]
