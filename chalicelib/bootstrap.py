"""The composition root: the one place that builds real adapters and hands them to services.

Everything is built on first use and kept for the life of the Lambda container, so each function
pays only for what its own handler needs. Tests build services with fakes instead
(``tests/fakes.py``) or call :func:`reset` after changing the environment."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from .domain.model import Channel
from .domain.rules import RuleBook, load_rule_book
from .ports import Provider
from .settings import get_settings


def counting_aws_calls() -> bool:
    """Benchmarks only: count our AWS requests per invocation (see adapters/call_counter.py)."""
    import os

    if os.environ.get("MEMBERPULSE_COUNT_AWS_CALLS") != "1":
        return False
    from .adapters import call_counter

    call_counter.install()
    return True


def flush_aws_call_counts(function: str) -> None:
    if counting_aws_calls():
        from .adapters import call_counter

        call_counter.flush(function)


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
def providers() -> Mapping[str, Provider]:
    """Every provider by name, each built on first use from the stage's secrets."""
    from .adapters.dynamo import DynamoOutbox
    from .adapters.providers.registry import ProviderRegistry
    from .adapters.providers.sandbox import FaultPlan, SandboxProvider

    s = get_settings()
    sandbox = SandboxProvider(DynamoOutbox(), FaultPlan.parse(s.sandbox_faults), sign_name=rule_book().store.name)

    def overrides(secrets: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        token = secrets.get("webhook_token_twilio")
        if not (s.public_api_url and token):
            return {}
        # Twilio signs the exact public URL it calls.
        return {"twilio": {"public_webhook_url": f"{s.public_api_url.rstrip('/')}/webhooks/twilio/{token}"}}

    return ProviderRegistry(webhook_secrets, {"sandbox": sandbox}, overrides)


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
def send_queue() -> Any:
    """The send queue; ``with send_queue().batched():`` holds a handler's intents to send together."""
    from .adapters.sqs import SqsSendQueue

    return SqsSendQueue(aws_client("sqs"), get_settings().send_queue_url)


@lru_cache(maxsize=1)
def lifecycle_service() -> Any:
    from .adapters.dynamo import DynamoMemberStore, DynamoMessageStore
    from .adapters.schedule_store import DynamoTimerStore
    from .observability import log_event
    from .services.lifecycle import LifecycleService

    s = get_settings()
    queue = send_queue()
    return LifecycleService(
        rule_book(),
        DynamoMemberStore(),
        DynamoMessageStore(),
        queue,
        channel_providers(),
        log_event,
        timers=DynamoTimerStore(),
        store_zone=s.store_timezone,
        clicks=click_tracker() if s.public_api_url else None,
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
    from .adapters.send_gate import DynamoSendGate
    from .observability import log_event
    from .services.sending import SendService
    from .settings import parse_rates

    s = get_settings()
    lifecycle = lifecycle_service()
    return SendService(
        rule_book(),
        DynamoMemberStore(),
        DynamoMessageStore(),
        providers(),
        DynamoSendGate(parse_rates(s.send_rates)),
        log=log_event,
        hold=lifecycle.hold_until,
        fallback=lifecycle.fall_back,
        ack_check=lifecycle.expect_ack,
        store_zone=s.store_timezone,
        claim_ttl=s.send_claim_ttl,
        max_receives=s.send_max_receives,
    )


@lru_cache(maxsize=1)
def send_retries() -> Any:
    from .adapters.sqs import SqsRetries

    return SqsRetries(aws_client("sqs"), get_settings().send_queue_url)


def webhook_secrets() -> dict[str, str]:
    """Webhook path tokens and provider secrets: Secrets Manager (cached by Powertools for 5 minutes)."""
    secret_id = get_settings().secrets_id
    if not secret_id:
        return {}
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(secret_id, transform="json", max_age=300)
    return dict(value) if isinstance(value, dict) else {}


# -- inbound: webhooks, replies, handoffs, clicks ---------------------------------------------------


@lru_cache(maxsize=1)
def inbound_queue() -> Any:
    from .adapters.inbound_store import SqsInboundQueue

    return SqsInboundQueue(aws_client("sqs"), get_settings().inbound_queue_url)


@lru_cache(maxsize=1)
def follow_up() -> Any:
    from .adapters.inbound_store import HttpFollowUp

    return HttpFollowUp(timeout=3.0)


@lru_cache(maxsize=1)
def click_tracker() -> Any:
    """Links in messages → signed ``{PUBLIC_API_URL}/r/{token}``; off without a public URL or key."""
    from .adapters.inbound_store import DynamoLinkStore
    from .observability import log_event
    from .services.clicks import ClickTracker

    s = get_settings()
    secret = webhook_secrets().get("click_signing_key", "") if s.public_api_url else ""
    return ClickTracker(DynamoLinkStore(), secret, s.public_api_url, log_event)


@lru_cache(maxsize=1)
def keyword_book() -> Any:
    from .domain.keywords import load_keywords

    return load_keywords()


@lru_cache(maxsize=1)
def inbound_service() -> Any:
    from .adapters.dynamo import DynamoMemberStore, DynamoMessageStore
    from .adapters.inbound_store import (
        DynamoConversationLog,
        DynamoCursors,
        DynamoHandoffStore,
        DynamoInboundStore,
        DynamoMemberDirectory,
        DynamoMessageIndex,
        SnsStaffNotifier,
    )
    from .domain.keywords import classify
    from .observability import log_event
    from .services.inbound import InboundService

    s = get_settings()
    book = keyword_book()
    reply_rule = rule_book().rules.get("reply_recommendation")
    return InboundService(
        inbound=DynamoInboundStore(),
        members=DynamoMemberStore(),
        messages=DynamoMessageStore(),
        directory=DynamoMemberDirectory(),
        index=DynamoMessageIndex(),
        conversations=DynamoConversationLog(),
        handoffs=DynamoHandoffStore(),
        staff=SnsStaffNotifier(aws_client("sns"), s.staff_topic_arn),
        catalog=catalog(),
        replier=lifecycle_service(),
        apply_receipt=lambda receipt: send_service().apply_receipt(receipt),
        classify=lambda text, locale: classify(text, locale, book),
        adapters=providers,
        cursors=DynamoCursors(),
        default_region=s.default_phone_region,
        picks=int(reply_rule.params.get("picks", 3)) if reply_rule else 3,
        log=log_event,
    )


@lru_cache(maxsize=1)
def handoff_store() -> Any:
    from .adapters.inbound_store import DynamoHandoffStore

    return DynamoHandoffStore()


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
        inbound_queue,
        follow_up,
        click_tracker,
        keyword_book,
        inbound_service,
        handoff_store,
        send_retries,
        catalog,
        timer_service,
        activity_service,
    ):
        fn.cache_clear()
