"""EventBridge scheduled entry point. "Now" is the event's ``time`` (CONTRACT §5), so
``memberpulse run-schedule --at`` can replay any moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import bootstrap
from ..domain.clock import parse_iso
from ..observability import logger, metrics


def event_time(event: dict[str, Any]) -> datetime:
    raw = event.get("time")
    if not isinstance(raw, str):
        raise ValueError("scheduled event has no 'time'")
    return parse_iso(raw)


def tick(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = event_time(event)
    try:
        summary = bootstrap.schedule_service().run(now)
        logger.info("schedule ran", extra={"at": event["time"], **summary})
        return {"at": event["time"], **summary}
    finally:
        metrics.flush_metrics()
