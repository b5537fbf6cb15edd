"""SendService: at most one provider send per message; consent re-checked at send time; receipts
never move a message backwards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.providers.sandbox import SandboxProvider
from chalicelib.domain.model import Channel, Consent, Member, MessageStatus
from chalicelib.domain.planning import plan_message
from chalicelib.domain.triggers import Trigger
from chalicelib.ports import ProviderError, Receipt
from tests.fakes import NOW, FakeAdapters, FakeOutbox, FakeProvider, fake_app, member, rule_book

LATER = NOW + timedelta(minutes=1)
PROVIDERS = {Channel.SMS: "fake", Channel.IM: "fake"}


class World:
    def __init__(self, provider: FakeProvider | SandboxProvider | None = None, *, configured: bool = True) -> None:
        self.book = rule_book()
        self.provider = provider or FakeProvider("fake")
        fakes = FakeAdapters(providers={"fake": self.provider} if configured else {})
        self.members, self.messages, self.gate = fakes.members, fakes.messages, fakes.send_gate
        self.app = fake_app(fakes, self.book, sms_provider="fake", im_provider="fake")
        self.service = self.app.sender
        self.receipts = self.app.receipts

    def add_member(self, m: Member) -> Member:
        self.members.save(m)
        return m

    def queue(self, m: Member, rule: str = "welcome", occurrence: str = "join") -> str:
        """A message planned for ``m`` (as the lifecycle service would) and stored; returns its id."""
        message = plan_message(
            m,
            Trigger(rule, m.member_id, occurrence, NOW),
            self.app.policy,
            {Channel.SMS: "fake", Channel.IM: "fake"},
            NOW,
        )
        assert message.status is MessageStatus.QUEUED
        assert self.messages.create(message)
        return message.message_id

    def status(self, message_id: str) -> MessageStatus:
        message = self.messages.get(message_id)
        assert message is not None
        return message.status

    def withdraw(self, member_id: str, consent: Consent) -> None:
        m = self.members.get(member_id)
        assert m is not None
        m.consent = consent
        self.members.save(m)


@pytest.fixture
def world() -> World:
    return World()


def fake(world: World) -> FakeProvider:
    assert isinstance(world.provider, FakeProvider)
    return world.provider


# -- deliver ----------------------------------------------------------------------------------------


def test_deliver_sends_once_and_records_sent(world: World) -> None:
    mid = world.queue(world.add_member(member()))
    # When the queued message is delivered
    assert world.service.deliver(mid, LATER) is MessageStatus.SENT
    # Then the provider got exactly one IM to the member's IM id, and the send is recorded
    sends = fake(world).sends
    assert [(s.message_id, s.channel, s.to) for s in sends] == [(mid, "im", "agora_u1")]
    message = world.messages.get(mid)
    assert message is not None
    assert (message.status, message.sent_at, message.provider_message_id, message.parts) == (
        MessageStatus.SENT,
        LATER,
        f"fake-{mid}",
        1,
    )
    assert [h.status for h in message.history] == [MessageStatus.QUEUED, MessageStatus.SENT]


def test_a_second_delivery_of_the_same_id_does_nothing(world: World) -> None:
    mid = world.queue(world.add_member(member()))
    world.service.deliver(mid, LATER)
    # When SQS delivers the same id again
    assert world.service.deliver(mid, LATER + timedelta(seconds=30)) is None
    # Then still one send
    assert len(fake(world).sends) == 1


def test_sms_goes_to_the_e164_phone(world: World) -> None:
    mid = world.queue(world.add_member(member(im_user_id=None)))
    world.service.deliver(mid, LATER)
    assert [(s.channel, s.to) for s in fake(world).sends] == [("sms", "+8613800138000")]


def test_unknown_message_id_does_nothing(world: World) -> None:
    assert world.service.deliver("m" + "0" * 25, LATER) is None
    assert fake(world).attempts == 0


def test_consent_withdrawn_after_queueing_suppresses_at_send_time(world: World) -> None:
    # Given a message queued on SMS
    mid = world.queue(world.add_member(member(im_user_id=None)))
    # And the member then withdraws SMS consent
    world.withdraw("m-1", Consent(sms=False, im=True))
    # When the sender picks it up
    status = world.service.deliver(mid, LATER)
    # Then nothing is sent and the record says why
    assert status is MessageStatus.SUPPRESSED
    assert fake(world).attempts == 0
    message = world.messages.get(mid)
    assert message is not None
    assert message.status is MessageStatus.SUPPRESSED
    assert message.reason is not None and "no sms consent" in message.reason


def test_withdrawing_consent_for_the_messages_own_channel_suppresses_it_even_if_another_channel_is_allowed(
    world: World,
) -> None:
    # Given a message queued on IM for a member reachable on IM and SMS
    mid = world.queue(world.add_member(member()))
    # And the member then withdraws IM consent only (SMS consent stays)
    world.withdraw("m-1", Consent(sms=True, im=False))
    # When the sender picks it up
    world.service.deliver(mid, LATER)
    # Then no IM is sent: consent is checked for the channel the message goes out on
    assert [s.channel for s in fake(world).sends if s.channel == "im"] == []
    assert world.status(mid) is MessageStatus.SUPPRESSED


def test_marketing_consent_withdrawn_after_queueing_suppresses(world: World) -> None:
    mid = world.queue(world.add_member(member(consent=Consent(marketing=True))), "new_arrivals", "2026-11")
    world.withdraw("m-1", Consent(marketing=False))
    assert world.service.deliver(mid, LATER) is MessageStatus.SUPPRESSED
    message = world.messages.get(mid)
    assert message is not None and message.reason == "no marketing consent"
    assert fake(world).attempts == 0


def test_member_deleted_after_queueing_suppresses(world: World) -> None:
    mid = world.queue(world.add_member(member()))
    world.members.delete("m-1")
    assert world.service.deliver(mid, LATER) is MessageStatus.SUPPRESSED
    message = world.messages.get(mid)
    assert message is not None and message.reason == "member no longer exists"


def test_address_removed_after_queueing_suppresses(world: World) -> None:
    mid = world.queue(world.add_member(member(im_user_id=None)))
    m = world.members.get("m-1")
    assert m is not None
    m.phone = None
    world.members.save(m)
    assert world.service.deliver(mid, LATER) is MessageStatus.SUPPRESSED
    assert fake(world).attempts == 0


def test_retryable_provider_error_propagates_and_leaves_the_message_pending(world: World) -> None:
    mid = world.queue(world.add_member(member()))
    fake(world).fail_with(retryable=True, message="throttled")
    # When the provider is throttling
    with pytest.raises(ProviderError) as info:
        world.service.deliver(mid, LATER)
    # Then the error reaches SQS (for a redelivery) and the message is still queued
    assert info.value.retryable is True
    assert world.status(mid) is MessageStatus.QUEUED
    # And the redelivery sends it
    assert world.service.deliver(mid, LATER + timedelta(minutes=1)) is MessageStatus.SENT
    assert len(fake(world).sends) == 1


def test_permanent_provider_error_fails_the_message_with_the_reason(world: World) -> None:
    mid = world.queue(world.add_member(member()))
    fake(world).fail_with(retryable=False, message="invalid recipient")
    assert world.service.deliver(mid, LATER) is MessageStatus.FAILED
    message = world.messages.get(mid)
    assert message is not None
    assert (message.status, message.reason) == (MessageStatus.FAILED, "fake: rejected: invalid recipient")
    # And a redelivery does not try again
    assert world.service.deliver(mid, LATER) is None
    assert fake(world).attempts == 1


def test_an_unconfigured_provider_fails_the_message() -> None:
    world = World(configured=False)
    mid = world.queue(world.add_member(member()))
    assert world.service.deliver(mid, LATER) is MessageStatus.FAILED
    message = world.messages.get(mid)
    assert message is not None and message.reason == "provider fake not configured"


def test_immediate_receipts_from_the_provider_are_applied() -> None:
    world = World(FakeProvider("fake", receipt=MessageStatus.DELIVERED))
    mid = world.queue(world.add_member(member()))
    assert world.service.deliver(mid, LATER) is MessageStatus.SENT
    message = world.messages.get(mid)
    assert message is not None
    assert (message.status, message.delivered_at) == (MessageStatus.DELIVERED, LATER)


def test_with_the_sandbox_provider_a_message_ends_delivered_and_in_the_outbox() -> None:
    outbox = FakeOutbox()
    sandbox = SandboxProvider(outbox)
    world = World(sandbox)
    mid = world.queue(world.add_member(member(im_user_id=None)))
    world.service.deliver(mid, LATER)
    assert world.status(mid) is MessageStatus.DELIVERED
    assert [(e.provider_message_id, e.message.to, e.parts) for e in outbox.entries] == [
        (f"sbx-{mid}", "+8613800138000", 1)
    ]


# -- receipts ---------------------------------------------------------------------------------------


def receipt(mid: str | None, status: MessageStatus, minutes: int = 2, reason: str | None = None) -> Receipt:
    return Receipt(mid, None, status, NOW + timedelta(minutes=minutes), reason)


def sent_message(world: World) -> str:
    mid = world.queue(world.add_member(member()))
    world.service.deliver(mid, LATER)
    return mid


def test_receipts_move_forward_sent_delivered_read(world: World) -> None:
    mid = sent_message(world)
    assert world.receipts.apply(receipt(mid, MessageStatus.DELIVERED, 2))
    assert world.receipts.apply(receipt(mid, MessageStatus.READ, 3))
    message = world.messages.get(mid)
    assert message is not None
    assert message.status is MessageStatus.READ
    assert (message.delivered_at, message.read_at) == (NOW + timedelta(minutes=2), NOW + timedelta(minutes=3))


@pytest.mark.parametrize(
    "late",
    [
        MessageStatus.SENT,
        MessageStatus.QUEUED,
        MessageStatus.FAILED,
        MessageStatus.UNDELIVERED,
        MessageStatus.DELIVERED,
    ],
)
def test_a_late_lower_or_equal_receipt_after_delivered_is_ignored(world: World, late: MessageStatus) -> None:
    mid = sent_message(world)
    world.receipts.apply(receipt(mid, MessageStatus.DELIVERED, 2))
    # When an out-of-order receipt of a lower (or the same) rank arrives
    assert world.receipts.apply(receipt(mid, late, 5)) is False
    # Then the message stays delivered, with its first delivered time
    message = world.messages.get(mid)
    assert message is not None
    assert (message.status, message.delivered_at) == (MessageStatus.DELIVERED, NOW + timedelta(minutes=2))


def test_read_before_delivered_wins_and_late_delivered_is_ignored(world: World) -> None:
    mid = sent_message(world)
    assert world.receipts.apply(receipt(mid, MessageStatus.READ, 3))
    assert not world.receipts.apply(receipt(mid, MessageStatus.DELIVERED, 2))
    assert world.status(mid) is MessageStatus.READ


def test_failed_receipt_after_sent_is_recorded_with_reason(world: World) -> None:
    mid = sent_message(world)
    assert world.receipts.apply(receipt(mid, MessageStatus.UNDELIVERED, 2, "handset off"))
    message = world.messages.get(mid)
    assert message is not None and (message.status, message.reason) == (MessageStatus.UNDELIVERED, "handset off")


def test_receipts_never_touch_a_suppressed_message(world: World) -> None:
    mid = world.queue(world.add_member(member(im_user_id=None)))
    world.withdraw("m-1", Consent(sms=False))
    world.service.deliver(mid, LATER)
    for status in (MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED):
        assert world.receipts.apply(receipt(mid, status)) is False
    assert world.status(mid) is MessageStatus.SUPPRESSED


def test_receipt_without_a_message_id_or_for_an_unknown_one_is_ignored(world: World) -> None:
    assert world.receipts.apply(receipt(None, MessageStatus.DELIVERED)) is False
    assert world.receipts.apply(receipt("m" + "0" * 25, MessageStatus.DELIVERED)) is False


# -- a message that must go before a moment ------------------------------------------------------------


def test_a_message_that_reaches_the_sender_after_its_send_before_is_suppressed_as_expired(world: World) -> None:
    m = world.add_member(member())
    message = plan_message(
        m, Trigger("welcome", m.member_id, "join", NOW, send_before=LATER), world.app.policy, PROVIDERS, NOW
    )
    assert message.status is MessageStatus.QUEUED and message.send_before == LATER
    assert world.messages.create(message)
    # the send queue was slow: it reaches the sender after the moment it had to go before
    assert world.service.deliver(message.message_id, LATER + timedelta(seconds=1)) is MessageStatus.SUPPRESSED
    stored = world.messages.get(message.message_id)
    assert stored is not None and stored.reason is not None and stored.reason.startswith("expired")
    assert fake(world).sends == []
