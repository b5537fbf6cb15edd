"""Campaigns: planning a 10,000-member campaign, and draining its sends through the throttle.

In process, on moto (DynamoDB and SQS shaped like infra/template.json), through the deployed code
paths: the API's services launch the campaign, the ``plan_campaign`` handler plans every chunk the
campaign queue hands out (Lambda's poller is played by this module: receive, invoke, delete), and
the ``send`` handler drains the send queue through the real send gate at R parts per second.
Requests are counted with botocore event hooks on every client our code builds:

1. **Planning**: DynamoDB items read (Scan/Query ``ScannedCount``, one per GetItem or BatchGetItem
   item found) per targeted member (goal ≤ 1.1) and per member of the store; read and write
   requests; SQS requests our code makes (SendMessageBatch: sends and planning chunks) per planned
   message. The poller's own ReceiveMessage/DeleteMessage are Lambda's, not counted.
2. **Drain**, on the local stack (MiniStack running our template, real Lambdas and queues, on
   ``BENCH_PORT``, default 4597): a campaign of ``BENCH_DRAIN_MEMBERS`` members (default: as many
   as above, 10,000) is launched through the API and planned by the deployed ``plan_campaign``
   function (paced to the rate) while its sends are drained by the deployed ``send`` function at
   R = ``BENCH_SEND_RATE`` (default 10) parts/s, invoked by five pollers as Lambda's poller would
   (``bench/send_bench.py``: MiniStack's own mapping hands batches out irregularly); the messages
   stream feeds the counters all along, as deployed. From the sandbox outbox's real send times:
   the largest count in any one-second window / R (goal ≤ 1.00) and the mean rate / R (goal ≥
   0.97), over the campaign's whole drain, its senders' cold starts included (about 17 minutes at
   R = 10), and how often the sends stopped altogether for over 0.4 s (MiniStack stalling every
   request for its garbage collector: README, "The local stack"). ``BENCH_DUMP=FILE`` writes the
   send times (and ``FILE.ids``: the message ids) for a closer look.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = int(os.environ.get("BENCH_CAMPAIGN_MEMBERS", "10000"))
RATE = int(os.environ.get("BENCH_SEND_RATE", "10"))
DRAIN_MEMBERS = int(os.environ.get("BENCH_DRAIN_MEMBERS", str(MEMBERS)))
STOP_MS = 400  # a gap between two sends this long: every sender stopped (four slots at R = 10)
NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # noon in Shanghai: no quiet hours
READS = {"GetItem", "Query", "Scan", "BatchGetItem"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class Calls:
    """Requests per service.operation and DynamoDB items read, from botocore's after-call events."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.items_read = 0
        self.on = False
        self.lock = threading.Lock()

    def __call__(self, http_response: Any, parsed: Any, model: Any, **kwargs: Any) -> None:
        if not self.on:
            return
        service = model.service_model.service_name
        with self.lock:
            self.requests[f"{service}.{model.name}"] += 1
            if service != "dynamodb":
                return
            if model.name in ("Scan", "Query"):
                self.items_read += int(parsed.get("ScannedCount", 0))
            elif model.name == "GetItem":
                self.items_read += 1 if parsed.get("Item") else 0
            elif model.name == "BatchGetItem":
                self.items_read += sum(len(v) for v in parsed.get("Responses", {}).values())

    def total(self, service: str, names: set[str] | None = None) -> int:
        return sum(
            n
            for key, n in self.requests.items()
            if key.startswith(service + ".") and (names is None or key.split(".", 1)[1] in names)
        )


def _hook_everything(calls: Calls) -> None:
    import boto3
    import pynamodb.connection.base as pynamodb_base

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION._session.register("after-call", calls)
    original = getattr(pynamodb_base, "get_session")  # noqa: B009

    def counted() -> Any:
        session = original()
        session.register("after-call", calls)
        return session

    setattr(pynamodb_base, "get_session", counted)  # noqa: B010


_RECEIVE = threading.RLock()  # one request at a time into moto (its backends are not thread-safe)


