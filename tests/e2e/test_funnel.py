"""The funnel on the deployed local stack (CONTRACT §8): a member's welcome, then a purchase, show in
``GET /v1/analytics/funnel`` (targeted, sent, delivered, converted with its revenue); replaying the
messages stream's records into its function and replaying a schedule tick change no count."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from memberpulse_cli.aws import Aws
from memberpulse_cli.client import ApiClient
from tests.e2e.conftest import cli, stack_file  # noqa: F401 (the stack file fixture)
from tests.e2e.polling import wait_for
from tests.zones import daytime_zone


def steady(read: Callable[[], Any], quiet: float = 4.0, timeout: float = 120.0) -> Any:
    """``read()`` once it has answered the same for ``quiet`` seconds (in-flight receipts landed)."""
    deadline = time.monotonic() + timeout
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError("the funnel never settled")


def test_a_purchase_after_a_welcome_converts_it_and_replays_change_no_count(
    api: ApiClient,
    stack: dict[str, Any],
    stack_file: str,  # noqa: F811
) -> None:
    member_id = f"funnel-{uuid.uuid4().hex[:8]}"
    body = {"name": "漏斗会员", "phone": "13800138000", "timezone": daytime_zone()}
    assert api.call("PUT", f"/v1/members/{member_id}", body).status == 201
    [welcome] = wait_for(
        "the welcome delivered",
        lambda: [m for m in api.messages(member_id) if m["trigger"] == "welcome" and m["status"] == "delivered"],
    )
    order = {
        "order_id": f"o-{member_id}",
        "purchased_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "items": [{"sku": "BLOCKS-100", "qty": 1, "price": 128}],
        "total": 128,
    }
    assert api.call("POST", f"/v1/members/{member_id}/orders", order).status in (200, 201)

    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    query = urlencode({"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat(), "rule": "welcome"})

    def funnel() -> list[dict[str, Any]]:
        reply = api.call("GET", f"/v1/analytics/funnel?{query}")
        assert reply.status == 200, reply.body
        return list(reply.body)

    wait_for("the conversion counted", lambda: [r for r in funnel() if r["converted"] >= 1 and r["revenue"] >= 128])
    before = steady(funnel)
    [row] = before
    assert row["key"] == "welcome" and row["targeted"] >= row["sent"] >= row["delivered"] >= row["converted"] >= 1

    # The messages stream's records of this welcome, delivered again (as a shard replay would).
    aws = Aws(stack.get("endpoint_url"), stack.get("region"))
    item = aws.client("dynamodb").get_item(
        TableName=stack["tables"]["messages"], Key={"message_id": {"S": welcome["message_id"]}}, ConsistentRead=True
    )["Item"]
    records = [
        {
            "eventID": f"replay-{n}",
            "eventName": name,
            "eventSource": "aws:dynamodb",
            "awsRegion": stack.get("region") or "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": time.time(),
                "Keys": {"message_id": {"S": welcome["message_id"]}},
                **({"NewImage": item} if name == "INSERT" else {"OldImage": item, "NewImage": item}),
                "SequenceNumber": str(n + 1),
                "SizeBytes": 1,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/messages/stream/replay",
        }
        for n, name in enumerate(("INSERT", "MODIFY"))
    ]
    answer = aws.client("lambda").invoke(
        FunctionName=stack["functions"]["on_message_change"], Payload=json.dumps({"Records": records}).encode()
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    # A schedule tick, replayed.
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for _ in range(2):
        cli("run-schedule", "--at", at, "--wait", "--stack-file", stack_file)
    assert steady(funnel) == before
