"""``make demo``: a day (and the weeks after it) in a toy store, on the local stack.

Everything goes through the public API, the streams, the queues and the deployed functions; time
after the first day is driven with ``run-schedule`` (CONTRACT §5), as EventBridge would."""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.isotime import parse_iso, to_iso

from .client import ApiClient
from .project import CliError
from .stackinfo import read_stack_file
from .waiting import run_schedule, settle

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

PRODUCTS: dict[str, dict[str, Any]] = {
    "PUZ-DINO-1": {
        "name": "恐龙拼图·第1辑",
        "category": "puzzle",
        "age_min_months": 36,
        "age_max_months": 72,
        "price": 59,
        "tags": ["dinosaur"],
    },
    "PUZ-DINO-2": {
        "name": "恐龙拼图·第2辑",
        "category": "puzzle",
        "age_min_months": 48,
        "age_max_months": 96,
        "price": 69,
        "tags": ["dinosaur"],
    },
    "DOLL-BEAR": {"name": "小熊娃娃", "category": "doll", "age_min_months": 24, "age_max_months": 72, "price": 99},
    "DOLL-BEAR-DRESS": {
        "name": "小熊换装套",
        "category": "doll_accessory",
        "accessory_of": ["doll"],
        "age_min_months": 24,
        "price": 39,
    },
    "BLOCKS-100": {
        "name": "百变积木桶",
        "category": "blocks",
        "age_min_months": 36,
        "age_max_months": 120,
        "price": 129,
        "tags": ["blocks"],
    },
}


def _line(text: str = "") -> None:
    print(text, flush=True)


def _members(today: date) -> dict[str, dict[str, Any]]:
    soon = today + timedelta(days=5)
    later = today + timedelta(days=20)
    return {
        "m-wang": {
            "name": "王小明",
            "phone": "138 0013 8000",
            "locale": "zh-CN",
            "tier": "regular",
            "consent": {"sms": True, "im": True, "marketing": True},
            "tags": ["dinosaur"],
            "children": [{"name": "乐乐", "birthday": soon.replace(year=soon.year - 4).isoformat(), "gender": "boy"}],
        },
        "m-emily": {
            "name": "Emily",
            "phone": "+1 415 555 0132",
            "locale": "en",
            "timezone": "America/Los_Angeles",
            "consent": {"sms": True, "marketing": True},
            "children": [{"name": "Mia", "birthday": later.replace(year=later.year - 6).isoformat(), "gender": "girl"}],
        },
        "m-chen": {
            "name": "陳美玲",
            "phone": "+886 912 345 678",
            "locale": "zh-TW",
            "timezone": "Asia/Taipei",
            "im_user_id": "agora_chen",
            "consent": {"sms": True, "im": True, "marketing": False},
        },
    }


