"""The message log (CONTRACT §8): which messages were created in a time range, filtered by rule
(``trigger``), campaign, status and channel, newest first, paged with an opaque cursor; each row
with its phone numbers masked; the same rows as CSV. Pure: the store and the clock are the
caller's.

Time: ``from`` and ``to`` are days ``YYYY-MM-DD`` in the store's zone (both included, as the funnel
counts them) or instants with an offset; by default the last 7 days up to the request. The store
files each message under the UTC day it was created (``log_day``): a page reads those days newest
first, and in each day the messages of the range in ``created_at`` order.

A cursor carries its query: a next page needs only ``cursor`` (a parameter given with it must say
what the cursor's query says, else 400 naming ``cursor``). A page may hold fewer rows than
``limit`` and still have a next one: a page reads at most a bounded number of index items (rare
filter values over a long range), so follow ``next`` until there is none.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .errors import ValidationFailed
from .isotime import parse_date, parse_iso, to_iso
from .model import Channel, Message, MessageStatus
from .phones import mask, mask_phones_in
from .planning import describe

DEFAULT_DAYS = 7
MAX_DAYS = 366
JSON_LIMIT = (50, 200)  # (default, most) rows a JSON page holds
CSV_LIMIT = (1000, 2000)  # (default, most) rows of a CSV export: well inside Lambda's 6 MB answer
READ_BUDGET = 2000  # index items one page may read, whatever its filters let through
MAX_VALUES = 20  # values of one filter (trigger=a,b,c)
PARAMETERS = ("from", "to", "trigger", "status", "campaign", "channel", "limit", "cursor")
_TOKEN = re.compile(r"[a-z0-9_]{1,64}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@dataclass(frozen=True)
class LogQuery:
    """Messages created in [``since``, ``until``] (UTC, second precision) that pass every filter
    given (an empty set lets every value through)."""

    since: datetime
    until: datetime
    triggers: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    campaign: str | None = None
    channel: str | None = None

    def days(self) -> list[str]:
        """The UTC days (``log_day``) the range touches, newest first."""
        first, last = self.since.astimezone(UTC).date(), self.until.astimezone(UTC).date()
        return [(last - timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]

    def admits(self, message: Message) -> bool:
        """The whole query, as the store's key condition and filter apply it together."""
        created = to_iso(message.created_at)
        return (
            to_iso(self.since) <= created <= to_iso(self.until)
            and (not self.triggers or message.trigger in self.triggers)
            and (not self.statuses or message.status.value in self.statuses)
            and (self.campaign is None or message.campaign_id == self.campaign)
            and (self.channel is None or message.channel.value == self.channel)
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "since": to_iso(self.since),
            "until": to_iso(self.until),
            "triggers": sorted(self.triggers),
            "statuses": sorted(self.statuses),
            "campaign": self.campaign,
            "channel": self.channel,
        }


@dataclass(frozen=True)
class LogPosition:
    """Where a page ended: in ``day``, after the message (``created_at``, ``message_id``); with
    neither, before all of ``day`` (the page ran out of reads between two days)."""

    day: str
    created_at: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class LogPage:
    messages: list[Message]
    next: LogPosition | None


@dataclass(frozen=True)
class LogRequest:
    query: LogQuery
    after: LogPosition | None
    limit: int


def parse_request(params: Mapping[str, str] | None, now: datetime, zone: str, csv_export: bool) -> LogRequest:
    """The query string of ``GET /v1/messages`` → what to read; 400 naming each bad parameter."""
    params = dict(params or {})
    problems: dict[str, str] = {}
    for name in params:
        if name not in PARAMETERS:
            problems[name] = f"is not a parameter of the message log ({', '.join(PARAMETERS)})"
    default_limit, most = CSV_LIMIT if csv_export else JSON_LIMIT
    limit = default_limit
    if "limit" in params:
        raw = params["limit"]
        if not raw.isdigit() or not 1 <= int(raw) <= most:
            problems["limit"] = f"must be a whole number from 1 to {most}"
        else:
            limit = int(raw)
    given = _parse_filters(params, ZoneInfo(zone), problems)
    cursor = params.get("cursor")
    query = _query(given, now)
    if not cursor and not problems:
        if query.since > query.until:
            if "until" in given:
                problems["to"] = "must not be before from"
            else:
                problems["from"] = "must not be after to (now, when to is not given)"
        elif query.until - query.since > timedelta(days=MAX_DAYS):
            problems["from"] = f"the range may span at most {MAX_DAYS} days"
    if problems:
        raise ValidationFailed(problems, "invalid query: " + ", ".join(sorted(problems)))
    if not cursor:
        return LogRequest(query, None, limit)
    query, after = decode_cursor(cursor)
    for name, value in given.items():
        if value != getattr(query, name):
            raise ValidationFailed({"cursor": f"was given for another query ({_NAMES[name]} differs)"})
    return LogRequest(query, after, limit)


_NAMES = {
    "since": "from",
    "until": "to",
    "triggers": "trigger",
    "statuses": "status",
    "campaign": "campaign",
    "channel": "channel",
}


