"""Domain objects ↔ plain dicts as stored (shared by the PynamoDB stores and the stream handlers)."""

from __future__ import annotations

from typing import Any

from ..domain.isotime import parse_date, parse_iso, to_iso, utc_day
from ..domain.model import (
    Channel,
    Child,
    Consent,
    Coupon,
    Member,
    Message,
    MessageStatus,
    Order,
    OrderItem,
    PointsLot,
    PointsTxn,
    Product,
    StatusChange,
    StoredValue,
)


def _iso(value: Any) -> str | None:
    return to_iso(value) if value is not None else None


def _time(value: Any) -> Any:
    return parse_iso(value) if value else None


def _day(value: Any) -> Any:
    return parse_date(value) if value else None


def member_to_item(m: Member) -> dict[str, Any]:
    return {
        "member_id": m.member_id,
        "name": m.name or None,
        "phone": m.phone,
        "im_user_id": m.im_user_id,
        "timezone": m.timezone,
        "locale": m.locale,
        "joined_at": _iso(m.joined_at),
        "tier": m.tier,
        "store_id": m.store_id,
        "tags": list(m.tags),
        "children": [{"name": c.name, "birthday": c.birthday.isoformat(), "gender": c.gender} for c in m.children],
        "consent": {"sms": m.consent.sms, "im": m.consent.im, "marketing": m.consent.marketing},
        "stored_value": (
            {
                "balance": m.stored_value.balance,
                "expires_on": m.stored_value.expires_on.isoformat() if m.stored_value.expires_on else None,
            }
            if m.stored_value
            else None
        ),
        "points_lots": [
            {
                "txn_id": lot.txn_id,
                "remaining": lot.remaining,
                "expires_on": lot.expires_on.isoformat() if lot.expires_on else None,
            }
            for lot in m.points_lots
        ],
        "points_balance": m.points_balance,
        "last_purchase_at": _iso(m.last_purchase_at),
        "orders_count": m.orders_count,
        "total_spent": m.total_spent,
        "bought": {k: v.isoformat() for k, v in m.bought.items()} or None,
        "attended": {k: to_iso(v) for k, v in m.attended.items()} or None,
        "unreachable": dict(m.unreachable) or None,
        "created_at": _iso(m.created_at),
        "updated_at": _iso(m.updated_at),
        "version": m.version,
    }


def member_from_item(d: dict[str, Any]) -> Member:
    consent = d.get("consent") or {}
    stored = d.get("stored_value")
    return Member(
        member_id=d["member_id"],
        name=d.get("name") or "",
        phone=d.get("phone"),
        im_user_id=d.get("im_user_id"),
        timezone=d.get("timezone"),
        locale=d.get("locale") or "zh-CN",
        joined_at=_time(d.get("joined_at")),
        tier=d.get("tier"),
        store_id=d.get("store_id"),
        tags=list(d.get("tags") or []),
        children=[
            Child(c.get("name", ""), parse_date(c["birthday"]), c.get("gender", "unknown"))
            for c in d.get("children") or []
        ],
        consent=Consent(
            sms=bool(consent.get("sms", True)),
            im=bool(consent.get("im", True)),
            marketing=bool(consent.get("marketing", False)),
        ),
        stored_value=StoredValue(float(stored["balance"]), _day(stored.get("expires_on"))) if stored else None,
        points_lots=[
            PointsLot(lot["txn_id"], int(lot["remaining"]), _day(lot.get("expires_on")))
            for lot in d.get("points_lots") or []
        ],
        last_purchase_at=_time(d.get("last_purchase_at")),
        orders_count=int(d.get("orders_count") or 0),
        total_spent=float(d.get("total_spent") or 0),
        bought={str(k): parse_date(v) for k, v in (d.get("bought") or {}).items()},
        attended={str(k): parse_iso(v) for k, v in (d.get("attended") or {}).items()},
        unreachable={str(k): str(v) for k, v in (d.get("unreachable") or {}).items()},
        created_at=_time(d.get("created_at")),
        updated_at=_time(d.get("updated_at")),
        version=int(d.get("version") or 0),
    )


def order_to_data(o: Order) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "purchased_at": to_iso(o.purchased_at),
        "items": [{"sku": i.sku, "qty": i.qty, "price": i.price} for i in o.items],
        "total": o.total,
        "store_id": o.store_id,
    }


def order_from_data(member_id: str, d: dict[str, Any]) -> Order:
    return Order(
        member_id=member_id,
        order_id=d["order_id"],
        purchased_at=parse_iso(d["purchased_at"]),
        items=tuple(OrderItem(i["sku"], int(i["qty"]), float(i["price"])) for i in d.get("items") or []),
        total=float(d["total"]),
        store_id=d.get("store_id"),
    )


def points_to_data(t: PointsTxn) -> dict[str, Any]:
    return {
        "txn_id": t.txn_id,
        "delta": t.delta,
        "reason": t.reason,
        "expires_on": t.expires_on.isoformat() if t.expires_on else None,
        "created_at": to_iso(t.created_at),
    }


