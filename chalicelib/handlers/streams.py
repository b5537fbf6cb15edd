"""DynamoDB stream entry points (Powertools' ``DynamoDBRecord`` data classes). Each record is
handled on its own; a failure reports just that record (ReportBatchItemFailures, bisected by
Lambda; ``partial_batch.py``), so one poison record never blocks a shard. "Now" is the record's
ApproximateCreationDateTime: when the change happened.

The event source mappings filter out what these handlers ignore (infra/template.json
``FilterCriteria``); the checks here stay, for an emulator that does not filter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from .. import bootstrap
from ..adapters import activity_codec, codec
from ..adapters.stream_images import plain
from ..observability import flush_metrics, logger, metrics
from .partial_batch import dynamodb_batch, dynamodb_batch_together

if TYPE_CHECKING:
    from ..domain.model import Message

_CHANGES = (DynamoDBRecordEventName.INSERT, DynamoDBRecordEventName.MODIFY)


def record_time(record: DynamoDBRecord) -> datetime:
    stream = record.dynamodb
    raw = stream.raw_event.get("ApproximateCreationDateTime") if stream is not None else None
    if raw is None:
        raise ValueError("stream record has no ApproximateCreationDateTime")
    return datetime.fromtimestamp(float(raw), tz=UTC)


def _images(record: DynamoDBRecord) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(old, new) images of an INSERT or MODIFY as plain values; (None, None) for anything else."""
    if record.event_name not in _CHANGES or record.dynamodb is None:
        return None, None
    old = record.dynamodb.old_image
    return (plain(old) if old else None), plain(record.dynamodb.new_image)


def _member_record(record: DynamoDBRecord) -> None:
    old_raw, new_raw = _images(record)
    if new_raw is None:
        return
    old = codec.member_from_item(old_raw) if old_raw else None
    planned = bootstrap.app().engine.member_changed(old, codec.member_from_item(new_raw), record_time(record))
    if planned:
        metrics.add_metric(name="MessagesPlanned", unit="Count", value=planned)


def _activity_record(record: DynamoDBRecord) -> None:
    old, item = _images(record)
    if item is None or old is not None:
        return  # only new orders, points transactions and coupons start anything
    member_id, kind, data = item["member_id"], item["kind"], item["data"]
    at = record_time(record)
    engine = bootstrap.app().engine
    if kind == "order":
        order = codec.order_from_data(member_id, data)
        bootstrap.app().facts.order_placed(order, at)  # counted first: purchase_milestone reads it
        count = engine.order_recorded(order, at)
        bootstrap.app().attribution.order_placed(order, at)
    elif kind == "points":
        count = engine.points_recorded(codec.points_from_data(member_id, data), at)
    elif kind == "coupon":
        count = engine.coupon_issued(codec.coupon_from_data(member_id, data), at)
    elif kind in ("chat", "consent"):
        return  # conversation history (services/inbound.py), consent changes: nothing to plan
    else:
        logger.warning("unknown activity kind", extra={"kind": kind, "member_id": member_id})
        return
    logger.info("activity handled", extra={"kind": kind, "member_id": member_id, "count": count})


def _product_record(record: DynamoDBRecord) -> None:
    old_raw, new_raw = _images(record)
    if new_raw is None or new_raw.get("data") is None:
        return  # the catalog's version item (adapters/product_store.py), not a product
    old = codec.product_from_data(old_raw["data"]) if old_raw and old_raw.get("data") else None
    new = codec.product_from_data(new_raw["data"])
    scheduled = bootstrap.app().engine.product_changed(old, new, record_time(record))
    if scheduled:
        logger.info("new arrival scheduled", extra={"sku": new.sku, "members": scheduled})


def _activities_record(record: DynamoDBRecord) -> None:
    """The activities table: a registration written (what it means for the member), an invitation
    (new), an activity moved or called off (a new revision: every registered member is told)."""
    old_raw, new_raw = _images(record)
    if new_raw is None:
        return
    at = record_time(record)
    engine = bootstrap.app().engine
    kind = activity_codec.kind_of(new_raw)
    if kind == "registration":
        old = activity_codec.registration_from_item(old_raw) if old_raw else None
        count = engine.registration_changed(old, activity_codec.registration_from_item(new_raw), at)
    elif kind == "invitation" and old_raw is None:
        count = engine.member_invited(new_raw["activity_id"], new_raw["member_id"], at)
    elif (
        kind == "activity"
        and old_raw is not None
        and int(new_raw.get("revision") or 0) > int(old_raw.get("revision") or 0)
    ):
        count = engine.activity_changed(activity_codec.activity_from_item(new_raw), at)
    else:
        return  # a seat taken or freed (the registration's own record says what it means), a new activity
    logger.info(
        "activity record handled", extra={"kind": kind, "activity_id": new_raw.get("activity_id"), "count": count}
    )


def _message_records(records: list[DynamoDBRecord]) -> list[BaseException | None]:
    """The batch's message changes, fed to the counters together; a record that cannot be read
    fails alone."""
    errors: list[BaseException | None] = [None] * len(records)
    changes: list[tuple[Message | None, Message]] = []
    at: list[int] = []
    for i, record in enumerate(records):
        try:
            old_raw, new_raw = _images(record)
            if new_raw is None:
                continue  # an erased message: what it fed stays, naming no one
            changes.append((codec.message_from_item(old_raw) if old_raw else None, codec.message_from_item(new_raw)))
            at.append(i)
        except Exception as exc:
            errors[i] = exc
    if changes:
        for i, outcome in zip(at, bootstrap.app().tallies.messages_changed(changes), strict=True):
            if isinstance(outcome, Exception):
                errors[i] = outcome
    return errors


def _batch(event: dict[str, Any], context: Any, handler: Callable[[DynamoDBRecord], None]) -> dict[str, Any]:
    bootstrap.counting_aws_calls()
    try:
        # The batch's send intents go to SQS together, before the batch reports success.
        with bootstrap.app().adapters.send_queue.batched():
            return dynamodb_batch(event, handler)
    finally:
        flush_metrics()
        bootstrap.flush_aws_call_counts(handler.__name__.strip("_"))


def member_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _batch(event, context, _member_record)


def activity_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _batch(event, context, _activity_record)


def product_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _batch(event, context, _product_record)


def activities_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _batch(event, context, _activities_record)


def message_changed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The messages stream feeds counters only: it queues no sends (so no send queue is built)."""
    bootstrap.counting_aws_calls()
    try:
        return dynamodb_batch_together(event, _message_records)
    finally:
        flush_metrics()
        bootstrap.flush_aws_call_counts("message_record")
