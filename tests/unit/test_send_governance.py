"""Issue 4, the send governance rules, proved on the send service with fakes (deterministic: the wall
clock, the sleep, claim tokens and the jitter are all injected).

Covers exactly-once (duplicates, redeliveries, a sender dying after the provider accepted, timeouts),
retries with backoff, permanent errors marking the member's channel, IM → SMS fallback (on failure
and for want of an acknowledgement, never both), marketing frequency caps and their priority,
consent re-checked at send time, and the provider's rate in parts per second.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.providers.sandbox import FaultPlan, SandboxProvider, SimulatedCrash
from chalicelib.domain.governance import next_period_start
from chalicelib.domain.model import Channel, Consent, Member, Message, MessageStatus
from chalicelib.domain.planning import plan_message
from chalicelib.domain.ratelimit import LATE_ALLOWANCE_MS, largest_window_count
from chalicelib.domain.rulebook import RuleBook, parse_rule_book
from chalicelib.domain.timers import ACK_RULE, RESEND_RULE
from chalicelib.domain.triggers import Trigger
from chalicelib.ports import ClaimRequest, ClaimResult, OutboundMessage, ProviderError, Receipt, SendResult
from chalicelib.services.sending import SendOutcome, SendRequest, SendService
from chalicelib.services.timers import TimerService
from tests.fakes import (
    NOW,
    RULES_TOML,
    FakeAdapters,
    FakeOutbox,
    FakeProvider,
    FakeSendGate,
    fake_app,
    member,
)

# NOW is Sunday 2026-11-22 16:00 in Shanghai (the store's zone): inside the 08:00–21:00 window, on
# the last day of ISO week 47.
CLAIM_TTL = 120.0
PROVIDERS = {Channel.SMS: "fake", Channel.IM: "fake"}

EXTRA_RULES = """
[rules.cross_sell]
class = "marketing"
channels = ["im", "sms"]
priority = 90

[rules.cross_sell.templates]
zh-CN = "搭配推荐：小熊换装套"

[rules.repurchase]
class = "marketing"
channels = ["sms"]
priority = 10

[rules.repurchase.templates]
zh-CN = "该补货啦"

[rules.impatient_promo]
class = "marketing"
channels = ["sms"]
max_defer_days = 0

[rules.impatient_promo.templates]
zh-CN = "限时特惠，今天有效"

[rules.reply_optout]
class = "transactional"
channels = ["sms", "im"]
urgent = true
confirms_opt_out = true

[rules.reply_optout.templates]
zh-CN = "您已退订{{ store.name }}的消息，之后不会再收到。"

[rules.long_notice]
class = "transactional"
channels = ["sms"]