def _serialize_moto() -> None:
    """moto answers each request inside the calling thread, and its backends are not thread-safe:
    let one request in at a time, as a real service would apply each atomically."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__

    def one_at_a_time(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _RECEIVE:
            return original(self, *args, **kwargs)

    BotocoreStubber.__call__ = one_at_a_time  # type: ignore[method-assign]


def _poll(
    sqs: Any,
    url: str,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    stop: Callable[[], bool],
    after: Callable[[], None] = lambda: None,
) -> None:
    """Lambda's SQS poller: receive up to 10, invoke, delete what was not reported failed."""
    from tests.integration.conftest import FakeLambdaContext

    while not stop():
        with _RECEIVE:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not got:
            time.sleep(0.05)
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
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
                "awsRegion": "us-east-1",
            }
            for m in got
        ]
        answer = handler({"Records": records}, FakeLambdaContext())
        after()
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [m for m in got if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )


def _populate(count: int) -> None:
    from chalicelib.adapters import codec
    from chalicelib.adapters.models import MemberModel
    from chalicelib.domain.model import Child, Consent, Member

    today = date(2026, 11, 22)
    with MemberModel.batch_write() as batch:
        for i in range(count):
            born = today - timedelta(days=3 * 365 + (i * 7) % (3 * 365))  # 3 to 6 years old
            member = Member(
                f"m{i:06d}",
                name=f"家长{i}",
                phone=f"+86139{15000000 + i:08d}",  # never a sandbox magic number
                consent=Consent(sms=True, im=False, marketing=True),
                children=[Child("乐乐", born, "boy" if i % 2 else "girl")],
                created_at=NOW - timedelta(days=30),
                version=1,
            )
            batch.save(MemberModel(**{**codec.member_to_item(member), "version": 1}))