def _parse_filters(params: Mapping[str, str], zone: ZoneInfo, problems: dict[str, str]) -> dict[str, Any]:
    """The parameters given (by LogQuery field name), each checked; problems collected."""
    given: dict[str, Any] = {}
    for name, end in (("from", False), ("to", True)):
        if name in params:
            try:
                given["since" if name == "from" else "until"] = _moment(params[name], zone, end)
            except ValueError as exc:
                problems[name] = f"{exc}: give a day YYYY-MM-DD (the store's) or a time with an offset"
    statuses = {s.value for s in MessageStatus}
    for name, field, known in (("trigger", "triggers", None), ("status", "statuses", statuses)):
        if name not in params:
            continue
        values = [v.strip() for v in params[name].split(",") if v.strip()]
        if not values or len(values) > MAX_VALUES:
            problems[name] = f"give 1 to {MAX_VALUES} values, separated by commas"
        elif known is not None and (unknown := [v for v in values if v not in known]):
            problems[name] = f"unknown {name} {', '.join(unknown)}: one of {', '.join(sorted(known))}"
        elif known is None and (bad := [v for v in values if not _TOKEN.fullmatch(v)]):
            problems[name] = f"{', '.join(bad[:3])}: a rule id is [a-z0-9_]{{1,64}}"
        else:
            given[field] = frozenset(values)
    if "campaign" in params:
        if _ID.fullmatch(params["campaign"]):
            given["campaign"] = params["campaign"]
        else:
            problems["campaign"] = "must match [A-Za-z0-9_-]{1,64}"
    if "channel" in params:
        if params["channel"] in {c.value for c in Channel}:
            given["channel"] = params["channel"]
        else:
            problems["channel"] = "must be sms or im"
    return given


def _moment(text: str, zone: ZoneInfo, end: bool) -> datetime:
    """A day in the store's zone (its first second, or its last with ``end``) or an instant; UTC,
    to the second (as messages' times are stored)."""
    text = text.strip()
    if _DAY.fullmatch(text):
        day: date = parse_date(text)
        local = datetime.combine(day, time.max if end else time.min, tzinfo=zone)
        return local.astimezone(UTC).replace(microsecond=0)
    return parse_iso(text).replace(microsecond=0)


def _query(given: Mapping[str, Any], now: datetime) -> LogQuery:
    until = given.get("until") or now.astimezone(UTC).replace(microsecond=0)
    since = given.get("since") or until - timedelta(days=DEFAULT_DAYS)
    return LogQuery(
        since=since,
        until=until,
        triggers=given.get("triggers", frozenset()),
        statuses=given.get("statuses", frozenset()),
        campaign=given.get("campaign"),
        channel=given.get("channel"),
    )


# -- the cursor -------------------------------------------------------------------------------------


def encode_cursor(query: LogQuery, position: LogPosition) -> str:
    data = {"q": query.to_data(), "p": [position.day, position.created_at, position.message_id]}
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[LogQuery, LogPosition]:
    """A cursor this API gave out → its query and position; anything else is a 400 naming it."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        q, p = data["q"], data["p"]
        query = LogQuery(
            since=_stored_time(q["since"]),
            until=_stored_time(q["until"]),
            triggers=frozenset(_tokens(q["triggers"], _TOKEN)),
            statuses=frozenset(_tokens(q["statuses"], _TOKEN)),
            campaign=_optional(q["campaign"], _ID),
            channel=_optional(q["channel"], _TOKEN),
        )
        day, created_at, message_id = p
        if not (isinstance(day, str) and _DAY.fullmatch(day) and day in query.days()):
            raise ValueError("day")
        if (created_at is None) != (message_id is None):
            raise ValueError("position")
        if created_at is not None:
            _stored_time(created_at)
            if not (isinstance(message_id, str) and 0 < len(message_id) <= 128):
                raise ValueError("message id")
        return query, LogPosition(day, created_at, message_id)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed({"cursor": "is not a cursor this API gave out"}) from None


def _stored_time(value: Any) -> datetime:
    if not (isinstance(value, str) and _TIME.fullmatch(value)):
        raise ValueError("time")
    return parse_iso(value)


def _tokens(values: Any, pattern: re.Pattern[str]) -> list[str]:
    if not (isinstance(values, list) and len(values) <= MAX_VALUES):
        raise ValueError("values")
    if not all(isinstance(v, str) and pattern.fullmatch(v) for v in values):
        raise ValueError("value")
    return list(values)


def _optional(value: Any, pattern: re.Pattern[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and pattern.fullmatch(value):
        return value
    raise ValueError("value")


# -- rows ---------------------------------------------------------------------------------------------


def row(message: Message, phone: str | None) -> dict[str, Any]:
    """A message as the log shows it: its public shape (``describe``), whose member, the member's
    phone masked, and phone numbers in its text masked."""
    out = describe(message)
    out["text"] = mask_phones_in(message.text)
    if message.reason:
        out["reason"] = mask_phones_in(message.reason)
    out["member_id"] = message.member_id
    out["phone"] = mask(phone) if phone else None
    return out


CSV_COLUMNS = (
    "created_at",
    "message_id",
    "member_id",
    "phone",
    "trigger",
    "campaign_id",
    "variant",
    "channel",
    "provider",
    "status",
    "reason",
    "send_after",
    "sent_at",
    "delivered_at",
    "read_at",
    "clicked_at",
    "parts",
    "text",
)


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as CSV (a header, one line per message), starting with a UTF-8 byte order mark so a
    spreadsheet opens the Chinese text as UTF-8. A cell that a spreadsheet would take for a
    formula (= + - @ first) is quoted with a leading apostrophe."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([_cell(r.get(c)) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
