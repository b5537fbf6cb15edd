"""winback_90d: a win-back ``after_days`` (default 90) after the last purchase, at ``local_time``."""

from __future__ import annotations

from ._since_purchase import DaysSinceLastPurchase


class Winback(DaysSinceLastPurchase):
    rule_id = "winback_90d"
    default_days = 90


RULE = Winback()