def points_from_data(member_id: str, d: dict[str, Any]) -> PointsTxn:
    return PointsTxn(
        member_id,
        d["txn_id"],
        int(d["delta"]),
        d.get("reason") or "",
        _day(d.get("expires_on")),
        parse_iso(d["created_at"]),
    )


def coupon_to_data(c: Coupon) -> dict[str, Any]:
    return {
        "coupon_id": c.coupon_id,
        "title": c.title,
        "value": c.value,
        "expires_on": c.expires_on.isoformat(),
        "issued_at": to_iso(c.issued_at),
    }


def coupon_from_data(member_id: str, d: dict[str, Any]) -> Coupon:
    return Coupon(
        member_id, d["coupon_id"], d["title"], float(d["value"]), parse_date(d["expires_on"]), parse_iso(d["issued_at"])
    )


def product_to_data(p: Product) -> dict[str, Any]:
    return {
        "sku": p.sku,
        "name": p.name,
        "category": p.category,
        "age_min_months": p.age_min_months,
        "age_max_months": p.age_max_months,
        "gender": p.gender,
        "tags": list(p.tags),
        "price": p.price,
        "accessory_of": list(p.accessory_of),
        "arrived_on": p.arrived_on.isoformat() if p.arrived_on else None,
        "in_stock": p.in_stock,
    }


def product_from_data(d: dict[str, Any]) -> Product:
    def opt_int(v: Any) -> int | None:
        return int(v) if v is not None else None

    return Product(
        sku=d["sku"],
        name=d["name"],
        category=d.get("category"),
        age_min_months=opt_int(d.get("age_min_months")),
        age_max_months=opt_int(d.get("age_max_months")),
        gender=d.get("gender") or "any",
        tags=tuple(d.get("tags") or ()),
        price=float(d["price"]) if d.get("price") is not None else None,
        accessory_of=tuple(d.get("accessory_of") or ()),
        arrived_on=_day(d.get("arrived_on")),
        in_stock=bool(d.get("in_stock", True)),
    )


def message_to_item(m: Message) -> dict[str, Any]:
    return {
        "message_id": m.message_id,
        "member_id": m.member_id,
        "created_at": to_iso(m.created_at),
        "trigger": m.trigger,
        "occurrence": m.occurrence,
        "channel": m.channel.value,
        "provider": m.provider,
        "text": m.text,
        "status": m.status.value,
        "rule_class": m.rule_class,
        "variant": m.variant,
        "send_after": _iso(m.send_after),
        "send_before": _iso(m.send_before),
        "sent_at": _iso(m.sent_at),
        "delivered_at": _iso(m.delivered_at),
        "read_at": _iso(m.read_at),
        "clicked_at": _iso(m.clicked_at),
        "reason": m.reason,
        "provider_message_id": m.provider_message_id,
        "parts": m.parts,
        "history": [history_entry(h.status, h.at, h.reason) for h in m.history],
        "claim": m.claim,
        "claimed_at": _iso(m.claimed_at),
        "attempts": m.attempts,
        "call_started": m.call_started,
        "fallback_of": m.fallback_of,
        "campaign_id": m.campaign_id,
        "converted_at": _iso(m.converted_at),
        "revenue": m.revenue or None,
        "last_order": m.last_order,
        "log_day": utc_day(m.created_at),
    }


def history_entry(status: MessageStatus, at: Any, reason: str | None) -> dict[str, Any]:
    entry = {"status": status.value, "at": to_iso(at)}
    if reason:
        entry["reason"] = reason
    return entry


def message_from_item(d: dict[str, Any]) -> Message:
    return Message(
        message_id=d["message_id"],
        member_id=d["member_id"],
        trigger=d["trigger"],
        occurrence=d["occurrence"],
        channel=Channel(d["channel"]),
        provider=d["provider"],
        text=d["text"],
        status=MessageStatus(d["status"]),
        created_at=parse_iso(d["created_at"]),
        rule_class=d.get("rule_class") or "transactional",
        variant=d.get("variant"),
        send_after=_time(d.get("send_after")),
        send_before=_time(d.get("send_before")),
        sent_at=_time(d.get("sent_at")),
        delivered_at=_time(d.get("delivered_at")),
        read_at=_time(d.get("read_at")),
        clicked_at=_time(d.get("clicked_at")),
        reason=d.get("reason"),
        provider_message_id=d.get("provider_message_id"),
        parts=int(d["parts"]) if d.get("parts") is not None else None,
        history=[
            StatusChange(MessageStatus(h["status"]), parse_iso(h["at"]), h.get("reason"))
            for h in d.get("history") or []
        ],
        claim=d.get("claim"),
        claimed_at=_time(d.get("claimed_at")),
        attempts=int(d.get("attempts") or 0),
        call_started=d.get("call_started"),
        fallback_of=d.get("fallback_of"),
        campaign_id=d.get("campaign_id"),
        converted_at=_time(d.get("converted_at")),
        revenue=float(d.get("revenue") or 0),
        last_order=d.get("last_order"),
    )
