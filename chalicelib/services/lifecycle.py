"""Member data changed → which rules fire → messages recorded and queued for sending."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain.ids import message_id as business_id
from ..domain.model import Channel, Member, Message, MessageStatus, StatusChange
from ..domain.planning import plan_message, sms_text
from ..domain.rules import RuleBook
from ..domain.sendtime import window_hold
from ..domain.timers import ACK_RULE, RELEASE_RULE, Timer
from ..domain.triggers import Trigger, on_member_change
from ..ports import MemberStore, MessageStore, SendQueue, StoredTimer, TimerStore
from .clicks import ClickTracker

Log = Callable[..., None]


class LifecycleService:
    def __init__(
        self,
        book: RuleBook,
        members: MemberStore,
        messages: MessageStore,
        queue: SendQueue,
        providers: dict[Channel, str],
        log: Log | None = None,
        timers: TimerStore | None = None,
        store_zone: str = "Asia/Shanghai",
        clicks: ClickTracker | None = None,
    ) -> None:
        self.clicks = clicks if clicks is not None and clicks.enabled else None
        self.timers = timers
        self.store_zone = store_zone
        self.book = book
        self.members = members
        self.messages = messages
        self.queue = queue
        self.providers = providers
        self.log = log or (lambda *a, **k: None)

    def member_changed(self, old: Member | None, new: Member, at: datetime) -> list[Message]:
        """Handle one stream record of the members table. Safe to replay: each message is keyed on
        (member, rule, occurrence) and only the first write of that key queues a send."""
        return self.fire(on_member_change(old, new, at, self.book), new, at)

    def fire(
        self,
        triggers: list[Trigger],
        member: Member,
        now: datetime,
        *,
        channel: Channel | None = None,
        provider: str | None = None,
    ) -> list[Message]:
        """Plan, record and queue the triggers' messages. ``channel``/``provider``: only that channel,
        through that provider (replies; see :meth:`reply`)."""
        created: list[Message] = []
        requeue: list[str] = []
        providers = {**self.providers, channel: provider} if channel is not None and provider else self.providers
        links = self.clicks.batch() if self.clicks is not None else None
        for trigger in triggers:
            message = plan_message(
                member,
                trigger,
                self.book,
                providers,
                now,
                channel_forced=channel,
                shorten=links.shorten if links is not None else None,
            )
            if links is not None:
                links.save(now)  # before the message: a link in a stored message always resolves
            if message.status is MessageStatus.QUEUED:
                hold = window_hold(
                    message, member, self.book.rules.get(trigger.rule_id), self.book, now, self.store_zone
                )
                if hold is not None:
                    defer(message, hold[0], hold[1], now)
            if not self.messages.create(message):
                # Same occurrence seen before (a replay). If its send never left the queue step
                # (the earlier run died between the write and the enqueue), queue it again:
                # the sender is idempotent on the message id.
                earlier = self.messages.get(message.message_id)
                unsent = earlier is not None and earlier.status is MessageStatus.QUEUED
                if unsent:
                    requeue.append(message.message_id)
                self.log(
                    "duplicate occurrence",
                    rule=trigger.rule_id,
                    occurrence=trigger.occurrence,
                    message_id=message.message_id,
                    requeued=unsent,
                )
                continue
            created.append(message)
            if message.status is MessageStatus.DEFERRED and message.send_after is not None:
                self.hold_until(message.member_id, message.message_id, message.send_after, now)
            self.log(
                "message planned",
                rule=trigger.rule_id,
                message_id=message.message_id,
                status=message.status.value,
                channel=message.channel.value,
            )
        to_send = [m.message_id for m in created if m.status is MessageStatus.QUEUED] + requeue
        if to_send:
            self.queue.enqueue(to_send, now)
        return created

    def reply(
        self,
        member: Member,
        rule_id: str,
        occurrence: str,
        channel: Channel,
        facts: dict[str, Any],
        now: datetime,
        provider: str | None = None,
    ) -> list[Message]:
        """Answer a member on the channel they wrote on, now (reply rules are urgent and
        transactional). Keyed on (member, rule, occurrence) like every message: a replayed inbound
        event plans nothing new. A disabled or unknown rule answers nothing."""
        if self.book.get(rule_id) is None:
            self.log("reply rule disabled", rule=rule_id)
            return []
        trigger = Trigger(rule_id, member.member_id, occurrence, now, facts)
        return self.fire([trigger], member, now, channel=channel, provider=provider)

    def hold_until(self, member_id: str, message_id: str, when: datetime, now: datetime) -> None:
        """A durable timer that puts the message back on the send queue at ``when``."""
        if self.timers is None:
            raise RuntimeError("deferring a message needs the timer store")
        timer = Timer(member_id, f"{RELEASE_RULE}#{message_id}", RELEASE_RULE, message_id, when, {})
        self.timers.put([StoredTimer(timer, "pending")], now)

    def release(self, message_id: str, now: datetime) -> None:
        self.queue.enqueue([message_id], now)

    def expect_ack(self, message: Message, by: datetime, now: datetime) -> None:
        """An IM message of a rule with ``ack_minutes``: check for a receipt at ``by``."""
        if self.timers is None:
            raise RuntimeError("acknowledgement checks need the timer store")
        timer = Timer(message.member_id, f"{ACK_RULE}#{message.message_id}", ACK_RULE, message.message_id, by, {})
        self.timers.put([StoredTimer(timer, "pending")], now)

    def check_ack(self, message_id: str, now: datetime) -> Message | None:
        """The acknowledgement deadline of an IM message passed: without a delivered/read receipt
        it counts as undelivered and the member gets the SMS instead (never both: a receipt that
        came in time stops the fallback)."""
        message = self.messages.get(message_id)
        if message is None or message.status is not MessageStatus.SENT:
            return None
        rule = self.book.rules.get(message.trigger)
        minutes = rule.ack_minutes if rule else None
        reason = f"no delivered/read receipt within {minutes} min"
        if not self.messages.transition(
            message_id, MessageStatus.UNDELIVERED, now, expect=frozenset({MessageStatus.SENT}), reason=reason
        ):
            return None
        return self.fall_back(message, reason, now)

    def fall_back(self, message: Message, reason: str, now: datetime) -> Message | None:
        """The SMS twin of an IM message that could not be sent or was not acknowledged. Keyed on
        (member, rule, occurrence + "#sms"): a replay creates it once. Exempt from the caps (the IM
        attempt counted), still subject to consent and quiet hours at send time."""
        rule = self.book.rules.get(message.trigger)
        member = self.members.get(message.member_id)
        if message.channel is not Channel.IM or rule is None or member is None or Channel.SMS not in rule.channels:
            return None
        if not member.phone or not member.consent.sms or "sms" in member.unreachable:
            self.log("no SMS to fall back to", message_id=message.message_id)
            return None
        text, parts = sms_text(message.text, rule, member.locale, member.phone, self.book)
        occurrence = f"{message.occurrence}#sms"
        sms = Message(
            message_id=business_id(member.member_id, message.trigger, occurrence),
            member_id=member.member_id,
            trigger=message.trigger,
            occurrence=occurrence,
            channel=Channel.SMS,
            provider=self.providers[Channel.SMS],
            text=text,
            status=MessageStatus.QUEUED,
            created_at=now,
            rule_class=message.rule_class,
            variant=message.variant,
            reason=f"instead of IM: {reason}",
            parts=parts,
            history=[StatusChange(MessageStatus.QUEUED, now, f"instead of IM: {reason}")],
            fallback_of=message.message_id,
        )
        if not self.messages.create(sms):
            earlier = self.messages.get(sms.message_id)
            if earlier is None or earlier.status is not MessageStatus.QUEUED:
                return earlier  # a replay: this fallback is already on its way
        self.queue.enqueue([sms.message_id], now)  # new, or still queued (an earlier run stopped here)
        return sms


def defer(message: Message, when: datetime, reason: str, now: datetime) -> None:
    message.status = MessageStatus.DEFERRED
    message.send_after = when
    message.reason = reason
    message.history = [*message.history[:-1], StatusChange(MessageStatus.DEFERRED, now, reason)]
