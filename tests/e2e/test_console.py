"""The console on the deployed local stack, in headless Chromium: served at {api_url}/console, signed
in from the link `memberpulse console` prints, the message log and a member's page showing what the
API answers (and never a whole phone number); the routes it reads answer as the console expects."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from memberpulse_cli.client import ApiClient
from tests.e2e.conftest import cli, stack_file  # noqa: F401 (the stack file fixture)
from tests.zones import daytime_zone

# A whole phone number, not inside a longer run of letters or digits (an id such as
# "m64ee…16170041111…" is not a phone): the same boundary the API's and the page's masking use.
FULL_PHONE = re.compile(r"(?<![0-9A-Za-z+])(?:\+\d{9,15}|1[3-9]\d{9})(?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def member(api: ApiClient) -> str:
    """A member whose welcome went out (so the log and the timeline have something)."""
    member_id = f"console-{uuid.uuid4().hex[:8]}"
    body = {"name": "控制台会员", "phone": "13800138000", "timezone": daytime_zone()}
    assert api.call("PUT", f"/v1/members/{member_id}", body).status == 201
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(m["status"] in ("sent", "delivered") for m in api.messages(member_id)):
            return member_id
        time.sleep(0.5)
    raise AssertionError("the welcome never went out")


def log_params() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_the_console_routes_answer_on_the_stack(api: ApiClient, member: str) -> None:
    reply = api.call("GET", "/v1/messages?" + urlencode({**log_params(), "trigger": "welcome", "limit": "200"}))
    assert reply.status == 200
    mine = [m for m in reply.body if m["member_id"] == member]
    assert len(mine) == 1 and mine[0]["phone"] == "+86*******8000"
    assert not FULL_PHONE.search(str(reply.body))
    csv = api.call("GET", "/v1/messages?" + urlencode(log_params()), headers={"Accept": "text/csv"})
    assert csv.status == 200 and isinstance(csv.body, str) and member in csv.body
    found = api.call("GET", "/v1/members?phone=138%200013%208000")
    assert found.status == 200 and member in [m["member_id"] for m in found.body]
    assert api.call("GET", "/v1/handoffs").status == 200
    assert api.call("GET", "/v1/messages?status=lost").status == 400
    page = api.call("GET", "/console", auth=False)
    assert page.status == 200 and "console/app.js" in str(page.body)


def test_the_console_signs_in_from_its_link_and_shows_the_apis_answers(
    browser: Any,
    api: ApiClient,
    member: str,
    stack_file: str,  # noqa: F811
) -> None:
    link = cli("console", "--stack-file", stack_file).stdout.strip()
    base = link.split("#", 1)[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    logged: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)  # a cold API function on a loaded machine
        page.on("console", lambda m: logged.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: logged.append(str(e)))
        page.goto(link)
        page.wait_for_selector("#page-funnel")  # signed in: the first page is what worked
        assert "#key=" not in page.url and str(api.api_key) not in page.url
        # The funnel per rule, the same numbers as the API's (today and yesterday in the store's zone)
        today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
        period = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat(), "group_by": "rule"}
        page.goto(f"{base}#/funnel?{urlencode(period)}")
        page.wait_for_selector("#funnel-table")
        rows = api.call("GET", "/v1/analytics/funnel?" + urlencode(period)).body
        assert "welcome" in [row["key"] for row in rows]
        for column in ("key", "targeted", "sent", "delivered", "converted"):
            shown = page.eval_on_selector_all(
                f"#funnel-table td[data-col='{column}']", "tds => tds.map(td => td.innerText.replace(/,/g, ''))"
            )
            assert shown == [str(row[column]) for row in rows], column
        # The message log, filtered as the API is asked
        params = {**log_params(), "trigger": "welcome"}
        page.goto(f"{base}#/messages?{urlencode(params)}")
        page.wait_for_selector("#messages-table")
        expected = api.call("GET", "/v1/messages?" + urlencode(params)).body
        shown = page.eval_on_selector_all(
            "#messages-table td[data-col='member_id']", "tds => tds.map(td => td.innerText)"
        )
        assert shown == [m["member_id"] for m in expected] and member in shown
        statuses = page.eval_on_selector_all(
            "#messages-table td[data-col='status'] .badge", "bs => bs.map(b => b.dataset.status)"
        )
        assert statuses == [m["status"] for m in expected]
        # A member's page, reached from the log
        page.click(f"#messages-table a[href='#/members/{member}']")
        page.wait_for_selector("#profile")
        profile = api.call("GET", f"/v1/members/{member}").body
        assert page.inner_text("[data-fact='name']") == profile["name"]
        assert page.inner_text("[data-fact='phone']") == "+86*******8000"
        triggers = page.eval_on_selector_all(
            "#member-messages-table td[data-col='trigger']", "tds => tds.map(td => td.innerText)"
        )
        assert triggers == [m["trigger"] for m in api.messages(member)]
        assert not FULL_PHONE.search(page.evaluate("document.body.innerText"))
        # An activity: seats and the waitlist as the API answers them
        from tests.e2e.test_activities import activity, day_after_tomorrow_at_15, members, run_id

        run = run_id()
        people = members(api, f"page-{run}", 3)
        api.ok("PUT", f"/v1/activities/page-{run}", activity(day_after_tomorrow_at_15(), capacity=1))
        for person in people:
            api.ok("POST", f"/v1/activities/page-{run}/registrations", {"member_id": person})
        page.goto(f"{base}#/activities/page-{run}")
        page.wait_for_selector("#waitlist-table")
        shown_activity = api.ok("GET", f"/v1/activities/page-{run}")
        for key, value in {**shown_activity["counts"], "seats_left": shown_activity["seats_left"]}.items():
            assert page.get_attribute(f"[data-tile='{key}']", "data-value") == str(value), key
        line = page.eval_on_selector_all(
            "#waitlist-table td[data-col='member_id']", "tds => tds.map(td => td.innerText)"
        )
        assert line == people[1:]  # in the order they signed up
        assert logged == []
    finally:
        context.close()
