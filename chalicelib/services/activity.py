"""Orders, points and coupons as they are recorded: immediate notices and follow-up timers."""

from __future__ import annotations

from datetime import datetime

from ..domain.calendar import age_in_months
from ..domain.model import Coupon, Member, Order, PointsTxn, Product
from ..domain.rules import RuleBook
from ..domain.timers import arrival_segments, arrival_timer, coupon_timer, member_segments, order_timers
from ..domain.triggers import on_coupon, on_points
from ..ports import AudienceStore, Catalog, MemberStore
from .lifecycle import LifecycleService
from .timers import TimerService


def _in_range(months: int, product: Product) -> bool:
    low = product.age_min_months if product.age_min_months is not None else 0
    high = product.age_max_months if product.age_max_months is not None else low + 24
    return low <= months <= high


class ActivityService:
    def __init__(
        self,
        book: RuleBook,
        members: MemberStore,
        lifecycle: LifecycleService,
        timers: TimerService,
        catalog: Catalog,
        audience: AudienceStore,
        store_zone: str,
    ) -> None:
        self.book = book
        self.members = members
        self.lifecycle = lifecycle
        self.timers = timers
        self.catalog = catalog
        self.audience = audience
        self.store_zone = store_zone

    def member_changed(self, old: Member | None, new: Member, at: datetime) -> int:
        """Welcome / tier upgrade now; date-based timers and audience segments kept in line."""
        created = self.lifecycle.member_changed(old, new, at)
        self.timers.reconcile_member(new, at)
        before = member_segments(old) if old else {}
        after = member_segments(new)
        add = {s: i for s, i in after.items() if before.get(s, -1) != i or s not in before}
        remove = [s for s in before if s not in after]
        if add or remove:
            self.audience.update(new.member_id, add, remove)
        return len(created)

    def order_recorded(self, order: Order, at: datetime) -> int:
        member = self.members.get(order.member_id)
        if member is None:
            return 0
        catalog = self.catalog.products(tuple(i.sku for i in order.items))
        timers = order_timers(order, member, catalog, self.book, at, self.store_zone)
        return self.timers.schedule(member.member_id, list(timers.values()), at)

    def points_recorded(self, txn: PointsTxn, at: datetime) -> int:
        member = self.members.get(txn.member_id)
        if member is None:
            return 0
        return len(self.lifecycle.fire(on_points(txn, member, self.book), member, at))

    def coupon_issued(self, coupon: Coupon, at: datetime) -> int:
        member = self.members.get(coupon.member_id)
        if member is None:
            return 0
        sent = len(self.lifecycle.fire(on_coupon(coupon, self.book), member, at))
        timer = coupon_timer(coupon, member, self.book, at, self.store_zone)
        if timer:
            self.timers.schedule(member.member_id, [timer], at)
        return sent

    def product_changed(self, old: Product | None, new: Product, at: datetime) -> int:
        """A product that has just arrived (or come back in stock): timers for the members it suits."""
        arrived = new.arrived_on is not None and new.in_stock
        was = old is not None and old.arrived_on == new.arrived_on and old.in_stock
        if not arrived or was:
            return 0
        seen: set[str] = set()
        scheduled = 0
        for segment in arrival_segments(new):
            for member_id, child_index in self.audience.members_in(segment):
                if member_id in seen:
                    continue
                member = self.members.get(member_id)
                if member is None:
                    continue
                child = None
                if child_index is not None and child_index < len(member.children):
                    c = member.children[child_index]
                    if new.gender not in ("any", c.gender) and c.gender != "unknown":
                        continue
                    months = age_in_months(c.birthday, new.arrived_on) if new.arrived_on else None
                    if months is None or not _in_range(months, new):
                        continue
                    child = {"name": c.name, "gender": c.gender}
                seen.add(member_id)
                timer = arrival_timer(new, member, child, self.book, at, self.store_zone)
                if timer:
                    scheduled += self.timers.schedule(member_id, [timer], at)
        return scheduled
