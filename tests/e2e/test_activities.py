"""Store activities on the deployed local stack (issue 10 "Done when"), through the public API, the
activities table's stream, the timers (``run-schedule``) and the sandbox webhook."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.isotime import to_iso
from memberpulse_cli.client import ApiClient
from memberpulse_cli.inbound import sandbox_reply
from memberpulse_cli.waiting import run_schedule, settle

SHANGHAI = ZoneInfo("Asia/Shanghai")


def wait_for(check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(0.5)
        value = check()
    return value


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def members(api: ApiClient, prefix: str, count: int, with_phone: bool = False) -> list[str]:
    ids = [f"{prefix}-{i:03d}" for i in range(count)]

    def put(pair: tuple[int, str]) -> None:
        i, member_id = pair
        body: dict[str, Any] = {"name": f"会员{i}"}
        if with_phone:
            body["phone"] = f"+86137{int(prefix[-6:], 16) % 10000:04d}{i:04d}"
        api.ok("PUT", f"/v1/members/{member_id}", body)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, enumerate(ids)))
    return ids


def activity(starts: datetime, hours: float = 2, **fields: Any) -> dict[str, Any]:
    local = starts.astimezone(SHANGHAI)
    return {
        "title": "周六积木大赛",
        "starts_at": local.isoformat(),
        "ends_at": (local + timedelta(hours=hours)).isoformat(),
        "location": "乐乐玩具万象城店",
        "capacity": 1,
        **fields,
    }


def day_after_tomorrow_at_15() -> datetime:
    day = (datetime.now(UTC).astimezone(SHANGHAI) + timedelta(days=2)).date()
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=SHANGHAI).astimezone(UTC)


def triggers(api: ApiClient, member_id: str, rule: str) -> list[dict[str, Any]]:
    return [m for m in api.messages(member_id) if m["trigger"] == rule]


def test_two_hundred_concurrent_sign_ups_for_one_seat(api: ApiClient) -> None:
    run = run_id()
    ids = members(api, f"rush-{run}", 200)
    api.ok("PUT", f"/v1/activities/rush-{run}", activity(day_after_tomorrow_at_15()))

    def sign_up(member_id: str) -> dict[str, Any]:
        return dict(api.ok("POST", f"/v1/activities/rush-{run}/registrations", {"member_id": member_id}))

    with ThreadPoolExecutor(200) as pool:
        answers = {a["member_id"]: a for a in pool.map(sign_up, ids)}

    statuses = [a["status"] for a in answers.values()]
    assert statuses.count("confirmed") == 1 and statuses.count("waitlisted") == 199
    assert sorted(a["position"] for a in answers.values() if a["status"] == "waitlisted") == list(range(1, 200))
    rows = api.ok("GET", f"/v1/activities/rush-{run}/registrations")
    line = [r for r in rows if r["status"] == "waitlisted"]
    assert [r["position"] for r in line] == list(range(1, 200))
    assert [r["arrival"] for r in line] == sorted(r["arrival"] for r in line), "the line is in arrival order"
    [seat] = [r for r in rows if r["status"] == "confirmed"]
    assert seat["arrival"] < line[0]["arrival"], "the seat went to the first to arrive"
    assert all(answers[r["member_id"]]["position"] == r["position"] for r in line)
    counts = api.ok("GET", f"/v1/activities/rush-{run}")["counts"]
    assert (counts["confirmed"], counts["waitlisted"]) == (1, 199)
    # again, all at once: nobody gets a second place or loses theirs
    with ThreadPoolExecutor(50) as pool:
        again = list(pool.map(sign_up, ids[:50]))
    assert all(a == answers[a["member_id"]] | {"registered_at": a["registered_at"]} for a in again)
    # the seat frees: position 1 moves up, everyone else one place forward
    first = line[0]["member_id"]
    assert api.call("DELETE", f"/v1/activities/rush-{run}/registrations/{seat['member_id']}").status == 204
    rows = {r["member_id"]: r for r in api.ok("GET", f"/v1/activities/rush-{run}/registrations")}
    assert rows[first]["status"] == "confirmed" and rows[line[1]["member_id"]]["position"] == 1


def test_an_offer_passes_on_when_its_claim_window_closes(api: ApiClient, stack: dict[str, Any]) -> None:
    run = run_id()
    a, b, c = members(api, f"offer-{run}", 3)
    body = activity(day_after_tomorrow_at_15(), waitlist={"mode": "offer", "claim_minutes": 30})
    api.ok("PUT", f"/v1/activities/offer-{run}", body)
    for member_id in (a, b, c):
        api.ok("POST", f"/v1/activities/offer-{run}/registrations", {"member_id": member_id})
    api.call("DELETE", f"/v1/activities/offer-{run}/registrations/{a}")
    rows = {r["member_id"]: r for r in api.ok("GET", f"/v1/activities/offer-{run}/registrations")}
    assert rows[b]["status"] == "offered" and rows[c]["position"] == 1
    deadline = datetime.fromisoformat(rows[b]["offer_expires_at"].replace("Z", "+00:00"))
    assert wait_for(lambda: triggers(api, b, "activity_offer"))
    # the offer's deadline timer is written from the stream: wait for it, then let the time pass
    assert wait_for(lambda: _pending_timer(stack, b, f"offer_expiry#offer-{run}"))
    run_schedule(stack, to_iso(deadline + timedelta(minutes=1)), wait=True, timeout=300)
    rows = {r["member_id"]: r for r in api.ok("GET", f"/v1/activities/offer-{run}/registrations")}
    assert rows[b]["status"] == "cancelled" and rows[c]["status"] == "offered"


def _pending_timer(stack: dict[str, Any], member_id: str, key: str) -> bool:
    from memberpulse_cli.aws import Aws

    client = Aws(stack.get("endpoint_url"), stack.get("region")).client("dynamodb")
    item = client.get_item(
        TableName=stack["tables"]["timers"], Key={"member_id": {"S": member_id}, "key": {"S": key}}, ConsistentRead=True
    ).get("Item")
    return bool(item and item.get("status", {}).get("S") == "pending")


def test_from_reminders_to_feedback(api: ApiClient, stack: dict[str, Any]) -> None:
    """Reminders at both offsets for confirmed members only; after the end attendees are asked for
    feedback and the no-show is missed; a rating reply shows in the feedback list."""
    run = run_id()
    came, missed, waiting = members(api, f"day-{run}", 3, with_phone=True)
    starts = day_after_tomorrow_at_15()
    api.ok("PUT", f"/v1/activities/day-{run}", activity(starts, capacity=2))
    for member_id in (came, missed, waiting):
        api.ok("POST", f"/v1/activities/day-{run}/registrations", {"member_id": member_id})
    for member_id in (came, missed):  # their timers come from the stream
        assert wait_for(lambda m=member_id: _pending_timer(stack, m, f"activity_reminder#day-{run}#60"))
    # welcomes and answers on their way first (the local send queue hands out batches slowly)
    settle(api, [came, missed, waiting], expect_at_least=6, timeout=300)
    run_schedule(stack, to_iso(starts - timedelta(days=1) + timedelta(minutes=1)), wait=True, timeout=300)
    run_schedule(stack, to_iso(starts - timedelta(hours=1) + timedelta(minutes=1)), wait=True, timeout=300)
    for member_id in (came, missed):
        assert wait_for(lambda m=member_id: len(triggers(api, m, "activity_reminder")) == 2)
    assert triggers(api, waiting, "activity_reminder") == []
    phone = api.ok("GET", f"/v1/members/{came}")["phone"]
    assert api.ok("POST", f"/v1/activities/day-{run}/checkins", {"member_id": came})["checked_in_at"]
    run_schedule(stack, to_iso(starts + timedelta(hours=2, minutes=61)), wait=True, timeout=300)
    assert wait_for(lambda: triggers(api, came, "activity_feedback"))
    assert wait_for(lambda: triggers(api, missed, "activity_missed"))
    assert triggers(api, came, "activity_missed") == [] and triggers(api, missed, "activity_feedback") == []
    answered_at = starts + timedelta(hours=3, minutes=5)
    event_id = f"fb-{run}"
    for _ in range(3):  # as a provider does, the same event again after a 5xx (acted on once)
        _, answer = sandbox_reply(stack, phone, "5 太好玩了", event_id=event_id, at=to_iso(answered_at))
        if answer.status < 500:
            break
    assert answer.status == 200
    said = wait_for(lambda: api.ok("GET", f"/v1/activities/day-{run}/feedback"))
    assert said == [{"member_id": came, "rating": 5, "text": "太好玩了", "at": said[0]["at"]}]
    details = api.ok("GET", f"/v1/activities/day-{run}")
    assert details["counts"]["checked_in"] == 1


def test_moving_the_start_tells_each_registered_member_once_and_moves_their_reminders(
    api: ApiClient, stack: dict[str, Any]
) -> None:
    run = run_id()
    ids = members(api, f"move-{run}", 3, with_phone=True)
    starts = day_after_tomorrow_at_15()
    api.ok("PUT", f"/v1/activities/move-{run}", activity(starts, capacity=2))
    for member_id in ids:
        api.ok("POST", f"/v1/activities/move-{run}/registrations", {"member_id": member_id})
    later = starts + timedelta(hours=1)
    moved = {"starts_at": later.astimezone(SHANGHAI).isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()}
    api.ok("PUT", f"/v1/activities/move-{run}", moved)
    api.ok("PUT", f"/v1/activities/move-{run}", moved)  # the same again: nothing new to tell
    for member_id in ids:
        [told] = wait_for(lambda m=member_id: triggers(api, m, "activity_changed"))
        assert "16:00" in told["text"]
    hour_before = later - timedelta(hours=1)
    for member_id in ids[:2]:
        assert wait_for(lambda m=member_id: _timer_due(stack, m, f"activity_reminder#move-{run}#60") == hour_before)
    assert all(len(triggers(api, m, "activity_changed")) == 1 for m in ids)


def _timer_due(stack: dict[str, Any], member_id: str, key: str) -> datetime | None:
    from memberpulse_cli.aws import Aws

    client = Aws(stack.get("endpoint_url"), stack.get("region")).client("dynamodb")
    item = client.get_item(
        TableName=stack["tables"]["timers"], Key={"member_id": {"S": member_id}, "key": {"S": key}}, ConsistentRead=True
    ).get("Item")
    if not item or item.get("status", {}).get("S") != "pending":
        return None
    return datetime.fromisoformat(item["due_at"]["S"].replace("Z", "+00:00"))


def test_bad_input_is_a_4xx_naming_the_field_and_nothing_half_written(api: ApiClient) -> None:
    run = run_id()
    [member_id] = members(api, f"bad-{run}", 1)
    starts = day_after_tomorrow_at_15()
    cases = [
        ({**activity(starts), "capacity": 0}, "capacity"),
        ({**activity(starts), "ends_at": (starts - timedelta(hours=1)).isoformat()}, "ends_at"),
    ]
    for body, field in cases:
        reply = api.call("PUT", f"/v1/activities/bad-{run}", body)
        assert reply.status == 400 and field in reply.body["error"]["fields"]
    assert api.call("GET", f"/v1/activities/bad-{run}").status == 404
    api.ok("PUT", f"/v1/activities/bad-{run}", activity(starts))
    reply = api.call("POST", f"/v1/activities/bad-{run}/registrations", {"member_id": f"nobody-{run}"})
    assert reply.status == 400 and "member_id" in reply.body["error"]["fields"]
    api.ok("PUT", f"/v1/activities/bad-{run}", {"status": "cancelled"})
    reply = api.call("POST", f"/v1/activities/bad-{run}/registrations", {"member_id": member_id})
    assert reply.status == 409 and "status" in reply.body["error"]["fields"]
    assert api.ok("GET", f"/v1/activities/bad-{run}/registrations") == []
