"""``MessageStore`` on DynamoDB: conditional creates, conditional status transitions, the sender's
claims, the mark it writes before each provider call it must be able to account for, and the
recording of provider-accepted sends (a batch in one transaction, or riding along with that mark);
the messages awaiting a receipt (the sparse ``awaiting_receipt`` index, kept by every status write)."""

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

    def get_many(self, message_ids: list[str]) -> dict[str, Message]:
        """One BatchGetItem (consistent) per 100 ids."""
        if not message_ids:
            return {}
        rows = MessageModel.batch_get(set(message_ids), consistent_read=True)
        return {row.message_id: codec.message_from_item(row.to_simple_dict()) for row in rows}

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
        actions += _awaiting(status, at)
        condition = MessageModel.message_id.exists() & MessageModel.status.is_in(*[s.value for s in expect])
        if claim is not None:
            condition &= MessageModel.claim == claim
            actions += _claim_removed()
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
                actions=[*_claim_removed(), MessageModel.reason.set(reason)],
                condition=MessageModel.claim == claim,
            )
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def awaiting_receipt(self, provider: str, checked_before: datetime, limit: int) -> list[str]:
        rows = MessageModel.by_awaiting_receipt.query(
            provider, MessageModel.receipt_check_at <= to_iso(checked_before), limit=limit
        )
        return [row.message_id for row in rows]

    def recheck_later(self, message_id: str, at: datetime) -> bool:
        return self._awaiting_update(message_id, MessageModel.receipt_check_at.set(to_iso(at)))

    def stop_awaiting(self, message_id: str) -> bool:
        return self._awaiting_update(
            message_id, MessageModel.awaiting_receipt.remove(), MessageModel.receipt_check_at.remove()
        )

    def _awaiting_update(self, message_id: str, *actions: Action) -> bool:
        try:
            MessageModel(message_id).update(actions=list(actions), condition=MessageModel.awaiting_receipt.exists())
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def unclaim_all(self, claims: list[tuple[str, str]], reason: str) -> None:
        """One transaction per 100; if a claim no longer holds, that chunk one by one."""
        for start in range(0, len(claims), 100):
            chunk = claims[start : start + 100]
            if len(chunk) > 1:
                try:
                    with TransactWrite(connection=shared_connection()) as tx:
                        for message_id, claim in chunk:
                            tx.update(
                                MessageModel(message_id),
                                actions=[*_claim_removed(), MessageModel.reason.set(reason)],
                                condition=MessageModel.claim == claim,
                            )
                    continue
                except TransactWriteError as exc:
                    codes = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
                    if "ConditionalCheckFailed" not in codes:
                        raise
            for message_id, claim in chunk:
                self.unclaim(message_id, claim, reason)

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

    def mark_call_started(self, message_id: str, claim: str, sent: list[SentRecord]) -> bool:
        """One request: the mark alone (UpdateItem), or with the sends so far (one transaction). If
        one of those sends no longer holds its claim, they are recorded one by one and the mark goes
        alone."""
        mark: list[Action] = [MessageModel.call_started.set(True)]
        held = MessageModel.claim == claim
        if sent:
            try:
                with TransactWrite(connection=shared_connection()) as tx:
                    for send in sent:
                        actions, condition = _sent_update(send)
                        tx.update(MessageModel(send.message_id), actions=actions, condition=condition)
                    tx.update(MessageModel(message_id), actions=mark, condition=held)
                return True
            except TransactWriteError as exc:
                codes = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
                if "ConditionalCheckFailed" not in codes:
                    raise
                self.record_sent(sent)
        try:
            MessageModel(message_id).update(actions=mark, condition=held)
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True


def _claim_removed() -> list[Action]:
    return [MessageModel.claim.remove(), MessageModel.claimed_at.remove(), MessageModel.call_started.remove()]


def _sent_update(send: SentRecord) -> tuple[list[Action], Any]:
    history = [codec.history_entry(MessageStatus.SENT, send.at, None)]
    actions: list[Action] = [
        MessageModel.sent_at.set(to_iso(send.at)),
        MessageModel.provider_message_id.set(send.provider_message_id),
        MessageModel.parts.set(send.parts),
        *_claim_removed(),
    ]
    status = MessageStatus.SENT
    if send.delivered_at is not None:
        status = MessageStatus.DELIVERED
        history.append(codec.history_entry(MessageStatus.DELIVERED, send.delivered_at, None))
        actions.append(MessageModel.delivered_at.set(to_iso(send.delivered_at)))
    actions += _awaiting(status, send.at)
    actions += [
        MessageModel.status.set(status.value),
        MessageModel.history.set(MessageModel.history.append(history)),
    ]
    condition = (MessageModel.claim == send.claim) & MessageModel.status.is_in(*[s.value for s in PENDING_STATUSES])
    return actions, condition


def _awaiting(status: MessageStatus, at: datetime) -> list[Action]:
    """Recorded ``sent``: the message awaits its receipt (the sparse ``awaiting_receipt`` index, by
    its provider, from ``at``); any later status (a receipt, ``unknown``, a failure) ends that."""
    if status is MessageStatus.SENT:
        return [MessageModel.awaiting_receipt.set(MessageModel.provider), MessageModel.receipt_check_at.set(to_iso(at))]
    if status in PENDING_STATUSES:
        return []
    return [MessageModel.awaiting_receipt.remove(), MessageModel.receipt_check_at.remove()]


def _late_sent_update(send: SentRecord) -> None:
    """A receipt overtook the send's own record: keep the receipt's status, add what we know."""
    try:
        MessageModel(send.message_id).update(
            actions=[
                MessageModel.sent_at.set(to_iso(send.at)),
                MessageModel.provider_message_id.set(send.provider_message_id),
                MessageModel.parts.set(send.parts),
                *_claim_removed(),
            ],
            condition=MessageModel.claim == send.claim,
        )
    except UpdateError as exc:
        if not conditional_failed(exc):
            raise
