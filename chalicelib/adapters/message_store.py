"""``MessageStore`` on DynamoDB: conditional creates, conditional status transitions, the sender's
claims and the recording of provider-accepted sends (a batch in one transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ..domain.erasure import ERASED_OCCURRENCE
from ..domain.isotime import to_iso
from ..domain.model import PENDING_STATUSES, Message, MessageStatus
from ..ports import SentRecord
from . import codec
from .models import ActivityModel, MessageModel
from .pynamo import conditional_failed, shared_connection

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

    def for_member(self, member_id: str, until: datetime | None = None) -> Iterator[Message]:
        condition = MessageModel.created_at <= to_iso(until) if until is not None else None
        for row in MessageModel.by_member.query(member_id, condition, scan_index_forward=False):
            yield codec.message_from_item(row.to_simple_dict())

    def erase(self, message: Message, expect: MessageStatus) -> bool:
        item = codec.message_to_item(message)
        try:
            MessageModel(**item).save(condition=MessageModel.status == expect.value)
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

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

    def recent_for_member(self, member_id: str, since: datetime, limit: int = 50) -> list[Message]:
        rows = MessageModel.by_member.query(
            member_id, MessageModel.created_at >= to_iso(since), scan_index_forward=False, limit=limit
        )
        return [codec.message_from_item(r.to_simple_dict()) for r in rows]

    def convert(self, message_id: str, member_id: str, order_id: str, revenue: float, at: datetime) -> bool:
        """The order marked with the message and the message's conversion, in one transaction; False
        when the order is gone or was attributed before, or the message is gone or erased."""
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                tx.update(
                    ActivityModel(member_id, f"ORDER#{order_id}"),
                    actions=[ActivityModel.attributed_to.set(message_id)],
                    condition=ActivityModel.sk.exists() & ActivityModel.attributed_to.does_not_exist(),
                )
                tx.update(
                    MessageModel(message_id),
                    actions=[
                        MessageModel.converted_at.set(MessageModel.converted_at | to_iso(at)),
                        MessageModel.revenue.add(revenue),
                        MessageModel.last_order.set(order_id),
                    ],
                    # never onto an erased message: the conversion is the member's purchase
                    condition=MessageModel.message_id.exists() & (MessageModel.occurrence != ERASED_OCCURRENCE),
                )
        except TransactWriteError as exc:
            codes = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
            if "ConditionalCheckFailed" in codes:
                return False
            raise
        return True

    def unclaim(self, message_id: str, claim: str, reason: str) -> bool:
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
