"""The send queue's consumer: one SQS record = one message id = at most one provider send.

Idempotency (Powertools, on a DynamoDB table) is keyed on the message id, itself derived from the
business key (member, rule, occurrence), and the moment the message was queued for: a redelivered
SQS message returns the stored result instead of sending again. The message's own conditional
status transition is the second guard: a sent message is never sent again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from .. import bootstrap
from ..domain.clock import parse_iso
from ..observability import flush_metrics, logger, metrics
from ..settings import get_settings

# Idempotency records outlive the longest an SQS message can wait (14 days retention + redrive).
IDEMPOTENCY_SECONDS = 15 * 24 * 3600
# The business key of one send attempt: the message, and the moment it was queued for (its
# decision, or the release of a deferral). A redelivered SQS message repeats both and is a no-op;
# a deferred message released later is a new attempt.
_config = IdempotencyConfig(event_key_jmespath="[message_id, queued_at]", expires_after_seconds=IDEMPOTENCY_SECONDS)


@lru_cache(maxsize=1)
def _deliver_once() -> Any:
    persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table)

    @idempotent_function(data_keyword_argument="intent", config=_config, persistence_store=persistence)  # type: ignore[untyped-decorator]
    def deliver(intent: dict[str, Any]) -> str | None:
        now = datetime.fromtimestamp(intent["received_at"], tz=UTC)
        status = bootstrap.send_service().deliver(intent["message_id"], now)
        if status is not None:
            metrics.add_metric(name=f"Messages_{status.value}", unit="Count", value=1)
        return status.value if status else None

    return deliver


def clock() -> datetime:
    """The sender's wall clock (tests replace it)."""
    return datetime.now(UTC)


def _record(record: SQSRecord) -> None:
    body = json.loads(record.body)
    message_id = body["message_id"]
    # The send happens now (wall clock), but never before it was decided: a replayed schedule
    # (`memberpulse run-schedule --at` a future day) decides "in the future".
    now = clock()
    if body.get("at"):
        now = max(now, parse_iso(body["at"]))
    intent = {"message_id": message_id, "queued_at": body.get("at") or "", "received_at": now.timestamp()}
    result = _deliver_once()(intent=intent)
    logger.info("send handled", extra={"message_id": message_id, "status": result})


def send_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _config.register_lambda_context(context)
    processor = BatchProcessor(event_type=EventType.SQS)
    try:
        return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
    finally:
        flush_metrics()
