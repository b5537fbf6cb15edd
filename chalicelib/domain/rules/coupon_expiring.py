"""coupon_expiring: ``lead_days`` (default 3) before a coupon expires, at ``local_time``."""

from __future__ import annotations

from ..model import Coupon, Member
from ._coupon import coupon_facts
from .base import Context, Plan, Rule


class CouponExpiring(Rule):
    rule_id = "coupon_expiring"

    def on_coupon(self, coupon: Coupon, member: Member, ctx: Context) -> list[Plan]:
        due = ctx.days_before(coupon.expires_on, 3, member)
        timer = ctx.timer(member, coupon.coupon_id, coupon.coupon_id, due, {"coupon": coupon_facts(coupon)})
        return [timer] if timer else []


RULE = CouponExpiring()
