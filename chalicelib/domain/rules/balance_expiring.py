"""balance_expiring: ``lead_days`` (default 7) before the member's stored value expires; dropped
when the balance was used up or its expiry moved."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Member, Product
from ..money import display_amount
from ..timers import Timer
from .base import Check, Context, Drop, Fire, Rule


class BalanceExpiring(Rule):
    rule_id = "balance_expiring"

    def member_dates(self, member: Member, ctx: Context) -> list[Timer]:
        sv = member.stored_value
        if sv is None or sv.expires_on is None or sv.balance <= 0:
            return []
        facts = {"balance": {"amount": display_amount(sv.balance), "date": sv.expires_on.isoformat()}}
        timer = ctx.timer(
            member, "stored_value", sv.expires_on.isoformat(), ctx.days_before(sv.expires_on, 7, member), facts
        )
        return [timer] if timer else []

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        sv = member.stored_value
        if sv is None or sv.balance <= 0 or sv.expires_on is None or sv.expires_on.isoformat() != timer.occurrence:
            return Drop("stored value used or its expiry changed")
        return Fire(
            {**timer.facts, "balance": {"amount": display_amount(sv.balance), "date": sv.expires_on.isoformat()}}
        )


RULE = BalanceExpiring()
