"""The inbound queue's consumer: one SQS record = one normalised provider event (a receipt, a
member's reply, an opt-out, a "come and fetch" notice), acted on once by the inbound service.

Dedupe lives in the service (the inbound table, keyed on provider and event id), so a redelivered
record is a no-op. A record that is not an event at all is logged and dropped (retrying cannot
fix it); anything else that fails is reported back to SQS alone (partial batch response) and
retried, then dead-lettered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .. import bootstrap
from ..domain.inbound_codec import event_from_data
from ..observability import flush_metrics, logger, metrics
from .partial_batch import sqs_batch


def clock() -> datetime:
    """The worker's wall clock (tests replace it)."""
    return datetime.now(UTC)


def _record(record: SQSRecord) -> None:
    try:
        event = event_from_data(json.loads(record.body))
    except (ValueError, KeyError, TypeError) as exc:
        logger.error("not an inbound event; dropped", extra={"sqs_message_id": record.message_id, "error": str(exc)})
        return
    outcome = bootstrap.app().inbound.handle(event, clock())
    metrics.add_metric(name=f"Inbound_{event.kind.value}", unit="Count", value=1)
    logger.info("inbound event", extra={"provider": event.provider, "kind": event.kind.value, "outcome": outcome})


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return sqs_batch(event, _record)
    finally:
        flush_metrics()
