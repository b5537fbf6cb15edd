"""points_expiring: ``lead_days`` (default 3) before a points lot expires, with the amount still
left on the day it fires; dropped when the lot was used up meanwhile."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Member, Product
from ..timers import Timer
from .base import Check, Context, Drop, Fire, Rule


class PointsExpiring(Rule):
    rule_id = "points_expiring"

    def member_dates(self, member: Member, ctx: Context) -> list[Timer]:
        out: list[Timer] = []
        for lot in member.points_lots:
            if lot.expires_on and lot.remaining > 0:
                due = ctx.days_before(lot.expires_on, 3, member)
                facts = {"expiring": {"amount": lot.remaining, "date": lot.expires_on.isoformat()}}
                if timer := ctx.timer(member, lot.txn_id, lot.txn_id, due, facts):
                    out.append(timer)
        return out

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        lot = next((lot for lot in member.points_lots if lot.txn_id == timer.occurrence), None)
        if lot is None or lot.remaining <= 0:
            return Drop("points already used")
        return Fire({**timer.facts, "expiring": {**timer.facts.get("expiring", {}), "amount": lot.remaining}})


RULE = PointsExpiring()