def run_demo(stack_file: Path) -> int:
    stack = read_stack_file(stack_file)
    api = ApiClient(stack["api_url"], stack["api_key"])
    ids = list(_members(date.today()).keys())

    _line("MemberPulse demo: a day in a toy store\n")
    _line("1. The catalog")
    for sku, product in PRODUCTS.items():
        api.ok("PUT", f"/v1/products/{sku}", {**product, "in_stock": True})
        _line(f"   {sku:16} {product['name']}")

    start = datetime.now(UTC)
    today = start.astimezone(SHANGHAI).date()
    members = _members(today)
    _line("\n2. Members join")
    for member_id, body in members.items():
        api.ok("PUT", f"/v1/members/{member_id}", body)
        _line(f"   {member_id:8} {body['name']} ({body['locale']}, {body.get('timezone', 'store zone')})")

    _line("\n3. They shop: orders, points, a coupon, a tier upgrade")
    bought = to_iso(start - timedelta(minutes=5))
    orders = {"m-wang": ["DOLL-BEAR", "PUZ-DINO-1"], "m-emily": ["BLOCKS-100"], "m-chen": ["PUZ-DINO-1"]}
    for member_id, skus in orders.items():
        items = [{"sku": s, "qty": 1, "price": PRODUCTS[s]["price"]} for s in skus]
        total = sum(i["price"] for i in items)
        api.ok(
            "POST",
            f"/v1/members/{member_id}/orders",
            {"order_id": f"o-{member_id}-1", "purchased_at": bought, "items": items, "total": total},
        )
        api.ok(
            "POST",
            f"/v1/members/{member_id}/points",
            {
                "txn_id": f"p-{member_id}-1",
                "delta": int(total),
                "reason": "purchase",
                "expires_on": (today + timedelta(days=30)).isoformat(),
            },
        )
        _line(f"   {member_id:8} bought {', '.join(skus)} and earned {int(total)} points")
    api.ok(
        "POST",
        "/v1/members/m-wang/coupons",
        {
            "coupon_id": "c-wang-1",
            "title": "满100减20券",
            "value": 20,
            "expires_on": (today + timedelta(days=10)).isoformat(),
        },
    )
    api.ok("PUT", "/v1/members/m-wang", {"tier": "gold"})
    _line("   m-wang   got a coupon and moved up to gold")
    messages = settle(api, ids, expect_at_least=11)
    _print(messages)

    _line("\n4. The weeks after: the schedule, replayed day by day (memberpulse run-schedule --at …)")
    api.ok(
        "POST",
        "/v1/members/m-chen/orders",
        {
            "order_id": "o-m-chen-2",
            "purchased_at": to_iso(start + timedelta(hours=20)),  # no later than a day ahead
            "items": [{"sku": "PUZ-DINO-2", "qty": 1, "price": 69}],
            "total": 69,
        },
    )
    _line("   (m-chen comes back the next day: that moves her 45-day wake-up)")
    seen = {m["message_id"] for m in messages}
    for day in (1, 2, 3, 7, 10, 14, 15, 17, 27, 46, 56):
        for at in _ticks(start, day):
            if at <= start:
                continue
            run_schedule(stack, to_iso(at), wait=True)  # ahead of the wall clock: let each tick land first
        messages = settle(api, ids, quiet_for=1.5)
        new = [m for m in messages if m["message_id"] not in seen]
        if new:
            _line(f"\n   day {day:>2} ({(start + timedelta(days=day)).date()}):")
            _print(new, indent="   ")
            seen |= {m["message_id"] for m in new}

    messages = _reply_stop(stack, api, ids, start, seen)
    from .demo_activities import run_contest

    contest = run_contest(stack, api, _line, _print)
    messages = settle(api, ids + contest, quiet_for=1.5)
    _summary(api, messages)
    _campaign(stack, api)
    _line(f"\nThe stack is still up. API: {stack['api_url']}")
    _line(f"  curl -H 'Authorization: Bearer {stack['api_key']}' {stack['api_url']}/v1/members/m-wang/messages")
    _line("  .venv/bin/memberpulse run-schedule --at 2027-01-01T02:00:00Z --wait   # replay any moment")
    _line("  make down                                                             # stop it")
    ok = any(m["trigger"] == "welcome" and m["status"] in ("sent", "delivered") for m in messages)
    return 0 if ok else 1


def _reply_stop(
    stack: dict[str, Any], api: ApiClient, ids: list[str], start: datetime, seen: set[str]
) -> list[dict[str, Any]]:
    """m-wang answers "T": SMS consent off, one confirmation, and the marketing after it suppressed."""
    from .inbound import sandbox_reply

    _line('\n   m-wang replies "T" by SMS (memberpulse reply --from +8613800138000 T):')
    _, answer = sandbox_reply(stack, "+8613800138000", "T", event_id=f"demo-wang-T-{start:%Y%m%d%H%M%S}")
    _line(f"      webhook answered {answer.status}")
    messages = settle(api, ids, expect_at_least=len(seen) + 1, quiet_for=1.5)
    new = [m for m in messages if m["message_id"] not in seen]
    _print(new, indent="   ")
    seen |= {m["message_id"] for m in new}
    consent = api.ok("GET", "/v1/members/m-wang")["consent"]
    _line(f"      m-wang consent now: sms={consent['sms']} im={consent['im']}")
    day = 90
    for at in _ticks(start, day):
        run_schedule(stack, to_iso(at), wait=True)
    messages = settle(api, ids, quiet_for=1.5)
    new = [m for m in messages if m["message_id"] not in seen]
    if new:
        _line(f"\n   day {day} ({(start + timedelta(days=day)).date()}): later marketing, after the opt-out")
        _print(new, indent="   ")
    return messages


def _ticks(start: datetime, day: int) -> list[datetime]:
    """10:30 in Shanghai and in Los Angeles on that day: when the date-based rules fall due."""
    d = (start + timedelta(days=day)).astimezone(SHANGHAI).date()
    return sorted(
        {
            datetime(d.year, d.month, d.day, 10, 30, tzinfo=SHANGHAI).astimezone(UTC),
            datetime(d.year, d.month, d.day, 10, 30, tzinfo=LOS_ANGELES).astimezone(UTC),
        }
    )


def _print(messages: list[dict[str, Any]], indent: str = "") -> None:
    for m in sorted(messages, key=lambda m: (m["created_at"], m["member_id"], m["trigger"])):
        when = parse_iso(m["created_at"]).strftime("%m-%d %H:%M")
        extra = f" ({m['reason']})" if m.get("reason") else ""
        _line(
            f"{indent}   {when}Z {m['trigger']:<19} {m['channel']:<3} {m['member_id']:<8} "
            f"{m['status']:<10}{extra}\n{indent}      {m['text']}"
        )


