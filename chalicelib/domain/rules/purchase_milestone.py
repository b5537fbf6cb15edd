"""purchase_milestone: every Nth order (``every``, default 3; 每消费3次触发升级禮遇) → a thank-you,
once per milestone, with an optional coupon (``coupon = {title, value, valid_days}``) granted with
it. The order count is the member's own ``orders_count`` (counted once per order from the activity
stream before the rules see the order); the occurrence is the milestone, so a replayed order never
sends it twice."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ..calendar import local_date
from ..model import Coupon, Member, Order, Product
from ..money import display_amount
from .base import Context, Grant, Plan, Rule

COUPON_PREFIX = "milestone-"


def milestone_coupon_id(member_id: str, orders: int) -> str:
    return f"{COUPON_PREFIX}{orders}-{member_id}"[:64]


class PurchaseMilestone(Rule):
    rule_id = "purchase_milestone"

    def on_order(self, order: Order, member: Member, catalog: Mapping[str, Product], ctx: Context) -> list[Plan]:
        every = int(ctx.param("every", 3))
        orders = member.orders_count
        if every <= 0 or orders <= 0 or orders % every:
            return []
        facts: dict[str, Any] = {"milestone": {"orders": orders, "every": every}}
        plans: list[Plan] = []
        reward = ctx.param("coupon", None)
        if isinstance(reward, dict):
            expires = local_date(ctx.now, ctx.zone(member)) + timedelta(days=int(reward.get("valid_days", 30)))
            coupon = Coupon(
                member.member_id,
                milestone_coupon_id(member.member_id, orders),
                str(reward["title"]),
                float(reward["value"]),
                expires,
                ctx.now,
            )
            plans.append(Grant(coupon))
            facts["coupon"] = {
                "id": coupon.coupon_id,
                "title": coupon.title,
                "value": display_amount(coupon.value),
                "expires_on": expires.isoformat(),
            }
        plans.append(ctx.trigger(member, f"orders:{orders}", facts))
        return plans


RULE = PurchaseMilestone()
