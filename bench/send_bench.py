"""Send governance on the local stack (MiniStack running our template, real Lambdas, real SQS ESMs).

Three runs on a stack of its own (port 4597, ``.local/bench-4597``; ``BENCH_SEND_PORT`` for another):

1. Throttle fidelity and AWS requests per sent message. The sandbox provider is throttled to R parts
   per second (``SendRates=sandbox=R``). With the send queue's event source paused, 60×R members
   join through the API (each gets a one-part welcome: a backlog of 60×R queued sends), then the
   senders are let loose. From the sandbox outbox's real send times: the largest count in any
   one-second window / R (goal ≤ 1.00) and the mean rate / R (goal ≥ 0.97). Every deployed
   function counts its own AWS requests with botocore hooks (``CountAwsCalls=1``): DynamoDB reads
   and writes and SQS requests per sent message (goals ≤ 2.5, ≤ 2.0, ≤ 0.35). The sandbox's own
   outbox (one PutItem a send: the provider's storage, which a real provider keeps on its side) and
   the analytics counters kept from the messages stream (issue 12's funnels and the campaigns'
   arms) are counted apart and shown beside the figures.
2. No duplicates and no message lost under faults, at a provider that can be asked about a send
   (like Alibaba): 2,000 members join with the sandbox taking 250 ms a call (no rate configured),
   senders dying mid-batch (right after an accepted send, and during a call before the sandbox got
   the message), timeouts (half of them accepted), 429s and 500s; a share of the members' stream
   records is replayed into the stream function and a share of the send intents is put on the
   queue twice (SQS redeliveries).
3. The same at a provider that can neither be asked nor drops repeats (``lookup=no``: like Twilio,
   AWS, Tencent, Agora): deaths right after an accepted send, 429s, 500s, 250 ms a call. (Timeouts
   and deaths during a call are left out here: at such a provider their outcome is unknowable, and
   they end "outcome unknown" by design; the unit tests cover them.)

In runs 2 and 3, duplicates = provider sends beyond one per member's welcome (goal 0), and lost =
members whose welcome was neither delivered, nor failed for a permanent reason, nor "outcome
unknown" with the provider having it — still pending, "outcome unknown" though it never reached
the provider, or in the dead-letter queue (goal 0; the DLQ's entries are shown split by whether
their message had a provider attempt).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memberpulse_cli.project import CliError

ROOT = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("BENCH_SEND_PORT", "4597"))
STATE = ROOT / ".local" / f"bench-{PORT}"
BACKLOG = 60  # seconds of sends at R queued before the senders are let loose
RATE = int(os.environ.get("BENCH_SEND_RATE", "10"))
FAULTS = "crash=0.01,die=0.01,timeout=0.02,throttle=0.03,error=0.03,delay_ms=250"
BLIND_FAULTS = "lookup=no,crash=0.02,throttle=0.03,error=0.03,delay_ms=250"
FAULT_MEMBERS = int(os.environ.get("BENCH_FAULT_MEMBERS", "2000"))
BLIND_MEMBERS = int(os.environ.get("BENCH_BLIND_MEMBERS", "1000"))
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
OUTBOX = " [sandbox outbox]"  # how chalicelib/adapters/call_counter.py names the outbox's requests


def _cli(*args: str) -> None:
    cmd = [sys.executable, "-m", "memberpulse_cli.main", *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"memberpulse {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _down() -> None:
    cmd = [sys.executable, "-m", "memberpulse_cli.main", "down", "--port", str(PORT), "--state-dir", str(STATE)]
    subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=120, check=False)


def _up(*parameters: str, fresh: bool = False) -> dict[str, Any]:
    """A stack of our own; ``fresh``: a new MiniStack process (its state is in memory)."""
    if fresh:
        _down()
    args = ["up", "--port", str(PORT), "--state-dir", str(STATE)]
    for p in parameters:
        args += ["--parameter", p]
    _cli(*args)
    return dict(json.loads((STATE / "stack.json").read_text()))


def _daytime_zone(now: datetime) -> str:
    """A fixed-offset IANA zone where it is early afternoon now (no quiet hours in the way)."""
    offset = (13 - now.hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"


class Stack:
    def __init__(self, info: dict[str, Any]) -> None:
        from memberpulse_cli.aws import Aws
        from memberpulse_cli.client import ApiClient

        self.info = info
        self.aws = Aws(info["endpoint_url"], info.get("region"))
        self.api = ApiClient(info["api_url"], info["api_key"])
        self.ddb = self.aws.client("dynamodb")
        self.sqs = self.aws.client("sqs")
        self.lam = self.aws.client("lambda")

    def table(self, logical: str) -> str:
        return str(self.info["tables"][logical])

    def scan(self, logical: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.ddb.get_paginator("scan").paginate(TableName=self.table(logical), **kwargs):
            items += page["Items"]
        return items

    def send_mapping(self, enabled: bool) -> None:
        name = self.info["functions"]["send"]
        for m in self.lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]:
            self.lam.update_event_source_mapping(UUID=m["UUID"], Enabled=enabled)

    def poll_sends(self, until: Any, pollers: int = 5, timeout: float = 900) -> None:
        """Lambda's SQS poller, as AWS runs it for the send function: ``pollers`` at once (the
        mapping's MaximumConcurrency), each receiving up to 10 records, invoking the deployed
        function and deleting what it did not report as failed. (MiniStack's own mapping hands out
        batches irregularly — seconds apart, often one at a time — which would measure MiniStack.)"""
        queue = self.info["queues"]["send"]
        name = self.info["functions"]["send"]
        arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stop = threading.Event()

        def poller() -> None:
            sqs = self.aws.client("sqs")
            lam = self.aws.client("lambda")
            while not stop.is_set():
                got = sqs.receive_message(
                    QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
                ).get("Messages", [])
                if not got:
                    continue
                records = [
                    {
                        "messageId": m["MessageId"],
                        "receiptHandle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": m.get("Attributes", {}),
                        "messageAttributes": {},
                        "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": arn,
                        "awsRegion": self.info.get("region") or "us-east-1",
                    }
                    for m in got
                ]
                reply = lam.invoke(FunctionName=name, Payload=json.dumps({"Records": records}).encode())
                answer = json.loads(reply["Payload"].read() or b"{}")
                failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
                if reply.get("FunctionError"):
                    continue  # the whole batch comes back after its visibility timeout
                done = [m for m in got if m["MessageId"] not in failed]
                if done:
                    sqs.delete_message_batch(
                        QueueUrl=queue,
                        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                    )

        threads = [threading.Thread(target=poller, daemon=True) for _ in range(pollers)]
        for t in threads:
            t.start()
        try:
            self.wait(until, timeout, "the sends", every=5.0)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)

    def join(self, ids: list[str], zone: str, now: datetime) -> None:
        def put(member_id: str) -> None:
            body = {
                "name": f"Bench {member_id}",
                "im_user_id": f"im_{member_id}",
                "timezone": zone,
                "joined_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "consent": {"sms": True, "im": True, "marketing": False},
            }
            for attempt in range(3):  # a fresh stack's API functions start cold (MiniStack, a busy machine)
                try:
                    self.api.ok("PUT", f"/v1/members/{member_id}", body)  # an upsert: safe to repeat
                    return
                except CliError:
                    if attempt == 2:
                        raise
                    time.sleep(5)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, ids))

    def statuses(self) -> Counter[str]:
        return Counter(
            i["status"]["S"]
            for i in self.scan("messages", ProjectionExpression="#s", ExpressionAttributeNames={"#s": "status"})
        )

    def wait(self, done: Any, timeout: float, what: str, every: float = 1.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if done():
                return
            time.sleep(every)
        raise RuntimeError(f"timed out waiting for {what}")


def _throttle_and_requests() -> dict[str, float]:
    info = _up(f"SendRates=sandbox={RATE}", "CountAwsCalls=1", fresh=True)
    stack = Stack(info)
    now = datetime.now(UTC)
    zone = _daytime_zone(now)
    stack.send_mapping(False)
    # Warm-up (not measured): 5×R members, so the sender Lambdas have all started.
    warm = [f"bench-w{i:04d}" for i in range(5 * RATE)]
    stack.join(warm, zone, now)
    stack.wait(lambda: stack.statuses().get("queued", 0) >= len(warm), 300, "the warm-up backlog")
    stack.poll_sends(lambda: len(stack.scan("outbox")) >= len(warm))
    members = [f"bench-r{i:04d}" for i in range(BACKLOG * RATE)]
    stack.join(members, zone, now)
    stack.wait(lambda: stack.statuses().get("queued", 0) >= len(members), 300, "the welcome backlog")
    started = int(time.time() * 1000)
    stack.poll_sends(lambda: len(stack.scan("outbox")) >= len(members) + len(warm))
    time.sleep(3)  # the last invocations flush their request counts
    from chalicelib.domain.ratelimit import largest_window_count

    sends = sorted(
        (int(i["wall_ms"]["N"]), int(i["parts"]["N"]))
        for i in stack.scan("outbox")
        if int(i["wall_ms"]["N"]) >= started
    )
    span = (sends[-1][0] - sends[0][0]) / 1000
    parts = sum(p for _, p in sends)
    calls: Counter[str] = Counter()
    by_function: dict[str, Counter[str]] = {}
    for item in stack.scan("counters"):
        key = item["counter_id"]["S"]
        if key.startswith("calls#"):
            function = key.split("#")[1]
            for entry in item.get("bookings", {}).get("L", []):
                name, n = entry["L"][0]["S"], int(entry["L"][1]["N"])
                calls[name] += n
                by_function.setdefault(function, Counter())[name] += n
    sent = len(members) + len(warm)  # the request counts cover the warm-up too
    print(f"  sent {len(sends)} one-part messages at R = {RATE} parts/s from a backlog of {len(members)} ({BACKLOG}×R)")
    for function, counted in sorted(by_function.items()):
        print(f"  requests counted in {function}: {dict(sorted(counted.items()))}")
    counters = by_function.get(COUNTERS_FUNCTION, Counter())
    return {
        "max_1s_over_R": largest_window_count(sends) / RATE,
        "mean_rate_over_R": ((parts - sends[-1][1]) / span) / RATE if span > 0 else 0.0,
        "ddb_reads_per_sent": (_dynamodb(calls, READS) - _dynamodb(counters, READS)) / sent,
        "ddb_writes_per_sent": (_dynamodb(calls, WRITES) - _dynamodb(counters, WRITES)) / sent,
        "counter_writes_per_sent": _dynamodb(counters, WRITES) / sent,
        "outbox_reads_per_sent": _dynamodb(calls, READS, outbox=True) / sent,
        "outbox_writes_per_sent": _dynamodb(calls, WRITES, outbox=True) / sent,
        "sqs_requests_per_sent": sum(n for name, n in calls.items() if name.startswith("sqs.")) / sent,
    }


# The messages stream's function: it keeps the analytics counters (funnels, campaign arms), not the
# sending; its writes are shown apart from the send path's.
COUNTERS_FUNCTION = "message_record"


def _dynamodb(calls: Counter[str], kinds: set[str], *, outbox: bool = False) -> int:
    """DynamoDB requests of those kinds: ours, or (``outbox``) the sandbox provider's outbox."""
    total = 0
    for name, n in calls.items():
        service, _, operation = name.partition(".")
        on_outbox = operation.endswith(OUTBOX)
        if service == "dynamodb" and operation.removesuffix(OUTBOX) in kinds and on_outbox == outbox:
            total += n
    return total


