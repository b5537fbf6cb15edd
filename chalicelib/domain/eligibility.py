"""May this message go to this member on this channel now? The one decision, pure, used when a
message is planned, again at send time (an opt-out that arrives while a send waits stops it) and
for the SMS fallback of an IM message.

The answer is one of:

- :class:`Go` (on this channel),
- :class:`Suppress` (no consent, no usable address, member gone; or ``capped``: over the frequency
  cap with no later period within the rule's ``max_defer_days``),
- :class:`Defer` (until the member's quiet hours end, the next cap period opens, or the message's
  own ``send_after``),
- :class:`Fail` (a provider told us the address is unusable: ``unreachable``).

Checked in this order: the member exists; marketing consent; per channel (in preference order):
an address, an address that can take this channel (no SMS to a fixed line or a 400 number), not
marked unreachable, consent on the channel (a rule that ``confirms_opt_out`` or
``answers_opted_out`` is exempt: the confirmation of an opt-out, and HELP, which carriers require to
be answered anyway); then the frequency cap the send gate found full; the message's own
``send_after``; quiet hours in the member's zone (``urgent`` rules ignore them). Last, a message that
must go before a moment (``send_before``: a reminder, before its activity starts) and would go at or
after it is ``Suppress``-ed as expired, never sent late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum

from .calendar import at_local, local_date, zone
from .governance import month_key, next_period_start, week_key
from .isotime import to_iso
from .model import Channel, Member, MessageStatus
from .phones import sms_capable
from .rulebook import RuleBook, RuleConfig

DEFAULT_MAX_DEFER_DAYS = 7


class Stage(StrEnum):
    PLAN = "plan"  # a rule fired: which channel, and now or later?
    SEND = "send"  # the sender is about to hand it to the provider
    FALLBACK = "fallback"  # an SMS instead of an IM that failed or was not acknowledged


@dataclass(frozen=True)
class Go:
    channel: Channel


@dataclass(frozen=True)
class Suppress:
    reason: str
    status: MessageStatus = MessageStatus.SUPPRESSED  # or CAPPED


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str
    channel: Channel | None = None  # the channel it will go on, once chosen


@dataclass(frozen=True)
class Fail:
    reason: str


Decision = Go | Suppress | Defer | Fail


@dataclass(frozen=True)
class Ask:
    """What is asked: this member, this rule (None: a rule no longer in rules.toml), these channels
    in order of preference (planning: the rule's; sending: the message's own), for the message
    ``key`` (its id: spreads quiet-hour openings) created at ``created_at``."""

    member: Member | None
    rule: RuleConfig | None
    channels: tuple[Channel, ...]
    key: str
    created_at: datetime
    stage: Stage = Stage.PLAN
    send_after: datetime | None = None
    cap_full: str | None = None  # the cap period the send gate found full (``cap#m#week#…``)
    reason: str | None = None  # why it waits already (with ``send_after``)
    send_before: datetime | None = None  # it must go before this moment or not at all


def address_problem(channel: Channel, address: str) -> str | None:
    """Why this address cannot take this channel (a fixed line, 400/800 or premium number cannot
    take SMS), or None."""
    return sms_capable(address) if channel is Channel.SMS else None


@dataclass(frozen=True)
class Policy:
    """The store-wide settings the decision reads: the rule book and the store's zone."""

    book: RuleBook
    store_zone: str


def decide(ask: Ask, policy: Policy, now: datetime) -> Decision:
    return _expired(_decide(ask, policy, now), ask.send_before, now)


def _expired(decision: Decision, send_before: datetime | None, now: datetime) -> Decision:
    """A message that would go at or after its ``send_before`` is dropped as expired."""
    if send_before is None:
        return decision
    limit = to_iso(send_before)
    if isinstance(decision, Go) and now >= send_before:
        return Suppress(f"expired: was to go before {limit}")
    if isinstance(decision, Defer) and decision.until >= send_before:
        waits = f"{decision.reason} until {to_iso(decision.until)}"
        return Suppress(f"expired: was to go before {limit}; {waits}")
    return decision


