"""The send queue's consumer: a batch of message ids → the send service → per-record outcome.

Exactly-once is the send service's business (a claim on each message, see services/sending.py),
not a separate idempotency table: a redelivered record finds its message claimed or sent.

Two ways back to the queue. A record to RETRY (a provider said 429, 5xx, "not accepted") is
reported as a batch item failure after its visibility timeout was set to the backoff the service
chose: that is how SQS waits with exponential backoff and jitter, and each such receive counts, so
after the queue's maxReceiveCount it moves to the dead-letter queue. A record that only has to
WAIT (for its provider's rate, for a claim another sender may still hold, for a sender with time
left) has not been tried: SQS cannot hand a received message back without counting the receive, so
a fresh copy of the intent goes on the queue with the wait as its delay and the record itself is
reported done. Were SQS to refuse the copy, the record is retried instead (one receive spent,
nothing lost); were the sender to die between the copy and the end, the record comes back as well
and the duplicate intent finds its message claimed or sent. Only an unreadable record goes to the
dead-letter queue without a provider attempt.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from .. import bootstrap
from ..domain.isotime import parse_iso
from ..observability import flush_metrics, logger, metrics
from ..ports import Requeue
from .collector import no_collection_pauses

# Seconds kept free at the end of an invocation: one provider call (the adapters' 5 s timeout) and
# recording the batch's outcomes. No provider call starts later than that.
RESERVE = 8.0


def clock() -> datetime:
    """The sender's wall clock (tests replace it)."""
    return datetime.now(UTC)


def send_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from ..services.sending import SendRequest

    bootstrap.counting_aws_calls()
    records = event.get("Records") or []
    requests: list[SendRequest] = []
    handles: dict[str, list[tuple[str, str]]] = {}
    decided: dict[str, str | None] = {}
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
        decided.setdefault(message_id, body.get("at"))
    try:
        app = bootstrap.app()
        with no_collection_pauses():
            outcomes = app.sender.deliver_batch(requests, now, _deadline(context)) if requests else []
        retries = app.adapters.send_retries
        waiting = [o for o in outcomes if o.retry_in is not None and o.requeue]
        refused = retries.requeue([Requeue(o.message_id, decided.get(o.message_id), o.retry_in or 0) for o in waiting])
        for outcome in outcomes:
            if outcome.status is not None:
                metrics.add_metric(name=f"Messages_{outcome.status.value}", unit="Count", value=1)
            if outcome.retry_in is None or (outcome.requeue and outcome.message_id not in refused):
                continue
            for sqs_id, handle in handles.pop(outcome.message_id, []):
                retries.retry_later(handle, outcome.retry_in)
                failures.append({"itemIdentifier": sqs_id})
        logger.info(
            "send batch handled", extra={"records": len(records), "retry": len(failures), "requeued": len(waiting)}
        )
    finally:
        flush_metrics()
        bootstrap.flush_aws_call_counts("send")
    return {"batchItemFailures": failures}


def _deadline(context: Any) -> float | None:
    """Until when (epoch seconds) provider calls may start in this invocation: ``RESERVE`` before
    its end (with a timeout too short for that, its first half, so that a batch still moves)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    seconds = int(remaining()) / 1000
    return time.time() + max(seconds - RESERVE, seconds / 2)
