"""A small fake of the API for the console's browser tests: serves the console's own files (with
the same headers as ``chalicelib/handlers/console.py``) and canned answers of the §6/§7/§8 routes,
some of them deliberately unmasked (a profile's phone, a phone number in a text) so the page's own
masking is tested. Every request is recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.handlers.console import FILES, POLICY

KEY = "mp_browser-test-key-0123456789"
# An open offer's deadline, 95 minutes after the fake starts (the page counts the time left).
OFFER_DEADLINE = (datetime.now(UTC) + timedelta(minutes=95)).strftime("%Y-%m-%dT%H:%M:%SZ")

FUNNEL: dict[str, list[dict[str, Any]]] = {
    "rule": [
        {
            "key": "welcome",
            "targeted": 1200,
            "suppressed": {"no_consent": 30, "quiet_hours": 5},
            "capped": 0,
            "deferred": 12,
            "sent": 1165,
            "delivered": 1150,
            "read": 600,
            "clicked": 140,
            "converted": 52,
            "revenue": 10400.5,
        },
        {
            "key": "child_birthday",
            "targeted": 300,
            "suppressed": {"no_consent": 10},
            "capped": 4,
            "deferred": 0,
            "sent": 286,
            "delivered": 280,
            "read": 150,
            "clicked": 60,
            "converted": 31,
            "revenue": 6200.0,
        },
        {
            "key": "dormant_45d",
            "targeted": 90,
            "suppressed": {},
            "capped": 9,
            "deferred": 3,
            "sent": 78,
            "delivered": 70,
            "read": 20,
            "clicked": 5,
            "converted": 0,
            "revenue": 0,
        },
    ],
    "campaign": [
        {
            "key": "spring",
            "targeted": 1000,
            "suppressed": {"no_consent": 20},
            "capped": 15,
            "deferred": 0,
            "sent": 965,
            "delivered": 950,
            "read": 500,
            "clicked": 120,
            "converted": 61,
            "revenue": 12345.67,
        },
    ],
}

CAMPAIGN = {
    "campaign_id": "spring",
    "name": "春季新品",
    "status": "sending",
    "audience": 1000,
    "arms": {
        "A": {"members": 450, "queued": 3, "sent": 430, "delivered": 425, "suppressed": 10, "capped": 7, "deferred": 0},
        "B": {"members": 450, "queued": 0, "sent": 435, "delivered": 425, "suppressed": 10, "capped": 8, "deferred": 0},
        "control": {
            "members": 100,
            "queued": 0,
            "sent": 0,
            "delivered": 0,
            "suppressed": 0,
            "capped": 0,
            "deferred": 0,
        },
    },
}
RESULTS = {
    "arms": {
        "A": {
            "members": 450,
            "delivered": 425,
            "read": 220,
            "clicked": 60,
            "converted": 36,
            "revenue": 7200.0,
            "conversion_rate": 0.08,
            "lift": {"estimate": 0.6, "ci95": [0.05, 1.4]},
            "p_value": 0.031,
            "prob_beats_control": 0.978,
            "underpowered": False,
            "required_per_arm": 380,
        },
        "B": {
            "members": 450,
            "delivered": 425,
            "read": 200,
            "clicked": 41,
            "converted": 25,
            "revenue": 5145.67,
            "conversion_rate": 0.0556,
            "lift": {"estimate": 0.11, "ci95": [-0.35, 0.7]},
            "p_value": 0.62,
            "prob_beats_control": 0.69,
            "underpowered": True,
            "required_per_arm": 2900,
        },
        "control": {
            "members": 100,
            "delivered": 0,
            "read": 0,
            "clicked": 0,
            "converted": 5,
            "revenue": 980.0,
            "conversion_rate": 0.05,
        },
    }
}

ACTIVITY = {
    "activity_id": "lego-day",
    "title": "乐高拼搭大赛",
    "starts_at": "2026-12-05T10:00:00+08:00",
    "ends_at": "2026-12-05T12:00:00+08:00",
    "location": "一楼活动区",
    "capacity": 3,
    "status": "open",
    "counts": {"confirmed": 2, "waitlisted": 2, "offered": 1, "cancelled": 0, "checked_in": 1, "no_show": 0},
    "seats_left": 0,
}
REGISTRATIONS = [
    {
        "member_id": "m-1",
        "status": "confirmed",
        "registered_at": "2026-11-20T02:00:00Z",
        "checked_in_at": "2026-12-05T01:58:00Z",
    },
    {"member_id": "m-2", "status": "confirmed", "registered_at": "2026-11-20T02:05:00Z"},
    {
        "member_id": "m-3",
        "status": "offered",
        "registered_at": "2026-11-20T03:00:00Z",
        "offer_expires_at": OFFER_DEADLINE,
    },
    {"member_id": "m-5", "status": "waitlisted", "position": 2, "registered_at": "2026-11-20T04:00:00Z"},
    {"member_id": "m-4", "status": "waitlisted", "position": 1, "registered_at": "2026-11-20T03:30:00Z"},
]
FEEDBACK = [
    {"member_id": "m-1", "rating": 5, "text": "孩子玩得很开心！有事打我13800138000", "at": "2026-12-05T05:00:00Z"},
    {"member_id": "m-2", "rating": 4, "at": "2026-12-05T05:10:00Z"},
]

MESSAGES = [
    [
        {
            "message_id": "msg-3",
            "member_id": "m-1",
            "phone": "+86*******8000",
            "trigger": "campaign",
            "campaign_id": "spring",
            "variant": "A",
            "channel": "sms",
            "provider": "sandbox",
            "status": "delivered",
            "text": "【乐乐玩具】春季新品到店，回T退订",
            "created_at": "2026-11-21T02:00:00Z",
        },
        {
            "message_id": "msg-2",
            "member_id": "m-2",
            "phone": "+1******0003",
            "trigger": "welcome",
            "channel": "im",
            "provider": "sandbox",
            "status": "failed",
            "reason": "invalid address",
            # A number the API did not mask (as an older deployment might answer): the page masks it.
            "text": "欢迎！客服电话 13912345678",
            "created_at": "2026-11-20T09:00:00Z",
        },
    ],
    [
        {
            "message_id": "msg-1",
            "member_id": "m-1",
            "phone": "+86*******8000",
            "trigger": "welcome",
            "channel": "sms",
            "provider": "sandbox",
            "status": "suppressed",
            "reason": "no consent",
            "text": "欢迎加入",
            "created_at": "2026-11-19T09:00:00Z",
        },
    ],
]

MEMBER = {
    "member_id": "m-1",
    "name": "王小明",
    "phone": "+8613800138000",
    "im_user_id": "agora_u1",
    "timezone": "Asia/Shanghai",
    "locale": "zh-CN",
    "joined_at": "2026-01-02T03:04:05Z",
    "tier": "gold",
    "store_id": "s-1",
    "tags": ["lego"],
    "children": [{"name": "小宝", "birthday": "2022-05-01", "gender": "boy"}],
    "consent": {"sms": True, "im": True, "marketing": False},
    "stored_value": {"balance": 88.5, "expires_on": "2027-01-01"},
    "points": {"balance": 1234, "expiring": [{"amount": 200, "expires_on": "2026-12-31"}]},
    "last_purchase_at": "2026-11-18T08:00:00Z",
    "unreachable": {},
    "sms_unavailable": None,
}
TIMELINE = [
    [
        {
            "at": "2026-11-21T02:00:00Z",
            "kind": "message",
            "message_id": "msg-3",
            "trigger": "campaign",
            "channel": "sms",
            "status": "delivered",
            "text": "【乐乐玩具】春季新品到店，回T退订",
            "trail": [
                {"status": "queued", "at": "2026-11-21T02:00:00Z"},
                {"status": "sent", "at": "2026-11-21T02:00:01Z"},
                {"status": "delivered", "at": "2026-11-21T02:00:03Z"},
            ],
        },
        {
            "at": "2026-11-18T08:00:00Z",
            "kind": "order",
            "order_id": "o-9",
            "total": 299.0,
            "items": [{"sku": "lego-1", "qty": 1, "price": 299.0}],
        },
    ],
    [
        {
            "at": "2026-11-10T08:00:00Z",
            "kind": "reply",
            "channel": "sms",
            "provider": "sandbox",
            "text": "我的新号码 +8613900139000",
        },
        {"at": "2026-01-02T03:04:05Z", "kind": "joined"},
    ],
]
MEMBER_MESSAGES = [m for page in MESSAGES for m in page if m["member_id"] == "m-1"]

HANDOFFS = [
    {
        "ticket_id": "h1",
        "member_id": "m-1",
        "phone": "+86*******8000",
        "channel": "sms",
        "text": "售后，请回电",
        "status": "open",
        "created_at": "2026-11-21T03:00:00Z",
        "notified": True,
    },
    {
        "ticket_id": "h2",
        "member_id": "m-2",
        "phone": None,
        "channel": "im",
        "text": "人工",
        "status": "open",
        "created_at": "2026-11-20T03:00:00Z",
        "notified": False,
    },
]

CSV_PARTS = [
    "\ufeffcreated_at,message_id\r\n2026-11-21T02:00:00Z,msg-3\r\n2026-11-20T09:00:00Z,msg-2\r\n",
    "\ufeffcreated_at,message_id\r\n2026-11-19T09:00:00Z,msg-1\r\n",
]


def _error(status: int, code: str, message: str) -> tuple[int, Any, dict[str, str]]:
    return status, {"error": {"code": code, "message": message}}, {}


class FakeApi:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.funnel = FUNNEL

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if headers.get("authorization") != f"Bearer {KEY}":
            return _error(401, "unauthorized", "send Authorization: Bearer <api key>")
        cursor = query.get("cursor")
        if path == "/v1/analytics/funnel":
            return 200, self.funnel.get(query.get("group_by", "rule"), []), {}
        if path == "/v1/campaigns/spring":
            return 200, CAMPAIGN, {}
        if path == "/v1/campaigns/spring/results":
            return 200, RESULTS, {}
        if path == "/v1/activities/lego-day":
            return 200, ACTIVITY, {}
        if path == "/v1/activities/lego-day/registrations":
            return 200, REGISTRATIONS, {}
        if path == "/v1/activities/lego-day/feedback":
            return 200, FEEDBACK, {}
        if path == "/v1/messages":
            if "text/csv" in headers.get("accept", ""):
                n = 1 if cursor == "csv-2" else 0
                return (
                    200,
                    CSV_PARTS[n],
                    {"Content-Type": "text/csv; charset=utf-8", **({"X-Next-Cursor": "csv-2"} if n == 0 else {})},
                )
            n = 1 if cursor == "page-2" else 0
            return 200, MESSAGES[n], ({"X-Next-Cursor": "page-2"} if n == 0 else {})
        if path == "/v1/members":
            if query.get("phone", "").replace(" ", "") in ("13800138000", "+8613800138000"):
                return 200, [{"member_id": "m-1", "phone": "+86*******8000", "name": "王小明"}], {}
            return 200, [], {}
        if path.startswith("/v1/members/m-") and path.count("/") == 3:
            if path.endswith("/m-1"):
                return 200, MEMBER, {}
            return _error(404, "not_found", f"member {path.rsplit('/', 1)[1]} not found")
        if path == "/v1/members/m-1/timeline":
            n = 1 if cursor == "t-2" else 0
            return 200, TIMELINE[n], ({"X-Next-Cursor": "t-2"} if n == 0 else {})
        if path == "/v1/members/m-1/messages":
            return 200, MEMBER_MESSAGES, {}
        if path == "/v1/handoffs":
            return 200, HANDOFFS, {}
        return _error(404, "not_found", f"no route {path}")


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            api.requests.append({"path": url.path, "query": url.query, "headers": headers})
            if url.path == "/console":
                return self._file("index.html", "text/html; charset=utf-8", {"Content-Security-Policy": POLICY})
            if url.path.startswith("/console/"):
                name = url.path.removeprefix("/console/")
                kind = "text/css" if name.endswith(".css") else "text/javascript"
                return self._file(name, f"{kind}; charset=utf-8", {})
            if url.path == "/blank":
                return self._send(
                    200, b"<!doctype html><title>blank</title><p>blank</p>", "text/html; charset=utf-8", {}
                )
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, body, extra = api.answer(url.path, query, headers)
            if isinstance(body, str):
                return self._send(status, body.encode(), extra.pop("Content-Type"), extra)
            return self._send(status, json.dumps(body, ensure_ascii=False).encode(), "application/json", extra)

        def _file(self, name: str, kind: str, extra: dict[str, str]) -> None:
            path = FILES / name
            if "/" in name or not path.is_file():
                return self._send(404, b"not found", "text/plain", {})
            return self._send(200, path.read_bytes(), kind, extra)

        def _send(self, status: int, body: bytes, kind: str, extra: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serving() -> Iterator[tuple[str, FakeApi]]:
    """The fake on a free loopback port: (base URL, the fake)."""
    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", api
    finally:
        server.shutdown()
        server.server_close()
