"""The campaign queue's consumer: one SQS record = one planning chunk (services/campaign_planner.py).
A chunk is idempotent (messages keyed on (member, campaign), the part's cursor advanced
conditionally), so a redelivered record plans nothing twice; a failing one is retried alone
(partial batch response, ``partial_batch.py``), then dead-lettered. "Now" is the chunk's logical
time, or later."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import bootstrap
from ..domain.isotime import parse_iso
from ..observability import flush_metrics, logger, metrics
from .partial_batch import sqs_batch

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


def clock() -> datetime:
    """The planner's wall clock (tests replace it)."""
    return datetime.now(UTC)


def _chunk(record: SQSRecord) -> None:
    work = json.loads(record.body)
    counts = bootstrap.app().planner.plan(work, max(clock(), parse_iso(str(work["at"]))))
    metrics.add_metric(name="CampaignMessagesPlanned", unit="Count", value=counts["planned"])
    logger.info("campaign chunk", extra={"campaign_id": work.get("campaign_id"), **counts})


def plan_chunks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bootstrap.counting_aws_calls()
    try:
        # Not batched across the invocation: a chunk's sends are on the queue before its part's
        # cursor moves on (a chunk retried after the move is dropped as a duplicate).
        return sqs_batch(event, _chunk)
    finally:
        flush_metrics()
        bootstrap.flush_aws_call_counts("plan_campaign")
