"""The scheduled sweep and the timer queue's consumer on moto: a child's birthday timer, set when the
member joined, is released by the tick at its due time and becomes one queued message."""

from __future__ import annotations

import json

from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.domain.model import MessageStatus
from chalicelib.handlers import schedule, streams

from .conftest import load_event


def member_joins(aws, context) -> None:
    event = load_event("member_insert.json")
    aws.put_image("MembersTable", event["Records"][0]["dynamodb"]["NewImage"])
    assert streams.member_changed(event, context) == {"batchItemFailures": []}
    aws.drain_queue()  # the welcome's send intent: not what these tests are about


def birthday_messages(aws) -> list[dict]:
    return [m for m in aws.scan("MessagesTable") if m["trigger"]["S"] == "child_birthday"]


class TestTick:
    def test_given_no_timers_when_the_schedule_ticks_then_nothing_is_due(self, aws, lambda_context):
        result = schedule.tick(load_event("scheduled.json"), lambda_context)

        assert result["at"] == "2026-11-22T02:00:00Z"
        assert result["due"] == 0
        assert aws.drain_queue(aws.queues["TimerQueue"]) == []

    def test_given_a_birthday_timer_due_when_the_schedule_ticks_then_it_is_queued_and_fires_one_message(
        self, aws, lambda_context
    ):
        member_joins(aws, lambda_context)

        result = schedule.tick(load_event("scheduled.json"), lambda_context)

        assert result["due"] >= 1
        batches = aws.drain_queue(aws.queues["TimerQueue"])
        keys = [tuple(k) for b in batches for k in json.loads(b["Body"])["timers"]]
        assert ("m-1001", "child_birthday#child0") in keys

        assert schedule.fire_timers(aws.sqs_event(batches), lambda_context) == {"batchItemFailures": []}

        [row] = birthday_messages(aws)
        message = DynamoMessageStore().get(row["message_id"]["S"])
        assert message.status is MessageStatus.QUEUED
        assert "乐乐" in message.text
        intents = [json.loads(m["Body"]) for m in aws.drain_queue()]
        assert [i["message_id"] for i in intents] == [message.message_id]

    def test_given_the_timer_batch_fired_when_it_is_delivered_again_then_still_one_message(self, aws, lambda_context):
        member_joins(aws, lambda_context)
        schedule.tick(load_event("scheduled.json"), lambda_context)
        event = aws.sqs_event(aws.drain_queue(aws.queues["TimerQueue"]))
        schedule.fire_timers(event, lambda_context)
        aws.drain_queue()

        assert schedule.fire_timers(event, lambda_context) == {"batchItemFailures": []}

        assert len(birthday_messages(aws)) == 1
        assert aws.drain_queue() == []
