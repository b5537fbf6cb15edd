"""Waiting for the asynchronous parts (streams, queues, timers) of a local stack to settle."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.domain.isotime import to_iso

from .aws import Aws
from .client import ApiClient

PENDING = ("queued",)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def timers_pending(aws: Aws, table: str, by: datetime) -> int:
    """Pending timers due at or before ``by`` (they are about to fire)."""
    client = aws.client("dynamodb")
    count = 0
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#s = :p AND due_at <= :by",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":p": {"S": "pending"}, ":by": {"S": to_iso(by)}},
    }
    while True:
        page = client.scan(**kwargs)
        count += int(page.get("Count", 0))
        if not page.get("LastEvaluatedKey"):
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def settle(
    api: ApiClient, member_ids: list[str], *, expect_at_least: int = 0, timeout: float = 90.0, quiet_for: float = 2.5
) -> list[dict[str, Any]]:
    """Poll until every member's messages are out of ``queued``, there are at least
    ``expect_at_least`` of them, and nothing changed for ``quiet_for`` seconds. Returns them all."""
    deadline = time.monotonic() + timeout
    last: list[tuple[str, str]] = []
    stable_since = time.monotonic()
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        messages = [dict(m, member_id=mid) for mid in member_ids for m in api.messages(mid)]
        snapshot = sorted((m["message_id"], m["status"]) for m in messages)
        if snapshot != last:
            last, stable_since = snapshot, time.monotonic()
        busy = any(m["status"] in PENDING for m in messages)
        if not busy and len(messages) >= expect_at_least and time.monotonic() - stable_since >= quiet_for:
            return messages
        time.sleep(0.5)
    return messages


def queues_idle(aws: Aws, queue_urls: list[str]) -> bool:
    sqs = aws.client("sqs")
    for url in queue_urls:
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        if int(attrs.get("ApproximateNumberOfMessages", 0)) or int(
            attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
        ):
            return False
    return True


def quiesce(stack: dict[str, Any], at: datetime, timeout: float = 120.0) -> bool:
    """Wait until what a sweep at ``at`` set off has happened: every timer due by then has fired
    and the timer and send queues are empty (seen twice in a row, so an item passing from one
    queue to the next is not missed). Replaying days ahead of the wall clock, the next tick must
    not start before this one's sends and deferrals are written."""
    aws = Aws(stack.get("endpoint_url"), stack.get("region"))
    queues = [stack["queues"][name] for name in ("timers", "send") if name in stack.get("queues", {})]

    def idle() -> bool:
        return timers_pending(aws, stack["tables"]["timers"], at) == 0 and queues_idle(aws, queues)

    deadline = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < deadline:
        calm = calm + 1 if idle() else 0
        if calm >= 2:
            return True
        time.sleep(0.4)
    return False
