"""What a member's reply leads to, as pure decisions: the reply rule ids, the occurrence key that
makes a reply act once, handoff tickets, and the facts of a recommendation."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from .catalog import age_fit
from .model import Channel, Product

REPLY_OPTOUT = "reply_optout"
REPLY_OPTIN = "reply_optin"
REPLY_HELP = "reply_help"
REPLY_RECOMMENDATION = "reply_recommendation"
REPLY_HANDOFF = "reply_handoff"
REPLY_NEW_ARRIVALS = "reply_new_arrivals"
NEW_ARRIVAL_DAYS = 7

# Keyword-router intent kind → the reply rule it answers with (when the router names none itself).
REPLY_FOR_INTENT = {
    "opt_out": REPLY_OPTOUT,
    "opt_in": REPLY_OPTIN,
    "help": REPLY_HELP,
    "recommend": REPLY_RECOMMENDATION,
    "handoff": REPLY_HANDOFF,
    "new_arrivals": REPLY_NEW_ARRIVALS,
}

HANDOFF_OPEN = "open"


def reply_occurrence(provider: str, event_id: str) -> str:
    """The occurrence part of a reply message's business key: one reply per inbound event, so a
    replayed event lands on the same message id and is sent once."""
    return f"in:{provider}:{event_id}"


@dataclass(frozen=True)
class HandoffTicket:
    ticket_id: str
    member_id: str
    channel: Channel
    text: str
    status: str
    created_at: datetime
    provider: str = ""
    event_id: str = ""
    notified: bool = False


def ticket_id(provider: str, event_id: str) -> str:
    """One ticket per inbound event (a replay finds the same ticket)."""
    return "h" + hashlib.sha256(f"{provider}#{event_id}".encode()).hexdigest()[:19]


def recommendation_facts(
    catalog: Mapping[str, Product], age_months: int | None, gender: str | None, limit: int = 3
) -> dict[str, Any]:
    """Template variables of ``reply_recommendation``: ``picks`` (names of in-stock products whose
    age range holds the child's age and whose gender is ``any`` or the asked one; none when no age
    was understood) and ``ask`` (what was asked: ``age_years`` is None under a year)."""
    wanted = gender if gender in ("boy", "girl") else "unknown"
    picks = [] if age_months is None else [p.name for p in age_fit(catalog, age_months, wanted, limit)]
    years = None if age_months is None or age_months < 12 else age_months // 12
    return {
        "picks": picks,
        "ask": {"age_months": age_months, "age_years": years, "gender": None if wanted == "unknown" else wanted},
    }


def new_arrivals(
    catalog: Mapping[str, Product], now: datetime, limit: int = 3, zone: tzinfo = UTC, days: int = NEW_ARRIVAL_DAYS
) -> list[Product]:
    """This week's new arrivals: in-stock products that arrived within the last ``days`` days of
    ``now`` (the ``days`` local days up to and including today in ``zone``: with 7, today and the six
    before it; not a product announced for a later day, nor one with no arrival date), newest first
    (then by sku, for a stable order), at most ``limit``."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    fresh = [p for p in catalog.values() if p.in_stock and p.arrived_on is not None and first <= p.arrived_on <= today]
    fresh.sort(key=lambda p: (p.arrived_on, p.sku), reverse=True)
    return fresh[: max(limit, 0)]


def new_arrival_facts(
    catalog: Mapping[str, Product], now: datetime, limit: int = 3, zone: tzinfo = UTC
) -> dict[str, Any]:
    """Template variables of ``reply_new_arrivals``: ``arrivals``, the names of this week's new
    arrivals (empty when nothing arrived: the templates then say so)."""
    return {"arrivals": [p.name for p in new_arrivals(catalog, now, limit, zone)]}
