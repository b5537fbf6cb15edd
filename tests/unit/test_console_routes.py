"""The routes the console reads that the integration API did not have: the message log
(``GET /v1/messages``, JSON and CSV), handoff tickets (``GET /v1/handoffs``) and finding a member by
phone (``GET /v1/members?phone=``), through Chalice's test client over fakes."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import app
from chalicelib import bootstrap
from chalicelib.domain.message_log import CSV_COLUMNS, LogQuery
from chalicelib.domain.model import Channel, Message, MessageStatus
from chalicelib.domain.replies import HandoffTicket
from chalicelib.handlers import http
from tests.fakes import FakeAdapters, fake_app, member

KEY = "mp_test-key-0123456789abcdefghijklmnopqrstuvwxyz"
AUTH = {"Authorization": f"Bearer {KEY}"}
PROJECT_DIR = str(Path(__file__).resolve().parents[2])
# Request time: API Gateway's requestTimeEpoch is absent in the test client, so "now" is the wall
# clock; every test gives from/to explicitly.
DAY = datetime(2026, 11, 20, tzinfo=UTC)
FULL_PHONE = re.compile(r"(?:\+?86)?1[3-9]\d{9}|\+1\d{10}")


class World:
    def __init__(self) -> None:
        self.fakes = FakeAdapters()
        self.fakes.api_keys.add(KEY)
        self.app = fake_app(self.fakes)
        self.http = Client(app, project_dir=PROJECT_DIR).http
        for n, phone in enumerate(["+8613800138000", "+14155550003", None]):
            self.fakes.members.save(member(f"m-{n}", phone=phone))

    def get(self, path: str, params: dict[str, str] | None = None, **headers: str) -> Any:
        query = f"?{urlencode(params)}" if params else ""
        return self.http.get(path + query, headers={**AUTH, **headers})

    def message(self, n: int, at: datetime, **fields: Any) -> Message:
        values: dict[str, Any] = {
            "message_id": f"msg-{n:03d}",
            "member_id": f"m-{n % 3}",
            "trigger": "welcome",
            "occurrence": f"o{n}",
            "channel": Channel.SMS,
            "provider": "sandbox",
            "text": f"欢迎 {n}",
            "status": MessageStatus.DELIVERED,
            "created_at": at,
        }
        values.update(fields)
        message = Message(**values)
        self.fakes.messages.create(message)
        return message


@pytest.fixture
def world() -> Iterator[World]:
    http._KEY_CACHE.clear()
    w = World()
    with bootstrap.using(w.app):
        yield w
    http._KEY_CACHE.clear()


def all_pages(world: World, params: dict[str, str], **headers: str) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        response = world.get("/v1/messages", {**params, **({"cursor": cursor} if cursor else {})}, **headers)
        assert response.status_code == 200, response.body
        pages += 1
        rows += response.json_body
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            return rows, pages


RANGE = {"from": "2026-11-19T00:00:00Z", "to": "2026-11-21T23:59:59Z"}


# -- the message log ----------------------------------------------------------------------------------


def test_the_log_pages_newest_first_over_days_and_each_message_once(world: World) -> None:
    made = [world.message(n, DAY + timedelta(hours=7 * n)) for n in range(9)]  # 20th to 22nd
    rows, pages = all_pages(world, {**RANGE, "limit": "2"})
    in_range = [m for m in made if m.created_at <= datetime(2026, 11, 21, 23, 59, 59, tzinfo=UTC)]
    assert [r["message_id"] for r in rows] == [m.message_id for m in reversed(in_range)]
    assert pages == 4  # 7 messages, 2 a page
    assert rows[0]["member_id"] == "m-0" and rows[0]["trigger"] == "welcome"


def test_filters_by_rule_status_campaign_and_channel(world: World) -> None:
    world.message(1, DAY, trigger="welcome")
    world.message(2, DAY + timedelta(hours=1), trigger="campaign", campaign_id="spring", variant="A")
    world.message(3, DAY + timedelta(hours=2), trigger="campaign", campaign_id="autumn", status=MessageStatus.FAILED)
    world.message(4, DAY + timedelta(hours=3), trigger="coupon_issued", channel=Channel.IM)

    def ids(**params: str) -> list[str]:
        return [r["message_id"] for r in all_pages(world, {**RANGE, **params})[0]]

    assert ids(trigger="campaign") == ["msg-003", "msg-002"]
    assert ids(campaign="spring") == ["msg-002"]
    assert ids(status="failed") == ["msg-003"]
    assert ids(status="delivered,failed", trigger="welcome,coupon_issued") == ["msg-004", "msg-001"]
    assert ids(channel="im") == ["msg-004"]
    [spring] = all_pages(world, {**RANGE, "campaign": "spring"})[0]
    assert (spring["campaign_id"], spring["variant"]) == ("spring", "A")


def test_no_answer_holds_a_full_phone_number(world: World) -> None:
    world.message(0, DAY, text="王小明 13800138000，请回电 +8613800138000")
    world.message(1, DAY + timedelta(hours=1), reason="invalid number +14155550003")
    json_body = world.get("/v1/messages", RANGE).body.decode()
    csv_body = world.get("/v1/messages", RANGE, Accept="text/csv").body.decode()
    for body in (json_body, csv_body):
        assert not FULL_PHONE.search(body), body
        assert "+86*******8000" in body and "+1******0003" in body


def test_csv_is_a_bounded_export_with_the_next_cursor_in_a_header(world: World) -> None:
    for n in range(5):
        world.message(n, DAY + timedelta(minutes=n))
    response = world.get("/v1/messages", {**RANGE, "limit": "3"}, Accept="text/csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert [r["message_id"] for r in lines] == ["msg-004", "msg-003", "msg-002"]
    assert list(lines[0]) == list(CSV_COLUMNS)
    rest = world.get(
        "/v1/messages", {"cursor": response.headers["X-Next-Cursor"], "limit": "3"}, Accept="text/csv, */*;q=0.1"
    )
    assert [r["message_id"] for r in csv.DictReader(io.StringIO(rest.body.decode("utf-8-sig")))] == [
        "msg-001",
        "msg-000",
    ]
    assert "X-Next-Cursor" not in rest.headers


def test_accept_with_csv_refused_answers_json(world: World) -> None:
    response = world.get("/v1/messages", RANGE, Accept="text/csv;q=0, application/json")
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"status": "lost"}, "status"),
        ({"limit": "500"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
        ({"sort": "asc"}, "sort"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(world: World, params: dict[str, str], field: str) -> None:
    response = world.get("/v1/messages", params)
    assert response.status_code == 400
    assert set(response.json_body["error"]["fields"]) == {field}


def test_the_log_needs_a_key(world: World) -> None:
    assert world.http.get("/v1/messages").status_code == 401
    assert world.http.get("/v1/handoffs").status_code == 401
    assert world.http.get("/v1/members?phone=13800138000").status_code == 401


_STATUSES = [MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.SUPPRESSED]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    offsets=st.lists(st.integers(min_value=-30, max_value=100), min_size=0, max_size=25),
    limit=st.integers(min_value=1, max_value=6),
    trigger=st.sampled_from([None, "welcome", "winback_90d"]),
    status=st.sampled_from([None, "delivered", "failed,suppressed"]),
)
def test_pages_hold_every_admitted_message_once_newest_first(
    world: World, offsets: list[int], limit: int, trigger: str | None, status: str | None
) -> None:
    world.fakes.messages.messages.clear()
    for n, hours in enumerate(offsets):  # several in the same second too (ties)
        world.message(
            n,
            DAY + timedelta(hours=hours // 2),
            trigger="welcome" if n % 2 else "winback_90d",
            status=_STATUSES[n % 3],
        )
    params = {**RANGE, "limit": str(limit)}
    if trigger:
        params["trigger"] = trigger
    if status:
        params["status"] = status
    rows, _ = all_pages(world, params)
    query = LogQuery(
        datetime(2026, 11, 19, tzinfo=UTC),
        datetime(2026, 11, 21, 23, 59, 59, tzinfo=UTC),
        triggers=frozenset([trigger] if trigger else []),
        statuses=frozenset(status.split(",") if status else []),
    )
    expected = sorted(
        (m for m in world.fakes.messages.messages.values() if query.admits(m)),
        key=lambda m: (m.created_at, m.message_id),
        reverse=True,
    )
    assert [r["message_id"] for r in rows] == [m.message_id for m in expected]


def test_a_page_reads_a_bounded_number_of_messages_whatever_its_filter(world: World) -> None:
    from chalicelib.domain.message_log import READ_BUDGET

    for n in range(READ_BUDGET + 50):
        world.message(n, DAY + timedelta(seconds=n), trigger="welcome")
    world.message(9999, DAY - timedelta(hours=1), trigger="winback_90d")
    world.fakes.message_log.reads = 0
    first = world.get("/v1/messages", {**RANGE, "trigger": "winback_90d"})
    # Then the first page stops at the budget, empty, with where to go on
    assert first.json_body == [] and world.fakes.message_log.reads == READ_BUDGET
    second = world.get("/v1/messages", {"cursor": first.headers["X-Next-Cursor"]})
    assert [r["message_id"] for r in second.json_body] == ["msg-9999"]


# -- handoffs -----------------------------------------------------------------------------------------


def a_ticket(n: int, at: datetime, text: str = "售后", status: str = "open") -> HandoffTicket:
    return HandoffTicket(f"h{n:03d}", f"m-{n % 3}", Channel.SMS, text, status, at)


def test_handoffs_waiting_page_newest_first_with_text_and_phone_masked(world: World) -> None:
    for n in range(5):
        world.fakes.handoffs.open(a_ticket(n, DAY + timedelta(minutes=n), text=f"售后，打我电话13800138000 #{n}"))
    world.fakes.handoffs.open(a_ticket(9, DAY, status="closed"))
    first = world.get("/v1/handoffs", {"limit": "3"})
    assert [t["ticket_id"] for t in first.json_body] == ["h004", "h003", "h002"]
    second = world.get("/v1/handoffs", {"limit": "3", "cursor": first.headers["X-Next-Cursor"]})
    assert [t["ticket_id"] for t in second.json_body] == ["h001", "h000"]
    assert "X-Next-Cursor" not in second.headers
    body = json.dumps(first.json_body, ensure_ascii=False)
    assert not FULL_PHONE.search(body)
    assert first.json_body[0]["text"] == "售后，打我电话+86*******8000 #4"
    assert first.json_body[1]["phone"] == "+86*******8000"  # m-0's phone
    assert world.get("/v1/handoffs", {"status": "closed"}).json_body[0]["ticket_id"] == "h009"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "OPEN!"}, "status"), ({"limit": "0"}, "limit"), ({"cursor": "x"}, "cursor"), ({"s": "1"}, "s")],
)
def test_handoffs_bad_input_is_a_400_naming_the_field(world: World, params: dict[str, str], field: str) -> None:
    response = world.get("/v1/handoffs", params)
    assert response.status_code == 400
    assert set(response.json_body["error"]["fields"]) == {field}


# -- finding a member by phone --------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["13800138000", "138 0013 8000", "+86 138-0013-8000"])
def test_a_member_is_found_by_phone_in_any_common_form_and_shown_masked(world: World, phone: str) -> None:
    response = world.get("/v1/members", {"phone": phone})
    assert response.status_code == 200
    assert response.json_body == [{"member_id": "m-0", "phone": "+86*******8000", "name": "王小明"}]


def test_an_unknown_phone_finds_no_one(world: World) -> None:
    assert world.get("/v1/members", {"phone": "13900139000"}).json_body == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "phone"), ({"phone": "12345"}, "phone"), ({"phone": "1" * 80}, "phone"), ({"x": "1"}, "x")],
)
def test_finding_by_a_bad_phone_is_a_400_naming_it(world: World, params: dict[str, str], field: str) -> None:
    response = world.get("/v1/members", params)
    assert response.status_code == 400
    assert field in response.json_body["error"]["fields"]
