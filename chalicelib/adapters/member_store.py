"""``MemberStore`` on DynamoDB: members (optimistic versions) and their orders, points and coupons
(the activity table), written together where they must be."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..domain.isotime import to_iso
from ..domain.model import Coupon, Member, Order, PointsTxn
from ..ports import VersionConflict
from . import codec
from .models import ActivityModel, MemberModel
from .pynamo import conditional_failed, shared_connection


class DynamoMemberStore:
    def get(self, member_id: str) -> Member | None:
        try:
            return codec.member_from_item(MemberModel.get(member_id, consistent_read=True).to_simple_dict())
        except MemberModel.DoesNotExist:
            return None

    def get_many(self, member_ids: list[str]) -> dict[str, Member]:
        """One BatchGetItem (consistent) per 100 ids."""
        if not member_ids:
            return {}
        rows = MemberModel.batch_get(set(member_ids), consistent_read=True)
        return {row.member_id: codec.member_from_item(row.to_simple_dict()) for row in rows}

    def _model_for_write(self, member: Member) -> tuple[MemberModel, Any]:
        item = codec.member_to_item(member)
        expected = member.version
        item["version"] = expected + 1
        model = MemberModel(**item)
        condition = MemberModel.member_id.does_not_exist() if expected == 0 else MemberModel.version == expected
        return model, condition

    def save(self, member: Member) -> None:
        model, condition = self._model_for_write(member)
        try:
            model.save(condition=condition)
        except PutError as exc:
            if conditional_failed(exc):
                raise VersionConflict(member.member_id) from exc
            raise
        member.version += 1

    def _transact(self, activity: ActivityModel, member: Member) -> bool:
        model, member_condition = self._model_for_write(member)
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                tx.save(activity, condition=ActivityModel.sk.does_not_exist())
                tx.save(model, condition=member_condition)
        except TransactWriteError as exc:
            reasons = [r.code if r else None for r in exc.cancellation_reasons]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise VersionConflict(member.member_id) from exc
            raise
        member.version += 1
        return True

    def add_order(self, order: Order, member: Member) -> bool:
        activity = ActivityModel(
            order.member_id,
            f"ORDER#{order.order_id}",
            kind="order",
            data=codec.order_to_data(order),
            at=to_iso(order.purchased_at),
        )
        return self._transact(activity, member)

    def add_points(self, txn: PointsTxn, member: Member) -> bool:
        activity = ActivityModel(
            txn.member_id,
            f"POINTS#{txn.txn_id}",
            kind="points",
            data=codec.points_to_data(txn),
            at=to_iso(txn.created_at),
        )
        return self._transact(activity, member)

    def add_coupon(self, coupon: Coupon) -> bool:
        activity = ActivityModel(
            coupon.member_id,
            f"COUPON#{coupon.coupon_id}",
            kind="coupon",
            data=codec.coupon_to_data(coupon),
            at=to_iso(coupon.issued_at),
        )
        try:
            activity.save(condition=ActivityModel.sk.does_not_exist())
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def mark_unreachable(self, member_id: str, channel: str, why: str) -> None:
        """A direct update (no version check: it touches one key of one map, and must not lose to a
        concurrent profile edit)."""
        try:
            MemberModel(member_id).update(
                actions=[
                    MemberModel.unreachable.set(MemberModel.unreachable | {}),
                ],
                condition=MemberModel.member_id.exists(),
            )
            MemberModel(member_id).update(
                actions=[MemberModel.unreachable[channel].set(why), MemberModel.version.add(1)],
                condition=MemberModel.member_id.exists(),
            )
        except UpdateError as exc:
            if not conditional_failed(exc):
                raise

    def get_order(self, member_id: str, order_id: str) -> Order | None:
        try:
            item = ActivityModel.get(member_id, f"ORDER#{order_id}", consistent_read=True)
        except ActivityModel.DoesNotExist:
            return None
        return codec.order_from_data(member_id, item.data.as_dict())

    def get_points(self, member_id: str, txn_id: str) -> PointsTxn | None:
        try:
            item = ActivityModel.get(member_id, f"POINTS#{txn_id}", consistent_read=True)
        except ActivityModel.DoesNotExist:
            return None
        return codec.points_from_data(member_id, item.data.as_dict())
