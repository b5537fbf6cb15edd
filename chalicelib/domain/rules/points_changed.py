"""points_changed: a points transaction is recorded → the change and the new balance, once per
transaction."""

from __future__ import annotations

from ..model import Member, PointsTxn
from .base import Context, Plan, Rule


class PointsChanged(Rule):
    rule_id = "points_changed"

    def on_points(self, txn: PointsTxn, member: Member, ctx: Context) -> list[Plan]:
        facts = {"points": {"delta": txn.delta, "balance": member.points_balance, "reason": txn.reason}}
        return [ctx.trigger(member, txn.txn_id, facts)]


RULE = PointsChanged()
