"""What the unsigned China SMS providers' adapters share (Alibaba, Tencent): the webhook's guard
(the path token, checked by the route, plus an optional caller-IP allowlist, since neither signs
anything), the 【signature】 and template choice of a send, endpoints that may be a bare host or a
URL (stubs are plain http), the secrets both read the same way, and the payload fields both write
the same way (Beijing times, numbers sent as text)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ...domain.model import Channel
from ...ports import ProviderError
from .base import ProviderAdapter, WebhookRejected, WebhookRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

BEIJING = timezone(timedelta(hours=8))
MAX_BODY = 4 * 1024 * 1024
MAX_FIELD = 512  # Tencent's SessionContext limit; nothing else either sends is longer
_SIGN = re.compile(r"^\s*【([^】]{1,30})】")


class ChinaSmsAdapter(ProviderAdapter[None]):
    """The base of the Alibaba and Tencent adapters: their shared settings, webhook guard and
    send-side choices."""

    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS})
    dedupes: ClassVar[bool] = False  # neither has an idempotency key
    max_webhook_bytes: ClassVar[int] = MAX_BODY

    def __init__(
        self, *, templates: Mapping[str, str], sign_name: str, ip_allowlist: Iterable[str], max_items: int
    ) -> None:
        """``templates``: trigger → approved template, ``"default"`` the fallback. ``ip_allowlist``:
        CIDRs allowed to call the webhook (empty: anyone holding the path token). ``max_items``:
        the most items one push may carry."""
        self.templates = dict(templates)
        self.sign_name = sign_name.strip()
        self.allowlist = networks(ip_allowlist)
        self.max_items = max_items

    def verify(self, request: WebhookRequest, now: datetime) -> None:
        """Nothing is signed: the path token (checked by the route) and the IP allowlist."""
        check_source(self.allowlist, request.source_ip)

    def sign_and_body(self, text: str) -> tuple[str, str]:
        """The SignName and the text without it: a leading 【…】 in the text wins over the configured
        sign and is always cut, because the provider adds 【SignName】 itself."""
        sign, body = split_sign(text)
        sign = sign or self.sign_name
        if not sign:
            raise ProviderError(f"{self.name}: no SignName (configure one or start the text with 【…】)", False)
        return sign, body

    def template(self, trigger: str) -> str:
        template = self.templates.get(trigger) or self.templates.get("default")
        if not template:
            raise ProviderError(f"{self.name}: no template for trigger {trigger!r} and no default", False)
        return template

    def items(self, body: bytes) -> Any:
        """The push's JSON; 400 when it is not JSON or a list longer than ``max_items``."""
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise WebhookRejected(400, "malformed", "body is not JSON") from exc
        if isinstance(data, list) and len(data) > self.max_items:
            raise WebhookRejected(400, "too_many", f"more than {self.max_items} items in one push")
        return data


def shared_secrets(secrets: Mapping[str, str], prefix: str, *, numeric_templates: bool = False) -> dict[str, Any]:
    """The constructor keywords both read the same way from ``<prefix>_sign_name``,
    ``<prefix>_templates`` (JSON object), ``<prefix>_endpoint`` and ``<prefix>_ip_allowlist``
    (comma-separated CIDRs)."""
    config: dict[str, Any] = {
        "sign_name": secrets.get(f"{prefix}_sign_name", ""),
        "templates": json_object(secrets.get(f"{prefix}_templates"), f"{prefix}_templates", numbers=numeric_templates),
    }
    if secrets.get(f"{prefix}_endpoint"):
        config["endpoint"] = secrets[f"{prefix}_endpoint"]
    if secrets.get(f"{prefix}_ip_allowlist"):
        config["ip_allowlist"] = [c.strip() for c in secrets[f"{prefix}_ip_allowlist"].split(",") if c.strip()]
    return config


def split_sign(text: str) -> tuple[str, str]:
    """``【乐乐玩具】新品到店`` → (``乐乐玩具``, ``新品到店``); ("", text) without a leading sign."""
    match = _SIGN.match(text)
    if not match:
        return "", text
    return match.group(1).strip(), text[match.end() :].lstrip()


def host_and_protocol(endpoint: str, default: str, provider: str) -> tuple[str, str]:
    """``dysmsapi.aliyuncs.com`` → (host, "https"); ``http://127.0.0.1:8080`` → (host:port, "http")."""
    endpoint = endpoint.strip() or default
    if "://" not in endpoint:
        return endpoint.rstrip("/"), "https"
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{provider}: endpoint {endpoint!r} is not an http(s) URL")
    return parts.netloc, parts.scheme


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def check_source(allowlist: tuple[Network, ...], source_ip: str | None) -> None:
    """403 unless the caller's address is in the allowlist (no allowlist: anyone with the token)."""
    if not allowlist:
        return
    try:
        address = ipaddress.ip_address((source_ip or "").strip())
    except ValueError as exc:
        raise WebhookRejected(403, "forbidden_source", "caller address unknown") from exc
    if not any(address in network for network in allowlist):
        raise WebhookRejected(403, "forbidden_source", "caller address not allowed")


def json_object(text: str | None, key: str, *, numbers: bool = False) -> dict[str, str]:
    """A secret holding a JSON object of strings (template codes, error-code overrides); with
    ``numbers``, numeric values too (Tencent template ids), as text. Empty → {}."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{key} is not JSON") from exc
    allowed = (str, int) if numbers else (str,)
    if not isinstance(data, dict) or not all(isinstance(v, allowed) and not isinstance(v, bool) for v in data.values()):
        raise ValueError(f"{key} must be a JSON object of {'template ids' if numbers else 'strings'}")
    return {str(k): str(v) for k, v in data.items()}


def text_field(item: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    """A text field of a pushed item (numbers accepted as their digits); None when empty or longer
    than any either provider sends, 400 then when required."""
    value = item.get(key)
    text: str | None = None
    if isinstance(value, str):
        text = value.strip() or None
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        text = str(int(value))
    if text is not None and len(text) > MAX_FIELD:
        text = None
    if text is None and required:
        raise WebhookRejected(400, "malformed", f"{key} missing")
    return text


def beijing_time(value: object) -> datetime | None:
    """A naive Beijing time (``2017-01-01 00:00:00`` or ``20170101000000``) as UTC; None if absent
    or unreadable."""
    if not isinstance(value, str):
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(value.strip(), pattern).replace(tzinfo=BEIJING).astimezone(UTC)
        except ValueError:
            continue
    return None


def unix_time(value: object) -> datetime | None:
    """Unix seconds as UTC; None unless a number between 1970 and 3000."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value < 32_503_680_000:
        return None
    return datetime.fromtimestamp(int(value), UTC)
