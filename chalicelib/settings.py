"""Run-time settings, read once from the function's environment.

Every value has a default that works for unit tests; the deployed stack sets the real ones
(infra/template.json, ``Globals.Function.Environment``). In a deployed function (Lambda sets
``AWS_LAMBDA_FUNCTION_NAME``) a missing required value fails the start with the names of what is
missing, instead of the first request that happens to need it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .domain.reconciliation import parse_windows


@dataclass(frozen=True)
class Settings:
    stage: str
    members_table: str
    activity_table: str
    messages_table: str
    products_table: str
    api_keys_table: str
    outbox_table: str
    timers_table: str
    counters_table: str
    audience_table: str
    timer_queue_url: str
    send_queue_url: str
    secrets_id: str
    default_phone_region: str
    store_timezone: str
    sms_provider: str
    im_provider: str
    public_api_url: str
    send_rates: str  # "provider=parts per second,…", e.g. "aliyun=100,agora=50"; unlisted: unthrottled
    sandbox_faults: str  # fault injection plan for the sandbox provider (tests, benchmarks)
    send_claim_ttl: float  # seconds after which a sender's claim is surely dead (> its timeout)
    send_max_receives: int  # the send queue's maxReceiveCount
    inbound_table: str
    handoffs_table: str
    links_table: str
    cursors_table: str
    inbound_queue_url: str
    staff_topic_arn: str
    activities_table: str
    erasure_queue_url: str
    campaigns_table: str
    campaign_queue_url: str
    campaign_parts: int  # parallel scan parts: segment previews and campaign planning
    # per provider, when to ask about a sent message with no receipt and when to mark it unknown
    # ("aliyun=20m/24h,agora=2h"; domain/reconciliation.parse_windows); unlisted: the defaults there
    receipt_windows: str = ""


class SettingsError(RuntimeError):
    pass


# What a deployed function cannot run without (infra/template.json sets each).
REQUIRED_WHEN_DEPLOYED = (
    "STAGE",
    "MEMBERS_TABLE",
    "ACTIVITY_TABLE",
    "MESSAGES_TABLE",
    "PRODUCTS_TABLE",
    "API_KEYS_TABLE",
    "OUTBOX_TABLE",
    "TIMERS_TABLE",
    "COUNTERS_TABLE",
    "AUDIENCE_TABLE",
    "INBOUND_TABLE",
    "HANDOFFS_TABLE",
    "LINKS_TABLE",
    "CURSORS_TABLE",
    "ACTIVITIES_TABLE",
    "CAMPAIGNS_TABLE",
    "TIMER_QUEUE_URL",
    "SEND_QUEUE_URL",
    "INBOUND_QUEUE_URL",
    "CAMPAIGN_QUEUE_URL",
    "ERASURE_QUEUE_URL",
    "SECRETS_ID",
    "STORE_TIMEZONE",
)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def check_deployed(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """In a deployed function, every required value is set and every value that must parse does."""
    if not environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    missing = [name for name in REQUIRED_WHEN_DEPLOYED if not environ.get(name, "").strip()]
    if missing:
        raise SettingsError(f"missing settings (function environment): {', '.join(missing)}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    check_deployed()
    try:
        settings = _read()
        parse_rates(settings.send_rates)
        parse_windows(settings.receipt_windows)
        ZoneInfo(settings.store_timezone)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise SettingsError(f"bad setting: {exc}") from None
    return settings


def settings_with(**overrides: Any) -> Settings:
    """This environment's settings with some replaced by field name (in-process runs: the CLI's
    simulation, tests). Nothing is checked: the caller passes values it knows are good."""
    return replace(_read(), **overrides)


def _read() -> Settings:
    return Settings(
        stage=_env("STAGE", "dev"),
        members_table=_env("MEMBERS_TABLE", "memberpulse-members"),
        activity_table=_env("ACTIVITY_TABLE", "memberpulse-activity"),
        messages_table=_env("MESSAGES_TABLE", "memberpulse-messages"),
        products_table=_env("PRODUCTS_TABLE", "memberpulse-products"),
        api_keys_table=_env("API_KEYS_TABLE", "memberpulse-api-keys"),
        outbox_table=_env("OUTBOX_TABLE", "memberpulse-outbox"),
        timers_table=_env("TIMERS_TABLE", "memberpulse-timers"),
        counters_table=_env("COUNTERS_TABLE", "memberpulse-counters"),
        audience_table=_env("AUDIENCE_TABLE", "memberpulse-audience"),
        timer_queue_url=_env("TIMER_QUEUE_URL", ""),
        send_queue_url=_env("SEND_QUEUE_URL", ""),
        secrets_id=_env("SECRETS_ID", ""),
        default_phone_region=_env("DEFAULT_PHONE_REGION", "CN"),
        store_timezone=_env("STORE_TIMEZONE", "Asia/Shanghai"),
        sms_provider=_env("SMS_PROVIDER", "sandbox"),
        im_provider=_env("IM_PROVIDER", "sandbox"),
        public_api_url=_env("PUBLIC_API_URL", ""),
        send_rates=_env("SEND_RATES", ""),
        sandbox_faults=_env("SANDBOX_FAULTS", ""),
        send_claim_ttl=float(_env("SEND_CLAIM_TTL", "120")),
        send_max_receives=int(_env("SEND_MAX_RECEIVES", "5")),
        inbound_table=_env("INBOUND_TABLE", "memberpulse-inbound"),
        handoffs_table=_env("HANDOFFS_TABLE", "memberpulse-handoffs"),
        links_table=_env("LINKS_TABLE", "memberpulse-links"),
        cursors_table=_env("CURSORS_TABLE", "memberpulse-cursors"),
        inbound_queue_url=_env("INBOUND_QUEUE_URL", ""),
        staff_topic_arn=_env("STAFF_TOPIC_ARN", ""),
        activities_table=_env("ACTIVITIES_TABLE", "memberpulse-activities"),
        erasure_queue_url=_env("ERASURE_QUEUE_URL", ""),
        campaigns_table=_env("CAMPAIGNS_TABLE", "memberpulse-campaigns"),
        campaign_queue_url=_env("CAMPAIGN_QUEUE_URL", ""),
        campaign_parts=int(_env("CAMPAIGN_PARTS", "4")),
        receipt_windows=_env("RECEIPT_WINDOWS", ""),
    )


def parse_rates(spec: str) -> dict[str, int]:
    """``"aliyun=100, agora=50"`` → {"aliyun": 100, "agora": 50}; a clear error names a bad entry."""
    rates: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"SEND_RATES: {part!r} is not provider=parts-per-second (a whole number ≥ 1)")
        rates[name.strip()] = int(value)
    return rates