def measure() -> dict[str, float]:
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "SEND_RATES": f"sandbox={RATE}",
            "SEND_CLAIM_TTL": "120",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "ERROR"),
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        os.environ.pop(var, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import boto3
    from moto import mock_aws

    import tests.integration.conftest as stack

    _serialize_moto()
    with mock_aws():
        stack._forget_cached_clients()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        from chalicelib.settings import get_settings

        get_settings.cache_clear()
        stack._create_tables(dynamodb)
        queues = {logical: (var, url) for logical, (var, url) in stack._create_queues(sqs).items()}
        for var, url in queues.values():
            if var:
                os.environ[var] = url
        stack._forget_cached_clients()
        calls = Calls()
        _hook_everything(calls)
        from chalicelib import bootstrap
        from chalicelib.handlers import campaign_queue

        app = bootstrap.bootstrap()
        bootstrap.use(app)
        started = time.perf_counter()
        _populate(MEMBERS)
        populate_s = time.perf_counter() - started
        app.segments.put(
            "parents-3-6",
            {"name": "3–6 岁", "conditions": [{"field": "child_age_months", "op": "between", "value": [36, 72]}]},
            NOW,
        )
        body = {
            "name": "新火车到店",
            "segment_id": "parents-3-6",
            "channels": ["sms"],
            "send_at": "2026-11-22T04:00:00Z",
            "holdout_percent": 20,
            "variants": [
                {"id": "a", "templates": {"zh-CN": "新火车到店啦！周末带孩子来试玩。"}},
                {"id": "b", "templates": {"zh-CN": "{{ member.name }}，小火车开进乐乐玩具啦。"}},
            ],
        }
        app.campaigns.put("train", body, NOW)
        campaign_queue.clock = lambda: NOW
        # Planning without pacing delays (the drain below is measured on its own): the chunks are
        # what the campaign queue would hand the plan_campaign function.
        calls.on = True
        started = time.perf_counter()
        app.campaigns.launch("train", NOW)
        url = queues["CampaignQueue"][1]
        idle: list[float] = []

        def planned() -> bool:
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            idle.append(1.0 if sum(int(v) for v in attrs.values()) == 0 else 0.0)
            return idle[-3:] == [1.0, 1.0, 1.0]

        app.planner.rates = {}
        sends = queues["SendQueue"][1]

        # moto's SendMessage grows with the queue's length (it counts every message for the queue's
        # attributes): the planned sends are taken off after each chunk (their SendMessageBatch was counted).
        def empty_sends() -> None:
            while got := sqs.receive_message(QueueUrl=sends, MaxNumberOfMessages=10).get("Messages", []):
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
                sqs.delete_message_batch(QueueUrl=sends, Entries=entries)

        _poll(sqs, url, campaign_queue.plan_chunks, planned, after=empty_sends)
        plan_s = time.perf_counter() - started
        calls.on = False
        statuses: Counter[str] = Counter()
        for page in dynamodb.get_paginator("scan").paginate(TableName=stack.TABLE_ENV["MESSAGES_TABLE"]):
            statuses.update(i["status"]["S"] for i in page["Items"])
        targeted = sum(statuses.values())
        planned_messages = targeted - statuses.get("control", 0)
        ddb_reads = calls.total("dynamodb", READS)
        ddb_writes = calls.total("dynamodb", WRITES)
        sqs_ours = calls.total("sqs", {"SendMessage", "SendMessageBatch"})
        planning = {
            "store_members": MEMBERS,
            "targeted": targeted,
            "planned_messages": planned_messages,
            "statuses": dict(statuses),
            "items_read": calls.items_read,
            "items_read_per_targeted": calls.items_read / max(targeted, 1),
            "items_read_per_member": calls.items_read / MEMBERS,
            "read_requests_per_targeted": ddb_reads / max(targeted, 1),
            "write_requests_per_targeted": ddb_writes / max(targeted, 1),
            "sqs_requests_per_planned": sqs_ours / max(planned_messages, 1),
            "plan_s": plan_s,
            "populate_s": populate_s,
            "requests": dict(calls.requests),
        }
        bootstrap.use(None)
        boto3.DEFAULT_SESSION = None
    return planning


def _drain_on_stack() -> dict[str, Any]:
    from bench import send_bench
    from chalicelib.adapters import codec
    from chalicelib.domain.model import Child, Consent, Member
    from chalicelib.domain.ratelimit import largest_window_count

    port = int(os.environ.get("BENCH_PORT", "4597"))
    state = ROOT / ".local" / f"bench-{port}"
    down = [sys.executable, "-m", "memberpulse_cli.main", "down", "--port", str(port), "--state-dir", str(state)]
    import subprocess

    subprocess.run(down, cwd=ROOT, capture_output=True, timeout=120, check=False)
    send_bench._cli(
        "up",
        "--port",
        str(port),
        "--state-dir",
        str(state),
        "--parameter",
        f"SendRates=sandbox={RATE}",
        "--parameter",
        "CountAwsCalls=0",
    )
    info = json.loads((state / "stack.json").read_text())
    stack = send_bench.Stack(info)
    try:
        now = datetime.now(UTC)
        zone = send_bench._daytime_zone(now)
        for name in ("send", "on_member_change"):  # our pollers send; no welcomes for these members
            function = info["functions"][name]
            for m in stack.lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]:
                stack.lam.update_event_source_mapping(UUID=m["UUID"], Enabled=False)
        today = now.date()
        items = []
        for i in range(DRAIN_MEMBERS):
            member = Member(
                f"d{i:06d}",
                phone=f"+86139{25000000 + i:08d}",
                timezone=zone,
                consent=Consent(sms=True, im=False, marketing=True),
                children=[Child("乐乐", today.replace(year=today.year - 4), "boy")],
                created_at=now - timedelta(days=1),
                version=1,
            )
            item = json.loads(json.dumps(codec.member_to_item(member)), parse_float=Decimal)
            item = {k: v for k, v in item.items() if v is not None}
            items.append(item)
        from boto3.dynamodb.types import TypeSerializer

        serialize = TypeSerializer().serialize
        table = stack.table("members")
        for start in range(0, len(items), 25):
            requests = [
                {"PutRequest": {"Item": {k: serialize(v) for k, v in item.items()}}}
                for item in items[start : start + 25]
            ]
            stack.ddb.batch_write_item(RequestItems={table: requests})
        stack.api.ok(
            "PUT", "/v1/segments/drain", {"conditions": [{"field": "child_age_months", "op": "gte", "value": 36}]}
        )
        body = {
            "name": "drain",
            "segment_id": "drain",
            "channels": ["sms"],
            "send_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "holdout_percent": 0,
            "variants": [{"id": "a", "templates": {"zh-CN": "新火车到店啦！"}}],
        }
        stack.api.ok("PUT", "/v1/campaigns/drain", body)
        started = int(time.time() * 1000)
        stack.api.ok("POST", "/v1/campaigns/drain/launch")

        def drained() -> bool:
            """Planned, and as many sends counted as members (the outbox, scanned only then, says
            when they are all there: scanning it all along would load the stack being measured)."""
            shown = stack.api.ok("GET", "/v1/campaigns/drain")
            counted = sum(max(p["sent"], p["delivered"]) for p in shown["progress"].values())
            return shown["status"] == "done" and counted >= DRAIN_MEMBERS and len(stack.scan("outbox")) >= DRAIN_MEMBERS

        stack.poll_sends(drained, timeout=600 + 3 * DRAIN_MEMBERS / RATE)
        outbox = [i for i in stack.scan("outbox") if int(i["wall_ms"]["N"]) >= started]
        sends = sorted((int(i["wall_ms"]["N"]), int(i["parts"]["N"])) for i in outbox)
        if os.environ.get("BENCH_DUMP"):
            ids = sorted((int(i["wall_ms"]["N"]), i["message_id"]["S"]) for i in outbox)
            Path(os.environ["BENCH_DUMP"] + ".ids").write_text(json.dumps(ids))
    finally:
        subprocess.run(down, cwd=ROOT, capture_output=True, timeout=120, check=False)
    if os.environ.get("BENCH_DUMP"):
        Path(os.environ["BENCH_DUMP"]).write_text(json.dumps({"started": started, "sends": sends}))
    span = (sends[-1][0] - sends[0][0]) / 1000 if len(sends) > 1 else 0.0
    parts = sum(p for _, p in sends)
    # Where every sender stopped at once (MiniStack's own garbage collection stalls all of its
    # requests, the sandbox's outbox writes included: README, "The local stack").
    stops = [b - a for (a, _), (b, _) in itertools.pairwise(sends) if b - a > STOP_MS]
    return {
        "drained": len(sends),
        "drain_parts": parts,
        "stops": len(stops),
        "stopped_s": sum(stops) / 1000,
        "max_1s_over_R": largest_window_count(sends) / RATE if sends else 0.0,
        "mean_rate_over_R": ((parts - sends[-1][1]) / span) / RATE if span > 0 else 0.0,
    }


