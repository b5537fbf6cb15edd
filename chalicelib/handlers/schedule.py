"""Scheduled and timer entry points. "Now" is the EventBridge event's ``time`` (CONTRACT §5), so
``memberpulse run-schedule --at`` replays any moment; it travels with each batch of due timers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import bootstrap
from ..domain.isotime import parse_iso
from ..observability import flush_metrics, logger, metrics
from .partial_batch import sqs_batch

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


def event_time(event: dict[str, Any]) -> datetime:
    raw = event.get("time")
    if not isinstance(raw, str):
        raise ValueError("scheduled event has no 'time'")
    return parse_iso(raw)


def tick(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Release every timer due by the event's time into the timer queue."""
    now = event_time(event)
    try:
        summary = bootstrap.app().timers.release_due(now)
        summary["campaigns_started"] = len(bootstrap.app().campaigns.start_due(now))
        metrics.add_metric(name="TimersDue", unit="Count", value=summary["due"])
        logger.info("schedule ran", extra={"at": event["time"], **summary})
        return {"at": event["time"], **summary}
    finally:
        flush_metrics()


def _timer_batch(record: SQSRecord) -> None:
    body = json.loads(record.body)
    keys = [(str(m), str(k)) for m, k in body["timers"]]
    counts = bootstrap.app().timers.fire(keys, parse_iso(body["at"]))
    logger.info("timers fired", extra=counts)


def fire_timers(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        with bootstrap.app().adapters.send_queue.batched():  # the batch's send intents go to SQS together
            return sqs_batch(event, _timer_batch)
    finally:
        flush_metrics()
