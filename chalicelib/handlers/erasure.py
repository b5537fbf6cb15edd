"""The erasure queue's consumer: one record = the purge of one erased member's data (one round).

The purge stops before this invocation's time runs out and the record is handed back to the
queue, at once, to go on where it stopped (``services/erasure.py``); anything else that fails is
retried by SQS, then dead-lettered (``memberpulse dlq list --queue erasure``)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .. import bootstrap
from ..domain.isotime import parse_iso
from ..observability import flush_metrics, logger, metrics

MARGIN_MS = 20_000  # stop this long before the invocation's deadline (a batch write and a requeue fit)


def purge_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def record_handler(record: SQSRecord) -> None:
        body = json.loads(record.body)
        member_id, at, round_no = str(body["member_id"]), parse_iso(body["at"]), int(body.get("round", 1))

        def more_time() -> bool:
            return context is None or context.get_remaining_time_in_millis() > MARGIN_MS

        app = bootstrap.app()
        result = app.erasure.purge(member_id, at, round_no, more_time)
        if not result.done:
            app.adapters.erasure_queue.request(member_id, at, round_no)  # goes on in a new invocation
        metrics.add_metric(name="ErasurePurges", unit="Count", value=1)
        logger.info("erasure purge", extra={"member_id": member_id, "round": round_no, "done": result.done})

    processor = BatchProcessor(event_type=EventType.SQS)
    try:
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )
    finally:
        flush_metrics()
