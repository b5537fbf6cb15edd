"""Run-time settings, read once from the function's environment.

Every value has a default that works for unit tests; the deployed stack sets the real ones
(infra/template.json, ``Globals.Function.Environment``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    stage: str
    members_table: str
    activity_table: str
    messages_table: str
    products_table: str
    api_keys_table: str
    idempotency_table: str
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


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        stage=_env("STAGE", "dev"),
        members_table=_env("MEMBERS_TABLE", "memberpulse-members"),
        activity_table=_env("ACTIVITY_TABLE", "memberpulse-activity"),
        messages_table=_env("MESSAGES_TABLE", "memberpulse-messages"),
        products_table=_env("PRODUCTS_TABLE", "memberpulse-products"),
        api_keys_table=_env("API_KEYS_TABLE", "memberpulse-api-keys"),
        idempotency_table=_env("IDEMPOTENCY_TABLE", "memberpulse-idempotency"),
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
    )
