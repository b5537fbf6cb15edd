"""Lifecycle rules on the deployed stack, driven day by day with run-schedule (CONTRACT §5)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from memberpulse_cli.client import ApiClient
from memberpulse_cli.waiting import run_schedule, settle
from tests.e2e.conftest import ROOT, cli


def tick(stack: dict[str, Any], at: datetime, api: ApiClient, members: list[str]) -> dict[str, Any]:
    """Run the schedule at ``at`` as EventBridge would, then wait for what it set off: the timers it
    released have fired and the members' messages have left the send queue. (Replaying days ahead
    of the wall clock, the next tick must not start before this one's deferrals are written.)"""
    result = run_schedule(stack, at.isoformat(), wait=True)
    if result.get("due"):
        settle(api, members, quiet_for=0.3)
    return result


def triggers(messages: list[dict[str, Any]]) -> list[str]:
    return sorted(m["trigger"] for m in messages)


def post_order(api: ApiClient, member_id: str, order_id: str, purchased_at: datetime) -> None:
    at = purchased_at.isoformat().replace("+00:00", "Z")
    body = {"order_id": order_id, "purchased_at": at, "items": [{"sku": "X", "qty": 1, "price": 1}], "total": 1}
    api.ok("POST", f"/v1/members/{member_id}/orders", body)


def test_each_rule_fires_once_for_its_member_and_never_for_others(api: ApiClient, stack: dict[str, Any]) -> None:
    run = uuid.uuid4().hex[:8]
    today = datetime.now(UTC).date()
    birthday_soon = (today + timedelta(days=6)).replace(year=today.year - 3)
    api.ok(
        "PUT",
        f"/v1/products/PUZ-{run}",
        {"name": "拼图", "category": "puzzle", "age_min_months": 24, "age_max_months": 72, "in_stock": True},
    )
    kid = f"kid-{run}"
    plain = f"plain-{run}"
    api.ok(
        "PUT",
        f"/v1/members/{kid}",
        {
            "name": "有娃",
            "phone": "+8613700137000",
            "consent": {"marketing": True},
            "children": [{"name": "豆豆", "birthday": birthday_soon.isoformat(), "gender": "girl"}],
        },
    )
    api.ok("PUT", f"/v1/members/{plain}", {"name": "无娃", "phone": "+8613600136000", "consent": {"marketing": True}})
    settle(api, [kid, plain], expect_at_least=2)
    # Day by day for a week, at 10:30 Shanghai (02:30 UTC): the birthday (3 days before) fires once.
    start = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2, minutes=30)
    for day in range(1, 8):
        tick(stack, start + timedelta(days=day), api, [kid, plain])
    messages = {m: settle(api, [m]) for m in (kid, plain)}
    assert triggers(messages[kid]) == ["child_birthday", "welcome"]
    assert triggers(messages[plain]) == ["welcome"]
    birthday = next(m for m in messages[kid] if m["trigger"] == "child_birthday")
    assert "豆豆3岁" in birthday["text"] and "拼图" in birthday["text"]
    # Re-running a day adds nothing.
    tick(stack, start + timedelta(days=3), api, [kid, plain])
    tick(stack, start + timedelta(days=7), api, [kid, plain])
    assert triggers(settle(api, [kid])) == ["child_birthday", "welcome"]


def test_a_purchase_moves_the_wake_up_and_stale_history_sends_nothing(api: ApiClient, stack: dict[str, Any]) -> None:
    run = uuid.uuid4().hex[:8]
    member_id = f"buyer-{run}"
    now = datetime.now(UTC).replace(microsecond=0)
    api.ok(
        "PUT", f"/v1/members/{member_id}", {"name": "老顾客", "phone": "+8613500135000", "consent": {"marketing": True}}
    )
    # An order imported from 40 days ago: no "how is your new toy" now.
    post_order(api, member_id, "old-1", now - timedelta(days=40))
    settle(api, [member_id], expect_at_least=1)
    # A fresh purchase today: its care check comes 24 h later; the 45-day wake-up follows this one.
    post_order(api, member_id, "new-1", now)
    settle(api, [member_id], expect_at_least=1)
    tick(stack, now + timedelta(days=1, minutes=5), api, [member_id])
    # Five days before the old order's wake-up would have been: nothing; at the new one's: once.
    tick(stack, now + timedelta(days=6), api, [member_id])
    tick(stack, now + timedelta(days=45, hours=12), api, [member_id])
    tick(stack, now + timedelta(days=46, hours=12), api, [member_id])
    messages = settle(api, [member_id])
    assert triggers(messages) == ["dormant_45d", "post_purchase_care", "welcome"]
    care = next(m for m in messages if m["trigger"] == "post_purchase_care")
    assert care["status"] == "delivered"


def test_invoke_with_a_sample_event(stack_file: str) -> None:
    done = cli("invoke", "on_schedule", "--event", str(ROOT / "events" / "scheduled.json"), "--stack-file", stack_file)
    assert json.loads(done.stdout)["at"] == "2026-11-22T02:00:00Z"


def test_run_schedule_rejects_a_time_without_a_zone(stack_file: str) -> None:
    done = cli("run-schedule", "--at", "2026-11-22 10:00", "--stack-file", stack_file, check=False)
    assert done.returncode == 1
    assert "ISO 8601" in done.stderr and "Traceback" not in done.stderr


def test_run_schedule_wait_returns_when_the_released_work_has_landed(api: ApiClient, stack_file: str) -> None:
    member_id = f"waiter-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(microsecond=0)
    api.ok("PUT", f"/v1/members/{member_id}", {"name": "等等", "phone": "+8613500135001"})
    post_order(api, member_id, "w-1", now)
    settle(api, [member_id], expect_at_least=1)

    at = (now + timedelta(days=1, minutes=5)).isoformat()
    done = cli("run-schedule", "--at", at, "--wait", "--stack-file", stack_file)

    assert json.loads(done.stdout)["due"] >= 1
    # No polling: when --wait returns, the care check it released is written and out of the queue.
    [care] = [m for m in api.messages(member_id) if m["trigger"] == "post_purchase_care"]
    assert care["status"] in ("delivered", "deferred")
