"""LifecycleService: a member change → messages recorded once → queued once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import scheduling
from chalicelib.domain.ids import message_id
from chalicelib.domain.model import Channel, Consent, Member, Message, MessageStatus
from chalicelib.domain.triggers import Trigger
from tests.fakes import NOW, FakeAdapters, fake_app, member, rule_book


class Planner:
    """The lifecycle service fed with what the rule table fires for a member change."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def member_changed(self, old: Member | None, new: Member, at: datetime) -> list[Message]:
        plans = scheduling.on_member_change(old, new, self.app.book, at, "Asia/Shanghai")
        messages: list[Message] = self.app.lifecycle.fire([p for p in plans if isinstance(p, Trigger)], new, at)
        return messages


class World:
    def __init__(self) -> None:
        fakes = FakeAdapters()
        self.messages, self.queue = fakes.messages, fakes.send_queue
        self.logged: list[tuple[str, dict[str, object]]] = []
        log = lambda msg, **fields: self.logged.append((msg, fields))  # noqa: E731
        self.app = fake_app(fakes, rule_book(), log, sms_provider="aliyun", im_provider="agora")
        self.service = Planner(self.app)


@pytest.fixture
def world() -> World:
    return World()


def test_a_new_member_gets_one_welcome_message_queued(world: World) -> None:
    # When a member record is inserted
    created = world.service.member_changed(None, member(), NOW)
    # Then one welcome message is stored as queued and its id is enqueued
    assert len(created) == 1
    message = created[0]
    assert (message.trigger, message.status, message.channel) == ("welcome", MessageStatus.QUEUED, Channel.IM)
    assert message.message_id == message_id("m-1", "welcome", "join")
    assert world.messages.get(message.message_id) is not None
    assert world.queue.batches == [[message.message_id]]
    # And the queue is told when the send was decided (the change time)
    assert world.queue.decided_at == [NOW]


def test_a_replayed_stream_record_adds_no_message_and_enqueues_nothing_once_sent(world: World) -> None:
    # Given the insert was already handled and its message has left the queue
    first = world.service.member_changed(None, member(), NOW)
    world.messages.transition(first[0].message_id, MessageStatus.SENT, NOW, expect=frozenset({MessageStatus.QUEUED}))
    # When the stream delivers the same change again (a retry, even a little later)
    again = world.service.member_changed(None, member(), NOW + timedelta(seconds=5))
    # Then no new message and nothing more on the queue
    assert again == []
    assert len(world.messages.messages) == 1
    assert len(world.queue.ids) == 1
    assert any(msg == "duplicate occurrence" for msg, _ in world.logged)


def test_a_replay_requeues_a_message_whose_send_never_left(world: World) -> None:
    # Given a run that recorded the message but died before (or while) queueing it
    world.queue.fail_next = True
    with pytest.raises(RuntimeError):
        world.service.member_changed(None, member(), NOW)
    assert world.queue.ids == []
    # When the stream retries the record
    again = world.service.member_changed(None, member(), NOW + timedelta(seconds=5))
    # Then no second message, but the still-queued one is queued again (the sender is idempotent)
    assert again == []
    assert len(world.messages.messages) == 1
    assert len(world.queue.ids) == 1


def test_an_unreachable_member_gets_a_suppressed_record_and_no_send(world: World) -> None:
    created = world.service.member_changed(None, member(phone=None, im_user_id=None), NOW)
    assert [m.status for m in created] == [MessageStatus.SUPPRESSED]
    assert created[0].reason == "no im address; no sms address"
    assert world.queue.batches == []


def test_a_tier_upgrade_queues_a_tier_message(world: World) -> None:
    created = world.service.member_changed(member(tier="regular"), member(tier="gold"), NOW)
    assert [(m.trigger, m.occurrence) for m in created] == [("tier_upgraded", "tier:gold")]
    assert world.queue.ids == [created[0].message_id]


def test_a_change_that_fires_nothing_touches_nothing(world: World) -> None:
    assert world.service.member_changed(member(name="a"), member(name="b"), NOW) == []
    assert world.messages.messages == {} and world.queue.batches == []


def test_withdrawn_consent_at_planning_time_is_recorded(world: World) -> None:
    created = world.service.member_changed(None, member(consent=Consent(sms=False, im=False)), NOW)
    assert created[0].status is MessageStatus.SUPPRESSED
    assert created[0].reason == "no im consent; no sms consent"
