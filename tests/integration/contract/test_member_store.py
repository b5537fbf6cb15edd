"""``MemberStore`` contract: optimistic versions, activity written once per key together with the
member's new version, copies in and out, the unreachable mark; a consent change recorded with the
write that makes it (both or neither); an erased member's tombstone, which nothing replaces; the
look-ups by address (``MemberDirectory``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.domain.consent import BY_REPLY, BY_STORE, ConsentChange
from chalicelib.domain.model import (
    Child,
    Consent,
    Coupon,
    Member,
    Order,
    OrderItem,
    PointsLot,
    PointsTxn,
    StoredValue,
)
from chalicelib.ports import VersionConflict

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
T2 = datetime(2026, 11, 21, 9, 30, 5, 123456, tzinfo=UTC)


def full_member(member_id: str = "m-1") -> Member:
    return Member(
        member_id=member_id,
        name="王小明",
        phone="+8613800138000",
        im_user_id="agora_u1001",
        timezone="Asia/Shanghai",
        locale="zh-TW",
        joined_at=T0,
        tier="silver",
        store_id="store-sh-01",
        tags=["lego", "puzzle"],
        children=[Child("乐乐", date(2023, 11, 25), "boy"), Child("Mia", date(2021, 2, 28), "girl")],
        consent=Consent(sms=False, im=True, marketing=True),
        stored_value=StoredValue(199.5, date(2027, 1, 31)),
        points_lots=[PointsLot("t-1", 120, date(2026, 12, 31)), PointsLot("t-2", 30, None)],
        last_purchase_at=T1,
        created_at=T0,
        updated_at=T1,
    )


def an_order(order_id: str = "o-1", member_id: str = "m-1") -> Order:
    items = (OrderItem("DOLL-001", 1, 199.0), OrderItem("PUZ-100-L1", 2, 50.5))
    return Order(member_id, order_id, T1, items, 300.0, "store-sh-01")


def saved(store: Any, member: Member | None = None) -> Member:
    member = member or full_member()
    store.save(member)
    return member


class TestVersions:
    def test_a_new_member_is_stored_as_version_1_and_reads_back_equal(self, adapters: Any) -> None:
        store = adapters.members
        member = saved(store)
        assert member.version == 1
        assert store.get("m-1") == member

    def test_a_save_needs_the_stored_version_and_moves_it(self, adapters: Any) -> None:
        store = adapters.members
        saved(store)
        a, b = store.get("m-1"), store.get("m-1")
        store.save(a)
        assert a.version == 2 == store.get("m-1").version
        with pytest.raises(VersionConflict):
            store.save(b)  # read at version 1
        assert b.version == 1

    def test_a_new_member_with_an_id_taken_conflicts(self, adapters: Any) -> None:
        saved(adapters.members)
        with pytest.raises(VersionConflict):
            adapters.members.save(full_member())

    def test_a_versioned_member_that_is_not_stored_conflicts(self, adapters: Any) -> None:
        with pytest.raises(VersionConflict):
            adapters.members.save(replace(full_member(), version=3))
        assert adapters.members.get("m-1") is None

    def test_reads_and_writes_are_copies(self, adapters: Any) -> None:
        store = adapters.members
        member = saved(store)
        member.tags.append("written-after-save")
        got = store.get("m-1")
        got.tags.append("changed-after-get")
        got.children.clear()
        again = store.get("m-1")
        assert again.tags == ["lego", "puzzle"] and len(again.children) == 2

    def test_optional_parts_missing_stay_empty(self, adapters: Any) -> None:
        store = adapters.members
        bare = saved(store, Member(member_id="m-2"))
        got = store.get("m-2")
        assert got == bare
        assert (got.children, got.points_lots, got.stored_value, got.unreachable) == ([], [], None, {})


class TestActivity:
    @pytest.mark.parametrize("kind_", ["order", "points"])
    def test_activity_is_written_once_and_moves_the_members_version(self, adapters: Any, kind_: str) -> None:
        store = adapters.members
        member = saved(store)
        add, get, value = (
            (store.add_order, store.get_order, an_order())
            if kind_ == "order"
            else (store.add_points, store.get_points, PointsTxn("m-1", "t-9", 30, "order o-1", date(2027, 11, 30), T1))
        )
        key = value.order_id if isinstance(value, Order) else value.txn_id
        assert add(value, member) is True
        assert member.version == 2 == store.get("m-1").version
        assert get("m-1", key) == value
        # The activity is checked first: a replay answers False even with a stale member.
        assert add(value, replace(full_member(), version=1)) is False
        assert store.get("m-1").version == 2

    def test_new_activity_with_a_stale_member_conflicts_and_writes_nothing(self, adapters: Any) -> None:
        store = adapters.members
        saved(store)
        stale = store.get("m-1")
        store.save(store.get("m-1"))
        with pytest.raises(VersionConflict):
            store.add_order(an_order("o-2"), stale)
        assert store.get_order("m-1", "o-2") is None
        assert store.get("m-1").version == 2

    def test_the_members_new_state_goes_with_the_activity(self, adapters: Any) -> None:
        store = adapters.members
        member = saved(store)
        member.points_lots.append(PointsLot("t-9", 30, date(2027, 11, 30)))
        store.add_points(PointsTxn("m-1", "t-9", 30, "", date(2027, 11, 30), T1), member)
        assert store.get("m-1").points_lots[-1] == PointsLot("t-9", 30, date(2027, 11, 30))

    def test_a_coupon_is_added_once(self, adapters: Any) -> None:
        coupon = Coupon("m-1", "c-1", "满100减20", 20.0, date(2026, 12, 31), T1)
        assert adapters.members.add_coupon(coupon) is True
        assert adapters.members.add_coupon(coupon) is False

    def test_unknown_activity_reads_none(self, adapters: Any) -> None:
        assert adapters.members.get_order("m-1", "o-none") is None
        assert adapters.members.get_points("m-1", "t-none") is None


class TestUnreachable:
    def test_the_mark_is_kept_and_moves_the_version(self, adapters: Any) -> None:
        store = adapters.members
        saved(store)
        store.mark_unreachable("m-1", "sms", "invalid address")
        got = store.get("m-1")
        assert got.unreachable == {"sms": "invalid address"} and got.version == 2
        store.mark_unreachable("m-1", "im", "opted out at the provider")
        assert store.get("m-1").unreachable == {"sms": "invalid address", "im": "opted out at the provider"}

    def test_marking_a_member_who_is_not_stored_creates_nothing(self, adapters: Any) -> None:
        adapters.members.mark_unreachable("m-gone", "sms", "invalid address")
        assert adapters.members.get("m-gone") is None


class TestDirectory:
    def test_a_member_is_found_by_phone_and_by_im_user(self, adapters: Any) -> None:
        saved(adapters.members)
        assert adapters.directory.by_phone("+8613800138000") == "m-1"
        assert adapters.directory.by_im_user("agora_u1001") == "m-1"
        assert adapters.directory.by_phone("+8613900000000") is None

    def test_phones_of_answers_the_members_that_have_one(self, adapters: Any) -> None:
        saved(adapters.members)
        saved(adapters.members, Member(member_id="m-2"))
        assert adapters.directory.phones_of(["m-1", "m-2", "m-unknown", "m-1"]) == {"m-1": "+8613800138000"}
        assert adapters.directory.phones_of([]) == {}


def consent_records(adapters: Any, member_id: str = "m-1") -> list[tuple[str, str, datetime, dict[str, Any]]]:
    """The member's consent history as the activity log reads it: (key, kind, at, data)."""
    return [(r.key, r.kind, r.at, r.data) for r in adapters.activity.for_member(member_id) if r.kind == "consent"]


