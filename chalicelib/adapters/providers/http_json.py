"""JSON over HTTP for the providers that have no official Python SDK (Agora Chat, WeCom kf), on
urllib3 (which boto3 already brings): one kept-alive connection per provider host instead of a new
TCP (and TLS) handshake per call.

Why one helper: every such adapter needs the same things done the same way — a hard timeout on
every call, no automatic resend (a resent POST could send a message twice), a bounded response
read, and the transport failures named in our words (:class:`~chalicelib.ports.ProviderError`
codes) so the send service can decide retry or give up:

- sent but no answer in time → ``timeout`` (retryable; the provider may or may not have accepted);
- no connection (refused, DNS, TLS, connect timeout) or one lost mid-answer → ``unavailable``
  (retryable).

Every answer, whatever its status, comes back as a :class:`JsonResponse` (with ``Retry-After`` in
seconds): what a status and the provider's error code mean is the adapter's error-code table's to
say (``ProviderAdapter.failure``). Error messages name the provider and the path only: query
strings can hold credentials (WeCom's ``access_token``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import urllib3

from ...ports import ProviderError

MAX_RESPONSE_BYTES = 1 << 20  # 1 MiB: no provider answer we read is anywhere near this
CHUNK_BYTES = 64 * 1024
# One pool for the process: a kept-alive connection per provider host (a warm Lambda reuses it
# across invocations; urllib3 replaces one the server has closed). Thread-safe.
_POOL = urllib3.PoolManager(num_pools=8, maxsize=4, block=False)


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
    try:
        answer = _POOL.request(
            method,
            url,
            body=data,
            headers=all_headers,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,  # a resent POST could send a message twice: the send queue retries instead
            redirect=False,
            preload_content=False,
        )
        try:
            raw = _read_at_most(answer, MAX_RESPONSE_BYTES + 1)
            if len(raw) > MAX_RESPONSE_BYTES:
                answer.close()  # the rest stays unread: this connection is not reused
        finally:
            answer.release_conn()
    except urllib3.exceptions.ReadTimeoutError as error:  # sent, no answer: accepted or not, who knows
        raise ProviderError(f"{where}: no answer within {timeout:g}s", True, code="timeout") from error
    except (urllib3.exceptions.HTTPError, OSError) as error:  # refused, DNS, TLS, connect timeout, reset
        raise ProviderError(f"{where}: connection failed ({type(error).__name__})", True, code="unavailable") from error

    if len(raw) > MAX_RESPONSE_BYTES:
        raise ProviderError(f"{where}: answer larger than {MAX_RESPONSE_BYTES} bytes", True, code="unavailable")
    answer_headers = {k.lower(): v for k, v in answer.headers.items()}
    return JsonResponse(int(answer.status), _decode(raw), answer_headers)


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


def _read_at_most(answer: urllib3.BaseHTTPResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = answer.read(min(CHUNK_BYTES, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
