"""Member data use cases behind the HTTP API: profiles, orders, points, coupons, products."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..domain import validation
from ..domain.consent import BY_STORE, consent_change
from ..domain.errors import Conflict, NotFound
from ..domain.isotime import to_iso
from ..domain.model import Coupon, Member, Order, PointsTxn, Product
from ..domain.phones import sms_capable
from ..domain.planning import describe
from ..domain.points import apply_txn, expiring
from ..domain.reachability import still_unreachable
from ..ports import MemberStore, MessageStore, ProductStore, VersionConflict

_RETRIES = 5


class MemberService:
    def __init__(
        self, members: MemberStore, products: ProductStore, messages: MessageStore, default_phone_region: str
    ) -> None:
        self.members = members
        self.products = products
        self.messages = messages
        self.default_phone_region = default_phone_region

    def upsert(self, member_id: str, body: Any, now: datetime) -> tuple[Member, bool]:
        """Create or update a member; returns (member, created). Omitted fields keep their values."""
        validation.check_id(member_id, "member_id")
        changes = validation.parse_member_update(body, self.default_phone_region, now)
        for _ in range(_RETRIES):
            current = self.members.get(member_id)
            if current is None:
                erased = self.members.erased_at(member_id)
                if erased is not None:
                    raise Conflict(
                        f"member {member_id} was erased at {to_iso(erased)}; a returning member gets a new member_id"
                    )
            created = current is None
            before = copy.deepcopy(current)
            member = current or Member(member_id=member_id, joined_at=now, created_at=now)
            for key, value in changes.items():
                if key == "consent":
                    member.consent = validation.merge_consent(member.consent, value)
                elif key == "joined_at" and value is None:
                    continue
                else:
                    setattr(member, key, value)
            if before is not None:
                member.unreachable = still_unreachable(before, member)
            if before is not None and before == member:
                return member, False  # nothing changed: no write, no stream record, no reconcile
            member.updated_at = now
            consent = consent_change(member_id, before.consent if before else None, member.consent, now, BY_STORE)
            try:
                self.members.save(member, consent)
                return member, created
            except VersionConflict:
                continue
        raise Conflict("member changed concurrently; try again")

    def get(self, member_id: str) -> dict[str, Any]:
        member = self._require(member_id)
        return profile(member)

    def record_order(self, member_id: str, body: Any, now: datetime | None = None) -> tuple[Order, bool]:
        order = validation.parse_order(member_id, body, now)
        for _ in range(_RETRIES):
            member = self._require(member_id)
            existing = self.members.get_order(member_id, order.order_id)
            if existing is not None:
                if existing.total != order.total or existing.items != order.items:
                    raise Conflict(f"order {order.order_id} was already recorded with other content")
                return existing, False
            if member.last_purchase_at is None or order.purchased_at > member.last_purchase_at:
                member.last_purchase_at = order.purchased_at
            try:
                return order, self.members.add_order(order, member)
            except VersionConflict:
                continue
        raise Conflict("member changed concurrently; try again")

    def record_points(self, member_id: str, body: Any, now: datetime) -> tuple[PointsTxn, Member, bool]:
        txn = validation.parse_points(member_id, body, now)
        for _ in range(_RETRIES):
            member = self._require(member_id)
            existing = self.members.get_points(member_id, txn.txn_id)
            if existing is not None:
                if existing.delta != txn.delta:
                    raise Conflict(f"points transaction {txn.txn_id} was already recorded with another delta")
                return existing, member, False
            updated = replace(member, points_lots=apply_txn(member.points_lots, txn), updated_at=now)
            try:
                created = self.members.add_points(txn, updated)
            except VersionConflict:
                continue
            return txn, (updated if created else self._require(member_id)), created
        raise Conflict("member changed concurrently; try again")

    def issue_coupon(self, member_id: str, body: Any, now: datetime) -> tuple[Coupon, bool]:
        coupon = validation.parse_coupon(member_id, body, now)
        self._require(member_id)
        return coupon, self.members.add_coupon(coupon)

    def put_product(self, sku: str, body: Any, now: datetime | None = None) -> Product:
        product = validation.parse_product(sku, body, now)
        self.products.put(product)
        return product

    def messages_of(self, member_id: str) -> list[dict[str, Any]]:
        self._require(member_id)
        return [describe(m) for m in self.messages.list_for_member(member_id)]

    def _require(self, member_id: str) -> Member:
        validation.check_id(member_id, "member_id")
        member = self.members.get(member_id)
        if member is None:
            raise NotFound(f"member {member_id}")
        return member


def profile(member: Member) -> dict[str, Any]:
    """The public shape of a member (CONTRACT §3)."""
    return {
        "member_id": member.member_id,
        "name": member.name,
        "phone": member.phone,
        "sms_unavailable": sms_capable(member.phone) if member.phone else None,  # why no SMS can go there
        "im_user_id": member.im_user_id,
        "timezone": member.timezone,
        "locale": member.locale,
        "joined_at": to_iso(member.joined_at) if member.joined_at else None,
        "tier": member.tier,
        "store_id": member.store_id,
        "tags": list(member.tags),
        "children": [{"name": c.name, "birthday": c.birthday.isoformat(), "gender": c.gender} for c in member.children],
        "consent": {"sms": member.consent.sms, "im": member.consent.im, "marketing": member.consent.marketing},
        "stored_value": (
            {
                "balance": member.stored_value.balance,
                "expires_on": member.stored_value.expires_on.isoformat() if member.stored_value.expires_on else None,
            }
            if member.stored_value
            else None
        ),
        "points": {
            "balance": member.points_balance,
            "expiring": [
                {"amount": lot.remaining, "expires_on": lot.expires_on.isoformat()}
                for lot in expiring(member.points_lots)
                if lot.expires_on
            ],
        },
        "last_purchase_at": to_iso(member.last_purchase_at) if member.last_purchase_at else None,
        # Channels a provider refused for good (bad number, unknown user): cleared when the address
        # or the consent on that channel changes.
        "unreachable": dict(member.unreachable),
        "created_at": to_iso(member.created_at) if member.created_at else None,
        "updated_at": to_iso(member.updated_at) if member.updated_at else None,
    }