def _decide(ask: Ask, policy: Policy, now: datetime) -> Decision:
    member, rule = ask.member, ask.rule
    if member is None:
        return Suppress("member no longer exists")
    if rule is not None and rule.rule_class == "marketing" and not member.consent.marketing:
        return Suppress("no marketing consent")
    channel, why_not, unreachable = _channel(ask, member, rule, policy)
    if channel is None:
        if unreachable and ask.stage is not Stage.PLAN:
            return Fail(why_not)
        return Suppress(why_not)
    if ask.cap_full is not None:
        return cap_decision(ask, member, rule, policy, now, channel)
    if ask.send_after is not None and ask.send_after > now:
        return Defer(ask.send_after, ask.reason or "waiting to be sent", channel)
    quiet = quiet_hold(ask.key, member, rule, policy, now)
    if quiet is not None:
        return replace(quiet, channel=channel)
    return Go(channel)


def consent_exempt(rule: RuleConfig | None) -> bool:
    return rule is not None and (rule.confirms_opt_out or rule.answers_opted_out)


def _channel(ask: Ask, member: Member, rule: RuleConfig | None, policy: Policy) -> tuple[Channel | None, str, bool]:
    """The first channel that can carry the message; else (None, why not, whether only an
    unreachable mark stood in the way)."""
    reasons: list[str] = []
    unreachable_only = True
    for channel in ask.channels:
        address = member.address(channel)
        why = None
        if not address:
            why = f"no {channel.value} address"
        elif (bad := address_problem(channel, address)) is not None:
            why = f"{channel.value} unavailable: {bad}"
        elif channel.value in member.unreachable:
            reasons.append(f"{channel.value} unreachable: {member.unreachable[channel.value]}")
            continue
        elif not consent_exempt(rule) and not member.consent.allows(channel):
            why = f"no {channel.value} consent"
        if why is None:
            return channel, "", False
        reasons.append(why)
        unreachable_only = False
    return None, "; ".join(reasons) or "no channel", unreachable_only and bool(reasons)


def quiet_hold(key: str, member: Member, rule: RuleConfig | None, policy: Policy, now: datetime) -> Defer | None:
    """Outside the member's quiet-hours window: defer to its next opening (spread by ``key``)."""
    if rule is not None and rule.urgent:
        return None
    book = policy.book
    quiet = rule.quiet_hours(book.store.quiet_hours) if rule else book.store.quiet_hours
    tz = zone(member.timezone, policy.store_zone)
    if quiet.is_open(now, tz):
        return None
    window = f"{quiet.opens:%H:%M}–{quiet.closes:%H:%M} {tz.key}"
    return Defer(quiet.next_opening(now, tz, key), f"quiet hours: sends {window}")


def cap_periods(member: Member, policy: Policy, now: datetime) -> list[tuple[str, int]]:
    """The calendar periods (in the member's zone) a marketing send counts against, with limits."""
    day = local_date(now, zone(member.timezone, policy.store_zone))
    cap = policy.book.store.frequency_cap
    return [
        (f"cap#{member.member_id}#{week_key(day)}", cap.per_week),
        (f"cap#{member.member_id}#{month_key(day)}", cap.per_month),
    ]


def cap_decision(
    ask: Ask, member: Member, rule: RuleConfig | None, policy: Policy, now: datetime, channel: Channel | None = None
) -> Suppress | Defer:
    """Over the cap: defer to the next period's first opening when the rule allows waiting that
    long (``max_defer_days``, default 7), else capped."""
    assert ask.cap_full is not None
    book = policy.book
    tz = zone(member.timezone, policy.store_zone)
    period = "week" if "#week#" in ask.cap_full else "month"
    cap = book.store.frequency_cap
    limit = cap.per_week if period == "week" else cap.per_month
    reason = f"frequency cap: {limit} marketing messages a calendar {period}"
    start = next_period_start(local_date(now, tz), period)
    quiet = rule.quiet_hours(book.store.quiet_hours) if rule else book.store.quiet_hours
    # From the period's first midnight: the window's first opening in it, spread like any other.
    opening = quiet.next_opening(at_local(start, time(0), tz), tz, ask.key)
    max_days = int(rule.params.get("max_defer_days", DEFAULT_MAX_DEFER_DAYS)) if rule else DEFAULT_MAX_DEFER_DAYS
    if opening - ask.created_at > timedelta(days=max_days):
        return Suppress(
            reason + f"; the next period starts after the rule's {max_days}-day limit", MessageStatus.CAPPED
        )
    return Defer(opening, reason, channel)
