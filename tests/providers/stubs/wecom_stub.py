"""A WeCom kf stub: ``GET /cgi-bin/gettoken?corpid&corpsecret``, ``POST
/cgi-bin/kf/send_msg?access_token`` and ``POST /cgi-bin/kf/sync_msg?access_token``, answering
HTTP 200 with ``{errcode, errmsg, …}`` as WeCom does.

It keeps kf's rules: a member (``external_userid``) can be sent at most 5 messages after last
writing (``members[user]`` counts what is left) → 95001 past that; a member in ``closed`` →
95018; an unknown one → 40096; a repeated ``msgid`` is answered 0 with the same msgid and not
sent again. Expired tokens answer 42001 (``expire_tokens``), unknown ones 40014. ``inbox`` holds
the ``msg_list`` items ``sync_msg`` pages through (cursor = position, ``page_size`` per page),
checking the callback ``token`` and ``open_kfid``. ``fail_next`` queues raw answers.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.providers.stubkit import StubRequest, StubResponse

MSGID = re.compile(r"[0-9A-Za-z_-]{1,32}")


@dataclass
class WeComStub:
    corp_id: str
    secret: str
    open_kfid: str
    members: dict[str, int] = field(default_factory=lambda: {"wm-member-1": 5, "wm-member-2": 5})
    closed: set[str] = field(default_factory=lambda: {"wm-member-closed"})
    slow: set[str] = field(default_factory=lambda: {"wm-member-slow"})
    slow_seconds: float = 1.0
    kf_tokens: set[str] = field(default_factory=set)  # sync_msg tokens handed out by callbacks
    inbox: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 1000
    tokens_issued: list[str] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # msgid → body
    sync_calls: list[dict[str, Any]] = field(default_factory=list)
    queued: list[StubResponse] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, errcode: int, errmsg: str = "stub failure", status: int = 200) -> None:
        self.queued.append(StubResponse(status, json.dumps({"errcode": errcode, "errmsg": errmsg})))

    def expire_tokens(self) -> None:
        self.expired.update(self.tokens_issued)

    def handle(self, request: StubRequest) -> StubResponse:
        if request.path == "/cgi-bin/gettoken" and request.method == "GET":
            return self._gettoken(request)
        if request.method != "POST" or request.path not in ("/cgi-bin/kf/send_msg", "/cgi-bin/kf/sync_msg"):
            return StubResponse(404, "not found", {"Content-Type": "text/plain"})
        token = request.query.get("access_token", "")
        if token in self.expired:
            return _answer(42001, "access_token expired")
        if token not in self.tokens_issued:
            return _answer(40014, "invalid access_token")
        if self.queued:
            return self.queued.pop(0)
        try:
            body = json.loads(request.body)
        except ValueError:
            return _answer(47001, "data format error")
        if not isinstance(body, dict):
            return _answer(47001, "data format error")
        return self._send(body) if request.path.endswith("send_msg") else self._sync(body)

    def _gettoken(self, request: StubRequest) -> StubResponse:
        if request.query.get("corpid") != self.corp_id:
            return _answer(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return _answer(40001, "invalid credential")
        with self._lock:
            token = f"access-token-{len(self.tokens_issued) + 1}"
            self.tokens_issued.append(token)
        return _answer(0, "ok", access_token=token, expires_in=7200)

    def _send(self, body: dict[str, Any]) -> StubResponse:
        msgid, user, text = body.get("msgid"), body.get("touser"), body.get("text")
        if body.get("open_kfid") != self.open_kfid:
            return _answer(95000, "invalid open_kfid")
        if body.get("msgtype") != "text" or not isinstance(text, dict) or not isinstance(text.get("content"), str):
            return _answer(40008, "invalid message type")
        if not isinstance(msgid, str) or not MSGID.fullmatch(msgid) or not isinstance(user, str):
            return _answer(40058, "invalid parameter")
        if user in self.slow:
            time.sleep(self.slow_seconds)
        with self._lock:
            if msgid in self.sent:
                return _answer(0, "ok", msgid=msgid)
            if user in self.closed:
                return _answer(95018, "send msg session status invalid")
            if user not in self.members and user not in self.slow:
                return _answer(40096, "invalid external userid")
            if self.members.get(user, 5) <= 0:
                return _answer(95001, "send msg count limit")
            if user in self.members:
                self.members[user] -= 1
            self.sent[msgid] = body
        return _answer(0, "ok", msgid=msgid)

    def _sync(self, body: dict[str, Any]) -> StubResponse:
        self.sync_calls.append(body)
        if body.get("token") not in self.kf_tokens:
            return _answer(95007, "invalid msg token")
        if body.get("open_kfid") != self.open_kfid:
            return _answer(95000, "invalid open_kfid")
        cursor = body.get("cursor") or "0"
        start = int(cursor.removeprefix("c")) if isinstance(cursor, str) and cursor.removeprefix("c").isdigit() else 0
        limit = min(int(body.get("limit") or 1000), 1000, self.page_size)
        page = self.inbox[start : start + limit]
        end = start + len(page)
        return _answer(0, "ok", next_cursor=f"c{end}", has_more=1 if end < len(self.inbox) else 0, msg_list=page)


def customer_text(msgid: str, user: str, content: str, open_kfid: str, send_time: int) -> dict[str, Any]:
    """A ``msg_list`` item: a member's text (origin 3)."""
    return {
        "msgid": msgid,
        "open_kfid": open_kfid,
        "external_userid": user,
        "send_time": send_time,
        "origin": 3,
        "msgtype": "text",
        "text": {"content": content},
    }


def send_failed(msgid: str, failed_msgid: str, fail_type: int, open_kfid: str, send_time: int) -> dict[str, Any]:
    """A ``msg_list`` item: the ``msg_send_fail`` event (origin 4) for a message we sent."""
    return {
        "msgid": msgid,
        "send_time": send_time,
        "origin": 4,
        "msgtype": "event",
        "event": {
            "event_type": "msg_send_fail",
            "open_kfid": open_kfid,
            "external_userid": "wm-member-1",
            "fail_msgid": failed_msgid,
            "fail_type": fail_type,
        },
    }


def _answer(errcode: int, errmsg: str, **fields: Any) -> StubResponse:
    return StubResponse(200, json.dumps({"errcode": errcode, "errmsg": errmsg, **fields}))
