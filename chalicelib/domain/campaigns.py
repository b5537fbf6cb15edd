"""Campaigns (CONTRACT §7): a segment, variants with templates per locale, a send time, a holdout.
Pure: the campaign as data, its validation, a member's arm and send moment.

A member's arm (a variant or ``control``) is a pure function of (member, campaign): a hash of the
two picks a point in [0, 1); the first ``holdout_percent`` of the interval is control, the rest is
split by the variants' weights. The same on every retry, replay and relaunch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from .calendar import at_local, parse_clock, zone
from .campaign_rule import rule_config
from .errors import ValidationFailed
from .isotime import parse_date, parse_iso, to_iso
from .model import Channel, Member
from .rendering import TemplateError, compile_template
from .rulebook import CLASSES, LOCALES, RulesConfigError, StoreConfig, check_sms_length
from .segments import Segment, segment_from_data
from .validation import ID_PATTERN, MAX_TEXT, number_problem

CONTROL = "control"
MAX_VARIANTS = 8
DEFAULT_WINDOW_HOURS = 168
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")  # UTC+14: where a local send time comes first

DRAFT, SCHEDULED, SENDING, PAUSED, DONE, CANCELLED = "draft", "scheduled", "sending", "paused", "done", "cancelled"
STATUSES = (DRAFT, SCHEDULED, SENDING, PAUSED, DONE, CANCELLED)
START, FINISHED = "^", "$"  # a planning part's cursor before its first chunk, and after its last


@dataclass(frozen=True)
class Variant:
    variant_id: str
    weight: float
    templates: dict[str, str]

    def template_for(self, locale: str) -> str:
        return self.templates.get(locale) or self.templates.get("zh-CN") or next(iter(self.templates.values()))


@dataclass(frozen=True)
class KeywordAction:
    """What a reply keyword does, once per member: one of coupon / tag / points / activity_id."""

    coupon: dict[str, Any] | None = None  # {title, value, expires_on}
    tag: str | None = None
    points: int | None = None
    activity_id: str | None = None

    def to_data(self) -> dict[str, Any]:
        if self.coupon is not None:
            return {"coupon": dict(self.coupon)}
        if self.tag is not None:
            return {"tag": self.tag}
        if self.points is not None:
            return {"points": self.points}
        return {"activity_id": self.activity_id}


@dataclass(frozen=True)
class ReplyKeyword:
    keyword: str
    expires_at: datetime
    action: KeywordAction


@dataclass(frozen=True)
class Poll:
    options: dict[str, str]  # "1" → label
    closes_at: datetime


@dataclass
class Campaign:
    campaign_id: str
    name: str
    segment_id: str
    rule_class: str
    channels: tuple[Channel, ...]
    variants: tuple[Variant, ...]
    holdout_percent: float = 0.0
    conversion_window_hours: int = DEFAULT_WINDOW_HOURS
    send_at: datetime | None = None
    send_on: date | None = None
    local_time: time | None = None
    reply_keyword: ReplyKeyword | None = None
    poll: Poll | None = None
    status: str = DRAFT
    segment: Segment | None = None  # frozen at launch
    launched_at: datetime | None = None
    started_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Planning: scan part → where its next chunk starts (START, a scan cursor, or DONE); kept while
    # paused, so a resume carries on from there.
    cursors: dict[str, str] = field(default_factory=dict)
    version: int = 0

    @property
    def arms(self) -> list[str]:
        return [v.variant_id for v in self.variants] + [CONTROL]

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.variant_id == variant_id), None)


# -- arms and moments --------------------------------------------------------------------------------


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("#".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm_for(member_id: str, campaign: Campaign) -> str:
    """``control`` or a variant id: sticky, a function of (member, campaign) only."""
    point = _unit("arm", campaign.campaign_id, member_id)
    holdout = campaign.holdout_percent / 100
    if point < holdout:
        return CONTROL
    rest = (point - holdout) / (1 - holdout)
    total = sum(v.weight for v in campaign.variants)
    edge = 0.0
    for v in campaign.variants:
        edge += v.weight / total
        if rest < edge:
            return v.variant_id
    return campaign.variants[-1].variant_id


def send_moment(campaign: Campaign, member: Member, store_zone: str) -> datetime:
    """When the member's message is due: the instant, or the date and local time in their zone."""
    if campaign.send_at is not None:
        return campaign.send_at
    assert campaign.send_on is not None and campaign.local_time is not None
    return at_local(campaign.send_on, campaign.local_time, zone(member.timezone, store_zone))


def start_moment(campaign: Campaign) -> datetime:
    """When planning starts: the instant, or the local time where it comes first (UTC+14)."""
    if campaign.send_at is not None:
        return campaign.send_at
    assert campaign.send_on is not None and campaign.local_time is not None
    return at_local(campaign.send_on, campaign.local_time, EARLIEST_ZONE)