def _summary(api: ApiClient, messages: list[dict[str, Any]]) -> None:
    """The funnel per rule, as ``memberpulse report`` and the console show it: the counters the
    messages stream keeps (GET /v1/analytics/funnel), once they have caught up with the messages."""
    from .campaigns import wide_console
    from .report import funnel, funnel_table, reasons

    first = min(parse_iso(m["created_at"]) for m in messages).astimezone(SHANGHAI).date()
    last = max(parse_iso(m["created_at"]) for m in messages).astimezone(SHANGHAI).date()
    params = {"from": first.isoformat(), "to": last.isoformat(), "group_by": "rule"}
    targeted = sum(1 for m in messages if not (m.get("reason") or "").startswith("instead of IM"))
    sent = sum(1 for m in messages if m["status"] in ("sent", "delivered", "read") or m.get("sent_at"))
    deadline = time.monotonic() + 60
    rows = funnel(api, params)
    while time.monotonic() < deadline:
        counted = (sum(r["targeted"] for r in rows), sum(r["sent"] for r in rows))
        if counted >= (targeted, sent):
            break
        time.sleep(1.0)
        rows = funnel(api, params)
    _line(
        f"\n7. What worked, per rule: the funnel of the messages planned {first} … {last}"
        f"\n   (memberpulse report --from {first} --to {last}; the console's 什么有效 page shows the same)"
    )
    wide_console().print(funnel_table(rows, "rule", ""))
    why = reasons(rows)
    if why:
        _line(f"   suppressed by reason: {why}")
    converted = [r["key"] for r in rows if r["converted"]]
    if converted:
        _line(f"   purchases within 72 h of a message converted it: {', '.join(converted)}")


# -- 6. a campaign ------------------------------------------------------------------------------------

PARENTS = 14  # a small store's parents of 3–6-year-olds (besides the members above)


def _train_campaign(now: datetime, today: date) -> dict[str, Any]:
    week = to_iso(now + timedelta(days=7))
    return {
        "name": "新火车到店",
        "segment_id": "parents-3-6",
        "channels": ["sms"],
        "send_at": to_iso(now),
        "holdout_percent": 20,
        "conversion_window_hours": 168,
        "variants": [
            {
                "id": "a",
                "weight": 1,
                "templates": {
                    "zh-CN": "{{ member.name | default: '您好' }}，新款小火车到店啦！回复“团圆”领20元券。",
                    "en": "New train sets are in! Reply 团圆 for a coupon.",
                },
            },
            {
                "id": "b",
                "weight": 1,
                "templates": {
                    "zh-CN": "小火车开进{{ store.name }}：周末带孩子来试玩，回复1选恐龙、2选火车做下月比赛主题。",
                    "en": "Trains at {{ store.name }}: come and play. Reply 1 (dinos) or 2 (trains) to vote.",
                },
            },
        ],
        "poll": {"options": {"1": "恐龙主题", "2": "火车主题"}, "closes_at": week},
        "reply_keyword": {
            "keyword": "团圆",
            "expires_at": week,
            "action": {
                "coupon": {"title": "团圆券", "value": 20, "expires_on": (today + timedelta(days=30)).isoformat()}
            },
        },
    }


