"""DynamoMemberStore against moto: optimistic versions, transactional activity writes, codec round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.domain.model import (
    Coupon,
    Member,
    Order,
    OrderItem,
    PointsLot,
    PointsTxn,
    StoredValue,
)
from chalicelib.ports import VersionConflict
from tests.integration.contract.test_member_store import full_member as contract_member

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)


def full_member(member_id: str = "m-it-1") -> Member:
    """The contract suite's member with every field set (tests/integration/contract)."""
    return contract_member(member_id)


def an_order(member_id: str, order_id: str = "o-5001") -> Order:
    return Order(
        member_id=member_id,
        order_id=order_id,
        purchased_at=T1,
        items=(OrderItem("DOLL-001", 1, 199.0), OrderItem("PUZ-100-L1", 2, 50.5)),
        total=300.0,
        store_id="store-sh-01",
    )


def a_points_txn(member_id: str, txn_id: str = "t-9") -> PointsTxn:
    return PointsTxn(member_id, txn_id, 30, "order o-5001", date(2027, 11, 30), T1)


def stored_version(aws, member_id: str) -> int:
    item = aws.dynamodb.get_item(
        TableName=aws.tables["MembersTable"], Key={"member_id": {"S": member_id}}, ConsistentRead=True
    )["Item"]
    return int(item["version"]["N"])


def activity_keys(aws, member_id: str) -> list[str]:
    return sorted(i["sk"]["S"] for i in aws.scan("ActivityTable") if i["member_id"]["S"] == member_id)


class TestSave:
    def test_given_a_new_member_when_saved_then_it_is_stored_as_version_1(self, aws):
        store = DynamoMemberStore()
        member = Member("m-new", name="Ann")

        store.save(member)

        assert member.version == 1
        assert stored_version(aws, "m-new") == 1
        loaded = store.get("m-new")
        assert loaded is not None and loaded.version == 1 and loaded.name == "Ann"

    def test_given_a_saved_member_when_saved_again_then_the_version_goes_up(self, aws):
        store = DynamoMemberStore()
        member = Member("m-v")
        store.save(member)
        member.tier = "gold"

        store.save(member)

        assert member.version == 2
        assert stored_version(aws, "m-v") == 2
        assert store.get("m-v").tier == "gold"

    def test_given_two_readers_when_the_second_saves_a_stale_copy_then_version_conflict(self, aws):
        store = DynamoMemberStore()
        store.save(Member("m-race", tier="regular"))
        first, second = store.get("m-race"), store.get("m-race")
        first.tier = "silver"
        store.save(first)

        second.tier = "gold"
        with pytest.raises(VersionConflict):
            store.save(second)

        assert second.version == 1
        assert store.get("m-race").tier == "silver"
        assert stored_version(aws, "m-race") == 2

    def test_given_an_existing_member_when_a_new_one_with_the_same_id_is_saved_then_version_conflict(self, aws):
        store = DynamoMemberStore()
        store.save(Member("m-dup", name="first"))

        with pytest.raises(VersionConflict):
            store.save(Member("m-dup", name="second"))

        assert store.get("m-dup").name == "first"

    def test_given_no_member_when_get_then_none(self, aws):
        assert DynamoMemberStore().get("m-nobody") is None


class TestRoundTrip:
    def test_given_every_field_set_when_saved_and_read_then_the_member_is_unchanged(self, aws):
        store = DynamoMemberStore()
        member = full_member()

        store.save(member)
        loaded = store.get(member.member_id)

        assert loaded == member
        assert loaded.points_balance == 150
        item = aws.dynamodb.get_item(TableName=aws.tables["MembersTable"], Key={"member_id": {"S": member.member_id}})[
            "Item"
        ]
        assert item["points_balance"] == {"N": "150"}
        assert item["consent"]["M"]["sms"] == {"BOOL": False}

    def test_given_optional_parts_missing_when_saved_and_read_then_they_stay_empty(self, aws):
        store = DynamoMemberStore()
        member = Member(
            "m-bare",
            stored_value=StoredValue(10.0, None),
            points_lots=[PointsLot("t-open", 5, None)],
        )

        store.save(member)
        loaded = store.get("m-bare")

        assert loaded == member
        assert loaded.stored_value == StoredValue(10.0, None)
        assert loaded.children == [] and loaded.tags == [] and loaded.phone is None