# -- validation --------------------------------------------------------------------------------------

_KNOWN = {
    "name",
    "segment_id",
    "class",
    "channels",
    "send_at",
    "send_on",
    "local_time",
    "variants",
    "holdout_percent",
    "conversion_window_hours",
    "reply_keyword",
    "poll",
    "campaign_id",
}


def parse_campaign(campaign_id: str, body: Any, now: datetime, store: StoreConfig) -> Campaign:
    """``PUT /v1/campaigns/{id}``'s body → a draft :class:`Campaign`, every bad field named."""
    if not isinstance(body, dict):
        raise ValidationFailed({"body": "must be a JSON object"})
    e: dict[str, str] = {}
    if not ID_PATTERN.fullmatch(campaign_id or ""):
        e["campaign_id"] = "must match [A-Za-z0-9_-]{1,64}"
    for key in sorted(set(body) - _KNOWN):
        e[key] = "unknown field"
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TEXT:
        e["name"] = f"is required: a text of at most {MAX_TEXT} characters"
    segment_id = body.get("segment_id")
    if not isinstance(segment_id, str) or not ID_PATTERN.fullmatch(segment_id):
        e["segment_id"] = "is required and must match [A-Za-z0-9_-]{1,64}"
    rule_class = body.get("class", "marketing")
    if rule_class not in CLASSES:
        e["class"] = f"must be one of {', '.join(CLASSES)}"
    channels = _channels(body.get("channels", ["im", "sms"]), e)
    send_at, send_on, local_time = _when(body, now, e)
    holdout = body.get("holdout_percent", 0)
    if number_problem(holdout) or not 0 <= holdout <= 50:
        e["holdout_percent"] = "must be a number from 0 to 50"
    window = body.get("conversion_window_hours", DEFAULT_WINDOW_HOURS)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 24 * 90:
        e["conversion_window_hours"] = "must be a whole number of hours, 1 to 2160"
    variants = _variants(body.get("variants"), e)
    keyword = _keyword(body.get("reply_keyword"), now, e) if body.get("reply_keyword") is not None else None
    poll = _poll(body.get("poll"), now, e) if body.get("poll") is not None else None
    if not e and channels and Channel.SMS in channels:
        sample: dict[str, Any] = {"campaign": {"id": campaign_id, "name": str(name)}}
        if keyword is not None:
            sample["keyword"] = keyword.keyword
        if poll is not None:
            sample["poll"] = {"options": dict(poll.options)}
        for i, v in enumerate(variants):
            base = rule_config(campaign_id, str(rule_class), channels, v.templates)
            config = replace(base, params={**base.params, "sample": sample})
            try:
                check_sms_length(config, store)
            except RulesConfigError as exc:
                where, _, why = str(exc).partition(": ")
                locale = where.rsplit(".", 1)[-1]
                e[f"variants[{i}].templates.{locale}"] = why
    if e:
        raise ValidationFailed(e, "invalid campaign: " + "; ".join(f"{k}: {v}" for k, v in e.items()))
    return Campaign(
        campaign_id=campaign_id,
        name=str(name).strip(),
        segment_id=str(segment_id),
        rule_class=str(rule_class),
        channels=channels,
        variants=tuple(variants),
        holdout_percent=float(holdout),
        conversion_window_hours=int(window),
        send_at=send_at,
        send_on=send_on,
        local_time=local_time,
        reply_keyword=keyword,
        poll=poll,
    )


def _channels(raw: Any, e: dict[str, str]) -> tuple[Channel, ...]:
    try:
        if not isinstance(raw, list) or not raw:
            raise ValueError
        channels = tuple(dict.fromkeys(Channel(c) for c in raw))
    except (ValueError, TypeError):
        e["channels"] = "must list sms and/or im, in order of preference"
        return ()
    return channels


def _when(body: dict[str, Any], now: datetime, e: dict[str, str]) -> tuple[datetime | None, date | None, time | None]:
    raw_at, raw_on, raw_time = body.get("send_at"), body.get("send_on"), body.get("local_time")
    if raw_at is not None and (raw_on is not None or raw_time is not None):
        e["send_at"] = "give send_at (an instant) or send_on + local_time, not both"
        return None, None, None
    if raw_at is not None:
        try:
            return _instant(raw_at, now), None, None
        except ValueError as exc:
            e["send_at"] = str(exc)
            return None, None, None
    if raw_on is None and raw_time is None:
        e["send_at"] = "is required (an instant), or send_on + local_time"
        return None, None, None
    day = clock = None
    try:
        if not isinstance(raw_on, str):
            raise ValueError
        day = parse_date(raw_on)
        if not (now.date().replace(year=now.year - 1) <= day <= now.date().replace(year=now.year + 1)):
            e["send_on"] = "must be within a year of today"
    except ValueError:
        e["send_on"] = "must be a date YYYY-MM-DD (with local_time)"
    try:
        if not isinstance(raw_time, str) or len(raw_time) != 5:
            raise ValueError
        clock = parse_clock(raw_time)
    except ValueError:
        e["local_time"] = 'must be "HH:MM" (with send_on)'
    return None, day, clock


