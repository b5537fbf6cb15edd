"""The send queue's consumer end to end on moto: SQS record → sandbox send → outbox row → status.

The send intents are the real ones: a member insert goes through the stream handler, and what it put
on the (moto) send queue is handed to the sender in an SQS event shaped like events/sqs_send_batch.json.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.domain.ids import message_id
from chalicelib.domain.model import Channel, Consent, MessageStatus
from chalicelib.handlers import sender, streams

from .conftest import app_with, load_event

WELCOME_ID = message_id("m-1001", "welcome", "join")


def queue_welcome(aws, context) -> list[dict]:
    """Member m-1001 joins (events/member_insert.json): returns the send intents now on the queue."""
    event = load_event("member_insert.json")
    aws.put_image("MembersTable", event["Records"][0]["dynamodb"]["NewImage"])
    assert streams.member_changed(event, context) == {"batchItemFailures": []}
    intents = aws.drain_queue()
    assert [json.loads(m["Body"])["message_id"] for m in intents] == [WELCOME_ID]
    return intents


def change_consent(**consent: bool) -> None:
    store = DynamoMemberStore()
    member = store.get("m-1001")
    member.consent = replace(member.consent, **consent)
    store.save(member)


def outbox(aws) -> list[dict]:
    return aws.scan("OutboxTable")


class TestDeliver:
    def test_given_a_queued_welcome_when_its_intent_arrives_then_sent_once_and_delivered(self, aws, lambda_context):
        event = aws.sqs_event(queue_welcome(aws, lambda_context))

        result = sender.send_batch(event, lambda_context)

        assert result == {"batchItemFailures": []}
        message = DynamoMessageStore().get(WELCOME_ID)
        assert message.status is MessageStatus.DELIVERED
        assert message.sent_at is not None and message.delivered_at is not None
        assert message.provider_message_id == f"sbx-{WELCOME_ID}"
        assert message.parts == 1
        assert [h.status for h in message.history] == [
            MessageStatus.QUEUED,
            MessageStatus.SENT,
            MessageStatus.DELIVERED,
        ]
        [row] = outbox(aws)
        assert row["provider_message_id"] == {"S": f"sbx-{WELCOME_ID}"}
        assert row["message_id"] == {"S": WELCOME_ID}
        assert row["channel"] == {"S": "im"}
        assert row["to"] == {"S": "agora_u1001"}
        assert row["text"]["S"] == message.text
        assert message.claim is None  # the claim went with the outcome

    def test_given_it_was_sent_when_the_same_sqs_event_is_delivered_again_then_still_one_send(
        self, aws, lambda_context
    ):
        event = aws.sqs_event(queue_welcome(aws, lambda_context))
        sender.send_batch(event, lambda_context)
        before = DynamoMessageStore().get(WELCOME_ID)

        result = sender.send_batch(event, lambda_context)

        assert result == {"batchItemFailures": []}
        assert len(outbox(aws)) == 1
        assert DynamoMessageStore().get(WELCOME_ID) == before

    def test_given_a_sender_died_after_the_provider_accepted_when_redelivered_then_recovered_without_a_resend(
        self, aws, lambda_context, monkeypatch
    ):
        from chalicelib import bootstrap

        monkeypatch.setenv("SANDBOX_FAULTS", "crash=1")
        bootstrap.reset()
        event = aws.sqs_event(queue_welcome(aws, lambda_context))
        with pytest.raises(RuntimeError, match="sender died"):
            sender.send_batch(event, lambda_context)
        claimed = DynamoMessageStore().get(WELCOME_ID)
        assert claimed.status is MessageStatus.QUEUED and claimed.claim is not None
        assert len(outbox(aws)) == 1  # the provider has it

        # SQS offers the batch again once the visibility timeout (> the claim's lifetime) is over.
        monkeypatch.setenv("SANDBOX_FAULTS", "")
        monkeypatch.setenv("SEND_CLAIM_TTL", "0")
        bootstrap.reset()
        result = sender.send_batch(event, lambda_context)

        assert result == {"batchItemFailures": []}
        assert len(outbox(aws)) == 1
        message = DynamoMessageStore().get(WELCOME_ID)
        assert message.status is MessageStatus.DELIVERED and message.claim is None
        assert message.provider_message_id == f"sbx-{WELCOME_ID}"

    def test_given_a_claim_younger_than_a_sender_can_live_when_redelivered_then_a_fresh_intent_waits_for_it(
        self, aws, lambda_context, monkeypatch
    ):
        from chalicelib import bootstrap

        monkeypatch.setenv("SANDBOX_FAULTS", "crash=1")
        bootstrap.reset()
        event = aws.sqs_event(queue_welcome(aws, lambda_context))
        with pytest.raises(RuntimeError):
            sender.send_batch(event, lambda_context)
        monkeypatch.setenv("SANDBOX_FAULTS", "")
        bootstrap.reset()

        result = sender.send_batch(event, lambda_context)

        # Waiting for another sender is not a try: the record is done (no receive spent) and a
        # fresh copy of the intent waits on the queue (delayed until the claim has surely expired).
        assert result == {"batchItemFailures": []}
        assert len(outbox(aws)) == 1
        waiting = aws.sqs.get_queue_attributes(
            QueueUrl=aws.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )["Attributes"]
        assert waiting["ApproximateNumberOfMessagesDelayed"] == "1"

    def test_given_the_queue_refuses_the_fresh_intent_then_the_record_itself_is_retried(
        self, aws, lambda_context, monkeypatch
    ):
        from chalicelib import bootstrap
        from chalicelib.adapters.send_retries import SqsRetries

        monkeypatch.setenv("SANDBOX_FAULTS", "crash=1")
        bootstrap.reset()
        event = aws.sqs_event(queue_welcome(aws, lambda_context))
        with pytest.raises(RuntimeError):
            sender.send_batch(event, lambda_context)
        monkeypatch.setenv("SANDBOX_FAULTS", "")
        bootstrap.reset()
        app_with(send_retries=SqsRetries(aws.sqs, aws.queue_url + "-gone"))

        result = sender.send_batch(event, lambda_context)

        assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}

    def test_given_the_app_route_when_the_intent_arrives_then_delivered(self, aws, lambda_context):
        from app import send

        event = aws.sqs_event(queue_welcome(aws, lambda_context))

        assert send(event, lambda_context) == {"batchItemFailures": []}

        assert DynamoMessageStore().get(WELCOME_ID).status is MessageStatus.DELIVERED
        assert len(outbox(aws)) == 1


class TestChecksAtSendTime:
    def test_given_consent_withdrawn_after_queueing_when_the_intent_arrives_then_suppressed_with_reason(
        self, aws, lambda_context
    ):
        event = aws.sqs_event(queue_welcome(aws, lambda_context))
        change_consent(sms=False, im=False)

        result = sender.send_batch(event, lambda_context)

        assert result == {"batchItemFailures": []}
        message = DynamoMessageStore().get(WELCOME_ID)
        assert message.status is MessageStatus.SUPPRESSED
        assert message.reason and "consent" in message.reason
        assert message.history[-1].status is MessageStatus.SUPPRESSED
        assert message.sent_at is None
        assert outbox(aws) == []

    def test_given_consent_withdrawn_on_the_queued_channel_only_when_the_intent_arrives_then_nothing_goes_out_there(
        self, aws, lambda_context
    ):
        # The welcome was queued on IM. The member then withdraws IM consent but keeps SMS consent.
        event = aws.sqs_event(queue_welcome(aws, lambda_context))
        assert DynamoMessageStore().get(WELCOME_ID).channel is Channel.IM
        change_consent(im=False)
        assert DynamoMemberStore().get("m-1001").consent == Consent(sms=True, im=False, marketing=True)

        sender.send_batch(event, lambda_context)

        im_sends = [row for row in outbox(aws) if row["channel"]["S"] == "im"]
        assert im_sends == [], "sent over IM to a member who withdrew IM consent"
        message = DynamoMessageStore().get(WELCOME_ID)
        assert not (message.channel is Channel.IM and message.status is MessageStatus.DELIVERED)

    def test_given_the_member_was_deleted_when_the_intent_arrives_then_suppressed(self, aws, lambda_context):
        event = aws.sqs_event(queue_welcome(aws, lambda_context))
        aws.dynamodb.delete_item(TableName=aws.tables["MembersTable"], Key={"member_id": {"S": "m-1001"}})

        assert sender.send_batch(event, lambda_context) == {"batchItemFailures": []}

        message = DynamoMessageStore().get(WELCOME_ID)
        assert message.status is MessageStatus.SUPPRESSED
        assert message.reason == "member no longer exists"
        assert outbox(aws) == []

    def test_given_an_unknown_message_id_when_the_intent_arrives_then_nothing_is_sent_and_no_retry(
        self, aws, lambda_context
    ):
        aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=json.dumps({"message_id": "m-unknown"}))
        event = aws.sqs_event(aws.drain_queue())

        assert sender.send_batch(event, lambda_context) == {"batchItemFailures": []}

        assert outbox(aws) == []
        assert aws.scan("MessagesTable") == []

    def test_given_a_poison_body_beside_a_good_intent_when_handled_then_only_the_poison_is_retried(
        self, aws, lambda_context
    ):
        intents = queue_welcome(aws, lambda_context)
        aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody="not json")
        [poison] = aws.drain_queue()
        event = aws.sqs_event([poison, *intents])

        result = sender.send_batch(event, lambda_context)

        assert result == {"batchItemFailures": [{"itemIdentifier": poison["MessageId"]}]}
        assert DynamoMessageStore().get(WELCOME_ID).status is MessageStatus.DELIVERED
        assert len(outbox(aws)) == 1


class TestCost:
    """DynamoDB requests of one send batch (the bench counts them in every deployed function)."""

    @pytest.fixture
    def requests(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """The DynamoDB operations PynamoDB makes, by name, in order."""
        from pynamodb.connection.base import Connection

        seen: list[str] = []
        real = Connection._make_api_call

        def counting(self: Connection, operation_name: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(operation_name)
            return real(self, operation_name, *args, **kwargs)

        monkeypatch.setattr(Connection, "_make_api_call", counting)
        return seen

    def ten_welcomes(self, aws) -> dict:
        from chalicelib import bootstrap
        from chalicelib.domain.triggers import Trigger
        from tests.fakes import member

        from .conftest import SENDER_NOON

        app = bootstrap.app()
        for i in range(10):
            m = member(f"m-{i:02d}", im_user_id=None, phone=f"+861380013{i:04d}")
            DynamoMemberStore().save(m)
            app.lifecycle.fire([Trigger("welcome", m.member_id, "join", SENDER_NOON)], m, SENDER_NOON)
        return aws.sqs_event(aws.drain_queue())

    def test_a_batch_of_ten_reads_its_messages_and_members_in_one_request_each(self, aws, lambda_context, requests):
        event = self.ten_welcomes(aws)
        requests.clear()

        assert sender.send_batch(event, lambda_context) == {"batchItemFailures": []}

        reads = [r for r in requests if r in ("GetItem", "BatchGetItem", "Query", "Scan")]
        assert reads == ["BatchGetItem", "BatchGetItem"]  # the messages, then their members
        ours = [r for r in requests if r not in reads and r != "PutItem"]  # PutItem: the sandbox's outbox
        assert ours == ["TransactWriteItems", "TransactWriteItems"]  # claims, then the outcomes
        assert len(outbox(aws)) == 10
        assert {row["status"]["S"] for row in aws.scan("MessagesTable")} == {"delivered"}


class TestDeadline:
    class Context:
        def __init__(self, remaining_ms: int) -> None:
            self.remaining_ms = remaining_ms

        def get_remaining_time_in_millis(self) -> int:
            return self.remaining_ms

    def test_no_provider_call_starts_in_the_invocations_last_seconds(self):
        import time

        left = sender._deadline(self.Context(30_000)) - time.time()
        assert 30 - sender.RESERVE - 1 < left <= 30 - sender.RESERVE

    def test_with_a_timeout_shorter_than_the_reserve_the_first_half_is_used(self):
        import time

        left = sender._deadline(self.Context(4_000)) - time.time()
        assert 1 < left <= 2

    def test_without_a_context_the_service_keeps_its_own_budget(self):
        assert sender._deadline(object()) is None
