"""Segments and campaigns on the deployed stack, through the public API (CONTRACT §7).

A segment's preview is exactly the hand-computed members (child ages crossing a birthday); a
launched campaign reaches each of them once (or records them as control) and nobody outside it,
respects consent, the frequency cap and quiet hours; replaying its schedule tick, or launching it
again, sends nothing more; arms are the pure function of (member, campaign)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.campaigns import CONTROL, arm_for, campaign_from_data
from chalicelib.domain.isotime import to_iso
from memberpulse_cli.client import ApiClient
from memberpulse_cli.waiting import run_schedule, settle
from tests.e2e.polling import wait_for
from tests.zones import daytime_zone as day_zone
from tests.zones import quiet_zone

SHANGHAI = ZoneInfo("Asia/Shanghai")


def campaign_messages(api: ApiClient, member_id: str, campaign_id: str) -> list[dict[str, Any]]:
    return [m for m in api.messages(member_id) if m.get("campaign_id") == campaign_id]


def launch_and_plan(api: ApiClient, campaign_id: str) -> dict[str, Any]:
    api.ok("POST", f"/v1/campaigns/{campaign_id}/launch")
    return dict(
        wait_for("planning", lambda: (c := api.ok("GET", f"/v1/campaigns/{campaign_id}"))["status"] == "done" and c)
    )


def test_a_campaign_reaches_its_segment_once_and_nobody_else(api: ApiClient, stack: dict[str, Any]) -> None:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(day_zone(now))).date()
    tag = f"train-{run}"
    sunny, night = day_zone(now), quiet_zone(now)

    def years_ago(years: int, days: int = 0) -> str:
        return (today.replace(year=today.year - years) + timedelta(days=days)).isoformat()

    phones = iter(range(5000, 6000))  # the run's numbers: never a sandbox magic number (…000000N)
    prefix = int(run, 16) % 10**4

    def member(n: str, birthday: str | None, **extra: Any) -> str:
        mid = f"{n}-{run}"
        body: dict[str, Any] = {
            "name": n,
            "phone": f"+86139{prefix:04d}{next(phones):04d}",
            "timezone": sunny,
            "tags": [tag],
            "consent": {"sms": True, "im": True, "marketing": True},
            "children": [{"name": "乐乐", "birthday": birthday, "gender": "boy"}] if birthday else [],
        }
        body.update(extra)
        api.ok("PUT", f"/v1/members/{mid}", body)
        return mid

    turned = member("turned3", years_ago(3, -1))  # turned 3 yesterday: in
    turns = member("turns3", years_ago(3, 1))  # turns 3 tomorrow: out
    six = member("six", years_ago(6))  # 72 months today: in
    seven = member("seven", years_ago(7))  # out
    no_consent = member("noconsent", years_ago(4), consent={"sms": True, "im": True, "marketing": False})
    asleep = member("asleep", years_ago(4), timezone=night)
    capped = member("capped", years_ago(5))
    others = [member(f"kid{i}", years_ago(4, i)) for i in range(8)]
    untagged = f"untagged-{run}"
    api.ok(
        "PUT",
        f"/v1/members/{untagged}",
        {"name": "x", "phone": "+8613911112222", "children": [{"name": "y", "birthday": years_ago(4)}]},
    )
    everyone = [turned, turns, six, seven, no_consent, asleep, capped, *others, untagged]
    settle(api, everyone, expect_at_least=len(everyone))  # the welcomes

    segment = {
        "name": "3–6 岁 火车",
        "conditions": [
            {"field": "tags", "op": "contains", "value": tag},
            {"field": "child_age_months", "op": "between", "value": [36, 72]},
        ],
    }
    api.ok("PUT", f"/v1/segments/parents-{run}", segment)
    expected = {turned, six, no_consent, asleep, capped, *others}
    preview = api.ok("GET", f"/v1/segments/parents-{run}/preview")
    assert preview["count"] == len(expected)
    assert preview["sample"] == sorted(expected)

    # Two marketing messages this week fill the capped member's weekly cap (2).
    api.ok(
        "PUT", f"/v1/segments/cap-{run}", {"conditions": [{"field": "tags", "op": "contains", "value": f"cap-{run}"}]}
    )
    api.ok("PUT", f"/v1/members/{capped}", {"tags": [tag, f"cap-{run}"]})
    for n in (1, 2):
        api.ok(
            "PUT",
            f"/v1/campaigns/warm{n}-{run}",
            {
                "name": f"warm-up {n}",
                "segment_id": f"cap-{run}",
                "channels": ["sms"],
                "send_at": to_iso(now),
                "variants": [{"id": "only", "templates": {"zh-CN": f"第{n}条消息"}}],
            },
        )
        launch_and_plan(api, f"warm{n}-{run}")
    wait_for(
        "the warm-ups sent",
        lambda: len([m for m in api.messages(capped) if m["status"] in ("sent", "delivered")]) >= 2 + 1,
    )

    body = {
        "name": "新火车到店",
        "segment_id": f"parents-{run}",
        "channels": ["sms"],
        "send_at": to_iso(now),
        "holdout_percent": 20,
        "variants": [
            {"id": "a", "weight": 1, "templates": {"zh-CN": "{{ member.name }}，新火车到店啦！"}},
            {"id": "b", "weight": 1, "templates": {"zh-CN": "小火车开进乐乐玩具，周末来试玩！"}},
        ],
    }
    cid = f"train-{run}"
    assert api.call("PUT", f"/v1/campaigns/{cid}", body).status == 201
    shown = launch_and_plan(api, cid)
    latecomer = member("late", years_ago(4))  # joins after the launch: not in the frozen audience
    settle(api, [*everyone, latecomer], quiet_for=3)
    campaign = campaign_from_data({**shown, "variants": body["variants"]})

    for mid in [*everyone, latecomer]:
        mine = campaign_messages(api, mid, cid)
        if mid not in expected:
            assert mine == [], mid
            continue
        assert len(mine) == 1, (mid, mine)
        message = mine[0]
        assert message["trigger"] == "campaign" and message["variant"] == arm_for(mid, campaign)
        if message["variant"] == CONTROL:
            assert message["status"] == "control"
        elif mid == no_consent:
            assert message["status"] == "suppressed" and "marketing consent" in message["reason"]
        elif mid == asleep:
            assert message["status"] == "deferred" and "quiet hours" in message["reason"]
        elif mid == capped:
            assert message["status"] in ("deferred", "capped") and "frequency cap" in message["reason"]
        else:
            assert message["status"] in ("sent", "delivered"), message

    # Replays: the tick again (twice), another launch: nothing new.
    before = {mid: api.messages(mid) for mid in expected}
    for _ in range(2):
        run_schedule(stack, to_iso(now + timedelta(seconds=30)), wait=True)
    assert api.call("POST", f"/v1/campaigns/{cid}/launch").status == 409
    settle(api, sorted(expected), quiet_for=2)
    after = {mid: api.messages(mid) for mid in expected}
    assert {m: len(v) for m, v in after.items()} == {m: len(v) for m, v in before.items()}

    # The counters (fed from the messages stream) add up to the audience, per arm.
    def counted() -> dict[str, Any] | None:
        got = api.ok("GET", f"/v1/campaigns/{cid}")
        return got if got["audience"] == len(expected) else None

    progress = wait_for("the counters", counted)["progress"]
    arms = [campaign_messages(api, mid, cid)[0]["variant"] for mid in expected]
    for arm in ("a", "b", CONTROL):
        assert progress[arm]["members"] == arms.count(arm)
    results = api.ok("GET", f"/v1/campaigns/{cid}/results")
    assert results["arms"]["a"]["underpowered"] is True
