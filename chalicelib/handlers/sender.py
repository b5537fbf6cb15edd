"""The send queue's consumer: a batch of message ids → the send service → per-record outcome.

Exactly-once is the send service's business (a claim on each message, see services/sending.py),
not a separate idempotency table: a redelivered record finds its message claimed or sent. Records
to retry are reported as batch item failures, after their visibility timeout was set to the
backoff the service chose — that is how SQS waits with exponential backoff and jitter; after the
queue's maxReceiveCount it moves them to the dead-letter queue.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .. import bootstrap
from ..domain.isotime import parse_iso
from ..observability import flush_metrics, logger, metrics


def clock() -> datetime:
    """The sender's wall clock (tests replace it)."""
    return datetime.now(UTC)


def send_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from ..services.sending import SendRequest

    bootstrap.counting_aws_calls()
    records = event.get("Records") or []
    requests: list[SendRequest] = []
    handles: dict[str, list[tuple[str, str]]] = {}
    failures: list[dict[str, str]] = []
    # The send happens now (wall clock), but never before it was decided: a replayed schedule
    # (`memberpulse run-schedule --at` a future day) decides "in the future".
    now = clock()
    for record in records:
        try:
            body = json.loads(record["body"])
            message_id = str(body["message_id"])
            if body.get("at"):
                now = max(now, parse_iso(body["at"]))
        except (ValueError, KeyError, TypeError):
            # Left to SQS: after its last receive the record waits in the dead-letter queue.
            logger.error("unreadable send record", extra={"sqs_message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record.get("messageId", "")})
            continue
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
        requests.append(SendRequest(message_id, receives))
        handles.setdefault(message_id, []).append((record["messageId"], record["receiptHandle"]))
    try:
        outcomes = bootstrap.app().sender.deliver_batch(requests, now) if requests else []
        for outcome in outcomes:
            if outcome.status is not None:
                metrics.add_metric(name=f"Messages_{outcome.status.value}", unit="Count", value=1)
            if outcome.retry_in is None:
                continue
            for sqs_id, handle in handles.pop(outcome.message_id, []):
                bootstrap.app().adapters.send_retries.retry_later(handle, outcome.retry_in)
                failures.append({"itemIdentifier": sqs_id})
        logger.info("send batch handled", extra={"records": len(records), "retry": len(failures)})
    finally:
        flush_metrics()
        bootstrap.flush_aws_call_counts("send")
    return {"batchItemFailures": failures}
