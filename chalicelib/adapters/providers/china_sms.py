"""What the unsigned China SMS providers' adapters share (Alibaba, Tencent): endpoints that may
be a bare host or a URL (stubs are plain http), and the optional caller-IP allowlist that stands in
for a signature."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from .base import WebhookRejected

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
