"""API payloads → domain values. Every rejection is a ValidationFailed whose ``fields`` names the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.domain import validation
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import Child, StoredValue
from tests.fakes import NOW


def rejected(fn: Any, *args: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        fn(*args)
    return info.value.fields


def member_errors(body: Any) -> dict[str, str]:
    return rejected(validation.parse_member_update, body, "CN")


# -- ids --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["m-1", "A_b-9", "x" * 64])
def test_check_id_accepts_the_documented_pattern(good: str) -> None:
    assert validation.check_id(good, "member_id") == good


@pytest.mark.parametrize("bad", ["", "x" * 65, "a b", "a.b", "会员", "a/b", "a#b"])
def test_check_id_rejects_anything_else_naming_the_field(bad: str) -> None:
    assert set(rejected(validation.check_id, bad, "member_id")) == {"member_id"}


@pytest.mark.parametrize("bad", ["abc\n", "m-1\n"])
def test_check_id_rejects_a_trailing_newline(bad: str) -> None:
    # Given an id with a trailing newline (``$`` in ID_PATTERN matches before a final "\n")
    # Then it is rejected: "m-1\n" and "m-1" must not be two different members.
    assert set(rejected(validation.check_id, bad, "member_id")) == {"member_id"}


# -- member upsert ----------------------------------------------------------------------------------


def test_member_full_valid_body_is_parsed_into_domain_values() -> None:
    # Given every documented field, in the forms an integrator would send
    body = {
        "name": " 王小明 ",
        "phone": "138 0013 8000",
        "im_user_id": "agora_u1",
        "timezone": "Asia/Shanghai",
        "locale": "zh-TW",
        "joined_at": "2026-11-20T10:00:00+08:00",
        "tier": "gold",
        "store_id": "store-sh-01",
        "tags": ["lego", "duplo"],
        "children": [{"name": "小宝", "birthday": "2022-03-04", "gender": "boy"}],
        "consent": {"sms": True, "marketing": True},
        "stored_value": {"balance": 100, "expires_on": "2027-01-31"},
        "member_id": "ignored-here",
    }
    # When it is parsed
    out = validation.parse_member_update(body, "CN")
    # Then values are normalised: E.164 phone, UTC time, dates, partial consent
    assert out["name"] == "王小明"
    assert out["phone"] == "+8613800138000"
    assert out["timezone"] == "Asia/Shanghai"
    assert out["locale"] == "zh-TW"
    assert out["joined_at"] == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert out["tags"] == ["lego", "duplo"]
    assert out["children"] == [Child("小宝", date(2022, 3, 4), "boy")]
    assert out["consent"] == {"sms": True, "marketing": True}
    assert out["stored_value"] == StoredValue(100.0, date(2027, 1, 31))
    assert "member_id" not in out


def test_member_omitted_fields_are_not_in_the_update() -> None:
    assert validation.parse_member_update({"tier": "gold"}, "CN") == {"tier": "gold"}
    assert validation.parse_member_update({}, "CN") == {}


@pytest.mark.parametrize("body", [[], "x", 3, None, True])
def test_member_body_must_be_an_object(body: Any) -> None:
    assert member_errors(body) == {"body": "must be a JSON object"}


@pytest.mark.parametrize("phone", ["12345", "abc", "", "   ", "+86 138 0013 800", "+999 1234567"])
def test_member_bad_phone_names_phone(phone: str) -> None:
    assert set(member_errors({"phone": phone})) == {"phone"}


@pytest.mark.parametrize(
    "phone", ["13800138000;13900139000", "138 0013 8000, 139 0013 9000", "13800138000 / 13900139000"]
)
def test_member_phone_field_with_two_numbers_names_phone(phone: str) -> None:
    errors = member_errors({"phone": phone})
    assert set(errors) == {"phone"} and "more than one phone number" in errors["phone"]


@pytest.mark.parametrize("phone", [13800138000, ["138"], {"n": 1}, True])
def test_member_phone_of_the_wrong_type_names_phone(phone: Any) -> None:
    assert set(member_errors({"phone": phone})) == {"phone"}


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "+08:00", "../../etc/passwd", "/etc/localtime", 8, "Asia"])
def test_member_bad_timezone_names_timezone(tz: Any) -> None:
    assert set(member_errors({"timezone": tz})) == {"timezone"}


@pytest.mark.parametrize("locale", ["fr", "zh", "zh_CN", "EN", "", 1])
def test_member_bad_locale_names_locale(locale: Any) -> None:
    assert set(member_errors({"locale": locale})) == {"locale"}


@pytest.mark.parametrize("locale", ["zh-CN", "zh-TW", "en"])
def test_member_each_supported_locale_is_accepted(locale: str) -> None:
    assert validation.parse_member_update({"locale": locale}, "CN") == {"locale": locale}


@pytest.mark.parametrize(
    "birthday", ["2022/03/04", "04-03-2022", "2022-3-4", "2022-02-30", "", "2022-03-04T00:00:00Z", 20220304, None]
)
def test_member_child_birthday_errors_name_the_child_and_field(birthday: Any) -> None:
    # Given a second child with a bad birthday (the first one is fine)
    body = {"children": [{"name": "a", "birthday": "2022-03-04"}, {"name": "b", "birthday": birthday}]}
    # Then the error names children[1].birthday and nothing else
    assert set(member_errors(body)) == {"children[1].birthday"}


def test_member_child_birthday_missing_names_children_0_birthday() -> None:
    assert set(member_errors({"children": [{"name": "a"}]})) == {"children[0].birthday"}


def test_member_child_birthday_must_be_calendar_form_not_an_iso_week_date() -> None:
    # Given "2026-W01-1", a 10-character ISO week date that date.fromisoformat (3.11+) accepts
    # Then it is still rejected: the contract says birthday is YYYY-MM-DD
    assert set(member_errors({"children": [{"name": "a", "birthday": "2026-W01-1"}]})) == {"children[0].birthday"}


@pytest.mark.parametrize(
    ("child", "field"),
    [
        ({"name": "a", "birthday": "2022-03-04", "gender": "male"}, "children[0].gender"),
        ({"name": 3, "birthday": "2022-03-04"}, "children[0].name"),
        ({"name": "x" * 65, "birthday": "2022-03-04"}, "children[0].name"),
        ("not an object", "children[0]"),
    ],
)
def test_member_other_child_errors_name_the_field(child: Any, field: str) -> None:
    assert set(member_errors({"children": [child]})) == {field}


def test_member_children_must_be_a_short_list() -> None:
    assert set(member_errors({"children": {"name": "a"}})) == {"children"}
    kids = [{"name": str(i), "birthday": "2022-03-04"} for i in range(21)]
    assert set(member_errors({"children": kids})) == {"children"}
    assert len(validation.parse_member_update({"children": kids[:20]}, "CN")["children"]) == 20


@pytest.mark.parametrize("flag", ["yes", 1, 0, None, "true"])
def test_member_consent_values_must_be_booleans(flag: Any) -> None:
    assert set(member_errors({"consent": {"sms": True, "marketing": flag}})) == {"consent.marketing"}


def test_member_consent_unknown_kind_and_non_object() -> None:
    assert set(member_errors({"consent": {"email": True}})) == {"consent.email"}
    assert set(member_errors({"consent": True})) == {"consent"}
    assert set(member_errors({"consent": None})) == {"consent"}


def test_member_unknown_fields_are_each_named() -> None:
    assert set(member_errors({"name": "ok", "nmae": "typo", "points": 5})) == {"nmae", "points"}


def test_member_every_bad_field_is_reported_at_once() -> None:
    errors = member_errors({"phone": "123", "timezone": "Nowhere/Land", "locale": "fr", "tags": "lego"})
    assert set(errors) == {"phone", "timezone", "locale", "tags"}


@pytest.mark.parametrize(
    ("field", "cleared"),
    [
        ("phone", None),
        ("im_user_id", None),
        ("timezone", None),
        ("tier", None),
        ("store_id", None),
        ("stored_value", None),
        ("tags", []),
        ("name", ""),
        ("joined_at", None),
    ],
)
def test_member_null_clears_an_optional_field(field: str, cleared: Any) -> None:
    assert validation.parse_member_update({field: None}, "CN") == {field: cleared}


def test_member_null_children_clears_them_like_null_tags() -> None:
    # Given "children": null (docstring: "null clears optional ones"; "tags": null already clears)
    # Then the children are cleared instead of a 400
    assert validation.parse_member_update({"children": None}, "CN") == {"children": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"tier": "x" * 33}, "tier"),
        ({"tags": ["x" * 65]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"tags": ["t"] * 51}, "tags"),
        ({"joined_at": "2026-11-20T10:00:00"}, "joined_at"),
        ({"joined_at": "yesterday"}, "joined_at"),
        ({"stored_value": {"balance": -1}}, "stored_value.balance"),
        ({"stored_value": {"balance": True}}, "stored_value.balance"),
        ({"stored_value": {"balance": 5, "expires_on": "31/01/2027"}}, "stored_value.expires_on"),
        ({"stored_value": 5}, "stored_value"),
    ],
)
def test_member_field_boundaries(body: dict[str, Any], field: str) -> None:
    assert set(member_errors(body)) == {field}


def test_member_text_boundaries_accept_the_maximum() -> None:
    out = validation.parse_member_update({"name": "x" * 200, "tier": "t" * 32, "tags": ["t" * 64] * 50}, "CN")
    assert len(out["name"]) == 200 and len(out["tier"]) == 32 and len(out["tags"]) == 50


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # 10**400 is valid JSON; math.isfinite(int) converts to float and raises OverflowError
        ({"stored_value": {"balance": 10**400}}, "stored_value.balance"),
        # valid ISO 8601 with a zone, but out of range once converted to UTC: OverflowError
        ({"joined_at": "9999-12-31T23:59:59-01:00"}, "joined_at"),
        ({"joined_at": "0001-01-01T00:00:00+01:00"}, "joined_at"),
    ],
)
def test_member_extreme_values_are_a_validation_error_not_a_crash(body: dict[str, Any], field: str) -> None:
    assert set(member_errors(body)) == {field}


# -- orders -----------------------------------------------------------------------------------------


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": "o-1",
        "purchased_at": "2026-11-21T15:30:00+08:00",
        "items": [{"sku": "lego-1", "qty": 1, "price": 99.0}, {"sku": "duplo-2", "qty": 2, "price": 49.5}],
        "total": 198,
        "store_id": "store-sh-01",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def test_order_valid_body() -> None:
    order = validation.parse_order("m-1", order_body())
    assert order.order_id == "o-1"
    assert order.purchased_at == datetime(2026, 11, 21, 7, 30, tzinfo=UTC)
    assert [i.qty for i in order.items] == [1, 2]
    assert order.total == 198.0


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"sku": "duplo-2", "qty": 0, "price": 1}, "items[1].qty"),
        ({"sku": "duplo-2", "qty": 1.5, "price": 1}, "items[1].qty"),
        ({"sku": "duplo-2", "qty": True, "price": 1}, "items[1].qty"),
        ({"sku": "duplo-2", "price": 1}, "items[1].qty"),
        ({"sku": "duplo-2", "qty": 1, "price": -0.01}, "items[1].price"),
        ({"sku": "duplo-2", "qty": 1}, "items[1].price"),
        ({"sku": "bad sku", "qty": 1, "price": 1}, "items[1].sku"),
        ("duplo", "items[1]"),
    ],
)
def test_order_item_errors_are_named_by_index(item: Any, field: str) -> None:
    body = order_body(items=[{"sku": "lego-1", "qty": 1, "price": 99.0}, item])
    assert set(rejected(validation.parse_order, "m-1", body)) == {field}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purchased_at": ...}, "purchased_at"),
        ({"purchased_at": "2026-11-21T15:30:00"}, "purchased_at"),
        ({"purchased_at": "2026-11-21"}, "purchased_at"),
        ({"purchased_at": 1795312800}, "purchased_at"),
        ({"order_id": ...}, "order_id"),
        ({"order_id": "o 1"}, "order_id"),
        ({"total": ...}, "total"),
        ({"total": -1}, "total"),
        ({"total": "198"}, "total"),
        ({"items": []}, "items"),
        ({"items": ...}, "items"),
        ({"items": [{"sku": "a", "qty": 1, "price": 1}] * 501}, "items"),
        ({"store_id": 7}, "store_id"),
    ],
)
def test_order_field_errors(overrides: dict[str, Any], field: str) -> None:
    assert set(rejected(validation.parse_order, "m-1", order_body(**overrides))) == {field}


def test_order_zero_total_and_free_items_are_fine() -> None:
    order = validation.parse_order("m-1", order_body(total=0, items=[{"sku": "gift", "qty": 1, "price": 0}]))
    assert order.total == 0.0 and order.items[0].price == 0.0


# -- points -----------------------------------------------------------------------------------------


def test_points_credit_with_expiry() -> None:
    txn = validation.parse_points(
        "m-1", {"txn_id": "t-1", "delta": 100, "reason": "order o-1", "expires_on": "2027-12-31"}, NOW
    )
    assert (txn.delta, txn.expires_on, txn.created_at) == (100, date(2027, 12, 31), NOW)


def test_points_debit_without_expiry() -> None:
    assert validation.parse_points("m-1", {"txn_id": "t-2", "delta": -1}, NOW).delta == -1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"txn_id": "t", "delta": 0}, "delta"),
        ({"txn_id": "t", "delta": -5, "expires_on": "2027-12-31"}, "expires_on"),
        ({"txn_id": "t"}, "delta"),
        ({"txn_id": "t", "delta": 1.5}, "delta"),
        ({"txn_id": "t", "delta": True}, "delta"),
        ({"txn_id": "t", "delta": "5"}, "delta"),
        ({"delta": 5}, "txn_id"),
        ({"txn_id": "t", "delta": 5, "expires_on": "2027-13-01"}, "expires_on"),
        ({"txn_id": "t", "delta": 5, "reason": "r" * 101}, "reason"),
    ],
)
def test_points_field_errors(body: dict[str, Any], field: str) -> None:
    assert set(rejected(validation.parse_points, "m-1", body, NOW)) == {field}


# -- coupons ----------------------------------------------------------------------------------------


def test_coupon_valid() -> None:
    coupon = validation.parse_coupon(
        "m-1", {"coupon_id": "c-1", "title": "满100减20", "value": 20, "expires_on": "2026-12-31"}, NOW
    )
    assert (coupon.value, coupon.expires_on, coupon.issued_at) == (20.0, date(2026, 12, 31), NOW)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "t", "value": 1, "expires_on": "2026-12-31"}, "coupon_id"),
        ({"coupon_id": "c", "value": 1, "expires_on": "2026-12-31"}, "title"),
        ({"coupon_id": "c", "title": "  ", "value": 1, "expires_on": "2026-12-31"}, "title"),
        ({"coupon_id": "c", "title": "t", "value": -1, "expires_on": "2026-12-31"}, "value"),
        ({"coupon_id": "c", "title": "t", "value": 1}, "expires_on"),
        ({"coupon_id": "c", "title": "t", "value": 1, "expires_on": "soon"}, "expires_on"),
    ],
)
def test_coupon_field_errors(body: dict[str, Any], field: str) -> None:
    assert set(rejected(validation.parse_coupon, "m-1", body, NOW)) == {field}


# -- products ---------------------------------------------------------------------------------------


def test_product_valid_with_defaults() -> None:
    product = validation.parse_product("lego-1", {"name": "Lego City", "age_min_months": 48, "age_max_months": 48})
    assert (product.gender, product.in_stock, product.tags) == ("any", True, ())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "age_min_months": 36, "age_max_months": 35}, "age_max_months"),
        ({"name": "x", "age_min_months": -1}, "age_min_months"),
        ({"name": "x", "gender": "unisex"}, "gender"),
        ({"name": "x", "in_stock": "yes"}, "in_stock"),
        ({"name": "x", "price": -1}, "price"),
        ({"name": "x", "arrived_on": "2026-11-31"}, "arrived_on"),
        ({"name": "x", "accessory_of": "lego"}, "accessory_of"),
        ({"category": "blocks"}, "name"),
    ],
)
def test_product_field_errors(body: dict[str, Any], field: str) -> None:
    assert set(rejected(validation.parse_product, "lego-1", body)) == {field}


def test_product_bad_sku_names_sku() -> None:
    assert set(rejected(validation.parse_product, "lego 1", {"name": "x"})) == {"sku"}


# -- numbers DynamoDB cannot hold, dates outside a plausible window ---------------------------------

HUGE = [1e200, -1e200, float("nan"), float("inf"), float("-inf"), 10**40, 1e16, 1e-200]


def an_order(**changes: Any) -> dict[str, Any]:
    body = {
        "order_id": "o-1",
        "purchased_at": "2026-11-21T10:00:00Z",
        "total": 10,
        "items": [{"sku": "s", "qty": 1, "price": 10}],
    }
    return {**body, **changes}


@pytest.mark.parametrize("value", HUGE)
def test_an_out_of_range_order_number_names_the_field(value: Any) -> None:
    assert set(rejected(validation.parse_order, "m-1", an_order(total=value), NOW)) == {"total"}
    items = [{"sku": "s", "qty": 1, "price": value}]
    assert set(rejected(validation.parse_order, "m-1", an_order(items=items), NOW)) == {"items[0].price"}


@pytest.mark.parametrize("value", [10**40, 10**16, -(10**16)])
def test_an_out_of_range_integer_names_the_field(value: int) -> None:
    items = [{"sku": "s", "qty": value, "price": 1}]
    assert "items[0].qty" in rejected(validation.parse_order, "m-1", an_order(items=items), NOW)
    body = {"txn_id": "t-1", "delta": value, "reason": "x"}
    assert set(rejected(validation.parse_points, "m-1", body, NOW)) == {"delta"}


@pytest.mark.parametrize("value", HUGE)
def test_out_of_range_money_names_the_field(value: Any) -> None:
    coupon = {"coupon_id": "c-1", "title": "t", "value": value, "expires_on": "2026-12-31"}
    assert set(rejected(validation.parse_coupon, "m-1", coupon, NOW)) == {"value"}
    assert set(rejected(validation.parse_product, "sku-1", {"name": "n", "price": value}, NOW)) == {"price"}
    balance = {"stored_value": {"balance": value, "expires_on": "2026-12-31"}}
    assert set(member_errors(balance)) == {"stored_value.balance"}


def test_numbers_at_the_edge_of_the_range_are_fine() -> None:
    order = validation.parse_order("m-1", an_order(total=1e15, items=[{"sku": "s", "qty": 1, "price": 0.01}]), NOW)
    assert order.total == 1e15


@pytest.mark.parametrize(
    ("purchased_at", "ok"),
    [
        ("2962-11-21T10:00:00Z", False),  # a typo for 2026
        ("2026-11-23T08:00:00Z", True),  # a day ahead of the request (clocks, zones)
        ("2026-11-23T08:00:01Z", False),
        ("2000-01-01T00:00:00Z", True),
        ("1999-12-31T23:59:59Z", False),
    ],
)
def test_an_order_is_dated_within_a_plausible_window(purchased_at: str, ok: bool) -> None:
    body = an_order(purchased_at=purchased_at)
    if ok:
        validation.parse_order("m-1", body, NOW)
    else:
        assert set(rejected(validation.parse_order, "m-1", body, NOW)) == {"purchased_at"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"children": [{"birthday": "2026-12-01"}]}, "children[0].birthday"),  # not born yet
        ({"children": [{"birthday": "2008-11-21"}]}, "children[0].birthday"),  # 18 and over: not a child
        ({"children": [{"birthday": "1926-03-04"}]}, "children[0].birthday"),
        ({"joined_at": "2962-01-01T00:00:00Z"}, "joined_at"),
        ({"joined_at": "1990-01-01T00:00:00Z"}, "joined_at"),
        ({"stored_value": {"balance": 1, "expires_on": "2962-01-01"}}, "stored_value.expires_on"),
    ],
)
def test_member_dates_within_a_plausible_window(body: dict[str, Any], field: str) -> None:
    assert set(rejected(validation.parse_member_update, body, "CN", NOW)) == {field}


def test_member_dates_at_the_edges_are_fine() -> None:
    body = {"children": [{"birthday": "2008-11-23"}, {"birthday": "2026-11-22"}], "joined_at": "2026-11-22T08:00:00Z"}
    out = validation.parse_member_update(body, "CN", NOW)
    assert [c.birthday for c in out["children"]] == [date(2008, 11, 23), date(2026, 11, 22)]


@pytest.mark.parametrize(
    ("fn", "args", "field"),
    [
        (validation.parse_points, ("m-1", {"txn_id": "t", "delta": 5, "expires_on": "2962-01-01"}), "expires_on"),
        (validation.parse_coupon, ("m-1", {"coupon_id": "c", "title": "t", "value": 5, "expires_on": "2962-01-01"}),
         "expires_on"),
        (validation.parse_coupon, ("m-1", {"coupon_id": "c", "title": "t", "value": 5, "expires_on": "1999-01-01"}),
         "expires_on"),
        (validation.parse_product, ("sku-1", {"name": "n", "arrived_on": "2962-01-01"}), "arrived_on"),
    ],
)  # fmt: skip
def test_other_dates_within_a_plausible_window(fn: Any, args: tuple[Any, ...], field: str) -> None:
    assert set(rejected(fn, *args, NOW)) == {field}
