"""The partial-batch loop the batch handlers use answers Lambda as Powertools'
``process_partial_response`` with a ``BatchProcessor`` does (Powertools is the oracle here), without
importing Powertools' batch utility (and so asyncio) in a function."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.handlers.partial_batch import BatchFailed, dynamodb_batch, sqs_batch

ROOT = Path(__file__).resolve().parents[2]


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m-{i}", "receiptHandle": f"h-{i}", "body": body, "eventSource": "aws:sqs"}
            for i, body in enumerate(bodies)
        ]
    }


def stream_event(*keys: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": f"e-{i}",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1767225600,
                    "Keys": {"member_id": {"S": key}},
                    "NewImage": {"member_id": {"S": key}},
                    "SequenceNumber": str(100 + i),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
            for i, key in enumerate(keys)
        ]
    }


def sqs_handler(record: SQSRecord) -> None:
    if record.body == "poison":
        raise ValueError(f"cannot handle {record.message_id}")


def stream_handler(record: DynamoDBRecord) -> None:
    assert record.dynamodb is not None
    if (record.dynamodb.keys or {}).get("member_id") == "poison":
        raise ValueError("cannot handle it")


def powertools_sqs(event: dict[str, Any]) -> dict[str, Any]:
    return dict(process_partial_response(event, sqs_handler, BatchProcessor(EventType.SQS)))


def powertools_stream(event: dict[str, Any]) -> dict[str, Any]:
    return dict(process_partial_response(event, stream_handler, BatchProcessor(EventType.DynamoDBStreams)))


@pytest.mark.parametrize("bodies", [("ok",), ("ok", "ok"), ("ok", "poison"), ("poison", "ok", "poison", "ok")])
def test_sqs_answers_as_powertools_does(bodies: tuple[str, ...]) -> None:
    event = sqs_event(*bodies)
    assert sqs_batch(event, sqs_handler) == powertools_sqs(event)


@pytest.mark.parametrize("keys", [("m-1",), ("m-1", "poison"), ("poison", "m-2", "m-3")])
def test_streams_answer_as_powertools_does(keys: tuple[str, ...]) -> None:
    event = stream_event(*keys)
    assert dynamodb_batch(event, stream_handler) == powertools_stream(event)


def test_a_failed_record_is_reported_alone_by_its_id() -> None:
    assert sqs_batch(sqs_event("ok", "poison", "ok"), sqs_handler) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert dynamodb_batch(stream_event("poison", "m-2"), stream_handler) == {
        "batchItemFailures": [{"itemIdentifier": "100"}]
    }


def test_the_handler_gets_powertools_data_classes() -> None:
    seen: list[object] = []
    sqs_batch(sqs_event("ok"), seen.append)
    dynamodb_batch(stream_event("m-1"), seen.append)
    assert isinstance(seen[0], SQSRecord) and isinstance(seen[1], DynamoDBRecord)


def test_a_batch_whose_every_record_failed_goes_back_whole_as_with_powertools() -> None:
    event = sqs_event("poison", "poison")
    with pytest.raises(BatchProcessingError):
        powertools_sqs(event)
    with pytest.raises(BatchFailed) as info:
        sqs_batch(event, sqs_handler)
    assert [str(e) for e in info.value.failures] == ["cannot handle m-0", "cannot handle m-1"]
    assert "All records failed processing. 2 individual errors" in str(info.value)
    assert "ValueError: cannot handle m-1" in str(info.value)  # each traceback, for the log


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "not a list"}])
def test_an_event_without_records_is_refused_as_with_powertools(event: dict[str, Any]) -> None:
    with pytest.raises(BatchProcessingError):
        powertools_sqs(event)
    with pytest.raises(ValueError, match="no records"):
        sqs_batch(event, sqs_handler)


def test_the_batch_handlers_do_not_import_asyncio() -> None:
    # Powertools' batch utility imports asyncio (its async processor); the partial-batch loop does not.
    code = (
        "import sys, app, chalicelib.handlers.streams, chalicelib.handlers.schedule, chalicelib.handlers.inbound; "
        "print(json.dumps(sorted(m for m in sys.modules if m == 'asyncio' or m.endswith('utilities.batch'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
