"""The composition root: the one place that builds real adapters and hands them to services.

Everything is built on first use and kept for the life of the Lambda container, so each function
pays only for what its own handler needs. Tests build services with fakes instead
(``tests/fakes.py``) or call :func:`reset` after changing the environment."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from .domain.model import Channel
from .domain.rules import RuleBook, load_rule_book
from .ports import Provider
from .settings import get_settings


@lru_cache(maxsize=1)
def rule_book() -> RuleBook:
    return load_rule_book()


@cache
def aws_client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]


def channel_providers() -> dict[Channel, str]:
    s = get_settings()
    return {Channel.SMS: s.sms_provider, Channel.IM: s.im_provider}


@lru_cache(maxsize=1)
def providers() -> dict[str, Provider]:
    from .adapters.dynamo import DynamoOutbox
    from .adapters.providers.sandbox import SandboxProvider

    return {"sandbox": SandboxProvider(DynamoOutbox())}


@lru_cache(maxsize=1)
def member_service() -> Any:
    from .adapters.dynamo import DynamoMemberStore, DynamoMessageStore, DynamoProductStore
    from .services.members import MemberService

    return MemberService(
        DynamoMemberStore(), DynamoProductStore(), DynamoMessageStore(), get_settings().default_phone_region
    )


@lru_cache(maxsize=1)
def api_keys() -> Any:
    from .adapters.dynamo import DynamoApiKeyStore

    return DynamoApiKeyStore()


@lru_cache(maxsize=1)
def lifecycle_service() -> Any:
    from .adapters.dynamo import DynamoMemberStore, DynamoMessageStore
    from .adapters.schedule_store import DynamoTimerStore
    from .adapters.sqs import SqsSendQueue
    from .observability import log_event
    from .services.lifecycle import LifecycleService

    s = get_settings()
    queue = SqsSendQueue(aws_client("sqs"), s.send_queue_url)
    return LifecycleService(
        rule_book(),
        DynamoMemberStore(),
        DynamoMessageStore(),
        queue,
        channel_providers(),
        log_event,
        timers=DynamoTimerStore(),
        store_zone=s.store_timezone,
    )


@lru_cache(maxsize=1)
def catalog() -> Any:
    from .adapters.schedule_store import CachedCatalog

    return CachedCatalog()


@lru_cache(maxsize=1)
def timer_service() -> Any:
    from .adapters.dynamo import DynamoMemberStore
    from .adapters.schedule_store import DynamoTimerStore, SqsTimerQueue
    from .observability import log_event
    from .services.timers import TimerService

    s = get_settings()
    return TimerService(
        rule_book(),
        DynamoTimerStore(),
        DynamoMemberStore(),
        catalog(),
        SqsTimerQueue(aws_client("sqs"), s.timer_queue_url),
        lifecycle_service(),
        s.store_timezone,
        log_event,
    )


@lru_cache(maxsize=1)
def activity_service() -> Any:
    from .adapters.dynamo import DynamoMemberStore
    from .adapters.schedule_store import DynamoAudienceStore
    from .services.activity import ActivityService

    return ActivityService(
        rule_book(),
        DynamoMemberStore(),
        lifecycle_service(),
        timer_service(),
        catalog(),
        DynamoAudienceStore(),
        get_settings().store_timezone,
    )


@lru_cache(maxsize=1)
def send_service() -> Any:
    from .adapters.dynamo import DynamoMemberStore, DynamoMessageStore
    from .adapters.schedule_store import DynamoCapStore
    from .observability import log_event
    from .services.sending import SendService

    return SendService(
        rule_book(),
        DynamoMemberStore(),
        DynamoMessageStore(),
        providers(),
        log_event,
        hold=lifecycle_service().hold_until,
        caps=DynamoCapStore(),
        store_zone=get_settings().store_timezone,
    )


def webhook_secrets() -> dict[str, str]:
    """Webhook path tokens and provider secrets: Secrets Manager (cached by Powertools for 5 minutes)."""
    secret_id = get_settings().secrets_id
    if not secret_id:
        return {}
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(secret_id, transform="json", max_age=300)
    return dict(value) if isinstance(value, dict) else {}


def reset() -> None:
    """Forget everything built so far (tests, after changing the environment)."""
    from . import settings

    settings.get_settings.cache_clear()
    for fn in (
        rule_book,
        aws_client,
        providers,
        member_service,
        api_keys,
        lifecycle_service,
        send_service,
        catalog,
        timer_service,
        activity_service,
    ):
        fn.cache_clear()
