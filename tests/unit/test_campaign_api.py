"""Segments and campaigns over HTTP (Chalice's test client, services on fakes): bad input is a 400
naming the field, an unknown id a 404, a launched campaign cannot be edited (409)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.domain.isotime import to_iso
from chalicelib.handlers import http
from tests.unit.test_http_api import Api, assert_error


@pytest.fixture
def api() -> Iterator[Api]:
    http._KEY_CACHE.clear()
    world = Api()
    with bootstrap.using(world.app):
        yield world
    http._KEY_CACHE.clear()


SEGMENT = {"name": "3–6", "conditions": [{"field": "child_age_months", "op": "between", "value": [36, 72]}]}


def campaign(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "新火车",
        "segment_id": "s1",
        "channels": ["sms"],
        "send_at": to_iso(datetime.now(UTC) + timedelta(days=30)),
        "variants": [{"id": "a", "weight": 1, "templates": {"zh-CN": "新火车到店啦"}}],
    }
    body.update(changes)
    return body


def test_unknown_field_and_op_are_named(api: Api) -> None:
    response = api.call(
        "PUT",
        "/v1/segments/s1",
        {"conditions": [{"field": "shoe", "op": "eq", "value": 1}, {"field": "tags", "op": "like", "value": "x"}]},
    )
    error = assert_error(response, 400, "conditions[0].field", "conditions[1].op")
    assert "shoe" in error["fields"]["conditions[0].field"] and "like" in error["fields"]["conditions[1].op"]


def test_segment_put_get_preview(api: Api) -> None:
    assert api.call("PUT", "/v1/segments/s1", SEGMENT).status_code == 200
    assert api.call("GET", "/v1/segments/s1").json_body["conditions"][0]["field"] == "child_age_months"
    preview = api.call("GET", "/v1/segments/s1/preview").json_body
    assert preview["count"] == 0 and preview["sample"] == [] and "evaluated_at" in preview
    assert_error(api.call("GET", "/v1/segments/nope/preview"), 404)


def test_campaign_lifecycle_over_http(api: Api) -> None:
    api.call("PUT", "/v1/segments/s1", SEGMENT)
    assert_error(api.call("PUT", "/v1/campaigns/c1", campaign(holdout_percent=70)), 400, "holdout_percent")
    assert_error(api.call("PUT", "/v1/campaigns/c1", campaign(segment_id="nope")), 400, "segment_id")
    assert api.call("PUT", "/v1/campaigns/c1", campaign()).status_code == 201
    assert api.call("PUT", "/v1/campaigns/c1", campaign(name="新火车2")).status_code == 200
    launched = api.call("POST", "/v1/campaigns/c1/launch").json_body
    assert launched["status"] == "scheduled" and launched["segment"]["segment_id"] == "s1"
    assert_error(api.call("PUT", "/v1/campaigns/c1", campaign()), 409)
    assert api.call("POST", "/v1/campaigns/c1/pause").json_body["status"] == "paused"
    assert_error(api.call("POST", "/v1/campaigns/c1/pause"), 409)
    assert api.call("POST", "/v1/campaigns/c1/resume").json_body["status"] == "scheduled"
    shown = api.call("GET", "/v1/campaigns/c1").json_body
    assert set(shown["progress"]) == {"a", "control"} and shown["audience"] == 0
    results = api.call("GET", "/v1/campaigns/c1/results").json_body
    assert set(results["arms"]) == {"a", "control"} and results["arms"]["a"]["underpowered"] is True
    assert [c["campaign_id"] for c in api.call("GET", "/v1/campaigns").json_body] == ["c1"]
    assert_error(api.call("GET", "/v1/campaigns/c1/poll"), 404)
    assert api.call("POST", "/v1/campaigns/c1/cancel").json_body["status"] == "cancelled"
    assert_error(api.call("GET", "/v1/campaigns/zzz"), 404)
    assert_error(api.call("POST", "/v1/campaigns/bad%20id/launch"), 400, "campaign_id")
