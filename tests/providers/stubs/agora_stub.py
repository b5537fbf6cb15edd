"""An Agora Chat REST stub (Easemob-style API): ``POST /{org}/{app}/token`` (client_credentials →
``{access_token, expires_in, application}``) and ``POST /{org}/{app}/messages/users`` with
``Authorization: Bearer {app token}`` (→ ``{"data": {user: msg_id}, …}``); errors in Agora's shape
``{"error": …, "error_description": …}``.

Recipients pick the outcome: users in ``members`` get the message; ``blocked`` → 403
``forbidden_op``; anyone else → 404 ``service_resource_not_found``; ``slow`` → answers after
``slow_seconds``. ``fail_next`` queues raw answers (429, 5xx …); ``revoke_tokens`` makes every
issued token answer 401, as an expired or revoked one would.

:func:`signed_callback` builds a post-delivery callback body signed as Agora signs it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.providers.stubkit import StubRequest, StubResponse


@dataclass
class AgoraStub:
    org: str
    app: str
    client_id: str
    client_secret: str
    token_ttl: int = 3600
    members: set[str] = field(default_factory=lambda: {"member-1", "member-2"})
    blocked: set[str] = field(default_factory=lambda: {"member-blocked"})
    slow: set[str] = field(default_factory=lambda: {"member-slow"})
    slow_seconds: float = 1.0
    tokens_issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    queued: list[StubResponse] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_100_000_000_000_000_001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        answer = StubResponse(status, json.dumps(body or {"error": "stub_failure"}))
        answer.headers.update(headers or {})
        self.queued.append(answer)

    def revoke_tokens(self) -> None:
        self.revoked.update(self.tokens_issued)

    def handle(self, request: StubRequest) -> StubResponse:
        if request.method != "POST":
            return _error(405, "method_not_allowed", "POST expected")
        if request.path == f"/{self.org}/{self.app}/token":
            return self._token(request)
        if request.path == f"/{self.org}/{self.app}/messages/users":
            return self._send(request)
        return _error(404, "organization_application_not_found", f"no such resource {request.path}")

    def _token(self, request: StubRequest) -> StubResponse:
        body = _json(request)
        if body.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return _error(401, "invalid_client", "client id or secret wrong")
        with self._lock:
            token = f"YWMt-app-token-{len(self.tokens_issued) + 1}"
            self.tokens_issued.append(token)
        return _ok({"access_token": token, "expires_in": self.token_ttl, "application": "app-uuid-1"})

    def _send(self, request: StubRequest) -> StubResponse:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or token not in self.tokens_issued or token in self.revoked:
            return _error(401, "unauthorized", "Unable to authenticate (OAuth)")
        if self.queued:
            return self.queued.pop(0)
        body = _json(request)
        to = body.get("to")
        msg = body.get("body")
        if (
            not body.get("from")
            or not isinstance(to, list)
            or len(to) != 1
            or body.get("type") != "txt"
            or not isinstance(msg, dict)
            or not isinstance(msg.get("msg"), str)
        ):
            return _error(400, "illegal_argument", "This is an invalid request.")
        user = to[0]
        if user in self.slow:
            time.sleep(self.slow_seconds)
        if user in self.blocked:
            return _error(403, "forbidden_op", f"{user} has blocked {body['from']}")
        if user not in self.members and user not in self.slow:
            return _error(404, "service_resource_not_found", f"Service resource not found: user {user}")
        with self._lock:
            msg_id = str(next(self._ids))
            self.sent.append({**body, "msg_id": msg_id})
        return _ok(
            {
                "path": "/messages/users",
                "uri": f"https://a41.chat.agora.io/{self.org}/{self.app}/messages/users",
                "timestamp": int(time.time() * 1000),
                "organization": self.org,
                "application": "app-uuid-1",
                "action": "post",
                "data": {user: msg_id},
                "duration": 0,
                "applicationName": self.app,
            }
        )


def echo_callback(stub: AgoraStub, msg_id: str, secret: str, timestamp_ms: int) -> bytes:
    """The post-delivery callback Agora sends for a message the store's sender sent (its echo)."""
    sent = next(m for m in stub.sent if m["msg_id"] == msg_id)
    return signed_callback(
        secret,
        call_id=f"{stub.org}#{stub.app}_{msg_id}",
        timestamp_ms=timestamp_ms,
        eventType="chat",
        chat_type="chat",
        appkey=f"{stub.org}#{stub.app}",
        **{"from": sent["from"], "to": sent["to"][0]},
        msg_id=msg_id,
        payload={"bodies": [{"type": "txt", "msg": sent["body"]["msg"]}], "ext": sent.get("ext", {})},
    )


def signed_callback(secret: str, *, call_id: str, timestamp_ms: int, **fields: Any) -> bytes:
    """A post-delivery callback as Agora POSTs it: ``security = MD5(callId + secret + timestamp)``."""
    security = hashlib.md5(f"{call_id}{secret}{timestamp_ms}".encode()).hexdigest()
    return json.dumps({"callId": call_id, "timestamp": timestamp_ms, "security": security, **fields}).encode()


def _json(request: StubRequest) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return {}
    try:
        data = json.loads(request.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _ok(body: dict[str, Any]) -> StubResponse:
    return StubResponse(200, json.dumps(body))


def _error(status: int, error: str, description: str) -> StubResponse:
    body = {
        "error": error,
        "exception": "stub.Exception",
        "timestamp": int(time.time() * 1000),
        "duration": 0,
        "error_description": description,
    }
    return StubResponse(status, json.dumps(body))
