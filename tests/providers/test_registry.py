"""The provider registry builds each adapter from the stage's secrets on first use, and again when
the secrets it was built from change (a rotation in Secrets Manager reaches running functions
within the secret cache's window)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from chalicelib.adapters.providers.base import WebhookRejected, WebhookRequest
from chalicelib.adapters.providers.registry import ProviderRegistry

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOOK = "https://hooks.example.com/webhooks/twilio/s3cr3t"


class RotatingSecrets:
    """The secret as Secrets Manager holds it; counts reads."""

    def __init__(self, **values: str) -> None:
        self.values = dict(values)
        self.reads = 0
        self.down = False  # Secrets Manager cannot be reached

    def __call__(self) -> dict[str, str]:
        self.reads += 1
        if self.down:
            raise ConnectionError("Secrets Manager unreachable")
        return dict(self.values)


def status_callback(token: str) -> WebhookRequest:
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+14155550100"}
    signature = RequestValidator(token).compute_signature(HOOK, params)
    return WebhookRequest("POST", HOOK, {"x-twilio-signature": signature}, {}, urlencode(params).encode())


def test_a_rotated_webhook_secret_is_used_from_the_next_access() -> None:
    secrets = RotatingSecrets(twilio_auth_token="old-token", twilio_webhook_url=HOOK)
    registry = ProviderRegistry(secrets)
    assert len(registry["twilio"].handle_webhook(status_callback("old-token"), NOW).events) == 1

    secrets.values["twilio_auth_token"] = "new-token"

    assert len(registry["twilio"].handle_webhook(status_callback("new-token"), NOW).events) == 1
    with pytest.raises(WebhookRejected) as caught:
        registry["twilio"].handle_webhook(status_callback("old-token"), NOW)
    assert caught.value.status == 403


def test_an_adapter_is_kept_while_its_secrets_stay_the_same() -> None:
    secrets = RotatingSecrets(twilio_auth_token="token", twilio_webhook_url=HOOK, agora_callback_secret="a")
    registry = ProviderRegistry(secrets)
    first = registry["twilio"]
    secrets.values["agora_callback_secret"] = "b"  # another provider's secret
    secrets.values["webhook_token_twilio"] = "t2"  # the route's, not the adapter's
    assert registry["twilio"] is first


def test_a_provider_configured_later_appears_and_one_whose_secrets_go_disappears() -> None:
    secrets = RotatingSecrets()
    registry = ProviderRegistry(secrets)
    assert "twilio" not in registry
    assert registry.why_missing("twilio")
    secrets.values.update(twilio_auth_token="token", twilio_webhook_url=HOOK)
    assert "twilio" in registry
    secrets.values.clear()
    assert "twilio" not in registry


def test_overrides_that_depend_on_the_secrets_count_as_its_secrets() -> None:
    secrets = RotatingSecrets(twilio_auth_token="token", webhook_token_twilio="t1")
    registry = ProviderRegistry(
        secrets,
        overrides=lambda s: {
            "twilio": {"public_webhook_url": f"https://api.example.com/webhooks/twilio/{s['webhook_token_twilio']}"}
        },
    )
    assert registry["twilio"].public_webhook_url.endswith("/t1")  # type: ignore[attr-defined]
    secrets.values["webhook_token_twilio"] = "t2"
    assert registry["twilio"].public_webhook_url.endswith("/t2")  # type: ignore[attr-defined]


def test_ready_made_adapters_read_no_secret() -> None:
    secrets = RotatingSecrets()
    sandbox = object()
    registry = ProviderRegistry(secrets, {"sandbox": sandbox})
    assert registry["sandbox"] is sandbox
    assert secrets.reads == 0


def test_when_the_secrets_cannot_be_read_the_adapter_as_built_is_kept() -> None:
    secrets = RotatingSecrets(twilio_auth_token="token", twilio_webhook_url=HOOK)
    registry = ProviderRegistry(secrets)
    first = registry["twilio"]
    secrets.down = True  # the cache expired and Secrets Manager is down
    assert registry["twilio"] is first
    with pytest.raises(ConnectionError):
        registry["aliyun"]  # never built: nothing to fall back on
