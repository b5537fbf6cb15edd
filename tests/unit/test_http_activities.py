"""The activities API (CONTRACT §6) through Chalice's in-process test client over fakes: the routes,
their answers, and bad input as a 4xx naming the field with nothing half-written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.domain.action_links import make_token
from chalicelib.domain.model import Consent
from chalicelib.handlers import http
from tests.fakes import FakeAdapters, fake_app, member
from tests.unit.activity_world import SATURDAY as SAT_2026

KEY = "mp_test-key-0123456789abcdefghijklmnopqrstuvwxyz"
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
PROJECT_DIR = str(Path(__file__).resolve().parents[2])
LINK_KEY = "link-signing-key"
# The API's "now" is the request's (the wall clock here): an activity well ahead of it.
SATURDAY = {**SAT_2026, "starts_at": "2036-11-29T14:00:00+08:00", "ends_at": "2036-11-29T16:00:00+08:00"}


class Api:
    def __init__(self) -> None:
        self.fakes = FakeAdapters(secrets={"activity_link_key": LINK_KEY})
        self.fakes.api_keys.add(KEY)
        for i in range(1, 4):
            self.fakes.members.save(member(f"m-{i}", consent=Consent(sms=True, im=True, marketing=True)))
        self.app = fake_app(self.fakes)
        self.http = Client(app, project_dir=PROJECT_DIR).http

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        payload = b"" if body is None else json.dumps(body).encode()
        return self.http.request(method, path, headers=AUTH if headers is None else headers, body=payload)


@pytest.fixture
def api() -> Iterator[Api]:
    http._KEY_CACHE.clear()
    world = Api()
    with bootstrap.using(world.app):
        yield world
    http._KEY_CACHE.clear()


def assert_error(response: Any, status: int, *fields: str) -> None:
    assert response.status_code == status, response.body
    error = response.json_body["error"]
    if fields:
        assert set(fields) <= set(error.get("fields", {})), error


def test_an_activity_is_created_read_and_listed(api: Api) -> None:
    created = api.call("PUT", "/v1/activities/sat-lego", SATURDAY)
    assert created.status_code == 201
    body = created.json_body
    assert body["starts_at"] == "2036-11-29T06:00:00Z" and body["utc_offset"] == "+08:00"
    assert body["counts"] == dict.fromkeys(
        ("confirmed", "waitlisted", "offered", "cancelled", "checked_in", "no_show"), 0
    )
    assert body["seats_left"] == 5 and body["waitlist"] == {"mode": "auto", "claim_minutes": 120}
    assert api.call("PUT", "/v1/activities/sat-lego", {"capacity": 6}).status_code == 200
    assert api.call("GET", "/v1/activities/sat-lego").json_body["capacity"] == 6
    assert [a["activity_id"] for a in api.call("GET", "/v1/activities").json_body] == ["sat-lego"]
    assert api.call("GET", "/v1/activities/none-such").status_code == 404
    assert api.call("GET", "/v1/activities/sat-lego", headers={}).status_code == 401


def test_registrations_seat_then_line_up_idempotently(api: Api) -> None:
    api.call("PUT", "/v1/activities/sat-lego", {**SATURDAY, "capacity": 1})
    first = api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": "m-1"})
    assert first.status_code == 201 and first.json_body["status"] == "confirmed" and "position" not in first.json_body
    second = api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": "m-2"})
    assert second.status_code == 201 and (second.json_body["status"], second.json_body["position"]) == ("waitlisted", 1)
    again = api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": "m-2"})
    assert again.status_code == 200 and again.json_body["position"] == 1
    rows = api.call("GET", "/v1/activities/sat-lego/registrations").json_body
    assert [(r["member_id"], r["status"], r.get("position")) for r in rows] == [
        ("m-1", "confirmed", None),
        ("m-2", "waitlisted", 1),
    ]
    assert api.call("DELETE", "/v1/activities/sat-lego/registrations/m-1").status_code == 204
    rows = api.call("GET", "/v1/activities/sat-lego/registrations").json_body
    assert {r["member_id"]: r["status"] for r in rows} == {"m-2": "confirmed", "m-1": "cancelled"}
    assert api.call("DELETE", "/v1/activities/sat-lego/registrations/m-3").status_code == 404


def test_check_in_by_member_or_code_and_the_feedback_list(api: Api) -> None:
    api.call("PUT", "/v1/activities/sat-lego", SATURDAY)
    api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": "m-1"})
    api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": "m-2"})
    code = api.fakes.activities.registration("sat-lego", "m-2").code
    by_id = api.call("POST", "/v1/activities/sat-lego/checkins", {"member_id": "m-1"})
    assert by_id.status_code == 200 and by_id.json_body["checked_in_at"]
    assert api.call("POST", "/v1/activities/sat-lego/checkins", {"code": code}).json_body["member_id"] == "m-2"
    assert_error(api.call("POST", "/v1/activities/sat-lego/checkins", {"code": "ZZZZZZ"}), 400, "code")
    assert_error(api.call("POST", "/v1/activities/sat-lego/checkins", {}), 400, "member_id")
    assert api.call("GET", "/v1/activities/sat-lego").json_body["counts"]["checked_in"] == 2
    assert api.call("GET", "/v1/activities/sat-lego/feedback").json_body == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**SATURDAY, "capacity": 0}, 400, "capacity"),
        ({**SATURDAY, "ends_at": "2036-11-29T13:00:00+08:00"}, 400, "ends_at"),
        ({**SATURDAY, "starts_at": "soon"}, 400, "starts_at"),
        ({**SATURDAY, "waitlist": "offer"}, 400, "waitlist"),
    ],
)
def test_bad_activities_are_refused_naming_the_field_and_nothing_is_written(
    api: Api, body: dict[str, Any], status: int, field: str
) -> None:
    assert_error(api.call("PUT", "/v1/activities/sat-lego", body), status, field)
    assert api.fakes.activities.activities == {} and api.fakes.activities.writes == 0


def test_bad_registrations_are_refused_naming_the_field_and_nothing_is_written(api: Api) -> None:
    api.call("PUT", "/v1/activities/sat-lego", SATURDAY)
    api.call("PUT", "/v1/activities/off", {**SATURDAY, "status": "cancelled"})
    writes = api.fakes.activities.writes
    assert_error(api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": "nobody"}), 400, "member_id")
    assert_error(api.call("POST", "/v1/activities/sat-lego/registrations", {}), 400, "member_id")
    assert_error(api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": "m-1", "x": 1}), 400, "x")
    assert_error(api.call("POST", "/v1/activities/off/registrations", {"member_id": "m-1"}), 409, "status")
    assert_error(api.call("POST", "/v1/activities/gone/registrations", {"member_id": "m-1"}), 404)
    assert api.fakes.activities.writes == writes and api.fakes.activities.regs == {}


def test_capacity_cannot_drop_below_the_seats_taken(api: Api) -> None:
    api.call("PUT", "/v1/activities/sat-lego", SATURDAY)
    for member_id in ("m-1", "m-2"):
        api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": member_id})
    assert_error(api.call("PUT", "/v1/activities/sat-lego", {"capacity": 1}), 400, "capacity")
    assert api.call("GET", "/v1/activities/sat-lego").json_body["capacity"] == 5


def test_a_signed_link_shows_a_page_and_its_button_acts(api: Api) -> None:
    api.call("PUT", "/v1/activities/sat-lego", {**SATURDAY, "invite": ["m-1"]})
    token = make_token("register", "sat-lego", "m-1", LINK_KEY)
    page = api.http.request("GET", f"/a/sat-lego/{token}", headers={})
    assert page.status_code == 200 and b"<form" in page.body and "周六积木大赛".encode() in page.body
    assert api.fakes.activities.regs == {}  # a look (a link preview) does nothing
    done = api.http.request(
        "POST", f"/a/sat-lego/{token}", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b""
    )
    assert done.status_code == 200 and "报名成功".encode() in done.body
    assert api.fakes.activities.registration("sat-lego", "m-1").source == "link"
    cancel = make_token("cancel", "sat-lego", "m-1", LINK_KEY)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert "已取消".encode() in api.http.request("POST", f"/a/sat-lego/{cancel}", headers=headers, body=b"").body
    forged = make_token("cancel", "sat-lego", "m-1", "another-key")
    assert api.http.request("GET", f"/a/sat-lego/{forged}", headers={}).status_code == 404


def test_times_in_answers_are_utc(api: Api) -> None:
    api.call("PUT", "/v1/activities/sat-lego", SATURDAY)
    reg = api.call("POST", "/v1/activities/sat-lego/registrations", {"member_id": "m-1"}).json_body
    assert reg["registered_at"].endswith("Z")
    datetime.fromisoformat(reg["registered_at"].replace("Z", "+00:00")).astimezone(UTC)
