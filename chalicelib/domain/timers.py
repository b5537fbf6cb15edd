"""Durable timers: "fire rule R for member M at instant T, for occurrence O", as pure values.

A timer's ``key`` (``rule#ref``) names the slot it occupies per member: writing a timer with the same
key replaces the old one, which is how a new purchase moves the 45-day wake-up and how a consumed
points lot loses its reminder. The occurrence goes into the message id, so a timer that fires twice
still sends once. Which timers a rule sets is the rule's own module (``domain/rules/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .rulebook import RuleConfig

# Timers of the engine itself, not of a rule:
# a deferred message goes back on the send queue when its window opens (stored name kept as it was)
RESEND_RULE = "release_send"
ACK_RULE = "ack_check"  # an IM message that needs a receipt by now, else SMS instead
OFFER_RULE = "offer_expiry"  # a seat offered to a member in line: unclaimed by now, it passes on

# A timer already due when written fires at the next sweep: its firing time is at least a minute
# after the write, so a sweep running at the same moment cannot have passed it already.
SETTLE = timedelta(minutes=1)


@dataclass(frozen=True)
class Timer:
    member_id: str
    key: str  # rule#ref: one slot per member
    rule_id: str
    occurrence: str
    due_at: datetime
    facts: dict[str, Any] = field(default_factory=dict)


def is_stale(timer_due: datetime, rule: RuleConfig, now: datetime) -> bool:
    return now - timer_due > timedelta(hours=rule.stale_after_hours)


def fire_time(due_at: datetime, written: datetime) -> datetime:
    """When a timer written at ``written`` is released: at its due time, or a minute after the write
    when that is later (a timer stores and sweeps at second precision)."""
    return max(due_at, written + SETTLE).replace(microsecond=0)
