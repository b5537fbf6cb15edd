"""JSON over HTTP on the standard library, for the providers that have no official Python SDK
(Agora Chat, WeCom kf).

Why one helper: every such adapter needs the same things done the same way — a hard timeout on
every call, a bounded response read, and the transport failures named in our words
(:class:`~chalicelib.ports.ProviderError` codes) so the send service can decide retry or give up:

- no answer in time → ``timeout`` (retryable; the provider may or may not have accepted);
- connection refused / DNS / TLS failure → ``unavailable`` (retryable).

Every answer, whatever its status, comes back as a :class:`JsonResponse` (with ``Retry-After`` in
seconds): what a status and the provider's error code mean is the adapter's error-code table's to
say (``ProviderAdapter.failure``). Error messages name the provider and the path only: query
strings can hold credentials (WeCom's ``access_token``).
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from ...ports import ProviderError

MAX_RESPONSE_BYTES = 1 << 20  # 1 MiB: no provider answer we read is anywhere near this


@dataclass(frozen=True)
class JsonResponse:
    status: int
    data: Any  # the decoded JSON; None when the body was empty or not JSON
    headers: Mapping[str, str]  # names lower-cased

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds, when the answer says."""
        return retry_after_seconds(self.headers.get("retry-after"))


def post_json(
    url: str,
    body: Mapping[str, Any],
    *,
    provider: str,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    """POST ``body`` as UTF-8 JSON and decode the JSON answer."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return request_json("POST", url, provider=provider, timeout=timeout, headers=headers, data=data)


def get_json(url: str, *, provider: str, timeout: float, headers: Mapping[str, str] | None = None) -> JsonResponse:
    return request_json("GET", url, provider=provider, timeout=timeout, headers=headers)


def request_json(
    method: str,
    url: str,
    *,
    provider: str,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> JsonResponse:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{provider}: only http(s) endpoints are allowed, got {parts.scheme!r}")
    where = f"{provider} {method} {parts.path}"
    all_headers = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        all_headers.setdefault("Content-Type", "application/json; charset=utf-8")
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - scheme checked above
            status = int(answer.status)
            raw = answer.read(MAX_RESPONSE_BYTES + 1)
            answer_headers = {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        status = error.code
        answer_headers = {k.lower(): v for k, v in (error.headers or {}).items()}
        try:
            raw = error.read(MAX_RESPONSE_BYTES + 1)
        except (OSError, TimeoutError):
            raw = b""
    except TimeoutError as error:
        raise ProviderError(f"{where}: no answer within {timeout:g}s", True, code="timeout") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise ProviderError(f"{where}: no answer within {timeout:g}s", True, code="timeout") from error
        raise ProviderError(f"{where}: cannot connect ({error.reason})", True, code="unavailable") from error
    except (OSError, http.client.HTTPException) as error:  # connection reset mid-answer and the like
        raise ProviderError(f"{where}: connection failed ({error})", True, code="unavailable") from error

    if len(raw) > MAX_RESPONSE_BYTES:
        raise ProviderError(f"{where}: answer larger than {MAX_RESPONSE_BYTES} bytes", True, code="unavailable")
    return JsonResponse(status, _decode(raw), answer_headers)


@dataclass(frozen=True)
class CachedToken:
    """An access token and until when (the adapter's clock, seconds) it may be used."""

    value: str
    good_until: float


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
