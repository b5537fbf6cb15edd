"""The members-table stream handler end to end on moto: stream record → message row → send intent on SQS."""

from __future__ import annotations

import copy
import json

from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.domain.ids import message_id
from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.handlers import streams

from .conftest import load_event

WELCOME_ID = message_id("m-1001", "welcome", "join")


def insert_event() -> dict:
    return load_event("member_insert.json")


def put_member_of(aws, event: dict) -> None:
    """The stream reports a write that happened: the member is in the table, as the image says."""
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage") or {}
        if "member_id" in image:
            aws.put_image("MembersTable", image)


def queued_ids(aws) -> list[str]:
    return [json.loads(m["Body"])["message_id"] for m in aws.drain_queue()]


def messages_of(aws, member_id: str) -> list[dict]:
    return [i for i in aws.scan("MessagesTable") if i["member_id"]["S"] == member_id]


class TestMemberInsert:
    def test_given_a_new_member_when_the_insert_arrives_then_a_welcome_is_stored_and_queued(self, aws, lambda_context):
        event = insert_event()
        put_member_of(aws, event)

        result = streams.member_changed(event, lambda_context)

        assert result == {"batchItemFailures": []}
        [row] = messages_of(aws, "m-1001")
        assert row["message_id"] == {"S": WELCOME_ID}
        message = DynamoMessageStore().get(WELCOME_ID)
        assert message.trigger == "welcome"
        assert message.occurrence == "join"
        assert message.status is MessageStatus.QUEUED
        assert message.channel is Channel.IM  # first of the rule's channels the member consents to
        assert message.provider == "sandbox"
        assert "王小明" in message.text
        assert message.created_at.isoformat() == "2026-11-20T02:00:00+00:00"  # the record's time, not the clock
        [sqs_message] = aws.drain_queue()
        body = json.loads(sqs_message["Body"])
        assert body["message_id"] == WELCOME_ID
        assert body.get("at") in (None, "2026-11-20T02:00:00Z")  # when it was decided, if said

    def test_given_the_insert_was_handled_when_it_is_replayed_then_still_one_message_and_one_send(
        self, aws, lambda_context
    ):
        event = insert_event()
        put_member_of(aws, event)
        streams.member_changed(event, lambda_context)

        first = queued_ids(aws)
        result = streams.member_changed(insert_event(), lambda_context)

        # One message; the replay queues the same id again only because it is still unsent
        # (the sender is idempotent on it), never a second message.
        assert result == {"batchItemFailures": []}
        assert len(messages_of(aws, "m-1001")) == 1
        assert first == [WELCOME_ID]
        assert queued_ids(aws) == [WELCOME_ID]

    def test_given_the_app_route_when_the_insert_arrives_then_the_same_welcome(self, aws, lambda_context):
        from app import on_member_change

        event = insert_event()
        put_member_of(aws, event)

        result = on_member_change(event, lambda_context)

        assert result == {"batchItemFailures": []}
        assert [r["message_id"]["S"] for r in messages_of(aws, "m-1001")] == [WELCOME_ID]
        assert len(aws.drain_queue()) == 1


class TestPoisonRecord:
    def test_given_a_poison_record_beside_a_good_one_when_handled_then_only_the_poison_is_reported(
        self, aws, lambda_context
    ):
        event = insert_event()
        good = event["Records"][0]
        poison = copy.deepcopy(good)
        poison["eventID"] = "poison-0001"
        poison["dynamodb"]["SequenceNumber"] = "110"
        poison["dynamodb"]["Keys"] = {"member_id": {"S": "m-poison"}}
        del poison["dynamodb"]["NewImage"]["member_id"]
        event["Records"] = [poison, good]
        put_member_of(aws, event)

        result = streams.member_changed(event, lambda_context)

        assert result == {"batchItemFailures": [{"itemIdentifier": "110"}]}
        assert [r["message_id"]["S"] for r in messages_of(aws, "m-1001")] == [WELCOME_ID]
        assert queued_ids(aws) == [WELCOME_ID]

    def test_given_a_remove_record_when_handled_then_nothing_is_planned(self, aws, lambda_context):
        event = insert_event()
        record = event["Records"][0]
        record["eventName"] = "REMOVE"
        record["dynamodb"]["OldImage"] = record["dynamodb"].pop("NewImage")

        result = streams.member_changed(event, lambda_context)

        assert result == {"batchItemFailures": []}
        assert aws.scan("MessagesTable") == []
        assert aws.drain_queue() == []


class TestMemberModify:
    def test_given_a_tier_upgrade_when_the_modify_arrives_then_one_tier_upgraded_message_is_queued(
        self, aws, lambda_context
    ):
        event = load_event("member_modify_tier.json")
        put_member_of(aws, event)

        assert streams.member_changed(event, lambda_context) == {"batchItemFailures": []}

        expected = message_id("m-1001", "tier_upgraded", "tier:gold")
        assert [r["message_id"]["S"] for r in messages_of(aws, "m-1001")] == [expected]
        assert DynamoMessageStore().get(expected).trigger == "tier_upgraded"
        assert queued_ids(aws) == [expected]

    def test_given_a_modify_that_changes_no_tier_when_it_arrives_then_nothing_is_queued(self, aws, lambda_context):
        event = load_event("member_modify_tier.json")
        images = event["Records"][0]["dynamodb"]
        images["NewImage"]["tier"] = images["OldImage"]["tier"]
        put_member_of(aws, event)

        assert streams.member_changed(event, lambda_context) == {"batchItemFailures": []}

        assert messages_of(aws, "m-1001") == []
        assert aws.drain_queue() == []
