"""Rules that fire a number of days after the member's last purchase (wake-up, win-back). One slot
per rule: a new purchase moves it; at firing time, a purchase since cancels it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import ClassVar

from ..calendar import local_date
from ..model import Member, Product
from ..timers import Timer
from .base import Check, Context, Drop, Fire, Rule


class DaysSinceLastPurchase(Rule):
    default_days: ClassVar[int]

    def member_dates(self, member: Member, ctx: Context) -> list[Timer]:
        if member.last_purchase_at is None:
            return []
        bought = local_date(member.last_purchase_at, ctx.zone(member))
        days = int(ctx.param("after_days", self.default_days))
        facts = {"last_purchase": bought.isoformat(), "days": days}
        timer = ctx.timer(
            member, "last_purchase", bought.isoformat(), ctx.on_day(bought + timedelta(days=days), member), facts
        )
        return [timer] if timer else []

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        if member.last_purchase_at is None:
            return Drop("no purchase on record")
        bought = local_date(member.last_purchase_at, ctx.zone(member)).isoformat()
        if bought != timer.occurrence:
            return Drop(f"bought again on {bought}")
        return Fire(dict(timer.facts))
