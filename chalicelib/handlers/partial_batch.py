"""Partial batch responses for Lambda's SQS and DynamoDB Streams event sources.

Each record is handed to the handler on its own, as Powertools' data class (``SQSRecord``,
``DynamoDBRecord``); a record whose handler raises is reported alone (``batchItemFailures``, its
SQS message id or stream sequence number) and the others count as done. A batch whose every record
failed raises :class:`BatchFailed`, so Lambda retries it whole (or bisects it, for a stream), and an
event with no records is refused — what Powertools' ``process_partial_response`` with a
``BatchProcessor`` does. Its batch utility is not used because importing it loads ``asyncio`` (for
its async processor): a cold start's cost that a function with no async code should not pay, and
Powertools has no import path without it."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

R = TypeVar("R")


class BatchFailed(Exception):
    """Every record of the batch failed: the whole batch goes back to Lambda. ``failures`` holds
    each record's exception, in order; ``str()`` shows their tracebacks."""

    def __init__(self, failures: list[BaseException]) -> None:
        super().__init__(f"All records failed processing. {len(failures)} individual errors logged separately below.")
        self.failures = failures

    def __str__(self) -> str:
        parts = [f"{super().__str__()}\n"]
        parts += ["".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) for exc in self.failures]
        return "\n".join(parts)


def sqs_batch(event: dict[str, Any], handler: Callable[[SQSRecord], object]) -> dict[str, Any]:
    """Each SQS record handled on its own; the failed ones reported by message id."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    return _partial(event, SQSRecord, lambda record: record.message_id, handler)


def dynamodb_batch(event: dict[str, Any], handler: Callable[[DynamoDBRecord], object]) -> dict[str, Any]:
    """Each stream record handled on its own; the failed ones reported by sequence number."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    return _partial(event, DynamoDBRecord, _sequence_number, handler)


def _sequence_number(record: DynamoDBRecord) -> str | None:
    return record.dynamodb.sequence_number if record.dynamodb is not None else None


def dynamodb_batch_together(
    event: dict[str, Any], handler: Callable[[list[DynamoDBRecord]], list[BaseException | None]]
) -> dict[str, Any]:
    """The stream records handed to the handler together (it writes them in as few requests as it
    can); it answers each record's error or None, in order, and the failed ones are reported by
    sequence number, as above."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    wrapped = [DynamoDBRecord(raw) for raw in _records(event)]
    return _answer(wrapped, handler(wrapped), _sequence_number)


def _records(event: dict[str, Any]) -> list[Any]:
    if not isinstance(event, dict):
        raise ValueError("Invalid event format: a batch event is a mapping with its records under 'Records'")
    records = event.get("Records")
    if not records or not isinstance(records, list):
        raise ValueError("Unexpected batch event: no records under 'Records' (SQS or DynamoDB Streams)")
    return records


def _partial(
    event: dict[str, Any],
    wrap: Callable[[dict[str, Any]], R],
    identify: Callable[[R], str | None],
    handler: Callable[[R], object],
) -> dict[str, Any]:
    wrapped = [wrap(raw) for raw in _records(event)]
    errors: list[BaseException | None] = []
    for record in wrapped:
        try:
            handler(record)
            errors.append(None)
        except Exception as exc:
            errors.append(exc)
    return _answer(wrapped, errors, identify)


def _answer(
    records: list[R], errors: list[BaseException | None], identify: Callable[[R], str | None]
) -> dict[str, Any]:
    """The failed records reported by their identifiers; when every record failed, the whole
    batch goes back (``BatchFailed``)."""
    failed = [{"itemIdentifier": identify(record)} for record, error in zip(records, errors, strict=True) if error]
    if len(failed) == len(records):
        raise BatchFailed([error for error in errors if error is not None])
    return {"batchItemFailures": failed}
