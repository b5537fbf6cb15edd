"""The on_inbound worker: bad records are dropped, failing ones reported alone for a retry."""

from __future__ import annotations

import json

from chalicelib.handlers import inbound

from .conftest import app_with


def _event(aws, bodies: list[str]) -> dict:
    for body in bodies:
        aws.sqs.send_message(QueueUrl=aws.queues["InboundQueue"], MessageBody=body)
    return aws.sqs_event(aws.drain_queue(aws.queues["InboundQueue"]))


REPLY = {
    "provider": "sandbox",
    "kind": "reply",
    "event_id": "r-1",
    "at": "2026-11-20T02:00:00Z",
    "channel": "sms",
    "sender": "+8613900000000",
    "text": "hello",
    "raw": "{}",
}


def test_given_a_record_that_is_no_event_when_handled_then_dropped_without_a_retry(aws, lambda_context):
    event = _event(aws, ["not json", json.dumps({"kind": "reply"}), json.dumps(REPLY)])

    assert inbound.handle_batch(event, lambda_context) == {"batchItemFailures": []}
    [row] = aws.dedupe_rows()
    assert row["outcome"]["S"] == "unknown sender"


def test_given_a_failing_record_when_handled_then_only_it_is_reported_for_a_retry(aws, lambda_context, monkeypatch):
    from chalicelib.adapters.inbound_log import DynamoInboundStore

    class Flaky(DynamoInboundStore):
        """The inbound log, throttled by DynamoDB for one event."""

        def claim(self, provider, event_id, kind, at, now):
            if event_id == "r-2":
                raise RuntimeError("DynamoDB throttled")
            return super().claim(provider, event_id, kind, at, now)

    app_with(inbound_log=Flaky())
    event = _event(aws, [json.dumps(REPLY), json.dumps({**REPLY, "event_id": "r-2"})])

    result = inbound.handle_batch(event, lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}


def test_given_the_sample_inbound_batch_when_handled_then_no_failures(aws, lambda_context):
    from .conftest import load_event

    assert inbound.handle_batch(load_event("sqs_inbound_batch.json"), lambda_context) == {"batchItemFailures": []}
    assert {row["outcome"]["S"] for row in aws.dedupe_rows()} == {"receipt for no message", "unknown sender"}
