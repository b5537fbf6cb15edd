"""The activity-table stream handler on moto: a points transaction notifies at once, an order sets timers."""

from __future__ import annotations

import json

from chalicelib.domain.ids import message_id
from chalicelib.handlers import streams

from .conftest import load_event


def given_member_and_activity(aws, event_name: str) -> dict:
    member = load_event("member_insert.json")["Records"][0]["dynamodb"]["NewImage"]
    aws.put_image("MembersTable", member)
    event = load_event(event_name)
    aws.put_image("ActivityTable", event["Records"][0]["dynamodb"]["NewImage"])
    return event


def queued_ids(aws) -> list[str]:
    return [json.loads(m["Body"])["message_id"] for m in aws.drain_queue()]


class TestPoints:
    def test_given_a_points_credit_when_its_insert_arrives_then_one_points_changed_message_is_queued(
        self, aws, lambda_context
    ):
        event = given_member_and_activity(aws, "points_insert.json")

        assert streams.activity_changed(event, lambda_context) == {"batchItemFailures": []}

        expected = message_id("m-1001", "points_changed", "t-2")
        [row] = aws.scan("MessagesTable")
        assert row["message_id"] == {"S": expected}
        assert row["status"] == {"S": "queued"}
        assert "30" in row["text"]["S"]
        assert queued_ids(aws) == [expected]

    def test_given_the_points_insert_was_handled_when_replayed_then_still_one_message_and_one_send(
        self, aws, lambda_context
    ):
        event = given_member_and_activity(aws, "points_insert.json")
        streams.activity_changed(event, lambda_context)
        first = queued_ids(aws)

        assert streams.activity_changed(load_event("points_insert.json"), lambda_context) == {"batchItemFailures": []}

        # One message; the still-unsent one is queued again (same id), never a second message.
        assert len(aws.scan("MessagesTable")) == 1
        assert len(first) == 1 and queued_ids(aws) == first

    def test_given_no_such_member_when_a_points_insert_arrives_then_nothing_is_planned(self, aws, lambda_context):
        event = load_event("points_insert.json")

        assert streams.activity_changed(event, lambda_context) == {"batchItemFailures": []}

        assert aws.scan("MessagesTable") == []
        assert aws.drain_queue() == []


class TestOrders:
    def test_given_an_order_when_its_insert_arrives_then_timers_not_messages(self, aws, lambda_context):
        event = given_member_and_activity(aws, "order_insert.json")

        assert streams.activity_changed(event, lambda_context) == {"batchItemFailures": []}

        keys = {t["key"]["S"] for t in aws.scan("TimersTable") if t["member_id"]["S"] == "m-1001"}
        assert any(k.endswith("#o-5001") for k in keys), keys
        assert aws.scan("MessagesTable") == []
        assert aws.drain_queue() == []

    def test_given_an_update_of_an_existing_order_when_it_arrives_then_nothing_starts(self, aws, lambda_context):
        event = given_member_and_activity(aws, "order_insert.json")
        record = event["Records"][0]
        record["eventName"] = "MODIFY"
        record["dynamodb"]["OldImage"] = record["dynamodb"]["NewImage"]

        assert streams.activity_changed(event, lambda_context) == {"batchItemFailures": []}

        assert aws.scan("TimersTable") == []
        assert aws.scan("MessagesTable") == []
