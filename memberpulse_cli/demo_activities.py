"""The demo's Saturday building contest (issue 10): 5 seats, 7 sign-ups (some by replying 报名), 2
in line, one cancels by replying 请假 and the first in line moves up, reminders the day before and
an hour before, check-ins, a no-show, and the feedback "5 太好玩了". Everything goes through the
public API, the sandbox webhook, the streams and the timers (``run-schedule``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.isotime import to_iso

from .activities import list_table, registrations_table
from .client import ApiClient
from .inbound import sandbox_reply
from .waiting import run_schedule, settle

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTEST = "sat-lego"
PARENTS = {  # member id → (name, phone); each comes with a child who builds
    "m-li": ("李娜", "+8613900139001"),
    "m-zhao": ("赵磊", "+8613900139002"),
    "m-sun": ("孙悦", "+8613900139003"),
    "m-zhou": ("周杰", "+8613900139004"),
    "m-wu": ("吴芳", "+8613900139005"),
    "m-zheng": ("郑强", "+8613900139006"),
    "m-feng": ("冯雪", "+8613900139007"),
}
BY_REPLY = ("m-sun", "m-wu", "m-feng")  # sign up by replying 报名 to the invitation
RULES = (
    "activity_invite",
    "activity_confirmed",
    "activity_waitlisted",
    "activity_promoted",
    "activity_reminder",
    "activity_feedback",
    "activity_missed",
    "reply_activity",
)


def saturday_after(today: date) -> date:
    """The first Saturday at least two days ahead (so the day-before reminder is still to come)."""
    day = today + timedelta(days=2)
    return day + timedelta(days=(5 - day.weekday()) % 7)


def run_contest(
    stack: dict[str, Any], api: ApiClient, line: Callable[[str], None], show: Callable[..., None]
) -> list[str]:
    """Returns the member ids of the contest (for the summary)."""
    ids = list(PARENTS)
    seen: set[str] = set()

    def news(heading: str, expect: int = 0) -> None:
        messages = settle(api, ids, expect_at_least=len(seen) + expect, quiet_for=2.0)
        new = [m for m in messages if m["message_id"] not in seen and m["trigger"] in RULES]
        seen.update(m["message_id"] for m in messages)
        line(f"\n   {heading}")
        show(new, indent="   ")

    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    sat = saturday_after(today)
    starts = datetime(sat.year, sat.month, sat.day, 14, 0, tzinfo=SHANGHAI)
    ends = starts + timedelta(hours=2)
    line(f"\n6. A Saturday building contest ({sat}, 14:00–16:00): 5 seats")
    for member_id, (name, phone) in PARENTS.items():
        api.ok("PUT", f"/v1/members/{member_id}", {"name": name, "phone": phone, "consent": {"marketing": True}})
    body = {
        "title": "周六积木大赛",
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
        "location": "乐乐玩具万象城店",
        "capacity": 5,
        "invite": ids,
    }
    api.ok("PUT", f"/v1/activities/{CONTEST}", body)
    line("   PUT /v1/activities/sat-lego (invite: the seven parents)")
    news("the invitations (activity_invite, marketing):", expect=len(ids))

    line("\n   seven sign up: four at the counter (POST …/registrations), three by replying 报名")
    for member_id in ids:
        if member_id in BY_REPLY:
            sandbox_reply(stack, PARENTS[member_id][1], "报名", event_id=f"demo-{member_id}-{starts:%Y%m%d}")
            line(f"      {member_id:8} replies 报名")
        else:
            got = api.ok("POST", f"/v1/activities/{CONTEST}/registrations", {"member_id": member_id})
            extra = f" (position {got['position']})" if got.get("position") else ""
            line(f"      {member_id:8} {got['status']}{extra}")
        _wait_registered(api, member_id)  # one after the other: the order is theirs
    news("their answers (five seats, then the line):", expect=len(ids))
    _table(api, line)

    cancelling = next(m for m in ids if _status(api, m) == "confirmed")
    line(f"\n   {cancelling} can't make it and replies 请假:")
    sandbox_reply(stack, PARENTS[cancelling][1], "请假", event_id=f"demo-{cancelling}-leave-{starts:%Y%m%d}")
    news("the seat goes to the first in line (activity_promoted), the others move up:", expect=2)
    _table(api, line)

    for label, at in (("the day before", starts - timedelta(days=1)), ("an hour before", starts - timedelta(hours=1))):
        run_schedule(stack, to_iso(at + timedelta(minutes=1)), wait=True)
        news(f"{label} ({at:%m-%d %H:%M} local): reminders to the five holding seats", expect=5)

    rows = api.ok("GET", f"/v1/activities/{CONTEST}/registrations")
    seated = [r["member_id"] for r in rows if r["status"] == "confirmed"]
    came, no_show = seated[:-1], seated[-1]
    line("\n   at the door (POST …/checkins, or `memberpulse activities checkin sat-lego --code …`):")
    for member_id in came:
        api.ok("POST", f"/v1/activities/{CONTEST}/checkins", {"member_id": member_id})
        line(f"      {member_id:8} checked in")
    line(f"      {no_show:8} never comes")

    run_schedule(stack, to_iso(ends + timedelta(minutes=61)), wait=True)
    after = ends + timedelta(minutes=60)
    news(f"after the end ({after:%H:%M}): feedback asked of the four who came, the no-show missed", expect=5)

    fan = came[0]
    line(f'\n   {fan} answers "5 太好玩了"')
    answered = to_iso(ends + timedelta(minutes=65))
    sandbox_reply(stack, PARENTS[fan][1], "5 太好玩了", event_id=f"demo-{fan}-fb-{starts:%Y%m%d}", at=answered)
    feedback = _wait_feedback(api)
    for entry in feedback:
        line(f"      GET …/feedback: {entry['member_id']} rated {entry.get('rating')}: {entry.get('text', '')}")
    return ids


def _status(api: ApiClient, member_id: str) -> str | None:
    rows = api.ok("GET", f"/v1/activities/{CONTEST}/registrations")
    return next((r["status"] for r in rows if r["member_id"] == member_id), None)


def _table(api: ApiClient, line: Callable[[str], None]) -> None:
    activity = api.ok("GET", f"/v1/activities/{CONTEST}")
    regs = api.ok("GET", f"/v1/activities/{CONTEST}/registrations")
    for text in (list_table([activity]), registrations_table(activity, regs)):
        line("")
        for row in text.splitlines():
            line(f"      {row}")


def _wait_registered(api: ApiClient, member_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while _status(api, member_id) is None and time.monotonic() < deadline:
        time.sleep(0.3)


def _wait_feedback(api: ApiClient, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(api.ok("GET", f"/v1/activities/{CONTEST}/feedback"))
        if found:
            return found
        time.sleep(0.5)
    return []
