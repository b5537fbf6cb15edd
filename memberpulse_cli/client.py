"""A small client for MemberPulse's HTTP API (CONTRACT §3), for the demo, imports and tests."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .project import CliError


@dataclass
class Reply:
    status: int
    body: Any


THROTTLED = 429
THROTTLE_RETRIES = 60


class ApiClient:
    """Calls the API; a throttled request (429) is sent again after a growing, jittered pause (every
    write of the API is idempotent on its business key), a connection failure up to three times."""

    def __init__(self, api_url: str, api_key: str | None, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.api_url + path, data=data, method=method)  # noqa: S310 (our API URL)
        req.add_header("Content-Type", "application/json")
        if auth and self.api_key:
            req.add_header("Authorization", f"Bearer {self.api_key}")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        failures = 0
        for throttled in range(THROTTLE_RETRIES + 1):
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                    return Reply(resp.status, _decode(resp.read()))
            except urllib.error.HTTPError as exc:
                reply = Reply(exc.code, _decode(exc.read()))
                if exc.code != THROTTLED or throttled == THROTTLE_RETRIES:
                    return reply
                time.sleep(min(0.1 * 2**throttled, 2.0) * (0.5 + random.random()))
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                failures += 1
                if failures == 3:
                    raise CliError(f"cannot reach {self.api_url}: {exc}") from None
                time.sleep(failures)
        raise AssertionError("unreachable")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.call(method, path, body)
        if reply.status >= 300:
            raise CliError(f"{method} {path} → {reply.status}: {json.dumps(reply.body, ensure_ascii=False)[:300]}")
        return reply.body

    def messages(self, member_id: str) -> list[dict[str, Any]]:
        body = self.ok("GET", f"/v1/members/{member_id}/messages")
        return list(body)


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