def run() -> dict[str, Any]:
    print(f"Campaigns: planning a {MEMBERS:,}-member campaign (moto, in process); draining one on the local stack")
    r: dict[str, Any] = measure() if MEMBERS else {}
    if r:
        print(
            f"  planning: {r['targeted']:,} targeted of {r['store_members']:,} members "
            f"({r['planned_messages']:,} messages, {r['statuses'].get('control', 0):,} control records) in "
            f"{r['plan_s']:.0f} s; DynamoDB items read per targeted member {r['items_read_per_targeted']:.3f} "
            f"(goal ≤ 1.1; per member of the store {r['items_read_per_member']:.3f}); read requests per targeted "
            f"member {r['read_requests_per_targeted']:.3f}, write requests {r['write_requests_per_targeted']:.2f}; "
            f"SQS requests per planned message {r['sqs_requests_per_planned']:.3f}"
        )
        print(f"  requests: {json.dumps(r['requests'], sort_keys=True)}")
    r.update(_drain_on_stack())
    print(
        f"  local stack: a campaign of {DRAIN_MEMBERS:,} members drained, {r['drained']} sends "
        f"({r['drain_parts']} parts) at R = {RATE} parts/s (five senders): "
        f"largest 1-s count / R = {r['max_1s_over_R']:.2f} (goal ≤ 1.00); mean rate / R = "
        f"{r['mean_rate_over_R']:.3f} (goal ≥ 0.97); the sends stopped {r['stops']} times for over "
        f"{STOP_MS / 1000:.1f} s ({r['stopped_s']:.1f} s in all)"
    )
    return r