[rules.long_notice.templates]
zh-CN = "@LONG@"
"""
LONG_NOTICE = (
    "亲爱的会员，您的积分账户本月有变动，详情请登录会员中心查看；如有疑问请联系门店客"
    "服，我们将竭诚为您服务，感谢您一直以来对乐乐玩具的支持与信任，祝您和家人生活愉快。"
)  # two SMS parts with the signature
EXTRA_RULES = EXTRA_RULES.replace("@LONG@", LONG_NOTICE)


def governance_book(*, ack_minutes: int | None = None) -> RuleBook:
    """The shared test rules plus marketing rules of different priorities, a rule that may not wait
    for the next cap period, an opt-out confirmation and a two-part SMS; ``ack_minutes`` makes the
    IM-first ``welcome`` rule need an acknowledgement."""
    book = parse_rule_book(RULES_TOML + EXTRA_RULES)
    if ack_minutes is None:
        return book
    welcome = book.rules["welcome"]
    rules = {**book.rules, "welcome": replace(welcome, params={**welcome.params, "ack_minutes": ack_minutes})}
    return RuleBook(book.store, rules)


class Clock:
    """The sender's wall clock (epoch seconds); ``sleep`` advances it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()
        self.slept: list[float] = []

    def wall(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TimedProvider(FakeProvider):
    """A FakeProvider that notes the wall time of every accepted send (for the rate)."""

    def __init__(self, clock: Clock, name: str = "fake") -> None:
        super().__init__(name)
        self.clock = clock
        self.sent_at: list[tuple[float, int]] = []

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        result = super().send(message, now)
        self.sent_at.append((self.clock.wall(), result.parts))
        return result


class LookupProvider(FakeProvider):
    """A provider that can tell whether it accepted a message (``lookup``), like Twilio or the
    sandbox. ``accept_then_time_out`` makes the next send be accepted but its answer lost."""

    can_lookup = True

    def __init__(self, name: str = "fake") -> None:
        super().__init__(name)
        self.accept_then_time_out = False

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        if self.accept_then_time_out:
            self.accept_then_time_out = False
            self.attempts += 1
            self.sends.append(message)
            raise ProviderError("no answer in time", retryable=True, code="timeout")
        return super().send(message, now)


class Rig:
    """The sender with the lifecycle service behind its hold / fallback / ack hooks."""

    def __init__(
        self,
        provider: FakeProvider | SandboxProvider | Callable[[Clock], FakeProvider] | None = None,
        *,
        book: RuleBook | None = None,
        rates: dict[str, int] | None = None,
        rand: float = 0.5,
    ) -> None:
        self.book = book or governance_book()
        self.clock = Clock(NOW)
        if callable(provider):
            provider = provider(self.clock)
        self.provider = provider if provider is not None else TimedProvider(self.clock)
        fakes = FakeAdapters(providers={"fake": self.provider})
        fakes.send_gate = FakeSendGate(fakes.messages, rates)
        self.members, self.messages, self.queue = fakes.members, fakes.messages, fakes.send_queue
        self.timers, self.gate = fakes.timers, fakes.send_gate
        self.logged: list[tuple[str, dict[str, object]]] = []
        log = lambda msg, **fields: self.logged.append((msg, fields))  # noqa: E731
        self.app = fake_app(fakes, self.book, log, sms_provider="fake", im_provider="fake")
        self.lifecycle = self.app.lifecycle
        tokens = itertools.count(1)
        # The sender under test, with its wall clock, sleep, claim tokens and jitter made deterministic.
        self.service = SendService(
            self.app.policy,
            self.members,
            self.messages,
            fakes.providers,
            self.gate,
            self.lifecycle,
            self.app.receipts,
            self.app.consent,
            log=log,
            claim_ttl=CLAIM_TTL,
            max_receives=5,
            wall=self.clock.wall,
            sleep=self.clock.sleep,
            new_claim=lambda: f"claim-{next(tokens)}",
            rand=lambda: rand,
        )

    # -- builders ----------------------------------------------------------------------------------
    def add(self, m: Member) -> Member:
        self.members.save(m)
        return m

    def plan(self, m: Member, rule: str = "welcome", occurrence: str = "join", at: datetime = NOW) -> str:
        """A queued message for ``m``, stored as the lifecycle service would; returns its id."""
        message = plan_message(m, Trigger(rule, m.member_id, occurrence, at), self.app.policy, PROVIDERS, at)
        assert message.status is MessageStatus.QUEUED, message.reason
        assert self.messages.create(message)
        return message.message_id

    # -- actions -----------------------------------------------------------------------------------
    def deliver(self, mid: str, now: datetime, receive: int = 1) -> SendOutcome:
        return self.service.deliver_batch([SendRequest(mid, receive)], now)[0]

    # -- looks -------------------------------------------------------------------------------------
    def message(self, mid: str) -> Message:
        found = self.messages.get(mid)
        assert found is not None
        return found

    def status(self, mid: str) -> MessageStatus:
        return self.message(mid).status

    def fake(self) -> FakeProvider:
        assert isinstance(self.provider, FakeProvider)
        return self.provider

    def sent_ids(self) -> list[str]:
        return [s.message_id for s in self.fake().sends]

    def fallbacks_of(self, mid: str) -> list[Message]:
        return [m for m in self.messages.messages.values() if m.fallback_of == mid]

    def set_consent(self, member_id: str, consent: Consent) -> None:
        m = self.members.get(member_id)
        assert m is not None
        m.consent = consent
        self.members.save(m)


LATER = NOW + timedelta(minutes=1)
SMS_ONLY: dict[str, Any] = {"im_user_id": None}
MARKETING = Consent(marketing=True)


@pytest.fixture
def rig() -> Rig:
    return Rig()


# == 1. Exactly-once ================================================================================


def test_the_same_id_twice_in_one_batch_is_sent_once(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    outcomes = rig.service.deliver_batch([SendRequest(mid), SendRequest(mid)], LATER)
    assert rig.sent_ids() == [mid]
    assert {o.message_id for o in outcomes} == {mid}
    assert all(o.retry_in is None for o in outcomes)
    assert rig.status(mid) is MessageStatus.SENT


def test_a_redelivery_after_success_does_nothing(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    assert rig.deliver(mid, LATER).status is MessageStatus.SENT
    rig.clock.advance(3600)
    assert rig.deliver(mid, LATER + timedelta(hours=1), receive=2) == SendOutcome(mid, None)
    assert rig.sent_ids() == [mid]
    assert rig.message(mid).attempts == 1


def crashing_sandbox() -> tuple[SandboxProvider, FakeOutbox]:
    outbox = FakeOutbox()
    return SandboxProvider(outbox, FaultPlan({"crash": 1.0})), outbox


def test_a_sender_dying_after_the_provider_accepted_leaves_a_claim_and_the_recovery_records_the_send() -> None:
    sandbox, outbox = crashing_sandbox()
    rig = Rig(sandbox)
    mid = rig.plan(rig.add(member(**SMS_ONLY)))
    # When the sandbox accepts and the sender Lambda dies before recording anything
    with pytest.raises(SimulatedCrash):
        rig.deliver(mid, LATER)
    left = rig.message(mid)
    assert (left.status, left.claim) == (MessageStatus.QUEUED, "claim-1")
    assert len(outbox.entries) == 1
    # And SQS offers the record again once the claim is older than any sender can live
    rig.clock.advance(CLAIM_TTL + 1)
    outcome = rig.deliver(mid, LATER + timedelta(minutes=5), receive=2)
    # Then the provider is asked, not sent to again: one outbox entry, and the message is delivered
    assert outcome == SendOutcome(mid, MessageStatus.SENT)
    assert len(outbox.entries) == 1
    recovered = rig.message(mid)
    assert recovered.status is MessageStatus.DELIVERED
    assert recovered.provider_message_id == f"sbx-{mid}"
    assert recovered.claim is None
    # And yet another redelivery changes nothing
    assert rig.deliver(mid, LATER + timedelta(minutes=6), receive=3) == SendOutcome(mid, None)
    assert len(outbox.entries) == 1


def test_a_claim_younger_than_the_ttl_is_left_alone_and_retried_after_it_expires() -> None:
    sandbox, outbox = crashing_sandbox()
    rig = Rig(sandbox)
    mid = rig.plan(rig.add(member(**SMS_ONLY)))
    with pytest.raises(SimulatedCrash):
        rig.deliver(mid, LATER)
    # When the record comes back while the claim is 30 s old (its sender may still be alive)
    rig.clock.advance(30)
    outcome = rig.deliver(mid, LATER, receive=2)
    # Then nothing is sent, and the retry comes after the claim has surely expired
    assert outcome.status is None and outcome.retry_in is not None
    assert outcome.retry_in >= CLAIM_TTL - 30
    assert len(outbox.entries) == 1
    assert rig.message(mid).claim == "claim-1"


def test_a_timeout_at_a_provider_that_can_neither_look_up_nor_dedupe_fails_without_a_second_send(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    rig.fake().fail_with(retryable=True, code="timeout", message="no answer in time")
    outcome = rig.deliver(mid, LATER)
    assert outcome == SendOutcome(mid, MessageStatus.FAILED)
    message = rig.message(mid)
    assert message.reason is not None and "outcome unknown" in message.reason
    assert message.claim is None
    # A redelivery does not try again
    rig.clock.advance(CLAIM_TTL + 1)
    assert rig.deliver(mid, LATER + timedelta(minutes=5), receive=2) == SendOutcome(mid, None)
    assert rig.fake().attempts == 1


def test_a_timeout_at_a_lookup_provider_keeps_the_claim_and_the_recovery_sends_once_if_it_was_not_accepted() -> None:
    provider = LookupProvider()
    rig = Rig(provider)
    mid = rig.plan(rig.add(member()))
    provider.fail_with(retryable=True, code="timeout", message="no answer in time")
    # When the send times out (not accepted, as it turns out)
    outcome = rig.deliver(mid, LATER)
    # Then the claim stays and SQS offers the record again after the claim TTL
    assert outcome.status is None and outcome.retry_in is not None and outcome.retry_in >= CLAIM_TTL
    assert rig.message(mid).claim == "claim-1"
    # And a redelivery after that asks the provider (not accepted) and sends exactly once
    rig.clock.advance(CLAIM_TTL + 1)
    assert rig.deliver(mid, LATER + timedelta(minutes=3), receive=2).status is MessageStatus.SENT
    assert provider.attempts == 2 and [s.message_id for s in provider.sends] == [mid]
    assert rig.message(mid).claim is None
    assert rig.deliver(mid, LATER + timedelta(minutes=4), receive=3) == SendOutcome(mid, None)
    assert provider.attempts == 2


def test_a_timeout_at_a_lookup_provider_that_had_accepted_records_the_send_without_sending_again() -> None:
    provider = LookupProvider()
    rig = Rig(provider)
    mid = rig.plan(rig.add(member()))
    provider.accept_then_time_out = True
    assert rig.deliver(mid, LATER).retry_in is not None
    rig.clock.advance(CLAIM_TTL + 1)
    outcome = rig.deliver(mid, LATER + timedelta(minutes=3), receive=2)
    assert outcome == SendOutcome(mid, MessageStatus.SENT)
    assert provider.attempts == 1
    message = rig.message(mid)
    assert (message.status, message.provider_message_id, message.claim) == (MessageStatus.SENT, f"fake-{mid}", None)


def stale_claim_not_accepted(rig: Rig, provider: LookupProvider, m: Member) -> str:
    """A send that timed out without the provider accepting it: the claim stays behind."""
    mid = rig.plan(m)
    provider.fail_with(retryable=True, code="timeout", message="no answer in time")
    assert rig.deliver(mid, LATER).retry_in is not None
    rig.clock.advance(CLAIM_TTL + 1)
    return mid


def test_consent_withdrawn_while_a_claim_is_stale_stops_the_recovery_send() -> None:
    provider = LookupProvider()
    rig = Rig(provider)
    mid = stale_claim_not_accepted(rig, provider, rig.add(member(**SMS_ONLY)))
    # The member replies T while the record waits for the claim to expire
    rig.set_consent("m-1", Consent(sms=False))
    outcome = rig.deliver(mid, LATER + timedelta(minutes=3), receive=2)
    assert provider.sends == []
    assert outcome.status is MessageStatus.SUPPRESSED


def test_a_recovery_send_that_falls_in_quiet_hours_is_deferred() -> None:
    provider = LookupProvider()
    rig = Rig(provider)
    mid = stale_claim_not_accepted(rig, provider, rig.add(member(**SMS_ONLY)))
    night = datetime.fromisoformat("2026-11-22T15:30:00+00:00")  # 23:30 in Shanghai
    outcome = rig.deliver(mid, night, receive=2)
    assert provider.sends == []
    assert outcome.status is MessageStatus.DEFERRED


# == 2. Retries =====================================================================================


def test_a_429_with_retry_after_releases_the_claim_and_waits_at_least_that_long(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    rig.fake().fail_with(retryable=True, code="throttled", message="429", retry_after=30)
    outcome = rig.deliver(mid, LATER)
    assert outcome.status is None and outcome.retry_in is not None and outcome.retry_in >= 30
    message = rig.message(mid)
    assert (message.status, message.claim, message.attempts) == (MessageStatus.QUEUED, None, 1)
    assert message.reason is not None and "throttled" in message.reason
    # The redelivery (no wait for the claim: it was released) sends it, the second attempt
    assert rig.deliver(mid, LATER + timedelta(seconds=30), receive=2).status is MessageStatus.SENT
    assert rig.message(mid).attempts == 2
    assert rig.sent_ids() == [mid]


def test_5xx_backoff_grows_with_the_receive_count(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    rig.fake().fail_with(retryable=True, code="unavailable", message="500", times=None)
    waits = []
    for receive in (1, 2, 3, 4):
        outcome = rig.deliver(mid, LATER, receive=receive)
        assert outcome.status is None and outcome.retry_in is not None
        waits.append(outcome.retry_in)
    assert waits == sorted(waits) and len(set(waits)) == 4
    # equal jitter with rand = 0.5: three quarters of 5, 10, 20, 40 s
    assert waits == [3, 7, 15, 30]
    assert rig.message(mid).attempts == 4


@pytest.mark.parametrize("rand", [0.0, 0.999])
def test_backoff_jitter_stays_within_half_and_all_of_the_exponential_step(rand: float) -> None:
    rig = Rig(rand=rand)
    mid = rig.plan(rig.add(member()))
    rig.fake().fail_with(retryable=True, code="unavailable", times=None)
    wait = rig.deliver(mid, LATER, receive=3).retry_in
    assert wait is not None and 10 <= wait <= 20


def test_an_im_message_failing_at_its_last_receive_falls_back_to_sms_and_the_im_is_never_sent(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    rig.fake().fail_with(retryable=True, code="unavailable", message="500")
    outcome = rig.deliver(mid, LATER, receive=5)
    # The IM fails for good (no DLQ for it) …
    assert outcome == SendOutcome(mid, MessageStatus.FAILED)
    assert rig.message(mid).claim is None
    # … and its SMS twin is queued
    [sms] = rig.fallbacks_of(mid)
    assert (sms.channel, sms.status) == (Channel.SMS, MessageStatus.QUEUED)
    assert sms.message_id in rig.queue.ids
    assert rig.deliver(sms.message_id, LATER).status is MessageStatus.SENT
    assert [(s.message_id, s.channel) for s in rig.fake().sends] == [(sms.message_id, "sms")]


def test_an_sms_failing_at_its_last_receive_is_handed_back_for_the_dead_letter_queue(rig: Rig) -> None:
    mid = rig.plan(rig.add(member(**SMS_ONLY)))
    rig.fake().fail_with(retryable=True, code="unavailable", message="500")
    outcome = rig.deliver(mid, LATER, receive=5)
    assert outcome.status is None and outcome.retry_in is not None
    message = rig.message(mid)
    assert (message.status, message.claim) == (MessageStatus.QUEUED, None)
    assert rig.fallbacks_of(mid) == []


# == 3. Permanent errors ============================================================================


def test_an_invalid_number_fails_the_message_and_marks_the_members_sms_unreachable(rig: Rig) -> None:
    mid = rig.plan(rig.add(member(**SMS_ONLY)))
    rig.fake().fail_with(retryable=False, code="invalid_address", message="invalid number")
    assert rig.deliver(mid, LATER) == SendOutcome(mid, MessageStatus.FAILED)
    message = rig.message(mid)
    assert message.reason == "fake: invalid_address: invalid number"
    stored = rig.members.get("m-1")
    assert stored is not None and stored.unreachable == {"sms": "invalid address"}
    # Not retried
    assert rig.deliver(mid, LATER, receive=2) == SendOutcome(mid, None)
    assert rig.fake().attempts == 1


def test_the_next_sms_to_an_unreachable_number_is_not_attempted(rig: Rig) -> None:
    m = rig.add(member(**SMS_ONLY))
    first, second = rig.plan(m), rig.plan(m, "welcome", "rejoin")
    rig.fake().fail_with(retryable=False, code="invalid_address", message="invalid number")
    rig.deliver(first, LATER)
    outcome = rig.deliver(second, LATER)
    assert rig.fake().attempts == 1
    message = rig.message(second)
    assert outcome.status in (MessageStatus.FAILED, MessageStatus.SUPPRESSED)
    assert message.reason is not None and "sms unreachable: invalid address" in message.reason


def test_an_sms_fallback_to_an_unreachable_number_fails_without_a_provider_call(rig: Rig) -> None:
    """The fallback skips channel choice, so it reaches the explicit unreachable check: failed."""
    m = rig.add(member())
    im = rig.plan(m)
    rig.fake().fail_with(retryable=False, code="rejected", message="template refused")
    rig.deliver(im, LATER)
    [sms] = rig.fallbacks_of(im)
    rig.members.mark_unreachable("m-1", "sms", "invalid address")
    assert rig.deliver(sms.message_id, LATER) == SendOutcome(sms.message_id, MessageStatus.FAILED)
    assert rig.message(sms.message_id).reason == "sms unreachable: invalid address"
    assert rig.fake().attempts == 1


def test_a_provider_side_opt_out_ends_as_a_members_own_opt_out(rig: Rig) -> None:
    """A provider saying "unsubscribed" and the member replying T end in the same state: consent off
    on that channel (no unreachable mark that a later START could not lift)."""
    mid = rig.plan(rig.add(member(**SMS_ONLY)))
    rig.fake().fail_with(retryable=False, code="opted_out", message="recipient unsubscribed")
    rig.deliver(mid, LATER)
    stored = rig.members.get("m-1")
    assert stored is not None and stored.consent.sms is False and stored.unreachable == {}
    assert rig.message(mid).status is MessageStatus.FAILED
    # When the member opts in again (START), the next message goes
    rig.set_consent("m-1", Consent(sms=True, im=True))
    again = rig.plan(rig.members.get("m-1"), occurrence="join-2")  # type: ignore[arg-type]
    assert rig.deliver(again, LATER).status is MessageStatus.SENT


def test_a_permanent_im_error_falls_back_to_one_sms_and_a_replay_creates_nothing_new(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    rig.fake().fail_with(retryable=False, code="invalid_address", message="unknown user")
    assert rig.deliver(mid, LATER) == SendOutcome(mid, MessageStatus.FAILED)
    stored = rig.members.get("m-1")
    assert stored is not None and stored.unreachable == {"im": "invalid address"}
    [sms] = rig.fallbacks_of(mid)
    assert (sms.channel, sms.fallback_of, sms.status) == (Channel.SMS, mid, MessageStatus.QUEUED)
    assert rig.queue.ids == [sms.message_id]
    # A replay of the fallback (a redelivered IM record, or the fallback itself called again)
    count = len(rig.messages.messages)
    assert rig.deliver(mid, LATER, receive=2) == SendOutcome(mid, None)
    im = rig.message(mid)
    again = rig.lifecycle.fall_back(im, "replayed", LATER)
    assert again is not None and again.message_id == sms.message_id
    assert len(rig.messages.messages) == count
    assert rig.fallbacks_of(mid) == [sms]
    # And the SMS goes out once
    assert rig.deliver(sms.message_id, LATER).status is MessageStatus.SENT
    assert rig.deliver(sms.message_id, LATER, receive=2).status is None
    assert rig.sent_ids() == [sms.message_id]


# == 4. Acknowledgement fallback ====================================================================


def ack_rig(provider: FakeProvider | None = None) -> tuple[Rig, TimerService]:
    rig = Rig(provider, book=governance_book(ack_minutes=10))
    timers: TimerService = rig.app.timers
    return rig, timers


def test_an_im_send_of_a_rule_needing_an_ack_sets_an_ack_timer() -> None:
    rig, _ = ack_rig()
    mid = rig.plan(rig.add(member()))
    assert rig.deliver(mid, LATER).status is MessageStatus.SENT
    stored = rig.timers.get("m-1", f"{ACK_RULE}#{mid}")
    assert stored is not None and stored.status == "pending"
    assert (stored.timer.rule_id, stored.timer.occurrence) == (ACK_RULE, mid)
    assert stored.timer.due_at == LATER + timedelta(minutes=10)


def test_no_receipt_by_the_ack_deadline_marks_the_im_undelivered_and_sends_the_sms_instead() -> None:
    rig, timers = ack_rig()
    mid = rig.plan(rig.add(member()))
    rig.deliver(mid, LATER)
    deadline = LATER + timedelta(minutes=10)
    assert timers.fire([("m-1", f"{ACK_RULE}#{mid}")], deadline) == {"fired": 1, "dropped": 0, "skipped": 0}
    im = rig.message(mid)
    assert im.status is MessageStatus.UNDELIVERED
    assert im.reason == "no delivered/read receipt within 10 min"
    [sms] = rig.fallbacks_of(mid)
    assert sms.message_id in rig.queue.ids
    assert rig.deliver(sms.message_id, deadline).status is MessageStatus.SENT
    assert [s.channel for s in rig.fake().sends] == ["im", "sms"]
    # The timer fires once
    assert timers.fire([("m-1", f"{ACK_RULE}#{mid}")], deadline)["skipped"] == 1
    assert len(rig.fallbacks_of(mid)) == 1


@pytest.mark.parametrize("status", [MessageStatus.DELIVERED, MessageStatus.READ])
def test_a_receipt_before_the_ack_deadline_stops_the_sms(status: MessageStatus) -> None:
    rig, timers = ack_rig()
    mid = rig.plan(rig.add(member()))
    rig.deliver(mid, LATER)
    assert rig.app.receipts.apply(Receipt(mid, f"fake-{mid}", status, LATER + timedelta(minutes=3)))
    timers.fire([("m-1", f"{ACK_RULE}#{mid}")], LATER + timedelta(minutes=10))
    assert rig.status(mid) is status
    assert rig.fallbacks_of(mid) == []
    assert rig.queue.ids == []


def test_an_immediate_delivered_receipt_needs_no_ack_timer() -> None:
    rig, _ = ack_rig(FakeProvider("fake", receipt=MessageStatus.DELIVERED))
    mid = rig.plan(rig.add(member()))
    rig.deliver(mid, LATER)
    assert rig.timers.get("m-1", f"{ACK_RULE}#{mid}") is None


def test_an_sms_send_of_an_ack_rule_sets_no_timer() -> None:
    rig, _ = ack_rig()
    mid = rig.plan(rig.add(member(**SMS_ONLY)))
    rig.deliver(mid, LATER)
    assert rig.timers.pending() == {}


# == 5. Frequency caps ==============================================================================


def marketing_member(rig: Rig, member_id: str = "m-1", **fields: object) -> Member:
    return rig.add(member(member_id, consent=MARKETING, **{**SMS_ONLY, **fields}))


def test_the_third_marketing_message_of_a_week_is_deferred_to_the_next_week(rig: Rig) -> None:
    m = marketing_member(rig)
    ids = [rig.plan(m, "new_arrivals", f"2026-11-{d}") for d in (20, 21, 22)]
    assert [rig.deliver(mid, LATER).status for mid in ids] == [
        MessageStatus.SENT,
        MessageStatus.SENT,
        MessageStatus.DEFERRED,
    ]
    third = rig.message(ids[2])
    assert third.reason == "frequency cap: 2 marketing messages a calendar week"
    # Monday 2026-11-23 08:00 in Shanghai (00:00 UTC), spread over the first minutes
    monday = datetime.fromisoformat("2026-11-23T00:00:00+00:00")
    assert third.send_after is not None and monday <= third.send_after < monday + timedelta(minutes=20)
    # The release timer is there, and on Monday the message goes out
    release = rig.timers.get("m-1", f"{RESEND_RULE}#{ids[2]}")
    assert release is not None and release.timer.due_at == third.send_after
    rig.clock.advance((third.send_after - LATER).total_seconds())
    assert rig.deliver(ids[2], third.send_after).status is MessageStatus.SENT
    assert rig.sent_ids() == ids


def test_the_cap_counts_in_the_members_own_calendar_week(rig: Rig) -> None:
    """Sunday 18:00 UTC is already Monday (week 48) in Shanghai but still Sunday 10:00 (week 47) in
    Los Angeles: a member there has used up the week, and waits for Monday 08:00 in Los Angeles."""
    m = marketing_member(rig, timezone="America/Los_Angeles")
    thursday = datetime.fromisoformat("2026-11-19T18:00:00+00:00")
    sunday = datetime.fromisoformat("2026-11-22T18:00:00+00:00")
    for d in (19, 20):
        assert (
            rig.deliver(rig.plan(m, "new_arrivals", f"2026-11-{d}", at=thursday), thursday).status is MessageStatus.SENT
        )
    third = rig.plan(m, "new_arrivals", "2026-11-22", at=sunday)
    assert rig.deliver(third, sunday).status is MessageStatus.DEFERRED
    monday_la = datetime.fromisoformat("2026-11-23T16:00:00+00:00")
    send_after = rig.message(third).send_after
    assert send_after is not None and monday_la <= send_after < monday_la + timedelta(minutes=20)
    assert set(rig.gate.counters) == {"cap#m-1#week#2026-W47", "cap#m-1#month#2026-11"}


def test_a_rule_that_may_not_wait_until_the_next_period_is_capped(rig: Rig) -> None:
    m = marketing_member(rig)
    for d in (20, 21):
        rig.deliver(rig.plan(m, "new_arrivals", f"2026-11-{d}"), LATER)
    mid = rig.plan(m, "impatient_promo", "2026-11-22")
    assert rig.deliver(mid, LATER) == SendOutcome(mid, MessageStatus.CAPPED)
    message = rig.message(mid)
    assert message.reason is not None and message.reason.startswith(
        "frequency cap: 2 marketing messages a calendar week"
    )
    assert "limit" in message.reason
    assert len(rig.sent_ids()) == 2


@pytest.mark.parametrize("order", ["low_first", "high_first"])
def test_when_two_compete_for_the_last_slot_the_higher_priority_rule_wins(rig: Rig, order: str) -> None:
    m = marketing_member(rig)
    rig.deliver(rig.plan(m, "new_arrivals", "2026-11-20"), LATER)
    low = rig.plan(m, "repurchase", "2026-11-22")  # priority 10
    high = rig.plan(m, "cross_sell", "2026-11-22")  # priority 90
    batch = [low, high] if order == "low_first" else [high, low]
    outcomes = {o.message_id: o.status for o in rig.service.deliver_batch([SendRequest(i) for i in batch], LATER)}
    assert outcomes == {high: MessageStatus.SENT, low: MessageStatus.DEFERRED}
    assert rig.sent_ids()[-1] == high


def test_transactional_messages_are_never_capped(rig: Rig) -> None:
    m = marketing_member(rig)
    for d in (20, 21):
        rig.deliver(rig.plan(m, "new_arrivals", f"2026-11-{d}"), LATER)
    ids = [rig.plan(m, "welcome", f"join-{i}") for i in range(5)]
    assert {rig.deliver(mid, LATER).status for mid in ids} == {MessageStatus.SENT}
    assert rig.gate.counters["cap#m-1#week#2026-W47"] == set(rig.sent_ids()[:2])


def test_an_sms_fallback_of_a_marketing_im_is_exempt_from_the_cap(rig: Rig) -> None:
    m = rig.add(member(consent=MARKETING))
    rig.deliver(rig.plan(m, "new_arrivals", "2026-11-20"), LATER)  # 1 of 2
    im = rig.plan(m, "cross_sell", "2026-11-22")  # 2 of 2, on IM
    rig.fake().fail_with(retryable=False, code="rejected", message="content refused")
    assert rig.deliver(im, LATER).status is MessageStatus.FAILED
    [sms] = rig.fallbacks_of(im)
    assert rig.deliver(sms.message_id, LATER).status is MessageStatus.SENT
    week = rig.gate.counters["cap#m-1#week#2026-W47"]
    assert sms.message_id not in week and len(week) == 2


def test_a_retried_marketing_message_counts_once_against_the_cap(rig: Rig) -> None:
    m = marketing_member(rig)
    first = rig.plan(m, "new_arrivals", "2026-11-20")
    rig.fake().fail_with(retryable=True, code="throttled", retry_after=5)
    assert rig.deliver(first, LATER).retry_in is not None
    assert rig.deliver(first, LATER, receive=2).status is MessageStatus.SENT
    second = rig.plan(m, "new_arrivals", "2026-11-21")
    assert rig.deliver(second, LATER).status is MessageStatus.SENT
    assert rig.gate.counters["cap#m-1#week#2026-W47"] == {first, second}


def test_messages_deferred_by_the_cap_are_spread_over_the_first_minutes_of_the_next_period() -> None:
    rig = Rig()
    openings = []
    for i in range(8):
        m = marketing_member(rig, f"m-{i}")
        for d in (20, 21):
            rig.deliver(rig.plan(m, "new_arrivals", f"2026-11-{d}"), LATER)
        third = rig.plan(m, "new_arrivals", "2026-11-22")
        assert rig.deliver(third, LATER).status is MessageStatus.DEFERRED
        openings.append(rig.message(third).send_after)
    assert len(set(openings)) > 1


def test_the_next_week_starts_on_monday() -> None:
    assert next_period_start(NOW.date(), "week").isoformat() == "2026-11-23"
    assert next_period_start(NOW.date(), "month").isoformat() == "2026-12-01"


# == 6. Consent at send time ========================================================================


def test_no_sms_fallback_when_sms_consent_was_withdrawn(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    rig.set_consent("m-1", Consent(sms=False, im=True))
    rig.fake().fail_with(retryable=False, code="rejected", message="template refused")
    assert rig.deliver(mid, LATER).status is MessageStatus.FAILED
    assert rig.fallbacks_of(mid) == []
    assert rig.queue.ids == []


def test_a_queued_sms_fallback_is_suppressed_if_sms_consent_is_withdrawn_before_it_goes(rig: Rig) -> None:
    mid = rig.plan(rig.add(member()))
    rig.fake().fail_with(retryable=False, code="rejected", message="template refused")
    rig.deliver(mid, LATER)
    [sms] = rig.fallbacks_of(mid)
    rig.set_consent("m-1", Consent(sms=False, im=True))
    assert rig.deliver(sms.message_id, LATER).status is MessageStatus.SUPPRESSED
    assert rig.message(sms.message_id).reason == "no sms consent"
    assert rig.fake().attempts == 1


def test_a_queued_marketing_fallback_is_suppressed_if_marketing_consent_is_withdrawn(rig: Rig) -> None:
    rig.add(member(consent=MARKETING))
    m = rig.members.get("m-1")
    assert m is not None
    mid = rig.plan(m, "cross_sell", "2026-11-22")
    rig.fake().fail_with(retryable=False, code="rejected")
    rig.deliver(mid, LATER)
    [sms] = rig.fallbacks_of(mid)
    rig.set_consent("m-1", Consent(marketing=False))
    assert rig.deliver(sms.message_id, LATER).status is MessageStatus.SUPPRESSED
    assert rig.message(sms.message_id).reason == "no marketing consent"


def opt_out_confirmation(rig: Rig, m: Member, at: datetime) -> str:
    """What the inbound service plans when a member replies T: the confirmation, on SMS."""
    message = plan_message(
        m, Trigger("reply_optout", m.member_id, "in-1", at), rig.app.policy, PROVIDERS, at, channel_forced=Channel.SMS
    )
    assert message.status is MessageStatus.QUEUED
    assert rig.messages.create(message)
    return message.message_id


def test_the_opt_out_confirmation_goes_out_although_consent_was_withdrawn(rig: Rig) -> None:
    m = rig.add(member(consent=Consent(sms=False, im=False, marketing=False)))
    # Late at night in Shanghai: the rule is urgent too
    night = datetime.fromisoformat("2026-11-22T15:30:00+00:00")
    mid = opt_out_confirmation(rig, m, night)
    assert rig.deliver(mid, night).status is MessageStatus.SENT
    assert [(s.message_id, s.channel) for s in rig.fake().sends] == [(mid, "sms")]


def test_only_the_confirming_rule_passes_after_an_opt_out(rig: Rig) -> None:
    m = rig.add(member(**SMS_ONLY))
    welcome = rig.plan(m)
    rig.set_consent("m-1", Consent(sms=False))
    stored = rig.members.get("m-1")
    assert stored is not None
    confirmation = opt_out_confirmation(rig, stored, NOW)
    outcomes = {
        o.message_id: o.status
        for o in rig.service.deliver_batch([SendRequest(welcome), SendRequest(confirmation)], LATER)
    }
    assert outcomes == {welcome: MessageStatus.SUPPRESSED, confirmation: MessageStatus.SENT}
    assert rig.sent_ids() == [confirmation]


def test_an_opt_out_confirmation_is_not_sent_to_an_unreachable_number(rig: Rig) -> None:
    m = rig.add(member(**SMS_ONLY, consent=Consent(sms=False)))
    mid = opt_out_confirmation(rig, m, NOW)
    rig.members.mark_unreachable("m-1", "sms", "invalid address")
    assert rig.deliver(mid, LATER).status is MessageStatus.FAILED
    assert rig.fake().attempts == 0


# == 7. Provider rate ===============================================================================


def batches(ids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def test_30_one_part_sends_in_batches_of_10_never_exceed_5_a_second_and_keep_up_the_pace() -> None:
    rig = Rig(rates={"fake": 5})
    m = rig.add(member())
    ids = [rig.plan(m, "welcome", f"join-{i}") for i in range(30)]
    for batch in batches(ids, 10):
        outcomes = rig.service.deliver_batch([SendRequest(mid) for mid in batch], LATER)
        assert {o.status for o in outcomes} == {MessageStatus.SENT}
    provider = rig.provider
    assert isinstance(provider, TimedProvider)
    sends = [(round(t * 1000), parts) for t, parts in provider.sent_at]
    assert len(sends) == 30
    assert largest_window_count(sends) <= 5
    span = (sends[-1][0] - sends[0][0]) / 1000
    assert (30 - 1) / span >= 0.9 * 5  # the mean rate between the first and the last send
    assert sum(rig.clock.slept) > 0  # it waited for its slots rather than sending early


def test_the_rate_counts_sms_parts() -> None:
    rig = Rig(rates={"fake": 5})
    m = rig.add(member(**SMS_ONLY))
    ids = [rig.plan(m, "long_notice", f"n-{i}") for i in range(10)]
    parts = {rig.message(mid).parts for mid in ids}
    assert parts == {2}
    for batch in batches(ids, 10):
        rig.service.deliver_batch([SendRequest(mid) for mid in batch], LATER)
    provider = rig.provider
    assert isinstance(provider, TimedProvider)
    sends = [(round(t * 1000), p) for t, p in provider.sent_at]
    assert all(p == 2 for _, p in sends)
    assert largest_window_count(sends) <= 5
    # two 2-part messages a second at most: 10 messages take at least 4 more seconds
    assert (sends[-1][0] - sends[0][0]) / 1000 >= 4.0


def test_parts_larger_than_the_rate_go_alone() -> None:
    rig = Rig(rates={"fake": 1})
    m = rig.add(member(**SMS_ONLY))
    ids = [rig.plan(m, "long_notice", f"n-{i}") for i in range(3)]
    rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    provider = rig.provider
    assert isinstance(provider, TimedProvider)
    times = [t for t, _ in provider.sent_at]
    assert len(times) == 3 and all(b - a >= 1.0 for a, b in itertools.pairwise(times))


# == 8. Never lose a message ========================================================================
# A provider that can neither be asked about a send (``lookup``) nor drops a repeated id
# (``dedupes``) — Twilio, AWS End User Messaging, Tencent, Agora — is what FakeProvider is.


class DyingProvider(TimedProvider):
    """The sender dies during its ``die_on``-th provider call: after the provider accepted the
    message (``accepted``), or before the provider got it (the call had started)."""

    def __init__(self, clock: Clock, die_on: int, *, accepted: bool) -> None:
        super().__init__(clock)
        self.die_on = die_on
        self.accepted = accepted
        self.calls = 0

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.calls += 1
        if self.calls == self.die_on:
            self.die_on = 0
            if self.accepted:
                super().send(message, now)
            raise SimulatedCrash(f"the sender died calling the provider for {message.message_id}")
        return super().send(message, now)


class SlowProvider(TimedProvider):
    """Each call takes ``seconds`` of the sender's (fake) wall clock."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        super().__init__(clock)
        self.seconds = seconds

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.clock.advance(self.seconds)
        return super().send(message, now)


def sms_members(rig: Rig, n: int) -> list[str]:
    return [rig.plan(rig.add(member(f"m-{i}", **SMS_ONLY))) for i in range(n)]


def sent_once(rig: Rig) -> list[str]:
    ids = rig.sent_ids()
    assert len(ids) == len(set(ids)), f"sent twice: {ids}"
    return sorted(ids)


def test_a_sender_dying_after_an_accepted_send_leaves_the_batch_mates_it_never_started_to_the_next_delivery() -> None:
    rig = Rig(lambda clock: DyingProvider(clock, die_on=2, accepted=True))
    ids = sms_members(rig, 4)
    # When the sender dies right after the provider accepted the second message of its batch
    with pytest.raises(SimulatedCrash):
        rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    # And SQS offers the batch again once the claims are older than any sender can live
    rig.clock.advance(CLAIM_TTL + 1)
    rig.service.deliver_batch([SendRequest(mid, 2) for mid in ids], LATER + timedelta(minutes=5))
    # Then every message reached the provider exactly once
    assert sent_once(rig) == sorted(ids)
    # The first was recorded before the second call started; the second's call had started, so its
    # outcome is unknown (the provider has it: not sent again); the last two had never started: sent.
    assert [rig.status(mid) for mid in ids] == [
        MessageStatus.SENT,
        MessageStatus.FAILED,
        MessageStatus.SENT,
        MessageStatus.SENT,
    ]
    reason = rig.message(ids[1]).reason
    assert reason is not None and "outcome unknown" in reason
    assert all(rig.message(mid).claim is None for mid in ids)


def test_a_sender_dying_as_it_calls_the_provider_loses_only_that_message_to_outcome_unknown() -> None:
    """A death between the "call started" write and the provider's answer cannot be told apart from
    one after the provider accepted: that one message is "outcome unknown" (never sent twice); its
    batch-mates go out on the next delivery."""
    rig = Rig(lambda clock: DyingProvider(clock, die_on=1, accepted=False))
    ids = sms_members(rig, 3)
    with pytest.raises(SimulatedCrash):
        rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    rig.clock.advance(CLAIM_TTL + 1)
    rig.service.deliver_batch([SendRequest(mid, 2) for mid in ids], LATER + timedelta(minutes=5))
    assert sent_once(rig) == sorted(ids[1:])
    assert [rig.status(mid) for mid in ids] == [MessageStatus.FAILED, MessageStatus.SENT, MessageStatus.SENT]


class DyingGate:
    """The sender dies right after its claims were written, before any provider call."""

    def __init__(self, gate: FakeSendGate) -> None:
        self.gate = gate

    def claim(self, requests: list[ClaimRequest], now: datetime, wall: float) -> ClaimResult:
        self.gate.claim(requests, now, wall)
        raise SimulatedCrash("the sender died after claiming its batch")

    def book(self, provider: str, parts: list[int], wall: float) -> list[float | None]:
        return self.gate.book(provider, parts, wall)


def test_a_claim_left_before_any_call_started_is_simply_sent() -> None:
    rig = Rig()
    ids = sms_members(rig, 2)
    rig.service.gate = DyingGate(rig.gate)
    with pytest.raises(SimulatedCrash):
        rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    assert all(rig.message(mid).claim is not None for mid in ids)
    rig.service.gate = rig.gate
    rig.clock.advance(CLAIM_TTL + 1)
    outcomes = rig.service.deliver_batch([SendRequest(mid, 2) for mid in ids], LATER)
    assert [o.status for o in outcomes] == [MessageStatus.SENT, MessageStatus.SENT]
    assert sent_once(rig) == sorted(ids)


def test_a_provider_taking_250_ms_a_call_with_no_rate_configured_sends_the_whole_batch() -> None:
    rig = Rig(lambda clock: SlowProvider(clock, 0.25))
    ids = sms_members(rig, 10)
    outcomes = rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    assert [o.status for o in outcomes] == [MessageStatus.SENT] * 10
    assert all(o.retry_in is None for o in outcomes)
    assert sent_once(rig) == sorted(ids)


def test_with_a_rate_a_slow_provider_books_each_send_from_when_the_sender_is_ready() -> None:
    """5 parts a second booked, but each call takes 300 ms: the pre-booked slots (200 ms apart) cannot
    be kept. The sender books again from when it is ready rather than release the rest to SQS, and no
    one-second window ever holds more than the rate."""
    rig = Rig(lambda clock: SlowProvider(clock, 0.3), rates={"fake": 5})
    provider = rig.provider
    assert isinstance(provider, SlowProvider)
    ids = sms_members(rig, 10)
    outcomes = rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    assert [o.status for o in outcomes] == [MessageStatus.SENT] * 10
    # A call leaves when it starts: the provider notes the time after its 300 ms
    starts = [(round((t - 0.3) * 1000), p) for t, p in provider.sent_at]
    assert largest_window_count(starts) <= 5
    # The next batch books only what this sender can keep: none of its slots is missed
    missed = len([m for m, _ in rig.logged if m == "missed its rate slot"])
    more = [rig.plan(rig.add(member(f"n-{i}", **SMS_ONLY))) for i in range(5)]
    outcomes = rig.service.deliver_batch([SendRequest(mid) for mid in more], LATER)
    assert [o.status for o in outcomes] == [MessageStatus.SENT] * 5
    assert len([m for m, _ in rig.logged if m == "missed its rate slot"]) == missed
    starts = [(round((t - 0.3) * 1000), p) for t, p in provider.sent_at]
    assert largest_window_count(starts) <= 5


class CountingGate(FakeSendGate):
    """The fake gate, counting the sender's new bookings (one write each on DynamoDB)."""

    def __init__(self, gate: FakeSendGate) -> None:
        super().__init__(gate.messages, gate.rates)
        self.bookings = 0
        self.booked: list[int] = []  # the sends each new booking was for

    def book(
        self,
        provider: str,
        parts: list[int],
        wall: float,
        *,
        pace_ms: int = 0,
        release: Sequence[tuple[float, int]] = (),
        ready: float | None = None,
    ) -> list[float | None]:
        self.bookings += 1
        self.booked.append(len(parts))
        return super().book(provider, parts, wall, pace_ms=pace_ms, release=release, ready=ready)


def test_a_batch_that_cannot_keep_its_slots_books_again_once_not_once_a_send() -> None:
    rig = Rig(lambda clock: SlowProvider(clock, 0.3), rates={"fake": 5})
    gate = CountingGate(rig.gate)
    rig.service.gate = rig.service.pacer.gate = gate
    ids = sms_members(rig, 10)
    outcomes = rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    assert [o.status for o in outcomes] == [MessageStatus.SENT] * 10
    assert gate.bookings == 1
    # The slots it gave back are free again: the schedule holds one booking a send
    assert len(gate.schedules["fake"]) == 10


class HiccupProvider(TimedProvider):
    """Each call takes 50 ms of the sender's (fake) wall clock, the ``slow_call``-th 150 ms."""

    def __init__(self, clock: Clock, slow_call: int) -> None:
        super().__init__(clock)
        self.calls = 0
        self.slow_call = slow_call

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.calls += 1
        self.clock.advance(0.15 if self.calls == self.slow_call else 0.05)
        return super().send(message, now)


def test_one_slow_answer_costs_the_batch_one_slot_not_the_slots_of_the_sends_after_it() -> None:
    """At 10 a second the batch's slots are 100 ms apart. The third call takes 150 ms, so the fourth
    send misses its slot: it alone books again (behind the batch), the sends after it keep theirs."""
    rig = Rig(lambda clock: HiccupProvider(clock, slow_call=3), rates={"fake": 10})
    gate = CountingGate(rig.gate)
    rig.service.gate = rig.service.pacer.gate = gate
    ids = sms_members(rig, 10)
    outcomes = rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    assert [o.status for o in outcomes] == [MessageStatus.SENT] * 10
    assert len([m for m, _ in rig.logged if m == "missed its rate slot"]) == 1
    assert gate.booked == [1]  # one new slot, for the send that missed
    provider = rig.provider
    assert isinstance(provider, HiccupProvider)
    # Sends 5 to 10 went at the slots they were claimed with (400 ms to 900 ms after the first);
    # the fourth (its slot at 300 ms) went last.
    went = [round(t * 1000) - 50 for t, _ in provider.sent_at]  # noted when the call returned
    assert [t - went[0] for t in went[3:9]] == [400, 500, 600, 700, 800, 900]
    assert sent_once(rig) == sorted(ids)
    starts = [(round(t * 1000), p) for t, p in provider.sent_at]
    assert largest_window_count(starts, 1000 + LATE_ALLOWANCE_MS) <= 10


def test_a_wait_for_the_providers_rate_hands_the_message_back_without_spending_a_try() -> None:
    rig = Rig(rates={"fake": 1})
    ids = sms_members(rig, 30)
    outcomes = rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    waiting = [o for o in outcomes if o.status is None]
    assert waiting, "1 part a second: 30 sends cannot all go within the sender's life"
    assert all(o.retry_in is not None and o.requeue for o in waiting)
    assert all(rig.message(o.message_id).claim is None for o in waiting)
    assert rig.messages.unclaim_calls == 1  # their claims released in one write
    # Their slots were given back: nothing is booked after the last send that went
    provider = rig.provider
    assert isinstance(provider, TimedProvider)
    last_sent_ms = round(provider.sent_at[-1][0] * 1000)
    assert rig.gate.schedules["fake"] and max(t for t, _ in rig.gate.schedules["fake"]) <= last_sent_ms


def test_a_claim_held_by_a_live_sender_is_waited_for_without_spending_a_try() -> None:
    sandbox, _ = crashing_sandbox()
    rig = Rig(sandbox)
    mid = rig.plan(rig.add(member(**SMS_ONLY)))
    with pytest.raises(SimulatedCrash):
        rig.deliver(mid, LATER)
    rig.clock.advance(30)
    outcome = rig.deliver(mid, LATER, receive=2)
    assert outcome.status is None and outcome.retry_in is not None and outcome.requeue


def test_a_sender_running_out_of_time_hands_the_unsent_back_without_spending_a_try() -> None:
    rig = Rig(lambda clock: SlowProvider(clock, 2.0))
    ids = sms_members(rig, 10)
    deadline = rig.clock.wall() + 9
    outcomes = rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER, deadline=deadline)
    sent = [o.message_id for o in outcomes if o.status is MessageStatus.SENT]
    held = [o for o in outcomes if o.status is None]
    assert sent == ids[:5]  # calls started at 0, 2, 4, 6 and 8 s
    assert [o.message_id for o in held] == ids[5:]
    assert all(o.requeue and o.retry_in is not None for o in held)
    for o in held:
        message = rig.message(o.message_id)
        assert (message.status, message.claim) == (MessageStatus.QUEUED, None)


# -- the sandbox's fault plan, for the benchmark's deaths and slow provider -------------------------


def test_the_fault_plan_reads_deaths_a_delay_and_a_sandbox_that_cannot_be_asked() -> None:
    plan = FaultPlan.parse("crash=0.01,die=0.02,delay_ms=250,lookup=no")
    assert plan.shares == {"crash": 0.01, "die": 0.02}
    assert (plan.delay_ms, plan.lookup) == (250, False)
    assert FaultPlan.parse("").lookup is True
    with pytest.raises(ValueError, match="lookup"):
        FaultPlan.parse("lookup=maybe")
    with pytest.raises(ValueError, match="delay_ms"):
        FaultPlan.parse("delay_ms=-1")


def test_a_sender_dying_before_the_sandbox_got_the_message_leaves_no_outbox_row() -> None:
    outbox = FakeOutbox()
    sandbox = SandboxProvider(outbox, FaultPlan({"die": 1.0}))
    message = OutboundMessage("m-1", "sms", "+8613800138000", "hi", "transactional")
    with pytest.raises(SimulatedCrash):
        sandbox.send(message, NOW)
    assert outbox.entries == []


def test_a_slow_sandbox_takes_its_delay_for_every_call() -> None:
    slept: list[float] = []
    sandbox = SandboxProvider(FakeOutbox(), FaultPlan({}, delay_ms=250, sleep=slept.append))
    for i in range(3):
        sandbox.send(OutboundMessage(f"m-{i}", "sms", "+8613800138000", "hi", "transactional"), NOW)
    assert slept == [0.25, 0.25, 0.25]


def test_a_sandbox_that_cannot_be_asked_is_recovered_like_twilio() -> None:
    """With ``lookup=no`` the sandbox stands for a provider with neither a status query nor dedupe:
    the sender marks each call before it starts."""
    outbox = FakeOutbox()
    sandbox = SandboxProvider(outbox, FaultPlan({}, lookup=False))
    assert sandbox.can_lookup is False
    rig = Rig(sandbox)
    ids = sms_members(rig, 2)
    rig.service.deliver_batch([SendRequest(mid) for mid in ids], LATER)
    assert sorted(e.message.message_id for e in outbox.entries) == sorted(ids)
