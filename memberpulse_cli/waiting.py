"""Waiting for the asynchronous parts (streams, queues, timers) of a deployed stack to settle.

``run_schedule`` is the one way a tick is replayed (``memberpulse run-schedule --at T [--wait]``,
the demo, the end-to-end tests): it invokes the scheduled function as EventBridge would and, with
``wait``, returns when what that tick released has landed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.isotime import parse_iso, to_iso

from .aws import Aws, explained
from .client import ApiClient
from .functions import invoke, scheduled_event
from .project import CliError

PENDING = ("queued",)
# The queues a tick's work passes through: released timers, then the sends they plan.
TICK_QUEUES = ("timers", "campaigns", "send")
_COUNTS = {
    "ApproximateNumberOfMessages": "waiting",
    "ApproximateNumberOfMessagesNotVisible": "in flight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
}


@dataclass(frozen=True)
class Backlog:
    """What of a tick's work has not landed yet: released timers still pending, and messages on
    the timer and send queues (waiting, in flight or delayed), per queue."""

    timers: int = 0
    queues: dict[str, dict[str, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.timers > 0 or any(n for counts in self.queues.values() for n in counts.values())

    def __str__(self) -> str:
        parts = [f"{self.timers} released timers not fired"] if self.timers else []
        for queue, counts in self.queues.items():
            busy = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
            if busy:
                parts.append(f"{queue} queue: {busy}")
        return "; ".join(parts) or "nothing"


def released_timers(aws: Aws, table: str, swept_from: datetime, at: datetime) -> list[dict[str, Any]]:
    """Keys of the pending timers a sweep over ``(swept_from, at]`` released (their ``fire_at`` is in
    that window: what ``TimerStore.due`` reads). One scan, right after the tick."""
    client = aws.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ConsistentRead": True,
        "FilterExpression": "#s = :p AND fire_at BETWEEN :lo AND :hi",
        "ProjectionExpression": "member_id, #k",
        "ExpressionAttributeNames": {"#s": "status", "#k": "key"},
        "ExpressionAttributeValues": {
            ":p": {"S": "pending"},
            ":lo": {"S": to_iso(swept_from + timedelta(seconds=1))},
            ":hi": {"S": to_iso(at)},
        },
    }
    keys: list[dict[str, Any]] = []
    while True:
        page = client.scan(**kwargs)
        keys.extend(page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            return keys
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def still_pending(aws: Aws, table: str, keys: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """Those of ``keys`` that are still pending and due by ``at`` (a fired timer is finished; a slot
    rewritten for a later time is a new timer, not this tick's)."""
    client = aws.client("dynamodb")
    waiting: list[dict[str, Any]] = []
    due_by = to_iso(at)
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": keys[start : start + 100],
                "ConsistentRead": True,
                "ProjectionExpression": "member_id, #k, #s, fire_at",
                "ExpressionAttributeNames": {"#s": "status", "#k": "key"},
            }
        }
        while request:
            page = client.batch_get_item(RequestItems=request)
            for item in page.get("Responses", {}).get(table, []):
                fire_at = item.get("fire_at", {}).get("S")
                if item.get("status", {}).get("S") == "pending" and fire_at is not None and fire_at <= due_by:
                    waiting.append({"member_id": item["member_id"], "key": item["key"]})
            request = page.get("UnprocessedKeys") or {}
    return waiting


def queue_counts(aws: Aws, queues: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per queue name: messages waiting, in flight (received, not deleted) and delayed."""
    sqs = aws.client("sqs")
    counts: dict[str, dict[str, int]] = {}
    for name, url in queues.items():
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_COUNTS))["Attributes"]
        counts[name] = {what: int(attrs.get(attr, 0)) for attr, what in _COUNTS.items()}
    return counts


def wait_for_tick(
    target: dict[str, Any],
    result: dict[str, Any],
    at: datetime,
    timeout: float = 120.0,
    interval: float = 0.4,
    sleep: Callable[[float], None] = time.sleep,
) -> Backlog:
    """Wait until the work a tick at ``at`` released has landed: every timer it released has fired
    (or been dropped with a reason) and the timer and send queues hold nothing, waiting or in
    flight. Seen twice in a row, so an item passing from one queue to the next is not missed.
    ``result`` is the scheduled function's answer (``due``, ``swept_from``). Returns what is still
    outstanding: an empty (falsy) Backlog once landed, else what was left when ``timeout`` ran out."""
    if not result.get("due"):
        return Backlog()  # the tick released nothing
    aws = Aws(target.get("endpoint_url"), target.get("region"))
    table = target["tables"]["timers"]
    queues = {name: target["queues"][name] for name in TICK_QUEUES if name in target.get("queues", {})}
    swept_from = datetime.fromtimestamp(int(result["swept_from"]), UTC)

    def observe(keys: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Backlog]:
        keys = still_pending(aws, table, keys, at)
        return keys, Backlog(len(keys), queue_counts(aws, queues))

    def run() -> Backlog:
        keys = released_timers(aws, table, swept_from, at)
        deadline = time.monotonic() + timeout
        calm = 0
        while True:
            keys, backlog = observe(keys)
            calm = 0 if backlog else calm + 1
            if calm >= 2 or time.monotonic() >= deadline:
                return backlog
            sleep(interval)

    return explained(run, target.get("endpoint_url"))


def run_schedule(target: dict[str, Any], at: str, *, wait: bool, timeout: float = 120.0) -> dict[str, Any]:
    """Invoke the scheduled function with logical time ``at`` (ISO 8601 with a zone), as EventBridge
    would. With ``wait``, return only when what it released has landed (``wait_for_tick``); a
    tick whose work has not landed within ``timeout`` seconds is a CliError naming what is left."""
    event = scheduled_event(at, target.get("region") or "us-east-1")
    result = invoke(target, "on_schedule", event)
    if not isinstance(result, dict):
        raise CliError(f"on_schedule answered {result!r}, not its summary")
    if wait:
        left = wait_for_tick(target, result, parse_iso(event["time"]), timeout)
        if left:
            raise CliError(
                f"the tick at {event['time']} had not landed after {timeout:.0f} s: {left} "
                "(`memberpulse dlq list --queue timers` / `--queue send` shows what failed for good)"
            )
    return result


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
