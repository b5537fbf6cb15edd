"""Activities: what one registration costs, and a rush for the last seat.

1. DynamoDB requests per registration (moto, the real service and adapter, counted with botocore
   ``before-call`` hooks as in the deployed functions): a seat, a place in line, a repeat of the
   same sign-up, and a cancellation that moves the first in line up.
2. On the local stack (its own port, ``BENCH_ACTIVITIES_PORT``, default 4596): 200 members sign up
   for one seat all at once and, for another activity, 200 one after the other. Time to settle =
   until every request is answered and every member's confirmation or place-in-line message is
   written (the stream, the rule engine); the figure is concurrent ÷ sequential. MiniStack runs at
   most ``memberpulse up --api-concurrency`` (4) API invocations at once and throttles the rest
   (429, retried by the client): the ratio measures contention on the activity item under that
   concurrency, not AWS's scaling.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("BENCH_ACTIVITIES_PORT", "4596"))
STATE = ROOT / ".local" / f"bench-{PORT}"
RUSH = 200


# -- 1. requests per registration (moto) ---------------------------------------------------------------


def _moto_tables() -> None:
    import boto3

    template = json.loads((ROOT / "infra" / "template.json").read_text())
    client = boto3.client("dynamodb", region_name="us-east-1")
    for logical, name in (("ActivitiesTable", "bench-activities"), ("MembersTable", "bench-members")):
        props = template["Resources"][logical]["Properties"]
        kwargs = {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes") if k in props}
        client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **kwargs)


def requests_per_registration() -> dict[str, Counter[str]]:
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "ACTIVITIES_TABLE": "bench-activities",
            "MEMBERS_TABLE": "bench-members",
        }
    )
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(var, None)
    from moto import mock_aws

    with mock_aws():
        from chalicelib import bootstrap
        from chalicelib.adapters import call_counter

        bootstrap.reset()
        call_counter.install()
        from chalicelib.adapters.activity_store import DynamoActivityStore
        from chalicelib.adapters.member_store import DynamoMemberStore
        from chalicelib.adapters.models import MemberModel, PlaceModel, StoreActivityModel
        from chalicelib.domain.model import Member
        from chalicelib.services.activities import ActivityService
        from chalicelib.services.registrations import RegistrationService

        for model in (MemberModel, StoreActivityModel, PlaceModel):
            model._connection = None
        _moto_tables()
        now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
        members = DynamoMemberStore()
        for member_id in ("m-1", "m-2"):
            members.save(Member(member_id, joined_at=now, created_at=now))
        store = DynamoActivityStore()
        registrations = RegistrationService(store, members)
        body = {"title": "积木", "starts_at": "2026-11-28T14:00:00+08:00", "ends_at": "2026-11-28T16:00:00+08:00"}
        ActivityService(store, registrations).put("bench", {**body, "location": "店", "capacity": 1}, now)
        counts: dict[str, Counter[str]] = {}
        for label, action in (
            ("a seat", lambda: registrations.register("bench", "m-1", now)),
            ("a place in line", lambda: registrations.register("bench", "m-2", now)),
            ("the same sign-up again", lambda: registrations.register("bench", "m-2", now)),
            ("a cancellation, the first in line moving up", lambda: registrations.cancel("bench", "m-1", now)),
        ):
            call_counter.COUNTS.clear()
            action()
            counts[label] = Counter({k: v for k, v in call_counter.COUNTS.items() if k.startswith("dynamodb.")})
        bootstrap.reset()
    return counts


# -- 2. a rush on the local stack --------------------------------------------------------------------------


def _cli(*args: str) -> None:
    cmd = [sys.executable, "-m", "memberpulse_cli.main", *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"memberpulse {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


class Stack:
    def __init__(self) -> None:
        from memberpulse_cli.aws import Aws
        from memberpulse_cli.client import ApiClient

        self.info = json.loads((STATE / "stack.json").read_text())
        self.api = ApiClient(self.info["api_url"], self.info["api_key"], timeout=120)
        self.ddb = Aws(self.info["endpoint_url"], self.info.get("region")).client("dynamodb")

    def members(self, ids: list[str]) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda m: self.api.ok("PUT", f"/v1/members/{m}", {"name": m}), ids))

    def activity(self, activity_id: str) -> None:
        starts = datetime.now(UTC) + timedelta(days=3)
        body = {
            "title": "抢位",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "location": "店",
            "capacity": 1,
        }
        self.api.ok("PUT", f"/v1/activities/{activity_id}", body)

    def sign_up(self, activity_id: str, member_id: str) -> str:
        return str(
            self.api.ok("POST", f"/v1/activities/{activity_id}/registrations", {"member_id": member_id})["status"]
        )

    def told(self, prefix: str) -> int:
        """Members of ``prefix`` whose confirmation or place-in-line message is written."""
        kwargs: dict[str, Any] = {
            "TableName": self.info["tables"]["messages"],
            "FilterExpression": "begins_with(member_id, :p) AND #t IN (:c, :w)",
            "ExpressionAttributeNames": {"#t": "trigger"},
            "ExpressionAttributeValues": {
                ":p": {"S": prefix},
                ":c": {"S": "activity_confirmed"},
                ":w": {"S": "activity_waitlisted"},
            },
            "ProjectionExpression": "member_id",
        }
        found = set()
        for page in self.ddb.get_paginator("scan").paginate(**kwargs):
            found.update(item["member_id"]["S"] for item in page["Items"])
        return len(found)

    def wait(self, done: Any, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError("timed out")
            time.sleep(0.5)


def _rush(stack: Stack, run: str, width: int) -> tuple[float, float, Counter[str]]:
    ids = [f"{run}-{i:03d}" for i in range(RUSH)]
    stack.members(ids)
    stack.activity(run)
    started = time.monotonic()
    with ThreadPoolExecutor(width) as pool:
        statuses = Counter(pool.map(lambda m: stack.sign_up(run, m), ids))
    answered = time.monotonic() - started
    stack.wait(lambda: stack.told(f"{run}-") >= RUSH)
    return answered, time.monotonic() - started, statuses


def rush_ratio() -> dict[str, float]:
    _cli("up", "--port", str(PORT), "--state-dir", str(STATE), "--fresh")
    try:
        stack = Stack()
        tag = datetime.now(UTC).strftime("%H%M%S")
        stack.members([f"warm{tag}-{i}" for i in range(8)])  # the API's workers start (not measured)
        stack.activity(f"warm{tag}")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: stack.sign_up(f"warm{tag}", f"warm{tag}-{i}"), range(8)))
        seq_answered, seq_settled, seq = _rush(stack, f"seq{tag}", 1)
        con_answered, con_settled, con = _rush(stack, f"con{tag}", RUSH)
    finally:
        _cli("down", "--port", str(PORT), "--state-dir", str(STATE))
    assert seq == con == Counter({"confirmed": 1, "waitlisted": RUSH - 1}), (seq, con)
    print(f"  {RUSH} sign-ups for 1 seat: 1 confirmed, {RUSH - 1} in line, both ways")
    print(
        f"  one after the other: answered in {seq_answered:.1f} s, settled (every member told) in {seq_settled:.1f} s"
    )
    print(f"  all at once:         answered in {con_answered:.1f} s, settled in {con_settled:.1f} s")
    ratio = con_settled / seq_settled
    answers = con_answered / seq_answered
    print(f"  time to settle, all at once ÷ one after the other: {ratio:.2f} (answered: {answers:.2f})")
    return {"settle_ratio": ratio, "answer_ratio": con_answered / seq_answered}


def run() -> None:
    print("Activities: the cost of a registration, and a rush for the last seat")
    for label, counts in requests_per_registration().items():
        detail = ", ".join(f"{op.split('.', 1)[1]} {n}" for op, n in sorted(counts.items()))
        print(f"  DynamoDB requests for {label}: {sum(counts.values())} ({detail})")
    rush_ratio()
