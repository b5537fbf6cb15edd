"""DynamoDB implementations of the stores (PynamoDB)."""

from __future__ import annotations

import time
from datetime import datetime
from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ..domain.clock import parse_iso, to_iso
from ..domain.model import PENDING_STATUSES, Coupon, Member, Message, MessageStatus, Order, PointsTxn, Product
from ..ports import OutboundMessage, SentRecord, VersionConflict
from . import codec
from .models import ActivityModel, ApiKeyModel, MemberModel, MessageModel, OutboxModel, ProductModel


def conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def image_to_member(image: dict[str, Any]) -> Member:
    """A members-table stream image (DynamoDB JSON) → Member."""
    return codec.member_from_item(MemberModel.from_raw_data(image).to_simple_dict())


@lru_cache(maxsize=1)
def shared_connection() -> Connection:
    """One PynamoDB connection per container for transactions (a new one builds a new client)."""
    return Connection()


def image_to_dict(image: dict[str, Any]) -> dict[str, Any]:
    """Any stream image (DynamoDB JSON) → plain values (numbers as int/float)."""
    from pynamodb.attributes import MapAttribute

    plain: dict[str, Any] = MapAttribute().deserialize(image)
    return plain


class DynamoMemberStore:
    def get(self, member_id: str) -> Member | None:
        try:
            return codec.member_from_item(MemberModel.get(member_id, consistent_read=True).to_simple_dict())
        except MemberModel.DoesNotExist:
            return None

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


class DynamoProductStore:
    def put(self, product: Product) -> None:
        ProductModel(product.sku, data=codec.product_to_data(product)).save()

    def get(self, sku: str) -> Product | None:
        try:
            return codec.product_from_data(ProductModel.get(sku).data.as_dict())
        except ProductModel.DoesNotExist:
            return None


_TIME_FIELD = {
    MessageStatus.SENT: "sent_at",
    MessageStatus.DELIVERED: "delivered_at",
    MessageStatus.READ: "read_at",
}