@pytest.mark.parametrize("kind", ["order", "points"])
class TestActivityTransactions:
    @staticmethod
    def _add(store: DynamoMemberStore, kind: str, member: Member, activity_id: str) -> bool:
        if kind == "order":
            return store.add_order(an_order(member.member_id, activity_id), member)
        return store.add_points(a_points_txn(member.member_id, activity_id), member)

    def test_given_a_member_when_the_activity_is_added_then_true_and_member_version_goes_up(self, aws, kind):
        store = DynamoMemberStore()
        member = Member("m-act")
        store.save(member)
        member.last_purchase_at = T1

        assert self._add(store, kind, member, "a-1") is True

        assert member.version == 2
        assert stored_version(aws, "m-act") == 2
        assert store.get("m-act").last_purchase_at == T1
        assert activity_keys(aws, "m-act") == [f"{kind.upper()}#a-1"]

    def test_given_the_activity_exists_when_added_again_then_false_and_nothing_written(self, aws, kind):
        store = DynamoMemberStore()
        member = Member("m-act")
        store.save(member)
        assert self._add(store, kind, member, "a-1") is True
        member.tier = "gold"  # would be visible if the member write went through

        assert self._add(store, kind, member, "a-1") is False

        assert member.version == 2
        assert stored_version(aws, "m-act") == 2
        assert store.get("m-act").tier is None
        assert activity_keys(aws, "m-act") == [f"{kind.upper()}#a-1"]

    def test_given_a_stale_member_when_the_activity_is_added_then_version_conflict_and_nothing_written(self, aws, kind):
        store = DynamoMemberStore()
        store.save(Member("m-act"))
        stale = store.get("m-act")
        fresh = store.get("m-act")
        fresh.name = "moved on"
        store.save(fresh)

        with pytest.raises(VersionConflict):
            self._add(store, kind, stale, "a-2")

        assert stale.version == 1
        assert stored_version(aws, "m-act") == 2
        assert activity_keys(aws, "m-act") == []


class TestPointsTxnMembersLots:
    def test_given_new_lots_on_the_member_when_points_added_then_lots_are_stored_with_the_txn(self, aws):
        store = DynamoMemberStore()
        member = Member("m-pts")
        store.save(member)
        txn = a_points_txn("m-pts", "t-9")
        updated = replace(member, points_lots=[PointsLot("t-9", 30, date(2027, 11, 30))])

        assert store.add_points(txn, updated) is True

        loaded = store.get("m-pts")
        assert loaded.points_lots == [PointsLot("t-9", 30, date(2027, 11, 30))]
        assert loaded.points_balance == 30
        [row] = [i for i in aws.scan("ActivityTable") if i["sk"]["S"] == "POINTS#t-9"]
        assert row["kind"] == {"S": "points"}
        assert row["data"]["M"]["delta"] == {"N": "30"}


class TestCoupons:
    def test_given_a_coupon_when_added_twice_then_true_then_false_and_one_row(self, aws):
        store = DynamoMemberStore()
        coupon = Coupon("m-cpn", "c-1", "生日礼券", 20.0, date(2026, 12, 31), T0)

        assert store.add_coupon(coupon) is True
        assert store.add_coupon(replace(coupon, title="changed")) is False

        rows = [i for i in aws.scan("ActivityTable") if i["member_id"]["S"] == "m-cpn"]
        assert len(rows) == 1
        assert rows[0]["sk"] == {"S": "COUPON#c-1"}
        assert rows[0]["data"]["M"]["title"] == {"S": "生日礼券"}


class TestOrders:
    def test_given_a_stored_order_when_get_order_then_the_same_order(self, aws):
        store = DynamoMemberStore()
        member = Member("m-ord")
        store.save(member)
        order = an_order("m-ord", "o-7")
        store.add_order(order, member)

        assert store.get_order("m-ord", "o-7") == order

    def test_given_no_such_order_when_get_order_then_none(self, aws):
        store = DynamoMemberStore()

        assert store.get_order("m-ord", "o-missing") is None


def test_a_provider_marking_an_erased_members_channel_leaves_the_tombstone_as_it_is(aws) -> None:
    store = DynamoMemberStore()
    store.save(Member("m-t", name="王小明", phone="+8613800138000"))
    store.erase("m-t", datetime(2026, 11, 30, tzinfo=UTC))
    before = aws.dynamodb.get_item(TableName=aws.tables["MembersTable"], Key={"member_id": {"S": "m-t"}})["Item"]

    store.mark_unreachable("m-t", "sms", "invalid address")

    after = aws.dynamodb.get_item(TableName=aws.tables["MembersTable"], Key={"member_id": {"S": "m-t"}})["Item"]
    assert after == before