def _campaign(stack: dict[str, Any], api: ApiClient) -> None:
    """A new-train announcement to parents of 3–6-year-olds: two wordings, a 20 % holdout, a poll
    and a 团圆 coupon keyword; then a few purchases and the results with their verdict."""
    from .campaigns import follow, results_table, show_table, wide_console, wordings

    console = wide_console()
    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    _line("\n8. A campaign: new train sets, to parents of 3–6-year-olds (memberpulse campaigns …)")
    for i in range(PARENTS):
        born = today.replace(year=today.year - 3 - i % 4) - timedelta(days=17 * i)
        api.ok(
            "PUT",
            f"/v1/members/m-parent{i:02d}",
            {
                "name": f"家长{i + 1}",
                "phone": f"+86137{5000 + i:04d}{i:04d}",
                "consent": {"sms": True, "marketing": True},
                "children": [{"name": "宝宝", "birthday": born.isoformat(), "gender": "boy" if i % 2 else "girl"}],
            },
        )
    api.ok(
        "PUT",
        "/v1/segments/parents-3-6",
        {"name": "3–6岁孩子的家长", "conditions": [{"field": "child_age_months", "op": "between", "value": [36, 72]}]},
    )
    preview = api.ok("GET", "/v1/segments/parents-3-6/preview")
    _line(f"   segment parents-3-6: {preview['count']} members (memberpulse segments preview parents-3-6)")
    body = _train_campaign(now, today)
    campaign_id = f"train-{now:%Y%m%d%H%M%S}"
    api.ok("PUT", f"/v1/campaigns/{campaign_id}", body)
    api.ok("POST", f"/v1/campaigns/{campaign_id}/launch")
    _line(f"   launched {campaign_id} (memberpulse campaigns launch {campaign_id}):")
    shown = follow(api, campaign_id, console, timeout=180)
    show_table(shown, console)
    _campaign_replies(stack, api, campaign_id)
    # A few of them come and buy: conversions in the window, per arm.
    bought = 0
    for i in range(PARENTS):
        mine = [m for m in api.messages(f"m-parent{i:02d}") if m.get("campaign_id") == campaign_id]
        if mine and (mine[0]["status"] in ("sent", "delivered", "control")) and i % 3 == 0:
            api.ok(
                "POST",
                f"/v1/members/m-parent{i:02d}/orders",
                {
                    "order_id": f"o-{campaign_id}-{i}",
                    "purchased_at": to_iso(datetime.now(UTC)),
                    "items": [{"sku": "BLOCKS-100", "qty": 1, "price": 129}],
                    "total": 129,
                },
            )
            bought += 1
    _line(f"   {bought} of them bought something within the conversion window")
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    results = api.ok("GET", f"/v1/campaigns/{campaign_id}/results")
    while sum(a["converted"] for a in results["arms"].values()) < bought and datetime.now(UTC) < deadline:
        import time

        time.sleep(1)
        results = api.ok("GET", f"/v1/campaigns/{campaign_id}/results")
    _line(f"   results (memberpulse campaigns results {campaign_id}):")
    results_table(results, wordings(api.ok("GET", f"/v1/campaigns/{campaign_id}")), console)
    verdicts = [arm for arm, row in results["arms"].items() if arm != "control" and row["underpowered"]]
    if verdicts:
        need = max(results["arms"][a].get("required_per_arm") or 0 for a in verdicts)
        more = f" about {need} members per arm would be needed to tell" if need else " no difference is visible yet"
        _line(f"   verdict: underpowered ({', '.join(verdicts)}): {preview['count']} members cannot tell the wordings")
        _line(f"   apart;{more}.")


def _campaign_replies(stack: dict[str, Any], api: ApiClient, campaign_id: str) -> None:
    """The keyword and the poll, answered by members: each reply goes through the reply chain
    (``services/inbound.py``): a vote is the member's open context (``CampaignReplies.try_vote``), 团圆
    the campaign's keyword (``try_keyword``), acted on once however often it is sent."""
    import time

    from .inbound import sandbox_reply

    voters = [f"m-parent{i:02d}" for i in range(PARENTS)]
    reached = [
        mid
        for mid in voters
        if any(m.get("campaign_id") == campaign_id and m["status"] in ("sent", "delivered") for m in api.messages(mid))
    ]
    if not reached:
        return
    first = reached[0]
    phone = api.ok("GET", f"/v1/members/{first}")["phone"]
    _line(f"   {first} replies 团圆 twice, then votes 2 (memberpulse reply --from {phone} 团圆):")
    for n, text in enumerate(("团圆", "团圆", "2")):
        sandbox_reply(stack, phone, text, event_id=f"demo-{campaign_id}-{n}")
    for other, text in zip(reached[1:4], ("1", "2", "2"), strict=False):
        sandbox_reply(
            stack, api.ok("GET", f"/v1/members/{other}")["phone"], text, event_id=f"demo-{campaign_id}-{other}"
        )
    deadline = time.monotonic() + 20
    coupons = []
    poll: dict[str, Any] = {}
    while time.monotonic() < deadline:
        poll = api.ok("GET", f"/v1/campaigns/{campaign_id}/poll")
        coupons = [m for m in api.messages(first) if m["trigger"] == "coupon_issued"]
        if poll["voters"] and coupons:
            break
        time.sleep(1)
    if not poll.get("voters") or not coupons:
        raise CliError(
            f"the campaign replies were not acted on within 20 s (poll voters {poll.get('voters', 0)}, "
            f"coupons {len(coupons)}): see the OnInbound function's log in .local/ministack.log"
        )
    tally = ", ".join(f"{k}. {v['label']}: {v['votes']}" for k, v in poll["options"].items())
    _line(f"      coupons issued to {first}: {len(coupons)} (however often 团圆 is sent)")
    _line(f"      poll: {tally}; voters {poll['voters']} (one vote each, the last one counts)")


if __name__ == "__main__":
    sys.exit(run_demo(Path(".local/stack.json")))
