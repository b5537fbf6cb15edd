"""The HTTP API through Chalice's in-process test client, with services built on fakes (CONTRACT §3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import app
from chalicelib import bootstrap
from chalicelib.handlers import http
from tests.fakes import FakeAdapters, fake_app

KEY = "mp_test-key-0123456789abcdefghijklmnopqrstuvwxyz"
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
PROJECT_DIR = str(Path(__file__).resolve().parents[2])


class Api:
    """The Chalice app with an ``App`` built on fakes installed through ``bootstrap.use``."""

    def __init__(self) -> None:
        fakes = FakeAdapters()
        self.members, self.keys = fakes.members, fakes.api_keys
        self.keys.add(KEY)
        self.app = fake_app(fakes)
        self.service = self.app.members
        self.http = Client(app, project_dir=PROJECT_DIR).http

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.http.request(method, path, headers=AUTH if headers is None else headers, body=payload)


@pytest.fixture
def api() -> Iterator[Api]:
    http._KEY_CACHE.clear()
    world = Api()
    with bootstrap.using(world.app):
        yield world
    http._KEY_CACHE.clear()


def assert_error(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.body
    error = response.json_body["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    if fields:
        assert set(error["fields"]) == set(fields)
    return error


# -- health and auth --------------------------------------------------------------------------------


def test_health_needs_no_key(api: Api) -> None:
    response = api.http.get("/health")
    assert (response.status_code, response.json_body) == (200, {"ok": True})


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Authorization": "Bearer wrong-key", "Content-Type": "application/json"},
        {"Authorization": f"Basic {KEY}", "Content-Type": "application/json"},
        {"Authorization": KEY, "Content-Type": "application/json"},
        {"Authorization": "Bearer " + "x" * 300, "Content-Type": "application/json"},
    ],
)
def test_v1_without_a_valid_key_is_401(api: Api, headers: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/v1/members/m-1"),
        ("PUT", "/v1/members/m-1"),
        ("POST", "/v1/members/m-1/orders"),
        ("PUT", "/v1/products/lego-1"),
    ]:
        response = api.call(method, path, {"name": "x"}, headers=headers)
        assert_error(response, 401)
        assert response.headers.get("WWW-Authenticate") == "Bearer"
    assert api.members.writes == 0


def test_a_revoked_key_is_401(api: Api) -> None:
    api.keys.add(KEY, active=False)
    assert_error(api.call("GET", "/v1/members/m-1"), 401)


def test_key_lookups_are_cached(api: Api) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "x"})
    api.call("GET", "/v1/members/m-1")
    assert api.keys.lookups == 1


# -- members ----------------------------------------------------------------------------------------


def test_put_member_creates_201_then_updates_200(api: Api) -> None:
    # When a member is PUT for the first time
    response = api.call("PUT", "/v1/members/m-1", {"name": "王小明", "phone": "138 0013 8000"})
    # Then 201 with the profile, phone in E.164
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json_body["member_id"] == "m-1"
    assert response.json_body["phone"] == "+8613800138000"
    # When it is PUT again
    response = api.call("PUT", "/v1/members/m-1", {"tier": "gold"})
    # Then 200 and the earlier fields are kept
    assert response.status_code == 200
    assert (response.json_body["name"], response.json_body["tier"]) == ("王小明", "gold")


def test_get_member_returns_the_profile(api: Api) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "王小明", "consent": {"marketing": True}})
    response = api.call("GET", "/v1/members/m-1")
    assert response.status_code == 200
    body = response.json_body
    assert body["consent"] == {"sms": True, "im": True, "marketing": True}
    assert body["points"] == {"balance": 0, "expiring": []}
    assert "tier" in body and "last_purchase_at" in body


def test_unknown_member_is_404(api: Api) -> None:
    assert assert_error(api.call("GET", "/v1/members/nobody"), 404)["code"] == "not_found"
    assert_error(api.call("GET", "/v1/members/nobody/messages"), 404)
    assert_error(
        api.call(
            "POST",
            "/v1/members/nobody/orders",
            {
                "order_id": "o-1",
                "purchased_at": "2026-11-21T10:00:00Z",
                "items": [{"sku": "a", "qty": 1, "price": 1}],
                "total": 1,
            },
        ),
        404,
    )


def test_bad_phone_is_400_naming_phone(api: Api) -> None:
    error = assert_error(api.call("PUT", "/v1/members/m-1", {"phone": "12345"}), 400, "phone")
    assert error["code"] == "invalid"
    assert api.members.writes == 0


def test_bad_member_id_in_the_path_is_400(api: Api) -> None:
    assert_error(api.call("PUT", "/v1/members/" + "x" * 65, {"name": "x"}), 400, "member_id")
    assert_error(api.call("GET", "/v1/members/a.b"), 400, "member_id")


@pytest.mark.parametrize("raw", [b"{", b"not json", b"{'name': 'x'}", b"\xff\xfe\xfa", b"", b"   "])
def test_malformed_or_empty_json_is_400_naming_body(api: Api, raw: bytes) -> None:
    assert_error(api.call("PUT", "/v1/members/m-1", raw=raw), 400, "body")


def test_json_that_is_not_an_object_is_400(api: Api) -> None:
    assert_error(api.call("PUT", "/v1/members/m-1", [1, 2]), 400, "body")


def test_body_over_256_kib_is_413(api: Api) -> None:
    raw = b'{"name": "' + b"x" * (256 * 1024) + b'"}'
    assert assert_error(api.call("PUT", "/v1/members/m-1", raw=raw), 413)["code"] == "too_large"
    assert api.members.writes == 0


def test_body_of_exactly_256_kib_is_parsed(api: Api) -> None:
    raw = b'{"name": "' + b"x" * (256 * 1024 - 12) + b'"}'
    assert len(raw) == 256 * 1024
    # parsed (not 413): the name is simply too long
    assert_error(api.call("PUT", "/v1/members/m-1", raw=raw), 400, "name")


@pytest.mark.parametrize(
    "raw",
    [
        # deeply nested JSON, well under 256 KiB: json.loads raises RecursionError
        b"[" * 100_000 + b"]" * 100_000,
        # a 401-digit integer: math.isfinite raises OverflowError
        b'{"stored_value": {"balance": 1' + b"0" * 400 + b"}}",
        # a valid zoned time that overflows once converted to UTC
        b'{"joined_at": "9999-12-31T23:59:59-01:00"}',
    ],
    ids=["deep-nesting", "huge-integer", "time-overflow"],
)
def test_hostile_but_small_bodies_are_400_not_5xx(api: Api, raw: bytes) -> None:
    response = api.call("PUT", "/v1/members/m-1", raw=raw)
    assert response.status_code == 400, (response.status_code, response.body[:200])


# -- orders, points, coupons, products, messages ----------------------------------------------------


def order(total: float = 99.0) -> dict[str, Any]:
    return {
        "order_id": "o-1",
        "purchased_at": "2026-11-21T15:30:00+08:00",
        "total": total,
        "items": [{"sku": "lego-1", "qty": 1, "price": 99.0}],
    }


def test_orders_are_idempotent_201_then_200_and_409_on_other_content(api: Api) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "x"})
    first = api.call("POST", "/v1/members/m-1/orders", order())
    assert (first.status_code, first.json_body["created"], first.json_body["member_id"]) == (201, True, "m-1")
    again = api.call("POST", "/v1/members/m-1/orders", order())
    assert (again.status_code, again.json_body["created"]) == (200, False)
    assert assert_error(api.call("POST", "/v1/members/m-1/orders", order(total=1.0)), 409)["code"] == "conflict"
    assert api.call("GET", "/v1/members/m-1").json_body["last_purchase_at"] == "2026-11-21T07:30:00Z"


def test_order_item_error_is_named_by_index(api: Api) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "x"})
    body = order()
    body["items"].append({"sku": "b", "qty": 0, "price": 1})
    assert_error(api.call("POST", "/v1/members/m-1/orders", body), 400, "items[1].qty")


def test_points_answer_with_the_balance(api: Api) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "x"})
    response = api.call("POST", "/v1/members/m-1/points", {"txn_id": "t-1", "delta": 100, "reason": "order"})
    assert (response.status_code, response.json_body["balance"], response.json_body["created"]) == (201, 100, True)
    response = api.call("POST", "/v1/members/m-1/points", {"txn_id": "t-1", "delta": 100, "reason": "order"})
    assert (response.status_code, response.json_body["balance"], response.json_body["created"]) == (200, 100, False)
    assert_error(api.call("POST", "/v1/members/m-1/points", {"txn_id": "t-2", "delta": -101}), 400, "delta")


def test_coupons_201_then_200(api: Api) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "x"})
    body = {"coupon_id": "c-1", "title": "满100减20", "value": 20, "expires_on": "2026-12-31"}
    assert api.call("POST", "/v1/members/m-1/coupons", body).status_code == 201
    assert api.call("POST", "/v1/members/m-1/coupons", body).status_code == 200


def test_put_product(api: Api) -> None:
    response = api.call("PUT", "/v1/products/lego-1", {"name": "Lego City", "age_min_months": 48})
    assert (response.status_code, response.json_body["sku"], response.json_body["gender"]) == (200, "lego-1", "any")
    assert_error(
        api.call("PUT", "/v1/products/lego-1", {"name": "x", "age_min_months": 5, "age_max_months": 4}),
        400,
        "age_max_months",
    )


def test_messages_of_a_member_is_a_list(api: Api) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "x"})
    response = api.call("GET", "/v1/members/m-1/messages")
    assert (response.status_code, response.json_body) == (200, [])


# -- never a 5xx for bad input ----------------------------------------------------------------------

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
_json = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_member_fields = [
    "name",
    "phone",
    "im_user_id",
    "timezone",
    "locale",
    "joined_at",
    "tier",
    "store_id",
    "tags",
    "children",
    "consent",
    "stored_value",
    "member_id",
]
_plausible = {
    "phone": st.sampled_from(["138 0013 8000", "+86 138-0013-8000", "12345", ""]),
    "timezone": st.sampled_from(["Asia/Shanghai", "UTC", "Nowhere/Land", "Asia"]),
    "locale": st.sampled_from(["zh-CN", "zh-TW", "en", "fr"]),
    "joined_at": st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20T10:00:00", "2026-11-20"]),
    "children": st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "name": _json,
                "birthday": st.one_of(st.sampled_from(["2022-03-04", "2022-02-30", "2022/03/04"]), _json),
                "gender": _json,
            },
        ),
        max_size=3,
    ),
    "consent": st.dictionaries(st.sampled_from(["sms", "im", "marketing", "email"]), _json, max_size=3),
    "stored_value": st.fixed_dictionaries({}, optional={"balance": _json, "expires_on": _json}),
}
_member_body = st.one_of(
    _json,
    st.fixed_dictionaries({}, optional={f: st.one_of(_plausible.get(f, _json), _json) for f in _member_fields}),
)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_member_body)
def test_random_json_to_put_member_is_never_a_5xx(api: Api, body: Any) -> None:
    response = api.call("PUT", "/v1/members/m-1", body)
    assert response.status_code in (200, 201, 400), (response.status_code, body, response.body[:300])
    if response.status_code == 400:
        assert "fields" in response.json_body["error"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"order_id": "o-9", "purchased_at": "2026-11-21T10:00:00Z", "total": 1e+200, '
         b'"items": [{"sku": "a", "qty": 1, "price": 1}]}', "total"),
        (b'{"order_id": "o-9", "purchased_at": "2026-11-21T10:00:00Z", "total": NaN, '
         b'"items": [{"sku": "a", "qty": 1, "price": 1}]}', "total"),
        (b'{"order_id": "o-9", "purchased_at": "2962-11-21T10:00:00Z", "total": 1, '
         b'"items": [{"sku": "a", "qty": 1, "price": 1}]}', "purchased_at"),
        (b'{"order_id": "o-9", "purchased_at": "2026-11-21T10:00:00Z", "total": 1, '
         b'"items": [{"sku": "a", "qty": 1000000000000000000000000000000000000000, "price": 1}]}', "items[0].qty"),
    ],
)  # fmt: skip
def test_numbers_and_dates_out_of_range_are_400_naming_the_field(api: Api, raw: bytes, field: str) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "x"})
    assert_error(api.call("POST", "/v1/members/m-1/orders", raw=raw), 400, field)


def test_a_points_delta_past_dynamodbs_range_is_400(api: Api) -> None:
    api.call("PUT", "/v1/members/m-1", {"name": "x"})
    raw = b'{"txn_id": "t-9", "delta": 100000000000000000000000000000000000000000, "reason": "x"}'
    assert_error(api.call("POST", "/v1/members/m-1/points", raw=raw), 400, "delta")
