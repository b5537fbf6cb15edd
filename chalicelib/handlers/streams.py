"""DynamoDB stream entry points. Each record is handled on its own; a failure reports just that
record (ReportBatchItemFailures, bisected by Lambda), so one poison record never blocks a shard.
"Now" is the record's ApproximateCreationDateTime: when the change happened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from .. import bootstrap
from ..adapters import codec
from ..adapters.dynamo import image_to_dict, image_to_member
from ..observability import flush_metrics, logger, metrics


def record_time(record: DynamoDBRecord) -> datetime:
    raw = (record.raw_event.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if raw is None:
        raise ValueError("stream record has no ApproximateCreationDateTime")
    return datetime.fromtimestamp(float(raw), tz=UTC)


def _images(record: DynamoDBRecord) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(old, new) raw images of an INSERT or MODIFY; (None, None) for anything else."""
    if record.raw_event.get("eventName") not in ("INSERT", "MODIFY"):
        return None, None
    images = record.raw_event.get("dynamodb") or {}
    return images.get("OldImage"), images["NewImage"]


def _member_record(record: DynamoDBRecord) -> None:
    old_raw, new_raw = _images(record)
    if new_raw is None:
        return
    old = image_to_member(old_raw) if old_raw else None
    planned = bootstrap.activity_service().member_changed(old, image_to_member(new_raw), record_time(record))
    if planned:
        metrics.add_metric(name="MessagesPlanned", unit="Count", value=planned)


def _activity_record(record: DynamoDBRecord) -> None:
    old_raw, new_raw = _images(record)
    if new_raw is None or old_raw is not None:
        return  # only new orders, points transactions and coupons start anything
    item = image_to_dict(new_raw)
    member_id, kind, data = item["member_id"], item["kind"], item["data"]
    at = record_time(record)
    service = bootstrap.activity_service()
    if kind == "order":
        count = service.order_recorded(codec.order_from_data(member_id, data), at)
    elif kind == "points":
        count = service.points_recorded(codec.points_from_data(member_id, data), at)
    elif kind == "coupon":
        count = service.coupon_issued(codec.coupon_from_data(member_id, data), at)
    elif kind == "chat":
        return  # conversation history (services/inbound.py): nothing to plan
    else:
        logger.warning("unknown activity kind", extra={"kind": kind, "member_id": member_id})
        return
    logger.info("activity handled", extra={"kind": kind, "member_id": member_id, "count": count})


def _product_record(record: DynamoDBRecord) -> None:
    old_raw, new_raw = _images(record)
    if new_raw is None:
        return
    old = codec.product_from_data(image_to_dict(old_raw)["data"]) if old_raw else None
    new = codec.product_from_data(image_to_dict(new_raw)["data"])
    scheduled = bootstrap.activity_service().product_changed(old, new, record_time(record))
    if scheduled:
        logger.info("new arrival scheduled", extra={"sku": new.sku, "members": scheduled})


def _batch(event: dict[str, Any], context: Any, handler: Callable[[DynamoDBRecord], None]) -> dict[str, Any]:
    bootstrap.counting_aws_calls()
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    try:
        # The batch's send intents go to SQS together, before the batch reports success.
        with bootstrap.send_queue().batched():
            return dict(
                process_partial_response(event=event, record_handler=handler, processor=processor, context=context)
            )
    finally:
        flush_metrics()
        bootstrap.flush_aws_call_counts(handler.__name__.strip("_"))


def member_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _batch(event, context, _member_record)


def activity_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _batch(event, context, _activity_record)


def product_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _batch(event, context, _product_record)
