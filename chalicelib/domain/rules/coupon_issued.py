"""coupon_issued: a coupon is issued to the member → what it is worth and until when, once."""

from __future__ import annotations

from ..model import Coupon, Member
from ._coupon import coupon_facts
from .base import Context, Plan, Rule
from .purchase_milestone import COUPON_PREFIX


class CouponIssued(Rule):
    rule_id = "coupon_issued"

    def on_coupon(self, coupon: Coupon, member: Member, ctx: Context) -> list[Plan]:
        if coupon.coupon_id.startswith(COUPON_PREFIX):
            return []  # a milestone's reward: purchase_milestone's own message announces it
        return [ctx.trigger(member, coupon.coupon_id, {"coupon": coupon_facts(coupon)})]


RULE = CouponIssued()
