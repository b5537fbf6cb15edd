"""``memberpulse dlq list|redrive``: what the send, timer and inbound queues gave up on (after five
receives, infra/template.json), and putting it back to be tried again. Each is safe to redrive: a
send is claimed once, a timer fires once, an inbound event is acted on once (InboundTable)."""

from __future__ import annotations

from typing import Any

from .aws import Aws, explained
from .project import CliError

# --queue NAME → (its dead-letter queue, the queue it came from), as stack.json names them
# (stackinfo._QUEUE_NAMES).
QUEUES = {
    "send": ("send_dlq", "send"),
    "timers": ("timers_dlq", "timers"),
    "inbound": ("inbound_dlq", "inbound"),
    "erasure": ("erasure_dlq", "erasure"),
}


def _urls(target: dict[str, Any], which: str) -> tuple[str, str]:
    dlq, source = QUEUES[which]
    queues = target.get("queues", {})
    if dlq not in queues or source not in queues:
        raise CliError(f"the stack has no {which} dead-letter queue")
    return queues[dlq], queues[source]


def list_dead(target: dict[str, Any], which: str, most: int) -> list[dict[str, Any]]:
    """Look at up to ``most`` dead letters without taking them: each is made visible again at once."""
    dlq, _ = _urls(target, which)
    sqs = Aws(target.get("endpoint_url"), target.get("region")).client("sqs")

    def run() -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        handles: list[str] = []
        while len(seen) < most:
            got = sqs.receive_message(
                QueueUrl=dlq, MaxNumberOfMessages=min(10, most - len(seen)), VisibilityTimeout=5, AttributeNames=["All"]
            ).get("Messages", [])
            fresh = [m for m in got if m["MessageId"] not in seen]
            if not fresh:
                break
            handles.extend(m["ReceiptHandle"] for m in got)
            for m in fresh:
                seen[m["MessageId"]] = {
                    "id": m["MessageId"],
                    "body": m["Body"],
                    "receives": int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                }
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ]
            sqs.change_message_visibility_batch(QueueUrl=dlq, Entries=entries)
        return list(seen.values())

    return explained(run, target.get("endpoint_url"))


def redrive(target: dict[str, Any], which: str) -> int:
    """Move every dead letter back onto its source queue; returns how many moved."""
    dlq, source = _urls(target, which)
    sqs = Aws(target.get("endpoint_url"), target.get("region")).client("sqs")

    def run() -> int:
        moved = 0
        while True:
            got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
            if not got:
                return moved
            entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(got)]
            result = sqs.send_message_batch(QueueUrl=source, Entries=entries)
            failed = {f["Id"] for f in result.get("Failed", [])}
            done = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got) if str(i) not in failed
            ]
            if done:
                sqs.delete_message_batch(QueueUrl=dlq, Entries=done)
            moved += len(done)
            if failed:
                raise CliError(f"{len(failed)} messages could not be put back; they stay in the dead-letter queue")

    return explained(run, target.get("endpoint_url"))
