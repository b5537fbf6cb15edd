"""A toy store's activities over the in-memory fakes, wired through ``bootstrap``: the services, the
rule engine fed what the activities table's stream would carry (``pump``), and the schedule and
the timer queue's consumer (``tick``)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.inbound import InboundEvent, InboundKind
from chalicelib.domain.model import Channel, Consent, Message, MessageStatus
from chalicelib.domain.rulebook import load_rule_book
from tests.fakes import FakeAdapters, fake_app, member

BOOK = load_rule_book()
STORE_ZONE = "Asia/Shanghai"
# Monday 23 November 2026, 10:00 in Shanghai: the contest is on Saturday 28th, 14:00–16:00.
MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SATURDAY = {
    "title": "周六积木大赛",
    "starts_at": "2026-11-28T14:00:00+08:00",
    "ends_at": "2026-11-28T16:00:00+08:00",
    "location": "乐乐玩具万象城店",
    "capacity": 5,
}
STARTS = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
ENDS = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def phone(n: int) -> str:
    return f"+86138001380{n:02d}"


class World:
    def __init__(self, members: int = 7, **settings: Any) -> None:
        self.fakes = fakes = FakeAdapters()
        self.app = fake_app(fakes, BOOK, store_timezone=STORE_ZONE, **settings)
        self.store = fakes.activities
        self.messages = fakes.messages
        self.timers = fakes.timers
        self.inbound = fakes.inbound_log
        self.activities = self.app.activities
        self.registrations = self.app.registrations
        self._regs: dict[tuple[str, str], Any] = {}
        self._acts: dict[str, Any] = {}
        self._invites: set[tuple[str, str]] = set()
        self._events = 0
        self.ids = [f"m-{i}" for i in range(1, members + 1)]
        for i, member_id in enumerate(self.ids, 1):
            fakes.members.save(
                member(member_id, phone=phone(i), im_user_id=None, consent=Consent(sms=True, im=True, marketing=True))
            )

    # -- what the stream carries to the engine -----------------------------------------------------
    def pump(self, at: datetime) -> int:
        """Feed the engine every change in the activities store since the last pump."""
        engine = self.app.engine
        planned = 0
        for key, reg in sorted(self.store.regs.items()):
            old = self._regs.get(key)
            if old != reg:
                planned += engine.registration_changed(copy.deepcopy(old), copy.deepcopy(reg), at)
        for key in sorted(set(self.store.invitations) - self._invites):
            planned += engine.member_invited(key[0], key[1], at)
        for activity_id, activity in sorted(self.store.activities.items()):
            old = self._acts.get(activity_id)
            if old is not None and activity.revision > old.revision:
                planned += engine.activity_changed(copy.deepcopy(activity), at)
        self._regs = copy.deepcopy(self.store.regs)
        self._acts = copy.deepcopy(self.store.activities)
        self._invites = set(self.store.invitations)
        return planned

    def tick(self, now: datetime) -> dict[str, int]:
        """The schedule at ``now`` and the timer queue's consumer, then what that changed."""
        released = self.app.timers.release_due(now)
        for at, keys in self.fakes.timer_queue.drain():
            self.app.timers.fire(keys, at)
        self.pump(now)
        return released

    # -- doing things ------------------------------------------------------------------------------
    def put(self, activity_id: str, body: dict[str, Any], at: datetime = MONDAY) -> Any:
        activity, _ = self.activities.put(activity_id, body, at)
        self.pump(at)
        return activity

    def register(self, activity_id: str, member_id: str, at: datetime = MONDAY) -> Any:
        got = self.registrations.register(activity_id, member_id, at)
        self.pump(at)
        return got

    def event(self, member_index: int, text: str, at: datetime, media: tuple[str, ...] = ()) -> InboundEvent:
        """A reply from the member, as the sandbox provider would hand it over."""
        self._events += 1
        return InboundEvent(
            "sandbox",
            InboundKind.REPLY,
            f"ev-{self._events}",
            at,
            Channel.SMS,
            sender=phone(member_index),
            text=text,
            media=media,
        )

    def reply(self, member_index: int, text: str, at: datetime, media: tuple[str, ...] = ()) -> str:
        outcome = self.app.inbound.handle(self.event(member_index, text, at, media), at)
        self.pump(at)
        return outcome

    # -- what happened -----------------------------------------------------------------------------
    def sent(self, rule: str | None = None, member_id: str | None = None) -> list[Message]:
        return sorted(
            (
                m
                for m in self.messages.messages.values()
                if (rule is None or m.trigger == rule) and (member_id is None or m.member_id == member_id)
            ),
            key=lambda m: (m.created_at, m.member_id),
        )

    def who(self, rule: str, *statuses: MessageStatus) -> list[str]:
        wanted = statuses or (MessageStatus.QUEUED, MessageStatus.DEFERRED)
        return sorted(m.member_id for m in self.sent(rule) if m.status in wanted)

    def status(self, activity_id: str) -> dict[str, str]:
        return {r.member_id: r.status.value for r in self.store.registrations(activity_id)}
