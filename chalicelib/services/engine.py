"""The rule engine: what happened to a member's data (a change, an order, points, a coupon, a
product arriving, their place in a store activity) → every enabled rule's plans: triggers are
planned and queued now, timers are kept until they fall due (``TimerService`` fires them). One
place for "which rules react to what": ``domain/rules/`` (one module per rule), applied by
``domain/scheduling.py``.

``restore`` and ``restore_arrival`` load a member's history, or a catalog's arrivals, that were
lived elsewhere (``memberpulse simulate``'s snapshot): the same hooks, the same timers, but what
fired at the time is taken as done."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from ..domain import scheduling
from ..domain.action_links import ActionLinks
from ..domain.activities import Activity, ActivityEvent, EventKind, Registration, offer_expiry, registration_event
from ..domain.audience import arrival_segments, segment_changes
from ..domain.model import Coupon, Member, Order, PointsTxn, Product
from ..domain.rulebook import RuleBook
from ..domain.rules import Grant, Plan
from ..domain.timers import Timer
from ..domain.triggers import Trigger
from ..ports import ActivityStore, AudienceStore, Catalog, MemberStore, Planner, TimerKeeper

Log = Callable[..., None]


class RuleEngine:
    def __init__(
        self,
        book: RuleBook,
        members: MemberStore,
        lifecycle: Planner,
        timers: TimerKeeper,
        catalog: Catalog,
        audience: AudienceStore,
        store_zone: str,
        log: Log | None = None,
        *,
        activities: ActivityStore | None = None,
        links: ActionLinks | None = None,
    ) -> None:
        self.activities = activities
        self.links = links
        self.book = book
        self.members = members
        self.lifecycle = lifecycle
        self.timers = timers
        self.catalog = catalog
        self.audience = audience
        self.store_zone = store_zone
        self.log = log or (lambda *a, **k: None)

    def member_changed(self, old: Member | None, new: Member, at: datetime) -> int:
        """A member record created or changed: what fires now (welcome, tier upgrade), the date
        timers kept in line with the record, the audience segments updated. Safe to replay. An
        erased member's records (the tombstone's own write, or an old record replayed after the
        erasure) set nothing off: nothing is planned, scheduled or indexed for them again."""
        if self.members.erased_at(new.member_id) is not None:
            self.log("change of an erased member ignored", member_id=new.member_id)
            return 0
        plans = scheduling.on_member_change(old, new, self.book, at, self.store_zone)
        planned = self._carry_out(plans, new, at)
        self.timers.reconcile_member(new, at)
        add, remove = segment_changes(old, new)
        if add or remove:
            self.audience.update(new.member_id, add, remove)
        return planned

    def order_recorded(self, order: Order, at: datetime) -> int:
        member = self.members.get(order.member_id)
        if member is None:
            return 0
        # The catalog as it is now: a product added a moment before the order counts.
        plans = scheduling.on_order(order, member, self.catalog.products(), self.book, at, self.store_zone)
        return self._carry_out(plans, member, at)

    def points_recorded(self, txn: PointsTxn, at: datetime) -> int:
        member = self.members.get(txn.member_id)
        if member is None:
            return 0
        return self._carry_out(scheduling.on_points(txn, member, self.book, at, self.store_zone), member, at)

    def coupon_issued(self, coupon: Coupon, at: datetime) -> int:
        member = self.members.get(coupon.member_id)
        if member is None:
            return 0
        return self._carry_out(scheduling.on_coupon(coupon, member, self.book, at, self.store_zone), member, at)

    def product_changed(self, old: Product | None, new: Product, at: datetime) -> int:
        """A product that has just arrived (or come back in stock): each member of its audience
        (children in its age range, its tags) once, for the rules to decide whether it suits them."""
        if not scheduling.product_arrived(old, new):
            return 0
        seen: set[str] = set()
        planned = 0
        for segment in arrival_segments(new):
            for member_id, _child in self.audience.members_in(segment):
                if member_id in seen:
                    continue
                seen.add(member_id)
                member = self.members.get(member_id)
                if member is not None:
                    plans = scheduling.on_arrival(new, member, self.book, at, self.store_zone)
                    planned += self._carry_out(plans, member, at)
        return planned

    # -- store activities --------------------------------------------------------------------------
    def activity_event(self, event: ActivityEvent, at: datetime) -> int:
        """Something happened to a member's place in an activity: the rules' messages and timers;
        an offer also gets its deadline (an engine timer: unclaimed, the seat passes on)."""
        member = self.members.get(event.member_id)
        if member is None:
            return 0
        plans = scheduling.on_activity(event, member, self.book, at, self.store_zone, self.links)
        planned = self._carry_out(plans, member, at)
        deadline = offer_expiry(event.registration) if event.registration is not None else None
        if event.kind is EventKind.OFFERED and deadline is not None:
            self.timers.schedule(member.member_id, [deadline], at)
        return planned

    def registration_changed(self, old: Registration | None, new: Registration, at: datetime) -> int:
        """A registration written (the store's stream): what it means for the member, if anything."""
        kind = registration_event(old, new)
        stored = self.activities.get(new.activity_id) if kind is not None and self.activities else None
        if kind is None or stored is None:
            return 0
        position = stored.book.position(new.member_id)
        event = ActivityEvent(kind, stored.activity, new.member_id, new, position)
        return self.activity_event(event, at)

    def member_invited(self, activity_id: str, member_id: str, at: datetime) -> int:
        stored = self.activities.get(activity_id) if self.activities else None
        if stored is None:
            return 0
        return self.activity_event(ActivityEvent(EventKind.INVITED, stored.activity, member_id), at)

    def activity_changed(self, activity: Activity, at: datetime) -> int:
        """The store moved or called off an activity: each member holding a place hears it once
        (``activity_changed``, keyed on the revision) and their timers follow the new times."""
        if self.activities is None:
            return 0
        stored = self.activities.get(activity.activity_id)
        current = stored.activity if stored is not None and stored.activity.revision >= activity.revision else activity
        planned = 0
        for reg in self.activities.registrations(activity.activity_id):
            if reg.active:
                position = stored.book.position(reg.member_id) if stored is not None else None
                event = ActivityEvent(EventKind.CHANGED, current, reg.member_id, reg, position)
                planned += self.activity_event(event, at)
        return planned

    def restore(self, member: Member, orders: Iterable[Order], coupons: Iterable[Coupon], now: datetime) -> int:
        """A member loaded with their history as of ``now`` (the member already stored): the timers
        the engine would have kept from each order (oldest first) and coupon, and from the
        record's own dates, and the member in their audience segments. What fired at the time —
        welcome, points and coupon notices, timers due before ``now`` — is taken as done, not sent.
        The catalog is today's (an order's follow-ups were planned with the catalog of its day)."""
        catalog = self.catalog.products()
        plans: list[Plan] = []
        for order in sorted(orders, key=lambda o: (o.purchased_at, o.order_id)):
            plans += scheduling.on_order(order, member, catalog, self.book, now, self.store_zone)
        for coupon in sorted(coupons, key=lambda c: (c.issued_at, c.coupon_id)):
            plans += scheduling.on_coupon(coupon, member, self.book, now, self.store_zone)
        add, remove = segment_changes(None, member)
        if add or remove:
            self.audience.update(member.member_id, add, remove)
        timers = [p for p in plans if isinstance(p, Timer)]
        return self.timers.restore(member.member_id, timers, now) + self.timers.restore_dates(member, now)

    def restore_arrival(self, product: Product, now: datetime) -> int:
        """A product of a loaded catalog, as ``product_changed`` met it when it came in: its
        audience's arrival timers, those due before ``now`` taken as done (the members restored
        first, so their audience segments are there)."""
        if not scheduling.product_arrived(None, product) or product.arrived_on is None:
            return 0
        if product.arrived_on < now.date() - timedelta(days=2):
            return 0  # its day is over in every zone: every arrival timer of it was due before now
        scheduled = 0
        seen: set[str] = set()
        for segment in arrival_segments(product):
            for member_id, _child in self.audience.members_in(segment):
                if member_id in seen:
                    continue
                seen.add(member_id)
                member = self.members.get(member_id)
                if member is not None:
                    plans = scheduling.on_arrival(product, member, self.book, now, self.store_zone)
                    scheduled += self.timers.restore(member_id, [p for p in plans if isinstance(p, Timer)], now)
        return scheduled

    def _carry_out(self, plans: list[Plan], member: Member, at: datetime) -> int:
        """Triggers are planned and queued now; timers are kept. Returns how many of each were new."""
        triggers = [p for p in plans if isinstance(p, Trigger)]
        timers = [p for p in plans if isinstance(p, Timer)]
        for grant in (p for p in plans if isinstance(p, Grant)):
            self.members.add_coupon(grant.coupon)  # before the message that announces it
        created = len(self.lifecycle.fire(triggers, member, at)) if triggers else 0
        return created + self.timers.schedule(member.member_id, timers, at)
