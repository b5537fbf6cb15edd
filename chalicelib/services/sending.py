"""The sender: queued message ids in, at most one provider send each, every outcome recorded.

For each message, at SEND time (not only when it was queued): still pending and due, the member
still exists, still consents on that channel and is reachable there, the member's quiet hours are
over (else deferred to the next opening). Then the whole batch goes through the send gate at once:
each message is CLAIMED (a conditional write on the message), marketing ones counted against the
member's frequency caps (over the cap: deferred to the next period, or capped), and every send
booked a slot on its provider's rate schedule (parts per second, shared by all sender Lambdas).
Each send waits for its slot, goes to the provider, and the batch's outcomes are recorded together.
The batch's messages and members are read together (one batch read each), not one by one.

Exactly-once effect. The claim is the idempotency record: a second delivery of the same SQS
message finds the message claimed or already sent and does nothing. A claim left behind means a
sender died between the claim and recording the outcome — perhaps after the provider accepted.
Once such a claim is older than any sender can live, the next delivery asks the provider
(``lookup``) and records what it says; a provider that drops repeated ids (``dedupes``) is simply
asked again. With neither (Twilio, AWS, Tencent, Agora) the claim itself says whether the call may
have started: it is taken with ``call_started`` False, and the sender writes True just before the
call (carrying the batch's sends so far, so that one write a send also records the one before). A
claim still False never reached the provider: it is simply sent. One marked True may have — a
sender that dies between the mark and the call cannot be told from one that dies after the
provider accepted — so that message, and only it, is marked failed "outcome unknown" rather than
risk a second send (a later delivery receipt still lifts it to delivered).

Pace. Each send waits for its turn on its provider's rate (``services/pacing.py``: no slot without
a rate, slots booked from when this sender will be ready). A send that must wait longer than the
sender may live (the rate is booked far ahead, the sender's time is up, another sender holds the
claim) is handed back as a FRESH queue message (``SendOutcome.requeue``), so waiting never spends
one of the queue's receives: only tries do.

Failures. Throttling, 5xx and a clean "not accepted" release the claim and hand the SQS message
back with exponential backoff and jitter (its visibility timeout); after the queue's last receive
SQS moves it to the dead-letter queue (``memberpulse dlq list/redrive``). A timeout is ambiguous
(accepted or not?) so it keeps the claim and takes the lookup path above. Permanent errors are not
retried: the message fails with the reason, and an invalid address or a provider-side opt-out marks
the member's channel unreachable. An IM message that cannot be sent falls back to SMS, once.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.campaign_rule import message_rule
from ..domain.consent import BY_PROVIDER
from ..domain.eligibility import Ask, Defer, Go, Policy, Stage, Suppress, cap_periods, decide
from ..domain.model import PENDING_STATUSES, Channel, Member, Message, MessageStatus
from ..domain.phones import mask
from ..domain.ratelimit import LATE_ALLOWANCE_MS
from ..domain.retry import backoff_seconds
from ..domain.rulebook import RuleConfig
from ..ports import (
    ClaimRequest,
    ConsentKeeper,
    FollowUps,
    MemberStore,
    MessageStore,
    OutboundMessage,
    Provider,
    ProviderError,
    ReceiptBook,
    SendGate,
    SendResult,
    SentRecord,
)
from .pacing import Pacer, Step, Turn

Log = Callable[..., None]

DEFAULT_CLAIM_TTL = 120.0  # seconds: longer than a sender Lambda can run (its timeout)
DEFAULT_MAX_RECEIVES = 5  # the send queue's redrive maxReceiveCount
DEFAULT_MAX_WAIT = 15.0  # seconds a sender waits for a rate slot (its Lambda times out at 30)
DEFAULT_BUDGET = 20.0  # seconds a batch may go on starting provider calls, when no deadline is given


@dataclass(frozen=True)
class SendRequest:
    """One SQS record of the send queue."""

    message_id: str
    receive_count: int = 1


@dataclass(frozen=True)
class SendOutcome:
    message_id: str
    status: MessageStatus | None  # the new status; None when nothing changed
    retry_in: int | None = None  # seconds until SQS should offer the record again
    requeue: bool = False  # a wait, not a try: back as a fresh queue message (no receive spent)


@dataclass
class _Ready:
    message: Message
    member: Member
    rule: RuleConfig | None
    request: SendRequest
    address: str
    claim: str = ""
    takeover: str | None = None
    tracks_call: bool = False  # the claim records whether the provider call started


Sent = tuple[Message, str, SendResult, datetime]  # accepted by the provider, with its claim


class SendService:
    def __init__(
        self,
        policy: Policy,
        members: MemberStore,
        messages: MessageStore,
        providers: Mapping[str, Provider],
        gate: SendGate,
        follow_ups: FollowUps,
        receipts: ReceiptBook,
        consent: ConsentKeeper,
        *,
        log: Log | None = None,
        claim_ttl: float = DEFAULT_CLAIM_TTL,
        max_receives: int = DEFAULT_MAX_RECEIVES,
        max_wait: float = DEFAULT_MAX_WAIT,
        late_margin: float = LATE_ALLOWANCE_MS / 1000,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        new_claim: Callable[[], str] = lambda: uuid.uuid4().hex,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.book = policy.book
        self.members = members
        self.messages = messages
        self.providers = providers
        self.gate = gate
        self.follow_ups = follow_ups
        self.receipts = receipts
        self.consent = consent
        self.log = log or (lambda *a, **k: None)
        self.claim_ttl = claim_ttl
        self.max_receives = max_receives
        self.wall = wall
        self.new_claim = new_claim
        self.rand = rand
        self.pacer = Pacer(gate, log=self.log, wall=wall, sleep=sleep, max_wait=max_wait, late_margin=late_margin)

    # -- entry points ------------------------------------------------------------------------------
    def deliver(self, message_id: str, now: datetime, receive_count: int = 1) -> MessageStatus | None:
        """One message (tests and tools); raises ProviderError when SQS should retry it."""
        outcome = self.deliver_batch([SendRequest(message_id, receive_count)], now)[0]
        if outcome.retry_in is not None:
            raise ProviderError(f"retry in {outcome.retry_in} s", retryable=True)
        return outcome.status

    def deliver_batch(
        self, requests: list[SendRequest], now: datetime, deadline: float | None = None
    ) -> list[SendOutcome]:
        """A batch from the send queue. ``now`` is the logical time (the wall clock, or later in a
        replay); waiting for rate slots uses the real clock. No provider call starts after
        ``deadline`` (epoch seconds; by default ``DEFAULT_BUDGET`` from now): what is left is
        handed back."""
        deadline = deadline if deadline is not None else self.wall() + DEFAULT_BUDGET
        outcomes: dict[str, SendOutcome] = {}
        ids = list(dict.fromkeys(r.message_id for r in requests))
        messages = self.messages.get_many(ids)
        pending = {m.member_id for m in messages.values() if m.status in PENDING_STATUSES}
        members = self.members.get_many(sorted(pending))
        ready: list[_Ready] = []
        seen: set[str] = set()
        for request in requests:
            if request.message_id in seen:  # the same id twice in one batch: once is enough
                outcomes.setdefault(request.message_id, SendOutcome(request.message_id, None))
                continue
            seen.add(request.message_id)
            checked = self._check(request, messages.get(request.message_id), members, now)
            if isinstance(checked, SendOutcome):
                outcomes[request.message_id] = checked
            else:
                ready.append(checked)
        for outcome in self._send_all(ready, now, deadline):
            outcomes[outcome.message_id] = outcome
        return [outcomes.get(r.message_id, SendOutcome(r.message_id, None)) for r in requests]

    # -- before the gate ---------------------------------------------------------------------------
    def _check(
        self, request: SendRequest, message: Message | None, members: Mapping[str, Member], now: datetime
    ) -> SendOutcome | _Ready:
        message_id = request.message_id
        if message is None:
            self.log("unknown message id on the send queue", message_id=message_id)
            return SendOutcome(message_id, None)
        if message.status not in PENDING_STATUSES:
            self.log("already handled", message_id=message_id, status=message.status.value)
            return SendOutcome(message_id, None)
        member = members.get(message.member_id)
        if message.claim is not None:
            return self._claimed_earlier(message, member, request, now)
        return self._may_send(message, member, request, now)

    def _may_send(
        self, message: Message, member: Member | None, request: SendRequest, now: datetime, claim: str | None = None
    ) -> SendOutcome | _Ready:
        """The send-time decision (``domain/eligibility.py``); ``claim`` is a stale claim being taken
        over (it goes with the outcome when the message does not go out)."""
        rule = self.book.rules.get(message.trigger) or message_rule(
            message.trigger, message.rule_class, message.channel, message.campaign_id
        )
        stage = Stage.FALLBACK if message.fallback_of is not None else Stage.SEND
        ask = Ask(
            member,
            rule,
            (message.channel,),
            message.message_id,
            message.created_at,
            stage,
            send_after=message.send_after,
            reason=message.reason,
            send_before=message.send_before,
        )
        decision = decide(ask, self.policy, now)
        if isinstance(decision, Defer):
            return self._defer(message, decision.until, decision.reason, now, claim)
        if not isinstance(decision, Go):
            status = decision.status if isinstance(decision, Suppress) else MessageStatus.FAILED
            return self._finish(message, status, now, decision.reason, claim)
        if message.provider not in self.providers:
            reason = f"provider {message.provider} not configured"
            return self._finish(message, MessageStatus.FAILED, now, reason, claim)
        assert member is not None
        address = member.address(message.channel)
        assert address is not None
        return _Ready(message, member, rule, request, address, takeover=claim)

    def _claimed_earlier(
        self, message: Message, member: Member | None, request: SendRequest, now: datetime
    ) -> SendOutcome | _Ready:
        """A claim is on the message: a sender is at work on it, or died mid-send."""
        assert message.claim is not None
        age = self.wall() - message.claimed_at.timestamp() if message.claimed_at else self.claim_ttl
        if age < self.claim_ttl:
            # Possibly alive: look again once it surely is not (waiting is not a try).
            wait = int(self.claim_ttl - age) + 1 + int(self.rand() * 10)
            self.log("claimed by another sender", message_id=message.message_id, retry_in=wait)
            return SendOutcome(message.message_id, None, retry_in=wait, requeue=True)
        if message.call_started is False:
            # The sender that claimed it died before its provider call started: nothing went out.
            self.log("taking over a claim whose provider call never started", message_id=message.message_id)
            return self._may_send(message, member, request, now, claim=message.claim)
        provider = self.providers.get(message.provider)
        address = member.address(message.channel) if member is not None else None
        if provider is None or member is None or not address:
            reason = "send outcome unknown: a sender stopped mid-send"
            return self._finish(message, MessageStatus.FAILED, now, reason, message.claim)
        outbound = self._outbound(message, member, address)
        if provider.can_lookup:
            try:
                found = provider.lookup(outbound, now)
            except ProviderError as exc:
                return SendOutcome(message.message_id, None, retry_in=self._backoff(request, exc))
            if found is not None:
                self.log("recovered a send the provider had accepted", message_id=message.message_id)
                self._record([(message, message.claim, found, now)])
                return SendOutcome(message.message_id, MessageStatus.SENT)
        elif not provider.dedupes:
            return self._finish(
                message,
                MessageStatus.FAILED,
                now,
                "send outcome unknown: a sender stopped mid-send; not resent to avoid a duplicate",
                claim=message.claim,
            )
        # The provider did not get it (or drops repeats itself): take the claim over and send,
        # after the same checks as any send (the member may have opted out meanwhile).
        return self._may_send(message, member, request, now, claim=message.claim)

    # -- through the gate --------------------------------------------------------------------------
    def _send_all(self, ready: list[_Ready], now: datetime, deadline: float) -> list[SendOutcome]:
        if not ready:
            return []
        # Higher-priority rules first: when they compete for a member's cap, they win it.
        ready.sort(key=lambda r: -(r.rule.priority if r.rule else 0))
        claims: list[ClaimRequest] = []
        for item in ready:
            message = item.message
            provider = self.providers[message.provider]
            item.claim = self.new_claim()
            item.tracks_call = not (provider.can_lookup or provider.dedupes)
            periods: tuple[tuple[str, int], ...] = ()
            if message.rule_class == "marketing" and message.fallback_of is None:
                periods = tuple(cap_periods(item.member, self.policy, now))
            claims.append(
                ClaimRequest(
                    message.message_id,
                    item.claim,
                    message.provider,
                    message.parts or 1,
                    periods,
                    item.takeover,
                    tracks_call=item.tracks_call,
                    pace_ms=self.pacer.pace_ms(message.provider),
                )
            )
        gate = self.gate.claim(claims, now, self.wall())
        outcomes: list[SendOutcome] = []
        turns: list[tuple[_Ready, Turn]] = []
        for item in ready:
            mid = item.message.message_id
            if mid in gate.lost:
                outcomes.append(SendOutcome(mid, None))
            elif mid in gate.full:
                outcomes.append(self._over_cap(item, gate.full[mid], now))
            else:
                turns.append((item, Turn(mid, item.message.provider, item.message.parts or 1, gate.slots.get(mid))))
        sent: list[Sent] = []  # accepted, not recorded yet
        waiting: list[tuple[_Ready, Turn]] = []  # handed back to wait
        while turns:
            # In slot order (sends without a slot keep the batch's order, first); a turn booked
            # again behind others goes back in its new place.
            turns.sort(key=lambda pair: pair[1].slot if pair[1].slot is not None else float("-inf"))
            item, turn = turns.pop(0)
            step = Step.BACK if turn.back_in is not None else self.pacer.wait(turn, deadline, [t for _, t in turns])
            if step is Step.GO:
                outcomes.append(self._send_in_turn(item, now, sent, turn))
            elif step is Step.LATER:
                turns.append((item, turn))
            else:
                waiting.append((item, turn))
        self._record(sent)
        return outcomes + self._hand_back(waiting)

    def _send_in_turn(self, item: _Ready, now: datetime, sent: list[Sent], turn: Turn) -> SendOutcome:
        mid = item.message.message_id
        started = self.wall()
        late_ms = None if turn.slot is None else int((started - turn.slot) * 1000)
        if item.tracks_call:
            # Before the call, durably: "may have started" (the sends so far ride along).
            still_mine = self.messages.mark_call_started(
                mid, item.claim, [_sent_record(message, claim, result, at) for message, claim, result, at in sent]
            )
            self._after_recording(sent)
            sent.clear()
            if not still_mine:
                self.log("claim taken over before the call", message_id=mid)
                return SendOutcome(mid, None)
        outcome, result = self._send_one(item, now, late_ms)
        if result is not None:
            sent.append((item.message, item.claim, result, now))
        self.pacer.took(item.message.provider, self.wall() - started)
        return outcome

    def _hand_back(self, waiting: list[tuple[_Ready, Turn]]) -> list[SendOutcome]:
        """Release their claims (one write for each reason) and hand the messages back as fresh
        queue messages: a wait, not a try."""
        for reason in sorted({turn.reason for _, turn in waiting}):
            claims = [(item.message.message_id, item.claim) for item, turn in waiting if turn.reason == reason]
            self.messages.unclaim_all(claims, reason)
            self.log("handed back", message_ids=[mid for mid, _ in claims], reason=reason)
        return [SendOutcome(turn.message_id, None, retry_in=turn.back_in, requeue=True) for _, turn in waiting]

    def _send_one(
        self, item: _Ready, now: datetime, late_ms: int | None = None
    ) -> tuple[SendOutcome, SendResult | None]:
        message = item.message
        provider = self.providers[message.provider]
        outbound = self._outbound(message, item.member, item.address)
        try:
            result = provider.send(outbound, now)
        except ProviderError as exc:
            return self._failed(item, exc, now), None
        shown = mask(item.address) if message.channel is Channel.SMS else item.address
        self.log(
            "sent", message_id=message.message_id, provider=provider.name, to=shown, parts=result.parts, late_ms=late_ms
        )
        return SendOutcome(message.message_id, MessageStatus.SENT), result

    def _outbound(self, message: Message, member: Member, address: str) -> OutboundMessage:
        return OutboundMessage(
            message.message_id,
            message.channel.value,
            address,
            message.text,
            message.rule_class,
            trigger=message.trigger,
            locale=member.locale,
            attempt=message.attempts + 1,
        )

    def _record(self, sent: list[Sent]) -> None:
        if not sent:
            return
        self.messages.record_sent([_sent_record(*s) for s in sent])
        self._after_recording(sent)

    def _after_recording(self, sent: list[Sent]) -> None:
        for message, _, result, at in sent:
            for receipt in result.receipts:
                if receipt.status is not MessageStatus.DELIVERED or receipt.reason is not None:
                    self.receipts.apply(receipt)
            rule = self.book.rules.get(message.trigger)
            if message.channel is Channel.IM and rule is not None and rule.ack_minutes:
                acknowledged = any(r.status in (MessageStatus.DELIVERED, MessageStatus.READ) for r in result.receipts)
                if not acknowledged:
                    self.follow_ups.expect_ack(message, at + timedelta(minutes=rule.ack_minutes), at)

    # -- outcomes ----------------------------------------------------------------------------------
    def _failed(self, item: _Ready, exc: ProviderError, now: datetime) -> SendOutcome:
        message = item.message
        reason = f"{message.provider}: {exc.code}: {exc}"
        last_try = item.request.receive_count >= self.max_receives
        if exc.retryable and exc.code == "timeout":
            provider = self.providers[message.provider]
            if not provider.dedupes and not provider.can_lookup:
                return self._finish(
                    message, MessageStatus.FAILED, now, reason + "; outcome unknown, not resent", claim=item.claim
                )
            if not provider.dedupes:
                # Keep the claim: the retry asks the provider before sending again.
                self.log("send timed out; will check with the provider", message_id=message.message_id)
                return SendOutcome(message.message_id, None, retry_in=max(int(self.claim_ttl), 1))
        if exc.retryable and not (last_try and message.channel is Channel.IM):
            self.messages.unclaim(message.message_id, item.claim, f"retrying: {reason}")
            wait = self._backoff(item.request, exc)
            self.log("send failed, will retry", message_id=message.message_id, code=exc.code, retry_in=wait)
            return SendOutcome(message.message_id, None, retry_in=wait)
        if exc.marks_channel:
            self._mark_unreachable(message, exc.code, now)
        status = self._finish(message, MessageStatus.FAILED, now, reason, claim=item.claim).status
        if message.channel is Channel.IM:
            sms = self.follow_ups.fall_back(message, reason, now)
            if sms is not None:
                self.log("falling back to SMS", message_id=message.message_id, fallback=sms.message_id)
        return SendOutcome(message.message_id, status)

    def _over_cap(self, item: _Ready, full: str, now: datetime) -> SendOutcome:
        message = item.message
        ask = Ask(
            item.member,
            item.rule,
            (message.channel,),
            message.message_id,
            message.created_at,
            cap_full=full,
            send_before=message.send_before,
        )
        decision = decide(ask, self.policy, now)
        if isinstance(decision, Defer):
            return self._defer(message, decision.until, decision.reason, now)
        status = decision.status if isinstance(decision, Suppress) else MessageStatus.FAILED
        return self._finish(message, status, now, getattr(decision, "reason", None))

    def _mark_unreachable(self, message: Message, code: str, now: datetime) -> None:
        """An invalid address marks the channel unreachable (until the address changes); an opt-out
        at the provider is the member's opt-out, as if they had replied "T" (a START lifts it)."""
        channel = message.channel.value
        if code == "opted_out":
            self.consent.set_consent(message.member_id, message.channel, False, now, BY_PROVIDER)
            self.log("opted out at the provider", member_id=message.member_id, channel=channel)
            return
        self.members.mark_unreachable(message.member_id, channel, "invalid address")
        self.log("channel marked unreachable", member_id=message.member_id, channel=channel, why="invalid address")

    def _backoff(self, request: SendRequest, exc: ProviderError) -> int:
        return backoff_seconds(request.receive_count, retry_after=exc.retry_after, rand=self.rand)

    def _defer(
        self, message: Message, when: datetime, reason: str, now: datetime, claim: str | None = None
    ) -> SendOutcome:
        # The resend timer first: once the message shows "deferred", its way back is already written.
        self.follow_ups.hold_until(message.member_id, message.message_id, when, now)
        self.messages.transition(
            message.message_id,
            MessageStatus.DEFERRED,
            now,
            expect=PENDING_STATUSES,
            reason=reason,
            send_after=when,
            claim=claim,
        )
        self.log("deferred", message_id=message.message_id, send_after=when.isoformat(), reason=reason)
        return SendOutcome(message.message_id, MessageStatus.DEFERRED)

    def _finish(
        self, message: Message, status: MessageStatus, now: datetime, reason: str | None, claim: str | None = None
    ) -> SendOutcome:
        self.messages.transition(message.message_id, status, now, expect=PENDING_STATUSES, reason=reason, claim=claim)
        self.log("not sent", message_id=message.message_id, status=status.value, reason=reason)
        return SendOutcome(message.message_id, status)


def _sent_record(message: Message, claim: str, result: SendResult, at: datetime) -> SentRecord:
    delivered = next((r.at for r in result.receipts if r.status is MessageStatus.DELIVERED and r.reason is None), None)
    return SentRecord(message.message_id, claim, at, result.provider_message_id, result.parts, delivered)
