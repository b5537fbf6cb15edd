"""What a change in member data means: the pure decision of which rules fire, and for which occurrence.

``occurrence`` is the part of the idempotency key that tells one firing of a rule from the next
(``join`` for a welcome, the new tier for an upgrade, …); together with member and rule it is the
business key of the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import Coupon, Member, PointsTxn
from .rules import RuleBook


@dataclass(frozen=True)
class Trigger:
    rule_id: str
    member_id: str
    occurrence: str
    at: datetime
    facts: dict[str, Any] = field(default_factory=dict)


def on_member_change(old: Member | None, new: Member, at: datetime, book: RuleBook) -> list[Trigger]:
    """Rules fired by a member record being created or changed at ``at``."""
    fired: list[Trigger] = []
    welcome = book.get("welcome")
    if old is None and welcome is not None and not _joined_long_ago(new, at, welcome.stale_after_hours):
        fired.append(Trigger("welcome", new.member_id, "join", at))
    if old is not None and book.get("tier_upgraded") and _tier_went_up(old.tier, new.tier, book.store.tiers):
        fired.append(
            Trigger(
                "tier_upgraded",
                new.member_id,
                f"tier:{new.tier}",
                at,
                {
                    "tier": {
                        "name": new.tier,
                        "old": old.tier,
                        "benefits": book.store.tier_benefits.get(new.tier or "") or None,
                    }
                },
            )
        )
    return fired


def _joined_long_ago(member: Member, at: datetime, hours: int) -> bool:
    """An existing customer brought in by an import is not welcomed as if they had just joined."""
    return member.joined_at is not None and (at - member.joined_at).total_seconds() > hours * 3600


def _tier_went_up(old: str | None, new: str | None, order: tuple[str, ...]) -> bool:
    if new is None or new == old or new not in order:
        return False
    if old is None or old not in order:
        return order.index(new) > 0
    return order.index(new) > order.index(old)


def on_points(txn: PointsTxn, member: Member, book: RuleBook) -> list[Trigger]:
    if not book.get("points_changed"):
        return []
    return [
        Trigger(
            "points_changed",
            member.member_id,
            txn.txn_id,
            txn.created_at,
            {"points": {"delta": txn.delta, "balance": member.points_balance, "reason": txn.reason}},
        )
    ]


def on_coupon(coupon: Coupon, book: RuleBook) -> list[Trigger]:
    if not book.get("coupon_issued"):
        return []
    return [
        Trigger("coupon_issued", coupon.member_id, coupon.coupon_id, coupon.issued_at, {"coupon": coupon_facts(coupon)})
    ]


def display_amount(value: float) -> float | int:
    """200.0 → 200 in message text; 19.9 stays."""
    return int(value) if float(value).is_integer() else value


def coupon_facts(coupon: Coupon) -> dict[str, Any]:
    return {
        "id": coupon.coupon_id,
        "title": coupon.title,
        "value": display_amount(coupon.value),
        "expires_on": coupon.expires_on.isoformat(),
    }