class TestConsentHistory:
    def test_a_consent_change_is_recorded_with_the_write_under_the_new_version(self, adapters: Any) -> None:
        store = adapters.members
        member = full_member()
        store.save(member, ConsentChange("m-1", T0, {"sms": False, "im": True, "marketing": True}, BY_STORE))
        member.consent = Consent(sms=True, im=True, marketing=True)
        store.save(member, ConsentChange("m-1", T2, {"sms": True}, BY_REPLY))
        assert store.get("m-1").version == 2 and store.get("m-1").consent.sms is True
        assert consent_records(adapters) == [
            (
                "CONSENT#2026-11-20T02:00:00Z#1",
                "consent",
                T0,
                {"changes": {"sms": False, "im": True, "marketing": True}, "source": "api"},
            ),
            (
                "CONSENT#2026-11-21T09:30:05Z#2",
                "consent",
                T2.replace(microsecond=0),
                {"changes": {"sms": True}, "source": "reply"},
            ),
        ]

    def test_a_write_that_conflicts_records_no_consent_change(self, adapters: Any) -> None:
        store = adapters.members
        saved(store)
        stale = store.get("m-1")
        store.save(store.get("m-1"))
        stale.consent = Consent(sms=True, im=True, marketing=True)
        with pytest.raises(VersionConflict):
            store.save(stale, ConsentChange("m-1", T1, {"sms": True}, BY_REPLY))
        assert consent_records(adapters) == []
        assert store.get("m-1").consent.sms is False and store.get("m-1").version == 2

    def test_a_write_without_a_change_records_none(self, adapters: Any) -> None:
        store = adapters.members
        saved(store)
        store.save(store.get("m-1"))
        assert consent_records(adapters) == []


class TestTombstones:
    def test_an_erased_member_reads_none_and_says_when(self, adapters: Any) -> None:
        store = adapters.members
        saved(store)
        assert store.erased_at("m-1") is None
        assert store.erase("m-1", T1) == "erased"
        assert store.get("m-1") is None
        assert store.erased_at("m-1") == T1

    def test_erasing_again_or_an_unknown_member(self, adapters: Any) -> None:
        store = adapters.members
        saved(store)
        store.erase("m-1", T1)
        assert store.erase("m-1", T2) == "already"
        assert store.erased_at("m-1") == T1
        assert store.erase("m-none", T1) == "unknown"
        assert store.erased_at("m-none") is None

    def test_a_tombstone_is_never_replaced(self, adapters: Any) -> None:
        store = adapters.members
        stale = saved(store)
        store.erase("m-1", T1)
        with pytest.raises(VersionConflict):
            store.save(full_member())  # a re-run of an old import
        with pytest.raises(VersionConflict):
            store.save(stale)  # a write that read the member before the erasure
        with pytest.raises(VersionConflict):
            store.save(stale, ConsentChange("m-1", T2, {"sms": True}, BY_REPLY))
        with pytest.raises(VersionConflict):
            store.add_order(an_order("o-late"), stale)
        assert store.get("m-1") is None and store.get_order("m-1", "o-late") is None
        assert consent_records(adapters) == []

    def test_an_erased_member_is_not_found_by_address(self, adapters: Any) -> None:
        saved(adapters.members)
        adapters.members.erase("m-1", T1)
        adapters.members.mark_unreachable("m-1", "sms", "invalid address")
        assert adapters.members.get("m-1") is None
        assert adapters.directory.by_phone("+8613800138000") is None
        assert adapters.directory.by_im_user("agora_u1001") is None
        assert adapters.directory.phones_of(["m-1"]) == {}
