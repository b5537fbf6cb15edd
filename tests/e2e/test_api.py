"""The HTTP API of CONTRACT §3 on the deployed local stack."""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from memberpulse_cli.client import ApiClient
from tests.e2e.conftest import cli
from tests.zones import daytime_zone


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for(api: ApiClient, member_id: str, done: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        messages = api.messages(member_id)
        if done(messages):
            return messages
        time.sleep(0.3)
    return messages


def test_health_needs_no_key(api: ApiClient) -> None:
    reply = api.call("GET", "/health", auth=False)
    assert (reply.status, reply.body) == (200, {"ok": True})


def test_v1_without_a_key_or_with_a_wrong_one_is_401(api: ApiClient) -> None:
    assert api.call("GET", "/v1/members/nobody", auth=False).status == 401
    wrong = api.call("GET", "/v1/members/nobody", auth=False, headers={"Authorization": "Bearer mp_wrong"})
    assert wrong.status == 401
    assert wrong.body["error"]["code"] == "unauthorized"


def test_bad_input_is_a_400_naming_the_field_never_a_5xx(api: ApiClient) -> None:
    member_id = new_id("bad")
    phone = api.call("PUT", f"/v1/members/{member_id}", {"phone": "12"})
    assert phone.status == 400 and "phone" in phone.body["error"]["fields"]
    day = api.call("PUT", f"/v1/members/{member_id}", {"children": [{"name": "A", "birthday": "2020-13-01"}]})
    assert day.status == 400 and "children[0].birthday" in day.body["error"]["fields"]
    broken = api.call("PUT", f"/v1/members/{member_id}", raw=b"{not json")
    assert broken.status == 400
    assert api.call("GET", f"/v1/members/{member_id}").status == 404
    bad_order = api.call("POST", f"/v1/members/{member_id}/orders", {"order_id": "x"})
    assert bad_order.status in (400, 404)


def test_a_new_member_gets_a_welcome_sent_within_seconds(api: ApiClient) -> None:
    latencies = []
    zone = daytime_zone()
    for i in range(5):
        member_id = new_id("welcome")
        started = time.monotonic()
        body = {"name": f"会员{i}", "phone": "13800138000", "timezone": zone}
        reply = api.call("PUT", f"/v1/members/{member_id}", body)
        assert reply.status == 201
        assert reply.body["phone"] == "+8613800138000"
        messages = wait_for(api, member_id, lambda ms: any(m["status"] in ("sent", "delivered") for m in ms))
        latencies.append(time.monotonic() - started)
        welcome = [m for m in messages if m["trigger"] == "welcome"]
        assert len(welcome) == 1
        assert welcome[0]["status"] in ("sent", "delivered")
        assert welcome[0]["channel"] == "sms" and welcome[0]["provider"] == "sandbox"
    print(
        f"\nwelcome latency PUT → sent: median {statistics.median(latencies):.2f}s, "
        f"all {[round(x, 2) for x in latencies]}"
    )


def test_orders_and_points_are_idempotent_on_their_ids(api: ApiClient) -> None:
    member_id = new_id("shopper")
    api.ok("PUT", f"/v1/members/{member_id}", {"name": "王", "phone": "+8613900139000"})
    order = {
        "order_id": "o-1",
        "purchased_at": "2026-11-22T03:00:00Z",
        "items": [{"sku": "SKU-1", "qty": 1, "price": 50}],
        "total": 50,
    }
    assert api.call("POST", f"/v1/members/{member_id}/orders", order).status == 201
    assert api.call("POST", f"/v1/members/{member_id}/orders", order).status == 200
    points = {"txn_id": "t-1", "delta": 50, "reason": "order", "expires_on": "2027-06-30"}
    assert api.call("POST", f"/v1/members/{member_id}/points", points).status == 201
    again = api.call("POST", f"/v1/members/{member_id}/points", points)
    assert again.status == 200 and again.body["balance"] == 50
    profile = api.ok("GET", f"/v1/members/{member_id}")
    assert profile["points"] == {"balance": 50, "expiring": [{"amount": 50, "expires_on": "2027-06-30"}]}
    assert profile["last_purchase_at"] == "2026-11-22T03:00:00Z"


def test_a_new_api_key_from_the_cli_works(api: ApiClient, stack_file: str) -> None:
    done = cli("keys", "create", "--label", "e2e", "--stack-file", stack_file)
    key = done.stdout.strip().splitlines()[-1]
    other = ApiClient(api.api_url, key)
    assert other.call("GET", "/v1/members/nobody-here").status == 404


def test_a_member_in_quiet_hours_is_deferred_to_the_next_opening_not_dropped(api: ApiClient) -> None:
    # Given a member whose local time is 02:00 (an Etc zone 11 hours from the daytime one)
    night = (13 - datetime.now(UTC).hour + 13) % 24
    offset = night - 24 if night > 14 else night
    zone = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    member_id = new_id("night")
    api.ok("PUT", f"/v1/members/{member_id}", {"name": "夜猫子", "phone": "13800138000", "timezone": zone})
    # Then the welcome waits with a reason and a send_after at the next 08:00–08:20 local
    messages = wait_for(api, member_id, lambda ms: any(m["status"] == "deferred" for m in ms))
    welcome = next(m for m in messages if m["trigger"] == "welcome")
    assert welcome["status"] == "deferred"
    assert welcome["reason"].startswith("quiet hours")
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(welcome["send_after"].replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute < 20) == (8, True)


def test_dead_letters_can_be_listed_and_redriven(stack_file: str, stack: dict[str, Any]) -> None:
    from memberpulse_cli.aws import Aws

    sqs = Aws(stack["endpoint_url"], stack["region"]).client("sqs")
    # Given a send intent for an unknown message sitting in the dead-letter queue
    sqs.send_message(QueueUrl=stack["queues"]["send_dlq"], MessageBody='{"message_id": "m-not-a-message"}')
    listed = cli("dlq", "list", "--stack-file", stack_file)
    assert "m-not-a-message" in listed.stdout
    # When it is redriven, it leaves the dead-letter queue for the send queue (where it is a no-op)
    moved = cli("dlq", "redrive", "--stack-file", stack_file)
    assert moved.stdout.startswith("1 messages moved")
    assert "m-not-a-message" not in cli("dlq", "list", "--stack-file", stack_file).stdout