def _instant(raw: Any, now: datetime) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("must be an ISO 8601 time with a zone")
    try:
        at = parse_iso(raw)
    except ValueError:
        raise ValueError("must be an ISO 8601 time with a zone, e.g. 2026-12-01T02:00:00Z") from None
    if abs((at - now).days) > 366:
        raise ValueError("must be within a year of now")
    return at


def _variants(raw: Any, e: dict[str, str]) -> list[Variant]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_VARIANTS:
        e["variants"] = f"must be a list of 1 to {MAX_VARIANTS} variants"
        return []
    out: list[Variant] = []
    seen: set[str] = set()
    for i, v in enumerate(raw):
        where = f"variants[{i}]"
        if not isinstance(v, dict):
            e[where] = "must be an object {id, weight, templates}"
            continue
        vid = v.get("id")
        if not isinstance(vid, str) or not ID_PATTERN.fullmatch(vid) or vid == CONTROL or vid in seen:
            e[f"{where}.id"] = "must be a unique id [A-Za-z0-9_-]{1,64}, not 'control'"
            continue
        seen.add(vid)
        weight = v.get("weight", 1)
        if number_problem(weight) or not 0 < weight <= 1000:
            e[f"{where}.weight"] = "must be a number above 0 (at most 1000)"
            continue
        templates = v.get("templates")
        if not isinstance(templates, dict) or not templates:
            e[f"{where}.templates"] = "must map locales (zh-CN, zh-TW, en) to Liquid texts"
            continue
        ok = True
        for locale, source in templates.items():
            key = f"{where}.templates.{locale}"
            if locale not in LOCALES:
                e[key] = f"unknown locale (use {', '.join(LOCALES)})"
                ok = False
            elif not isinstance(source, str) or not source.strip() or len(source) > 2000:
                e[key] = "must be a non-empty text (at most 2000 characters)"
                ok = False
            else:
                try:
                    compile_template(source)
                except TemplateError as exc:
                    e[key] = str(exc)
                    ok = False
        if ok:
            out.append(Variant(vid, float(weight), dict(templates)))
    return out


def _keyword(raw: Any, now: datetime, e: dict[str, str]) -> ReplyKeyword | None:
    if not isinstance(raw, dict):
        e["reply_keyword"] = "must be an object {keyword, expires_at, action}"
        return None
    word = raw.get("keyword")
    if not isinstance(word, str) or not word.strip() or len(word.strip()) > 20:
        e["reply_keyword.keyword"] = "must be a text of 1 to 20 characters"
    expires: datetime | None = None
    try:
        expires = _instant(raw.get("expires_at"), now)
    except ValueError as exc:
        e["reply_keyword.expires_at"] = str(exc)
    action = _action(raw.get("action"), now, e)
    if e or action is None or expires is None:
        return None
    return ReplyKeyword(str(word).strip(), expires, action)


def _action(raw: Any, now: datetime, e: dict[str, str]) -> KeywordAction | None:
    where = "reply_keyword.action"
    if not isinstance(raw, dict) or len(raw) != 1:
        e[where] = "must be exactly one of {coupon}, {tag}, {points}, {activity_id}"
        return None
    [(kind, value)] = raw.items()
    if kind == "coupon":
        if not isinstance(value, dict):
            e[f"{where}.coupon"] = "must be {title, value, expires_on}"
            return None
        title, amount, expires = value.get("title"), value.get("value"), value.get("expires_on")
        if not isinstance(title, str) or not title.strip() or len(title) > 64:
            e[f"{where}.coupon.title"] = "must be a text of at most 64 characters"
        if number_problem(amount) or not isinstance(amount, int | float) or amount <= 0:
            e[f"{where}.coupon.value"] = "must be a positive number"
        try:
            if not isinstance(expires, str):
                raise ValueError
            day = parse_date(expires)
            if day < now.date():
                e[f"{where}.coupon.expires_on"] = "must not be in the past"
        except ValueError:
            e[f"{where}.coupon.expires_on"] = "must be a date YYYY-MM-DD"
        return KeywordAction(coupon={"title": title, "value": amount, "expires_on": expires})
    if kind == "tag":
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            e[f"{where}.tag"] = "must be a text of at most 64 characters"
        return KeywordAction(tag=str(value).strip())
    if kind == "points":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 1_000_000:
            e[f"{where}.points"] = "must be a whole number of points, 1 to 1000000"
        return KeywordAction(points=value if isinstance(value, int) else 0)
    if kind == "activity_id":
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            e[f"{where}.activity_id"] = "must match [A-Za-z0-9_-]{1,64}"
        return KeywordAction(activity_id=str(value))
    e[where] = f"unknown action {kind!r} (use coupon, tag, points or activity_id)"
    return None


