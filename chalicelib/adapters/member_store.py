"""``MemberStore`` on DynamoDB: members (optimistic versions) and their orders, points, coupons and
consent changes (the activity table), written together where they must be; an erased member's
tombstone (``domain/erasure.py``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..domain.consent import ConsentChange
from ..domain.isotime import parse_iso, to_iso
from ..domain.model import Coupon, Member, Order, PointsTxn
from ..ports import VersionConflict
from . import codec
from .models import ActivityModel, MemberModel
from .pynamo import conditional_failed, shared_connection


class DynamoMemberStore:
    def get(self, member_id: str) -> Member | None:
        try:
            row = MemberModel.get(member_id, consistent_read=True)
        except MemberModel.DoesNotExist:
            return None
        return None if row.erased_at else codec.member_from_item(row.to_simple_dict())

    def erased_at(self, member_id: str) -> datetime | None:
        try:
            row = MemberModel.get(member_id, consistent_read=True, attributes_to_get=["member_id", "erased_at"])
        except MemberModel.DoesNotExist:
            return None
        return parse_iso(row.erased_at) if row.erased_at else None

    def erase(self, member_id: str, at: datetime) -> str:
        """The tombstone replaces the whole item (a put: every other attribute is gone), on the
        version read, so a concurrent profile write either lands before (and is erased) or fails."""
        for _ in range(5):
            try:
                row = MemberModel.get(member_id, consistent_read=True)
            except MemberModel.DoesNotExist:
                return "unknown"
            if row.erased_at:
                return "already"
            version = int(row.version or 0)
            tombstone = MemberModel(member_id, erased_at=to_iso(at), version=version + 1)
            try:
                tombstone.save(condition=MemberModel.version == version)
            except PutError as exc:
                if conditional_failed(exc):
                    continue
                raise
            return "erased"
        raise VersionConflict(member_id)

    def _model_for_write(self, member: Member) -> tuple[MemberModel, Any]:
        item = codec.member_to_item(member)
        expected = member.version
        item["version"] = expected + 1
        model = MemberModel(**item)
        condition = MemberModel.member_id.does_not_exist() if expected == 0 else MemberModel.version == expected
        return model, condition & MemberModel.erased_at.does_not_exist()

    def save(self, member: Member, consent: ConsentChange | None = None) -> None:
        if consent is not None:
            if not self._transact(_consent_row(consent, member.version + 1), member):
                raise VersionConflict(member.member_id)
            return
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

    def count_order(self, order: Order, member: Member) -> bool:
        """The order's ``counted_at`` mark and the member's new counts in one transaction."""
        model, member_condition = self._model_for_write(member)
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                tx.update(
                    ActivityModel(order.member_id, f"ORDER#{order.order_id}"),
                    actions=[ActivityModel.counted_at.set(to_iso(order.purchased_at))],
                    condition=ActivityModel.sk.exists() & ActivityModel.counted_at.does_not_exist(),
                )
                tx.save(model, condition=member_condition)
        except TransactWriteError as exc:
            # PynamoDB sends puts before updates: the member's put is first, the order's update second.
            reasons = [r.code if r else None for r in exc.cancellation_reasons]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return False
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise VersionConflict(member.member_id) from exc
            raise
        member.version += 1
        return True

    def scan_page(self, part: int, parts: int, cursor: str | None, limit: int) -> tuple[list[Member], str | None]:
        """One page of a parallel scan (DynamoDB ``Segment``/``TotalSegments``); the cursor is the
        page's LastEvaluatedKey as JSON."""
        start = json.loads(cursor) if cursor else None
        rows = MemberModel.scan(
            segment=part, total_segments=parts, limit=limit, page_size=limit, last_evaluated_key=start
        )
        members: list[Member] = []
        read = 0
        for row in rows:
            read += 1
            if not row.erased_at:  # a tombstone is not a member
                members.append(codec.member_from_item(row.to_simple_dict()))
        last = rows.last_evaluated_key
        return members, (json.dumps(last) if last and read >= limit else None)

    def attended(self, member_id: str, activity_id: str, at: datetime) -> bool:
        """The Attendance port: the activity on the member's ``attended`` map, once. An erased
        member's tombstone is left as it is."""
        living = MemberModel.member_id.exists() & MemberModel.erased_at.does_not_exist()
        try:
            MemberModel(member_id).update(
                actions=[MemberModel.attended.set(MemberModel.attended | {})], condition=living
            )
            MemberModel(member_id).update(
                actions=[MemberModel.attended[activity_id].set(to_iso(at)), MemberModel.version.add(1)],
                condition=living & MemberModel.attended[activity_id].does_not_exist(),
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def mark_unreachable(self, member_id: str, channel: str, why: str) -> None:
        """A direct update (no version check: it touches one key of one map, and must not lose to a
        concurrent profile edit). An erased member's tombstone is left as it is."""
        living = MemberModel.member_id.exists() & MemberModel.erased_at.does_not_exist()
        try:
            MemberModel(member_id).update(
                actions=[MemberModel.unreachable.set(MemberModel.unreachable | {})], condition=living
            )
            MemberModel(member_id).update(
                actions=[MemberModel.unreachable[channel].set(why), MemberModel.version.add(1)], condition=living
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


def _consent_row(change: ConsentChange, version: int) -> ActivityModel:
    """A consent change in the member's history: ``CONSENT#<at>#<member version>`` (one per write)."""
    return ActivityModel(
        change.member_id,
        f"CONSENT#{to_iso(change.at)}#{version}",
        kind="consent",
        data={"changes": dict(change.changes), "source": change.source},
        at=to_iso(change.at),
    )
