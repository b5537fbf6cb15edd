"""Member data changed → which rules fire → messages recorded and queued for sending."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..domain.model import Channel, Member, Message, MessageStatus, StatusChange
from ..domain.planning import plan_message
from ..domain.rules import RuleBook
from ..domain.sendtime import window_hold
from ..domain.timers import RELEASE_RULE, Timer
from ..domain.triggers import Trigger, on_member_change
from ..ports import MemberStore, MessageStore, SendQueue, StoredTimer, TimerStore

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
    ) -> None:
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

    def fire(self, triggers: list[Trigger], member: Member, now: datetime) -> list[Message]:
        created: list[Message] = []
        requeue: list[str] = []
        for trigger in triggers:
            message = plan_message(member, trigger, self.book, self.providers, now)
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

    def hold_until(self, member_id: str, message_id: str, when: datetime, now: datetime) -> None:
        """A durable timer that puts the message back on the send queue at ``when``."""
        if self.timers is None:
            raise RuntimeError("deferring a message needs the timer store")
        timer = Timer(member_id, f"{RELEASE_RULE}#{message_id}", RELEASE_RULE, message_id, when, {})
        self.timers.put([StoredTimer(timer, "pending")], now)

    def release(self, message_id: str, now: datetime) -> None:
        self.queue.enqueue([message_id], now)


def defer(message: Message, when: datetime, reason: str, now: datetime) -> None:
    message.status = MessageStatus.DEFERRED
    message.send_after = when
    message.reason = reason
    message.history = [*message.history[:-1], StatusChange(MessageStatus.DEFERRED, now, reason)]
