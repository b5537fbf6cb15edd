"""Messages in memory, with ``chalicelib/adapters/message_store.py``'s promises: created once per id,
status transitions only from the expected statuses (and, with a claim, only while it holds), sends
recorded only while their claim holds, a receipt that got there first never moved back, erasure
only from the status read, a conversion once per order (marked on the order, which must still be
stored) and never on an erased message; copies in and out. Also the look-up by the provider's
message id (``message_index.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from chalicelib.domain.erasure import is_erased
from chalicelib.domain.isotime import to_iso
from chalicelib.domain.model import PENDING_STATUSES, Message, MessageStatus, StatusChange
from chalicelib.ports import SentRecord

from .members import MemoryMemberStore

_TIME_FIELD = {
    MessageStatus.SENT: "sent_at",
    MessageStatus.DELIVERED: "delivered_at",
    MessageStatus.READ: "read_at",
}


def copy_message(message: Message) -> Message:
    """A copy sharing nothing mutable (history entries are frozen values), without ``__init__``."""
    copied = object.__new__(Message)
    copied.__dict__.update(message.__dict__)
    copied.history = list(message.history)
    return copied


class MemoryMessageStore:
    """``MessageStore``; also the messages by member (the ``by_member`` index). ``orders``: the member
    store whose orders a conversion marks (as the DynamoDB store marks the order's item in the same
    transaction); without one, a store of its own (no order is there, so nothing converts)."""

    def __init__(self, orders: MemoryMemberStore | None = None) -> None:
        self.orders = orders if orders is not None else MemoryMemberStore()
        self.messages: dict[str, Message] = {}
        self._of_member: dict[str, list[str]] = {}
        self.by_provider_id: dict[str, str] = {}
        self.refused: list[Message] = []  # creates refused because the id existed (for a preview to show)

    def create(self, message: Message) -> bool:
        if message.message_id in self.messages:
            self.refused.append(copy_message(message))
            return False
        self.messages[message.message_id] = copy_message(message)
        self._of_member.setdefault(message.member_id, []).append(message.message_id)
        if message.provider_message_id:
            self.by_provider_id[message.provider_message_id] = message.message_id
        return True

    def get(self, message_id: str) -> Message | None:
        stored = self.messages.get(message_id)
        return copy_message(stored) if stored is not None else None

    def list_for_member(self, member_id: str, limit: int = 100) -> list[Message]:
        """Newest first (the ``by_member`` index: created_at, at second precision)."""
        return [copy_message(m) for m in self._newest_first(member_id)[:limit]]

    def for_member(self, member_id: str, until: datetime | None = None) -> Iterator[Message]:
        """Newest first, created at or before ``until`` (second precision), each read as it is reached."""
        last = to_iso(until) if until is not None else None
        for message in self._newest_first(member_id):
            if last is None or to_iso(message.created_at) <= last:
                stored = self.messages.get(message.message_id)
                if stored is not None:
                    yield copy_message(stored)

    def recent_for_member(self, member_id: str, since: datetime, limit: int = 50) -> list[Message]:
        """Newest first, created at or after ``since`` (second precision, as the index compares)."""
        first = to_iso(since)
        return [copy_message(m) for m in self._newest_first(member_id) if to_iso(m.created_at) >= first][:limit]

    def convert(self, message_id: str, member_id: str, order_id: str, revenue: float, at: datetime) -> bool:
        """Both or neither: the order marked with the message, and the message's conversion (the first
        time kept, the revenue added, the last order named). False when the message is not there or
        erased, or the order is not there or was attributed before."""
        message = self.messages.get(message_id)
        if message is None or is_erased(message):
            return False
        if not self.orders.attribute(member_id, order_id, message_id):
            return False
        message.converted_at = message.converted_at or at
        message.revenue = message.revenue + revenue
        message.last_order = order_id
        return True

    def _newest_first(self, member_id: str) -> list[Message]:
        mine = [self.messages[mid] for mid in self._of_member.get(member_id, ())]
        mine.sort(key=lambda m: m.created_at.replace(microsecond=0), reverse=True)
        return mine

    def erase(self, message: Message, expect: MessageStatus) -> bool:
        """``message`` (as ``domain/erasure.erased_message`` leaves it) in place of the stored one,
        if that is still in status ``expect``; what a preview kept of refused twins goes too."""
        stored = self.messages.get(message.message_id)
        if stored is None or stored.status is not expect:
            return False
        if stored.provider_message_id and self.by_provider_id.get(stored.provider_message_id) == stored.message_id:
            del self.by_provider_id[stored.provider_message_id]
        if message.provider_message_id:
            self.by_provider_id[message.provider_message_id] = message.message_id
        self.messages[message.message_id] = copy_message(message)
        self.refused = [m for m in self.refused if m.message_id != message.message_id]
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
        message = self.messages.get(message_id)
        if not expect or message is None or message.status not in expect:
            return False
        if claim is not None:
            if message.claim != claim:
                return False
            message.claim = message.claimed_at = None
        message.status = status
        if status in _TIME_FIELD:
            setattr(message, _TIME_FIELD[status], at)
        if reason:
            message.reason = reason
        if provider_message_id:
            message.provider_message_id = provider_message_id
            self.by_provider_id[provider_message_id] = message_id
        if parts is not None:
            message.parts = parts
        if send_after is not None:
            message.send_after = send_after
        message.history.append(StatusChange(status, at, reason))
        return True

    def unclaim(self, message_id: str, claim: str, reason: str) -> bool:
        message = self.messages.get(message_id)
        if message is None or message.claim != claim:
            return False
        message.claim = message.claimed_at = None
        message.reason = reason
        return True

    def record_sent(self, sends: list[SentRecord]) -> list[str]:
        recorded: list[str] = []
        for send in sends:
            message = self.messages.get(send.message_id)
            if message is None or message.claim != send.claim:
                continue
            message.claim = message.claimed_at = None
            message.sent_at = send.at
            message.provider_message_id = send.provider_message_id
            self.by_provider_id[send.provider_message_id] = send.message_id
            message.parts = send.parts
            if message.status not in PENDING_STATUSES:
                continue  # a receipt got here first: keep its status
            message.status = MessageStatus.SENT
            message.history.append(StatusChange(MessageStatus.SENT, send.at, None))
            if send.delivered_at is not None:
                message.status = MessageStatus.DELIVERED
                message.delivered_at = send.delivered_at
                message.history.append(StatusChange(MessageStatus.DELIVERED, send.delivered_at, None))
            recorded.append(send.message_id)
        return recorded

    def record_click(self, message_id: str, at: datetime) -> None:
        """The message keeps the time of its first click (``LinkStore.record_click``)."""
        message = self.messages.get(message_id)
        if message is not None and message.clicked_at is None:
            message.clicked_at = at


class MemoryMessageIndex:
    """``MessageIndex`` over a :class:`MemoryMessageStore`."""

    def __init__(self, messages: MemoryMessageStore) -> None:
        self.store = messages

    def by_provider_id(self, provider_message_id: str) -> str | None:
        return self.store.by_provider_id.get(provider_message_id)