def _poll(raw: Any, now: datetime, e: dict[str, str]) -> Poll | None:
    if not isinstance(raw, dict):
        e["poll"] = "must be an object {options, closes_at}"
        return None
    options = raw.get("options")
    good = (
        isinstance(options, dict)
        and 2 <= len(options) <= 9
        and all(isinstance(k, str) and k.isdigit() and len(k) == 1 and k != "0" for k in options)
        and all(isinstance(v, str) and v.strip() and len(v) <= 64 for v in options.values())
    )
    if not good:
        e["poll.options"] = 'must map "1", "2", … (2 to 9 options) to labels'
    closes: datetime | None = None
    try:
        closes = _instant(raw.get("closes_at"), now)
    except ValueError as exc:
        e["poll.closes_at"] = str(exc)
    if not good or closes is None:
        return None
    assert isinstance(options, dict)
    return Poll({k: str(v).strip() for k, v in sorted(options.items())}, closes)


# -- stored shape ------------------------------------------------------------------------------------


def campaign_to_data(c: Campaign) -> dict[str, Any]:
    """The campaign as stored and as the API shows it (without progress)."""
    out: dict[str, Any] = {
        "campaign_id": c.campaign_id,
        "name": c.name,
        "segment_id": c.segment_id,
        "class": c.rule_class,
        "channels": [ch.value for ch in c.channels],
        "variants": [{"id": v.variant_id, "weight": v.weight, "templates": dict(v.templates)} for v in c.variants],
        "holdout_percent": c.holdout_percent,
        "conversion_window_hours": c.conversion_window_hours,
        "status": c.status,
    }
    if c.send_at is not None:
        out["send_at"] = to_iso(c.send_at)
    if c.send_on is not None and c.local_time is not None:
        out["send_on"] = c.send_on.isoformat()
        out["local_time"] = f"{c.local_time:%H:%M}"
    if c.reply_keyword is not None:
        out["reply_keyword"] = {
            "keyword": c.reply_keyword.keyword,
            "expires_at": to_iso(c.reply_keyword.expires_at),
            "action": c.reply_keyword.action.to_data(),
        }
    if c.poll is not None:
        out["poll"] = {"options": dict(c.poll.options), "closes_at": to_iso(c.poll.closes_at)}
    for key in ("launched_at", "started_at", "created_at", "updated_at"):
        value = getattr(c, key)
        if value is not None:
            out[key] = to_iso(value)
    if c.segment is not None:
        out["segment"] = c.segment.to_data()
    return out


def campaign_from_data(d: dict[str, Any]) -> Campaign:
    keyword = d.get("reply_keyword")
    poll = d.get("poll")

    def opt_time(key: str) -> datetime | None:
        return parse_iso(d[key]) if d.get(key) else None

    action = (keyword or {}).get("action") or {}
    return Campaign(
        campaign_id=d["campaign_id"],
        name=d.get("name") or "",
        segment_id=d["segment_id"],
        rule_class=d.get("class") or "marketing",
        channels=tuple(Channel(c) for c in d.get("channels") or ["im", "sms"]),
        variants=tuple(
            Variant(v["id"], float(v.get("weight", 1)), dict(v["templates"])) for v in d.get("variants") or []
        ),
        holdout_percent=float(d.get("holdout_percent") or 0),
        conversion_window_hours=int(d.get("conversion_window_hours") or DEFAULT_WINDOW_HOURS),
        send_at=opt_time("send_at"),
        send_on=parse_date(d["send_on"]) if d.get("send_on") else None,
        local_time=parse_clock(d["local_time"]) if d.get("local_time") else None,
        reply_keyword=(
            ReplyKeyword(
                keyword["keyword"],
                parse_iso(keyword["expires_at"]),
                KeywordAction(
                    coupon=action.get("coupon"),
                    tag=action.get("tag"),
                    points=int(action["points"]) if action.get("points") is not None else None,
                    activity_id=action.get("activity_id"),
                ),
            )
            if keyword
            else None
        ),
        poll=Poll(dict(poll["options"]), parse_iso(poll["closes_at"])) if poll else None,
        status=d.get("status") or DRAFT,
        segment=segment_from_data(d["segment"]) if d.get("segment") else None,
        launched_at=opt_time("launched_at"),
        started_at=opt_time("started_at"),
        created_at=opt_time("created_at"),
        updated_at=opt_time("updated_at"),
        cursors={str(k): str(v) for k, v in (d.get("cursors") or {}).items()},
        version=int(d.get("version") or 0),
    )
