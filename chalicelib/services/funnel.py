"""The funnel report behind ``GET /v1/analytics/funnel`` (CONTRACT §8): the period's funnel
counters (fed from the messages stream, services/tallies.py), summed per rule, campaign, variant,
channel or day (domain/funnel.py). Reads each day's counters once: days × groups items, however
many messages were sent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..domain.funnel import parse_query, summarise
from ..ports import Tallies


class FunnelReport:
    def __init__(self, tallies: Tallies, store_timezone: str) -> None:
        self.tallies = tallies
        self.store_timezone = store_timezone

    def rows(self, params: Mapping[str, str] | None, now: datetime) -> list[dict[str, Any]]:
        query = parse_query(params, now, self.store_timezone)
        return summarise(query, self.tallies.funnel_days(query.days()))
