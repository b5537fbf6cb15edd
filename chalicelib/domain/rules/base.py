"""What a lifecycle rule is: one class in one module that says WHEN it is scheduled (a member
change, an order, a points transaction, a coupon, a product arriving, a date on the member's own
record, something happening to the member's place in a store activity) and WHAT it checks when its
timer fires. Pure: no I/O, time comes from the context.

A hook returns plans: :class:`Trigger` (send now) or :class:`Timer` (send at ``due_at``, after
:meth:`Rule.check` says it still applies). The engine (``services/engine.py``) calls the hooks of
every enabled rule, and the simulator runs the same engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from ..action_links import ActionLinks
from ..activities import ActivityEvent, Standing
from ..calendar import at_local, parse_clock, zone
from ..model import Coupon, Member, Order, PointsTxn, Product
from ..rulebook import RuleBook, RuleConfig
from ..timers import Timer, is_stale
from ..triggers import Trigger


@dataclass(frozen=True)
class Grant:
    """Issue the member a coupon (idempotent on ``coupon.coupon_id``): a milestone's reward. The
    engine writes it; the coupon's own announcement is the granting rule's message."""

    coupon: Coupon


Plan = Trigger | Timer | Grant


@dataclass(frozen=True)
class Fire:
    """The timer still applies: send with these (refreshed) facts."""

    facts: dict[str, Any]
    send_before: datetime | None = None  # the message goes before this moment or not at all


@dataclass(frozen=True)
class Drop:
    """The timer no longer applies (bought again, points used, sold out …): nothing is sent."""

    reason: str


Check = Fire | Drop


@dataclass(frozen=True)
class Context:
    """What a rule reads besides its event: its own configuration, the store's, "now" and the
    store's zone. ``done`` holds the (slot, occurrence) pairs that already fired for the member, so
    a recomputation never schedules one of them again. An activity rule's check also reads
    ``standing`` (the activity and the member's registration as they are now); ``links`` makes
    the signed register/cancel/claim links (None: the store has no public URL for them)."""

    config: RuleConfig
    book: RuleBook
    now: datetime
    store_zone: str
    done: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    standing: Standing | None = None
    links: ActionLinks | None = None

    @property
    def rule_id(self) -> str:
        return self.config.rule_id

    def param(self, name: str, default: Any) -> Any:
        return self.config.params.get(name, default)

    def zone(self, member: Member) -> ZoneInfo:
        return zone(member.timezone, self.store_zone)

    def on_day(self, day: date, member: Member) -> datetime:
        """The rule's ``local_time`` (default 10:00) on ``day`` in the member's zone, as UTC."""
        return at_local(day, parse_clock(str(self.param("local_time", "10:00"))), self.zone(member))

    def days_before(self, day: date, default_lead: int, member: Member) -> datetime:
        return self.on_day(day - timedelta(days=int(self.param("lead_days", default_lead))), member)

    def stale(self, due: datetime) -> bool:
        return is_stale(due, self.config, self.now)

    def timer(self, member: Member, ref: str, occurrence: str, due: datetime, facts: Mapping[str, Any]) -> Timer | None:
        """A timer in the slot ``<rule>#<ref>``; None when that occurrence already fired or it would
        be stale before it could fire."""
        key = f"{self.rule_id}#{ref}"
        if (key, occurrence) in self.done or self.stale(due):
            return None
        return Timer(member.member_id, key, self.rule_id, occurrence, due, dict(facts))

    def trigger(
        self,
        member: Member,
        occurrence: str,
        facts: Mapping[str, Any] | None = None,
        send_before: datetime | None = None,
    ) -> Trigger:
        return Trigger(self.rule_id, member.member_id, occurrence, self.now, dict(facts or {}), send_before)


class Rule:
    """A lifecycle rule. Override the hooks that schedule it and, for timers, :meth:`check`.

    ``rule_id`` must match the rule's section in ``rules.toml`` (its channels, class, templates and
    parameters)."""

    rule_id: ClassVar[str]
    reads_catalog: ClassVar[bool] = False  # its check needs the current product catalog
    reads_standing: ClassVar[bool] = False  # its check needs the activity and registration as they are now

    def on_member_change(self, old: Member | None, new: Member, ctx: Context) -> list[Plan]:
        """A member record was created (``old`` None) or changed."""
        return []

    def member_dates(self, member: Member, ctx: Context) -> list[Timer]:
        """Timers the member's own record calls for (birthdays, expiries, days since the last
        purchase). The engine keeps them in line with the record: a slot no longer asked for is
        cancelled, a moved date rewrites it."""
        return []

    def on_order(self, order: Order, member: Member, catalog: Mapping[str, Product], ctx: Context) -> list[Plan]:
        return []

    def on_points(self, txn: PointsTxn, member: Member, ctx: Context) -> list[Plan]:
        return []

    def on_coupon(self, coupon: Coupon, member: Member, ctx: Context) -> list[Plan]:
        return []

    def on_arrival(self, product: Product, member: Member, ctx: Context) -> list[Plan]:
        """A product arrived (or came back in stock) and the member is in its audience (a child in
        its age range, a matching tag): the rule decides whether it suits them."""
        return []

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        """Something happened to the member's place in a store activity (invited, registered,
        waitlisted, offered a seat, promoted, cancelled) or to the activity itself (moved, called
        off): ``event.kind`` says which. Timers of an activity rule are kept per (activity, member)
        (the slot ``<rule>#<activity_id>…``)."""
        return []

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        """At firing time: does the timer still apply, and with what up-to-date facts?"""
        return Fire(dict(timer.facts))

    @classmethod
    def keeps_member_dates(cls) -> bool:
        """Its timers are derived from the member's record (the engine may cancel them)."""
        return cls.member_dates is not Rule.member_dates
