"""The sender: one queued message id in, at most one provider send out, status recorded.

Order of checks at SEND time (not only when the message was queued): the message is still
pending and due, the member still exists and still consents on that channel, the member's quiet
hours are over (else deferred to the next opening), and a marketing message fits the member's
frequency caps (else deferred to the next period, or capped). Then the provider is called and the
result recorded with a conditional write, so two deliveries of the same SQS message can never both
record a send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from ..domain.model import PENDING_STATUSES, STATUS_RANK, Channel, Message, MessageStatus
from ..domain.phones import mask
from ..domain.planning import choose_channel
from ..domain.rules import RuleBook
from ..domain.sendtime import cap_hold, cap_periods, window_hold
from ..ports import CapStore, MemberStore, MessageStore, OutboundMessage, Provider, ProviderError, Receipt

Log = Callable[..., None]


class SendService:
    def __init__(
        self,
        book: RuleBook,
        members: MemberStore,
        messages: MessageStore,
        providers: Mapping[str, Provider],
        log: Log | None = None,
        hold: Callable[[str, str, datetime, datetime], None] | None = None,
        caps: CapStore | None = None,
        store_zone: str = "Asia/Shanghai",
    ) -> None:
        self.hold = hold
        self.caps = caps
        self.store_zone = store_zone
        self.book = book
        self.members = members
        self.messages = messages
        self.providers = providers
        self.log = log or (lambda *a, **k: None)

    def deliver(self, message_id: str, now: datetime) -> MessageStatus | None:
        """Send one message. Returns its new status, or None when there was nothing to do.
        Raises ProviderError(retryable=True) to have SQS redeliver later."""
        message = self.messages.get(message_id)
        if message is None:
            self.log("unknown message id on the send queue", message_id=message_id)
            return None
        if message.status not in PENDING_STATUSES:
            self.log("already handled", message_id=message_id, status=message.status.value)
            return None
        member = self.members.get(message.member_id)
        if member is None:
            return self._finish(message_id, MessageStatus.SUPPRESSED, now, "member no longer exists")
        rule = self.book.rules.get(message.trigger)
        if rule is not None:
            channel, why_not = choose_channel(member, rule)
            if channel is None:
                return self._finish(message_id, MessageStatus.SUPPRESSED, now, why_not)
        if not member.consent.allows(message.channel):
            return self._finish(message_id, MessageStatus.SUPPRESSED, now, f"no {message.channel.value} consent")
        address = member.phone if message.channel is Channel.SMS else member.im_user_id
        if not address:
            return self._finish(message_id, MessageStatus.SUPPRESSED, now, f"no {message.channel.value} address")
        if message.send_after is not None and message.send_after > now:
            return self._defer(message, message.send_after, message.reason or "waiting to be sent", now)
        window = window_hold(message, member, rule, self.book, now, self.store_zone)
        if window is not None:
            return self._defer(message, window[0], window[1], now)
        if message.rule_class == "marketing" and self.caps is not None:
            periods = cap_periods(member, self.book, now, self.store_zone)
            full = self.caps.reserve(member.member_id, message_id, periods, now + timedelta(days=40))
            if full is not None:
                when, reason = cap_hold(full, message, member, rule, self.book, now, self.store_zone)
                if when is None:
                    return self._finish(message_id, MessageStatus.CAPPED, now, reason)
                return self._defer(message, when, reason, now)
        provider = self.providers.get(message.provider)
        if provider is None:
            return self._finish(message_id, MessageStatus.FAILED, now, f"provider {message.provider} not configured")
        outbound = OutboundMessage(message_id, message.channel.value, address, message.text, message.rule_class)
        try:
            result = provider.send(outbound, now)
        except ProviderError as exc:
            if exc.retryable:
                raise
            return self._finish(message_id, MessageStatus.FAILED, now, str(exc))
        self.messages.transition(
            message_id,
            MessageStatus.SENT,
            now,
            expect=PENDING_STATUSES,
            provider_message_id=result.provider_message_id,
            parts=result.parts,
        )
        shown = mask(address) if message.channel is Channel.SMS else address
        self.log("sent", message_id=message_id, provider=provider.name, to=shown, parts=result.parts)
        for receipt in result.receipts:
            self.apply_receipt(receipt)
        return MessageStatus.SENT

    def apply_receipt(self, receipt: Receipt) -> bool:
        """Record a provider receipt. Never moves a message backwards (receipts arrive out of order)."""
        if receipt.message_id is None:
            return False
        lower = frozenset(
            s
            for s, rank in STATUS_RANK.items()
            if rank < STATUS_RANK[receipt.status] and s not in (MessageStatus.SUPPRESSED, MessageStatus.CAPPED)
        )
        return self.messages.transition(
            receipt.message_id, receipt.status, receipt.at, expect=lower, reason=receipt.reason
        )

    def _defer(self, message: Message, when: datetime, reason: str, now: datetime) -> MessageStatus:
        if self.hold is None:
            raise RuntimeError("deferring a message needs the timer store")
        # The release timer first: once the message shows "deferred", its way back is already written.
        self.hold(message.member_id, message.message_id, when, now)
        self.messages.transition(
            message.message_id, MessageStatus.DEFERRED, now, expect=PENDING_STATUSES, reason=reason, send_after=when
        )
        self.log("deferred", message_id=message.message_id, send_after=when.isoformat(), reason=reason)
        return MessageStatus.DEFERRED

    def _finish(self, message_id: str, status: MessageStatus, now: datetime, reason: str | None) -> MessageStatus:
        self.messages.transition(message_id, status, now, expect=PENDING_STATUSES, reason=reason)
        self.log("not sent", message_id=message_id, status=status.value, reason=reason)
        return status
