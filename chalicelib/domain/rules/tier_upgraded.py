"""tier_upgraded: the member's tier goes up (``[store].tiers`` gives the order) → congratulations
and the new tier's benefits, once per tier reached."""

from __future__ import annotations

from ..model import Member
from .base import Context, Plan, Rule


def went_up(old: str | None, new: str | None, order: tuple[str, ...]) -> bool:
    if new is None or new == old or new not in order:
        return False
    if old is None or old not in order:
        return order.index(new) > 0
    return order.index(new) > order.index(old)


class TierUpgraded(Rule):
    rule_id = "tier_upgraded"

    def on_member_change(self, old: Member | None, new: Member, ctx: Context) -> list[Plan]:
        store = ctx.book.store
        if old is None or not went_up(old.tier, new.tier, store.tiers):
            return []
        benefits = store.tier_benefits.get(new.tier or "") or None
        return [
            ctx.trigger(new, f"tier:{new.tier}", {"tier": {"name": new.tier, "old": old.tier, "benefits": benefits}})
        ]


RULE = TierUpgraded()
