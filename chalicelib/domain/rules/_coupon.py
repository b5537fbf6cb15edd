"""What coupon messages say about a coupon (shared by coupon_issued and coupon_expiring)."""

from __future__ import annotations

from typing import Any

from ..model import Coupon
from ..money import display_amount


def coupon_facts(coupon: Coupon) -> dict[str, Any]:
    return {
        "id": coupon.coupon_id,
        "title": coupon.title,
        "value": display_amount(coupon.value),
        "expires_on": coupon.expires_on.isoformat(),
    }
