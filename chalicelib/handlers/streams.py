"""DynamoDB stream entry points. Each record is handled on its own; a failure reports just that
record (ReportBatchItemFailures, bisected by Lambda), so one poison record never blocks a shard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from .. import bootstrap
from ..adapters.dynamo import image_to_member
from ..observability import logger, metrics


def record_time(record: DynamoDBRecord) -> datetime:
    """When the change happened: the stream record's ApproximateCreationDateTime (epoch seconds)."""
    raw = (record.raw_event.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if raw is None:
        raise ValueError("stream record has no ApproximateCreationDateTime")
    return datetime.fromtimestamp(float(raw), tz=UTC)


def _member_record(record: DynamoDBRecord) -> None:
    if record.event_name is None or record.event_name.value == "REMOVE":
        return
    images = record.raw_event.get("dynamodb") or {}
    new = image_to_member(images["NewImage"])
    old = image_to_member(images["OldImage"]) if images.get("OldImage") else None
    created = bootstrap.lifecycle_service().member_changed(old, new, record_time(record))
    for message in created:
        metrics.add_metric(name="MessagesPlanned", unit="Count", value=1)
        logger.info("planned", extra={"rule": message.trigger, "message_id": message.message_id})


def member_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    try:
        return process_partial_response(event=event, record_handler=_member_record, processor=processor,
                                        context=context)
    finally:
        metrics.flush_metrics()
