"""Member data changed → which rules fire → messages recorded and queued for sending."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain.eligibility import Ask, Defer, Go, Policy, Stage, decide
from ..domain.ids import message_id as business_id
from ..domain.model import Channel, Member, Message, MessageStatus, StatusChange
from ..domain.timers import ACK_RULE, RESEND_RULE, Timer
from ..domain.triggers import Trigger
from ..ports import LinkShortener, MemberStore, MessageStore, SendQueue, StoredTimer, TimerStore

Log = Callable[..., None]


class LifecycleService:
    """Plans, records and queues messages (and their follow-ups: the timer that sends a deferred
    message when its window opens, the acknowledgement check of an IM, the SMS fallback).
    Implements the ``FollowUps`` and ``Replier`` ports the sender and the inbound worker use."""

    def __init__(
        self,
        policy: Policy,
        members: MemberStore,
        messages: MessageStore,
        queue: SendQueue,
        providers: dict[Channel, str],
        timers: TimerStore,
        *,
        log: Log | None = None,
        links: LinkShortener | None = None,
    ) -> None:
        self.policy = policy
        self.book = policy.book
        self.links = links
        self.timers = timers
        self.members = members
        self.messages = messages
        self.queue = queue
        self.providers = providers
        self.log = log or (lambda *a, **k: None)

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
        from ..domain.planning import plan_message  # (and the rendering): loaded where a message is planned

        created: list[Message] = []
        requeue: list[str] = []
        providers = {**self.providers, channel: provider} if channel is not None and provider else self.providers
        links = self.links.batch() if self.links is not None else None
        for trigger in triggers:
            message = plan_message(
                member,
                trigger,
                self.policy,
                providers,
                now,
                channel_forced=channel,
                shorten=links.shorten if links is not None else None,
            )
            if links is not None:
                links.save(now)  # before the message: a link in a stored message always resolves
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
        """A durable timer that puts the deferred message back on the send queue at ``when``."""
        timer = Timer(member_id, f"{RESEND_RULE}#{message_id}", RESEND_RULE, message_id, when, {})
        self.timers.put([StoredTimer(timer, "pending")], now)

    def resend(self, message_id: str, now: datetime) -> None:
        """A deferred message's window opened: back on the send queue."""
        self.queue.enqueue([message_id], now)

    def expect_ack(self, message: Message, by: datetime, now: datetime) -> None:
        """An IM message of a rule with ``ack_minutes``: check for a receipt at ``by``."""
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
        if message.channel is not Channel.IM or rule is None or Channel.SMS not in rule.channels:
            return None
        member = self.members.get(message.member_id)
        occurrence = f"{message.occurrence}#sms"
        sms_id = business_id(message.member_id, message.trigger, occurrence)
        ask = Ask(member, rule, (Channel.SMS,), sms_id, now, Stage.FALLBACK, send_before=message.send_before)
        decision = decide(ask, self.policy, now)
        if member is None or not isinstance(decision, Go | Defer):
            self.log("no SMS to fall back to", message_id=message.message_id, reason=getattr(decision, "reason", None))
            return None
        from ..domain.planning import sms_text

        text, parts = sms_text(message.text, rule, member.locale, member.phone, self.book)
        sms = Message(
            message_id=sms_id,
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
            send_before=message.send_before,
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