def _stream_replay(stack: Stack, member_ids: list[str]) -> None:
    """Hand the members' INSERT records to the stream function again, as a shard replay would."""
    records = []
    for i, member_id in enumerate(member_ids):
        item = stack.ddb.get_item(TableName=stack.table("members"), Key={"member_id": {"S": member_id}})["Item"]
        records.append(
            {
                "eventID": f"replay-{i}",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "awsRegion": stack.info.get("region") or "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": time.time(),
                    "Keys": {"member_id": {"S": member_id}},
                    "NewImage": item,
                    "SequenceNumber": str(10**20 + i),
                    "SizeBytes": 1000,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/members/stream/replay",
            }
        )
    name = stack.info["functions"]["on_member_change"]
    for start in range(0, len(records), 25):
        stack.lam.invoke(FunctionName=name, Payload=json.dumps({"Records": records[start : start + 25]}).encode())


def _fault_run(faults: str, count: int, prefix: str) -> dict[str, float]:
    info = _up(
        "SendRates=",
        f"SandboxFaults={faults}",
        "CountAwsCalls=0",
        "SendVisibilityTimeout=40",
        "SendClaimTtl=35",
        fresh=True,
    )
    stack = Stack(info)
    stack.send_mapping(False)  # our pollers, as in the first run (MiniStack's mapping is slow)
    rng = random.Random(7)
    now = datetime.now(UTC)
    members = [f"bench-{prefix}{i:05d}" for i in range(count)]
    stack.join(members, _daytime_zone(now), now)
    stack.wait(lambda: sum(stack.statuses().values()) >= len(members), 600, "every welcome to be planned")
    replayed = rng.sample(members, len(members) // 10)
    _stream_replay(stack, replayed)
    from chalicelib.domain.ids import message_id

    again = [message_id(m, "welcome", "join") for m in rng.sample(members, len(members) // 10)]
    queue = info["queues"]["send"]
    for start in range(0, len(again), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps({"message_id": mid, "at": None})}
            for i, mid in enumerate(again[start : start + 10])
        ]
        stack.sqs.send_message_batch(QueueUrl=queue, Entries=entries)

    quiet: list[bool] = []

    def settled() -> bool:
        """Nothing left on the send queue — visible, in flight or delayed (a send handed back to
        wait) — twice in a row (what exhausted its receives waits in the dead-letter queue)."""
        attributes = stack.sqs.get_queue_attributes(
            QueueUrl=queue,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        quiet.append(sum(int(v) for v in attributes.values()) == 0)
        return quiet[-2:] == [True, True]

    started = time.time()
    stack.poll_sends(settled, timeout=2400)
    took = time.time() - started
    figures = _outcomes(stack, members)
    print(
        f"  {len(members)} members, faults {faults}; replayed {len(replayed)} stream records, "
        f"re-queued {len(again)} send intents; settled in {took:.0f} s"
    )
    return figures


def _outcomes(stack: Stack, members: list[str]) -> dict[str, float]:
    """Per member, what became of the welcome (its IM, or the SMS sent instead)."""
    from chalicelib.domain.ids import message_id

    outbox = Counter(i["message_id"]["S"] for i in stack.scan("outbox"))
    rows = {
        i["message_id"]["S"]: (i["status"]["S"], i.get("reason", {}).get("S", ""))
        for i in stack.scan(
            "messages",
            ProjectionExpression="message_id, #s, reason",
            ExpressionAttributeNames={"#s": "status"},
        )
    }
    dead = _dead_letters(stack)
    kinds: Counter[str] = Counter()
    duplicates = 0
    for member_id in members:
        ids = [message_id(member_id, "welcome", "join"), message_id(member_id, "welcome", "join#sms")]
        duplicates += max(sum(outbox[i] for i in ids) - 1, 0)  # IM and SMS both count as the welcome
        kinds[_kind(ids, rows, outbox, dead)] += 1
    lost = sum(n for kind, n in kinds.items() if kind.startswith("LOST"))
    done = {mid for mid in dead if rows.get(mid, ("", ""))[0] in ("sent", "delivered", "read")}
    attempted = {mid for mid in dead - done if outbox[mid] or rows.get(mid, ("", ""))[1].startswith("retrying:")}
    statuses = Counter(status for status, _ in rows.values())
    print(f"  message statuses: {dict(statuses)}; provider sends {sum(outbox.values())} for {len(outbox)} messages")
    print(f"  per member: {dict(sorted(kinds.items()))}")
    print(
        f"  in the dead-letter queue: {len(dead)} ({len(done)} spare copies of intents whose message was "
        f"delivered, {len(attempted)} after a provider attempt, {len(dead) - len(done) - len(attempted)} without)"
    )
    return {"members": float(len(members)), "duplicates": float(duplicates), "lost": float(lost)}


def _kind(ids: list[str], rows: dict[str, tuple[str, str]], outbox: Counter[str], dead: set[str]) -> str:
    found = [(mid, *rows[mid]) for mid in ids if mid in rows]
    if any(status in ("sent", "delivered", "read") for _, status, _ in found):
        return "delivered"
    if any(mid in dead for mid in ids):
        return "LOST: in the dead-letter queue"
    if any(status == "failed" and "outcome unknown" in reason for _, status, reason in found):
        if any(outbox[mid] for mid in ids):
            return "outcome unknown, the provider has it"
        return "LOST: outcome unknown, never reached the provider"
    if any(status == "failed" for _, status, _ in found):
        return "failed: " + next(reason for _, status, reason in found if status == "failed")[:60]
    return "LOST: still " + "/".join(status for _, status, _ in found)


def _dead_letters(stack: Stack) -> set[str]:
    """The message ids waiting in the send queue's dead-letter queue (read, then left to reappear)."""
    dlq = stack.info["queues"]["send_dlq"]
    found: set[str] = set()
    for _ in range(50):
        got = stack.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        if not got:
            break
        for m in got:
            try:
                found.add(str(json.loads(m["Body"])["message_id"]))
            except (ValueError, KeyError, TypeError):
                found.add("(unreadable)")
    return found


def run() -> None:
    print("Send governance on the local stack (MiniStack, real Lambdas and queues):")
    try:
        figures = _throttle_and_requests()
        print(
            f"  throttle fidelity: largest 1-s count / R = {figures['max_1s_over_R']:.2f} (goal ≤ 1.00); "
            f"mean rate / R = {figures['mean_rate_over_R']:.3f} (goal ≥ 0.97)"
        )
        print(
            f"  per sent message: DynamoDB reads {figures['ddb_reads_per_sent']:.2f} (goal ≤ 2.5), "
            f"writes {figures['ddb_writes_per_sent']:.2f} (goal ≤ 2.0), "
            f"SQS requests {figures['sqs_requests_per_sent']:.2f} (goal ≤ 0.35); besides, the sandbox "
            f"provider's outbox: {figures['outbox_reads_per_sent']:.2f} reads, "
            f"{figures['outbox_writes_per_sent']:.2f} writes; the analytics counters (the messages stream: "
            f"funnels, campaign arms): {figures['counter_writes_per_sent']:.2f} writes (a stream batch's "
            f"feeds in as few transactions as fit)"
        )
        for title, faults, count, prefix in (
            ("a provider that can be asked (like Alibaba)", FAULTS, FAULT_MEMBERS, "f"),
            ("a provider that can neither be asked nor drops repeats (like Twilio)", BLIND_FAULTS, BLIND_MEMBERS, "b"),
        ):
            print(f"  Faults at {title}:")
            run_figures = _fault_run(faults, count, prefix)
            print(
                f"  {run_figures['members']:.0f} welcomes under faults: duplicates {run_figures['duplicates']:.0f} "
                f"(goal 0); lost {run_figures['lost']:.0f} (goal 0)"
            )
    finally:
        _down()
