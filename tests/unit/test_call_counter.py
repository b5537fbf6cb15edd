"""The benchmarks' request counter names the sandbox outbox's requests apart from ours."""

from __future__ import annotations

from types import SimpleNamespace

from chalicelib.adapters import call_counter
from chalicelib.settings import get_settings


def call(service: str, operation: str, **params: object) -> None:
    model = SimpleNamespace(name=operation, service_model=SimpleNamespace(service_name=service))
    call_counter._count(model=model, params=params)


def test_requests_are_counted_by_service_and_operation_and_the_sandbox_outbox_apart() -> None:
    call_counter.COUNTS.clear()
    call("dynamodb", "PutItem", TableName=get_settings().outbox_table, Item={})
    call("dynamodb", "PutItem", TableName=get_settings().messages_table, Item={})
    call("dynamodb", "TransactWriteItems", TransactItems=[])
    call("sqs", "SendMessageBatch", QueueUrl="q")
    assert dict(call_counter.COUNTS) == {
        "dynamodb.PutItem [sandbox outbox]": 1,
        "dynamodb.PutItem": 1,
        "dynamodb.TransactWriteItems": 1,
        "sqs.SendMessageBatch": 1,
    }
    call_counter.COUNTS.clear()
