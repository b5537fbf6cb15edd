"""dormant_45d: a wake-up ``after_days`` (default 45) after the last purchase, at ``local_time``."""

from __future__ import annotations

from ._since_purchase import DaysSinceLastPurchase


class Dormant(DaysSinceLastPurchase):
    rule_id = "dormant_45d"
    default_days = 45


RULE = Dormant()