class DynamoMessageStore:
    def create(self, message: Message) -> bool:
        try:
            MessageModel(**codec.message_to_item(message)).save(condition=MessageModel.message_id.does_not_exist())
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def get(self, message_id: str) -> Message | None:
        try:
            return codec.message_from_item(MessageModel.get(message_id, consistent_read=True).to_simple_dict())
        except MessageModel.DoesNotExist:
            return None

    def list_for_member(self, member_id: str, limit: int = 100) -> list[Message]:
        rows = MessageModel.by_member.query(member_id, scan_index_forward=False, limit=limit)
        return [codec.message_from_item(r.to_simple_dict()) for r in rows]

    def transition(
        self,
        message_id: str,
        status: MessageStatus,
        at: datetime,
        *,
        expect: frozenset[MessageStatus],
        reason: str | None = None,
        provider_message_id: str | None = None,
        parts: int | None = None,
        send_after: datetime | None = None,
        claim: str | None = None,
    ) -> bool:
        if not expect:
            return False
        actions: list[Action] = [
            MessageModel.status.set(status.value),
            MessageModel.history.set(MessageModel.history.append([codec.history_entry(status, at, reason)])),
        ]
        if status in _TIME_FIELD:
            actions.append(getattr(MessageModel, _TIME_FIELD[status]).set(to_iso(at)))
        if reason:
            actions.append(MessageModel.reason.set(reason))
        if provider_message_id:
            actions.append(MessageModel.provider_message_id.set(provider_message_id))
        if parts is not None:
            actions.append(MessageModel.parts.set(parts))
        if send_after is not None:
            actions.append(MessageModel.send_after.set(to_iso(send_after)))
        condition = MessageModel.message_id.exists() & MessageModel.status.is_in(*[s.value for s in expect])
        if claim is not None:
            condition &= MessageModel.claim == claim
            actions += [MessageModel.claim.remove(), MessageModel.claimed_at.remove()]
        try:
            MessageModel(message_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def release(self, message_id: str, claim: str, reason: str) -> bool:
        try:
            MessageModel(message_id).update(
                actions=[
                    MessageModel.claim.remove(),
                    MessageModel.claimed_at.remove(),
                    MessageModel.reason.set(reason),
                ],
                condition=MessageModel.claim == claim,
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def record_sent(self, sends: list[SentRecord]) -> list[str]:
        """All sends of a batch in one transaction (one write request for up to 100 messages); if
        one claim no longer holds (a receipt or a takeover got there first), one by one."""
        if not sends:
            return []
        if len(sends) > 1:
            try:
                with TransactWrite(connection=shared_connection()) as tx:
                    for send in sends:
                        actions, condition = _sent_update(send)
                        tx.update(MessageModel(send.message_id), actions=actions, condition=condition)
                return [send.message_id for send in sends]
            except TransactWriteError as exc:
                codes = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
                if "ConditionalCheckFailed" not in codes:
                    raise
        recorded: list[str] = []
        for send in sends:
            actions, condition = _sent_update(send)
            try:
                MessageModel(send.message_id).update(actions=actions, condition=condition)
            except UpdateError as exc:
                if conditional_failed(exc):
                    _late_sent_update(send)
                    continue
                raise
            recorded.append(send.message_id)
        return recorded


def _sent_update(send: SentRecord) -> tuple[list[Action], Any]:
    history = [codec.history_entry(MessageStatus.SENT, send.at, None)]
    actions: list[Action] = [
        MessageModel.sent_at.set(to_iso(send.at)),
        MessageModel.provider_message_id.set(send.provider_message_id),
        MessageModel.parts.set(send.parts),
        MessageModel.claim.remove(),
        MessageModel.claimed_at.remove(),
    ]
    status = MessageStatus.SENT
    if send.delivered_at is not None:
        status = MessageStatus.DELIVERED
        history.append(codec.history_entry(MessageStatus.DELIVERED, send.delivered_at, None))
        actions.append(MessageModel.delivered_at.set(to_iso(send.delivered_at)))
    actions += [
        MessageModel.status.set(status.value),
        MessageModel.history.set(MessageModel.history.append(history)),
    ]
    condition = (MessageModel.claim == send.claim) & MessageModel.status.is_in(*[s.value for s in PENDING_STATUSES])
    return actions, condition


def _late_sent_update(send: SentRecord) -> None:
    """A receipt overtook the send's own record: keep the receipt's status, add what we know."""
    try:
        MessageModel(send.message_id).update(
            actions=[
                MessageModel.sent_at.set(to_iso(send.at)),
                MessageModel.provider_message_id.set(send.provider_message_id),
                MessageModel.parts.set(send.parts),
                MessageModel.claim.remove(),
                MessageModel.claimed_at.remove(),
            ],
            condition=MessageModel.claim == send.claim,
        )
    except UpdateError as exc:
        if not conditional_failed(exc):
            raise


class DynamoApiKeyStore:
    def is_active(self, key_hash: str) -> bool:
        try:
            return bool(ApiKeyModel.get(key_hash).active)
        except ApiKeyModel.DoesNotExist:
            return False

    def put(self, key_hash: str, key_id: str, label: str, created_at: datetime) -> None:
        ApiKeyModel(key_hash, key_id=key_id, label=label, created_at=to_iso(created_at)).save()


class DynamoOutbox:
    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None:
        OutboxModel(
            provider_message_id,
            message_id=message.message_id,
            channel=message.channel,
            to=message.to,
            text=message.text,
            parts=parts,
            at=to_iso(at),
            wall_ms=int(time.time() * 1000),
        ).save()

    def find(self, provider_message_id: str) -> tuple[int, datetime] | None:
        try:
            item = OutboxModel.get(provider_message_id, consistent_read=True)
        except OutboxModel.DoesNotExist:
            return None
        return int(item.parts), parse_iso(item.at)
