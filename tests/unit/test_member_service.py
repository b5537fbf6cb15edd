"""MemberService: upsert/merge, idempotent orders and points, retries on concurrent writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.eligibility import Policy
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.model import Channel, Consent
from chalicelib.domain.planning import plan_message
from chalicelib.domain.triggers import Trigger
from chalicelib.services.members import MemberService
from tests.fakes import NOW, FakeMemberStore, FakeMessageStore, FakeProductStore, rule_book

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def store() -> FakeMemberStore:
    return FakeMemberStore()


@pytest.fixture
def service(store: FakeMemberStore) -> MemberService:
    return MemberService(store, FakeProductStore(), FakeMessageStore(), "CN")


def order(
    order_id: str = "o-1", purchased_at: str = "2026-11-21T15:30:00+08:00", total: float = 99.0, qty: int = 1
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "purchased_at": purchased_at,
        "total": total,
        "items": [{"sku": "lego-1", "qty": qty, "price": 99.0}],
    }


# -- upsert -----------------------------------------------------------------------------------------


def test_upsert_creates_a_member_with_normalised_fields(service: MemberService, store: FakeMemberStore) -> None:
    # When a new member is PUT
    member, created = service.upsert("m-1", {"name": "王小明", "phone": "138 0013 8000"}, NOW)
    # Then it is created, stored at version 1, joined/created/updated now, phone in E.164
    assert created is True
    assert member.phone == "+8613800138000"
    assert (member.joined_at, member.created_at, member.updated_at) == (NOW, NOW, NOW)
    assert store.members["m-1"].version == 1
    assert store.members["m-1"].consent == Consent(sms=True, im=True, marketing=False)


def test_upsert_updates_only_the_fields_sent(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"name": "王小明", "phone": "13800138000", "tier": "regular"}, NOW)
    # When only the tier is sent later
    member, created = service.upsert("m-1", {"tier": "gold"}, LATER)
    # Then the rest is kept, created_at/joined_at stay, updated_at moves
    assert created is False
    stored = store.members["m-1"]
    assert (stored.name, stored.phone, stored.tier) == ("王小明", "+8613800138000", "gold")
    assert (stored.created_at, stored.joined_at, stored.updated_at) == (NOW, NOW, LATER)
    assert stored.version == 2 == member.version


def test_upsert_merges_consent_flags(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"consent": {"sms": False}}, NOW)
    service.upsert("m-1", {"consent": {"marketing": True}}, LATER)
    assert store.members["m-1"].consent == Consent(sms=False, im=True, marketing=True)


def test_upsert_null_clears_but_null_joined_at_keeps_it(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"phone": "13800138000", "joined_at": "2025-01-01T00:00:00Z", "tags": ["a"]}, NOW)
    service.upsert("m-1", {"phone": None, "joined_at": None, "tags": None}, LATER)
    stored = store.members["m-1"]
    assert stored.phone is None and stored.tags == []
    assert stored.joined_at == datetime(2025, 1, 1, tzinfo=UTC)


def test_upsert_rejects_a_bad_member_id_and_bad_fields_without_writing(
    service: MemberService, store: FakeMemberStore
) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.upsert("bad id", {"name": "x"}, NOW)
    assert set(info.value.fields) == {"member_id"}
    with pytest.raises(ValidationFailed) as info:
        service.upsert("m-1", {"phone": "123"}, NOW)
    assert set(info.value.fields) == {"phone"}
    assert store.writes == 0


def test_upsert_retries_after_a_concurrent_write_and_keeps_both_changes(
    service: MemberService, store: FakeMemberStore
) -> None:
    # Given an existing member, and another writer that changes the tier between our read and our write
    service.upsert("m-1", {"name": "王小明", "tier": "regular"}, NOW)

    def concurrent_writer() -> None:
        other = store.get("m-1")
        assert other is not None
        other.tier = "gold"
        store.save(other)

    store.before_next_write = concurrent_writer
    # When we change the name
    _, created = service.upsert("m-1", {"name": "小明"}, LATER)
    # Then the first save conflicts, the retry re-reads, and neither change is lost
    assert created is False
    stored = store.members["m-1"]
    assert (stored.name, stored.tier, stored.version) == ("小明", "gold", 3)


def test_upsert_create_race_turns_into_an_update(service: MemberService, store: FakeMemberStore) -> None:
    # Given another request creates the same member between our read and our write
    def concurrent_create() -> None:
        MemberService(store, FakeProductStore(), FakeMessageStore(), "CN").upsert("m-1", {"tier": "gold"}, NOW)

    store.before_next_write = concurrent_create
    _, created = service.upsert("m-1", {"name": "王小明"}, NOW)
    # Then ours becomes an update of theirs
    assert created is False
    assert (store.members["m-1"].name, store.members["m-1"].tier) == ("王小明", "gold")


def test_upsert_gives_up_with_conflict_when_every_write_conflicts(
    service: MemberService, store: FakeMemberStore
) -> None:
    store.always_conflict = True
    with pytest.raises(Conflict):
        service.upsert("m-1", {"name": "x"}, NOW)


def test_get_unknown_member_is_not_found(service: MemberService) -> None:
    with pytest.raises(NotFound):
        service.get("nobody")


def test_get_returns_the_profile_shape(service: MemberService) -> None:
    service.upsert("m-1", {"name": "王小明", "children": [{"name": "小宝", "birthday": "2022-03-04"}]}, NOW)
    profile = service.get("m-1")
    assert profile["member_id"] == "m-1"
    assert profile["children"] == [{"name": "小宝", "birthday": "2022-03-04", "gender": "unknown"}]
    assert profile["points"] == {"balance": 0, "expiring": []}
    assert profile["consent"] == {"sms": True, "im": True, "marketing": False}
    assert profile["created_at"] == "2026-11-22T08:00:00Z"
    assert profile["last_purchase_at"] is None


def test_the_profile_says_why_no_sms_can_go_to_a_landline(service: MemberService) -> None:
    service.upsert("m-1", {"phone": "010-6552 9988"}, NOW)  # a Beijing landline: kept on the profile
    profile = service.get("m-1")
    assert profile["phone"] == "+861065529988"
    assert profile["sms_unavailable"] == "a fixed line cannot receive SMS"
    service.upsert("m-1", {"phone": "13800138000"}, NOW)
    assert service.get("m-1")["sms_unavailable"] is None


# -- orders -----------------------------------------------------------------------------------------


def test_order_for_unknown_member_is_not_found(service: MemberService) -> None:
    with pytest.raises(NotFound):
        service.record_order("nobody", order())


def test_order_is_recorded_once_per_order_id(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)
    # When the same order is posted twice
    first, created_first = service.record_order("m-1", order())
    again, created_again = service.record_order("m-1", order())
    # Then it is stored once, the replay answers created=False with the stored order
    assert (created_first, created_again) == (True, False)
    assert again == first
    assert len(store.orders("m-1")) == 1
    assert store.members["m-1"].last_purchase_at == datetime(2026, 11, 21, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("changed", [{"total": 100.0}, {"qty": 2}])
def test_same_order_id_with_other_content_is_a_conflict(
    service: MemberService, store: FakeMemberStore, changed: dict[str, Any]
) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)
    service.record_order("m-1", order())
    with pytest.raises(Conflict):
        service.record_order("m-1", order(**changed))
    assert len(store.orders("m-1")) == 1


def test_last_purchase_is_the_latest_purchase_not_the_latest_post(
    service: MemberService, store: FakeMemberStore
) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)
    service.record_order("m-1", order("o-2", "2026-11-20T10:00:00Z"))
    service.record_order("m-1", order("o-1", "2026-11-01T10:00:00Z"))  # an older receipt arrives late
    assert store.members["m-1"].last_purchase_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert service.get("m-1")["last_purchase_at"] == "2026-11-20T10:00:00Z"


def test_order_retries_after_a_concurrent_member_write(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)

    def concurrent_writer() -> None:
        other = store.get("m-1")
        assert other is not None
        other.tier = "gold"
        store.save(other)

    store.before_next_write = concurrent_writer
    _, created = service.record_order("m-1", order())
    assert created is True
    stored = store.members["m-1"]
    assert stored.tier == "gold" and stored.last_purchase_at is not None


# -- points -----------------------------------------------------------------------------------------


def test_points_credit_then_debit_updates_the_balance(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)
    _, member, created = service.record_points("m-1", {"txn_id": "t-1", "delta": 100, "expires_on": "2027-06-30"}, NOW)
    assert created and member.points_balance == 100
    _, member, created = service.record_points("m-1", {"txn_id": "t-2", "delta": -30}, LATER)
    assert created and member.points_balance == 70
    assert store.members["m-1"].points_balance == 70
    assert service.get("m-1")["points"] == {"balance": 70, "expiring": [{"amount": 70, "expires_on": "2027-06-30"}]}


def test_points_replay_is_idempotent_on_txn_id(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)
    service.record_points("m-1", {"txn_id": "t-1", "delta": 100}, NOW)
    # When the same credit is posted again
    _, member, created = service.record_points("m-1", {"txn_id": "t-1", "delta": 100}, LATER)
    # Then nothing changes
    assert created is False
    assert member.points_balance == 100 == store.members["m-1"].points_balance
    assert len(store.points_txns("m-1")) == 1


def test_points_replay_of_a_debit_after_the_balance_was_spent_is_still_idempotent(
    service: MemberService, store: FakeMemberStore
) -> None:
    # Given 100 credited and 80 debited (t-2), leaving 20
    service.upsert("m-1", {"name": "x"}, NOW)
    service.record_points("m-1", {"txn_id": "t-1", "delta": 100}, NOW)
    service.record_points("m-1", {"txn_id": "t-2", "delta": -80}, NOW)
    # When the client retries t-2 (e.g. its first answer was lost)
    _, member, created = service.record_points("m-1", {"txn_id": "t-2", "delta": -80}, LATER)
    # Then the replay answers created=False with balance 20 — not a 400 "debit exceeds the balance"
    assert created is False
    assert member.points_balance == 20


def test_points_over_debit_is_a_validation_error_on_delta(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)
    service.record_points("m-1", {"txn_id": "t-1", "delta": 10}, NOW)
    with pytest.raises(ValidationFailed) as info:
        service.record_points("m-1", {"txn_id": "t-2", "delta": -11}, NOW)
    assert set(info.value.fields) == {"delta"}
    assert store.members["m-1"].points_balance == 10


def test_points_for_unknown_member_is_not_found(service: MemberService) -> None:
    with pytest.raises(NotFound):
        service.record_points("nobody", {"txn_id": "t-1", "delta": 1}, NOW)


def test_points_retry_after_a_concurrent_debit_recomputes_the_lots(
    service: MemberService, store: FakeMemberStore
) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)
    service.record_points("m-1", {"txn_id": "t-1", "delta": 100}, NOW)

    def concurrent_debit() -> None:
        MemberService(store, FakeProductStore(), FakeMessageStore(), "CN").record_points(
            "m-1", {"txn_id": "t-x", "delta": -40}, NOW
        )

    store.before_next_write = concurrent_debit
    _, member, created = service.record_points("m-1", {"txn_id": "t-2", "delta": -50}, LATER)
    assert created is True
    assert member.points_balance == 10 == store.members["m-1"].points_balance


# -- coupons, products, messages --------------------------------------------------------------------


def test_coupon_is_issued_once_per_coupon_id(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"name": "x"}, NOW)
    body = {"coupon_id": "c-1", "title": "满100减20", "value": 20, "expires_on": "2026-12-31"}
    assert service.issue_coupon("m-1", body, NOW)[1] is True
    assert service.issue_coupon("m-1", body, NOW)[1] is False
    assert len(store.coupons("m-1")) == 1
    with pytest.raises(NotFound):
        service.issue_coupon("nobody", body, NOW)


def test_put_product_stores_it(store: FakeMemberStore) -> None:
    products = FakeProductStore()
    service = MemberService(store, products, FakeMessageStore(), "CN")
    product = service.put_product("lego-1", {"name": "Lego City", "age_min_months": 48})
    assert products.get("lego-1") == product


def test_messages_of_lists_newest_first(store: FakeMemberStore) -> None:
    messages = FakeMessageStore()
    service = MemberService(store, FakeProductStore(), messages, "CN")
    m, _ = service.upsert("m-1", {"name": "x", "phone": "13800138000", "tier": "gold"}, NOW)
    book = Policy(rule_book(), "Asia/Shanghai")
    providers = {Channel.SMS: "sandbox", Channel.IM: "sandbox"}
    messages.create(plan_message(m, Trigger("welcome", "m-1", "join", NOW), book, providers, NOW))
    messages.create(
        plan_message(
            m,
            Trigger("tier_upgraded", "m-1", "tier:gold", LATER, {"tier": {"name": "gold", "benefits": None}}),
            book,
            providers,
            LATER,
        )
    )
    assert [d["trigger"] for d in service.messages_of("m-1")] == ["tier_upgraded", "welcome"]
    with pytest.raises(NotFound):
        service.messages_of("nobody")


# -- unreachable marks (issue 9, B7) -------------------------------------------------------------------


def test_a_new_phone_clears_the_sms_unreachable_mark_and_the_profile_shows_marks(
    service: MemberService, store: FakeMemberStore
) -> None:
    service.upsert("m-1", {"phone": "13800138000", "im_user_id": "u1"}, NOW)
    store.mark_unreachable("m-1", "sms", "invalid address")
    store.mark_unreachable("m-1", "im", "invalid address")
    assert service.get("m-1")["unreachable"] == {"sms": "invalid address", "im": "invalid address"}

    service.upsert("m-1", {"name": "王小明"}, LATER)  # another field: the marks stay
    assert service.get("m-1")["unreachable"] == {"sms": "invalid address", "im": "invalid address"}

    service.upsert("m-1", {"phone": "13900139000"}, LATER)  # a new number: SMS may be tried again
    assert service.get("m-1")["unreachable"] == {"im": "invalid address"}


def test_consent_given_again_on_a_channel_clears_its_mark(service: MemberService, store: FakeMemberStore) -> None:
    service.upsert("m-1", {"phone": "13800138000", "consent": {"sms": False}}, NOW)
    store.mark_unreachable("m-1", "sms", "opted out at the provider")
    service.upsert("m-1", {"consent": {"im": False}}, LATER)  # the other channel: no change
    assert service.get("m-1")["unreachable"] == {"sms": "opted out at the provider"}
    service.upsert("m-1", {"consent": {"sms": True}}, LATER)
    assert service.get("m-1")["unreachable"] == {}
