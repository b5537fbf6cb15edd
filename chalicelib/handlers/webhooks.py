"""``POST /webhooks/{provider}/{token}``: receipts and replies from providers.

The path token is checked (constant time) before the body is read. This issue carries the
sandbox provider's receipts; the real providers' verifiers and parsers plug in beside it."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Request, Response

from .. import bootstrap
from ..domain.api_keys import same_secret
from ..domain.clock import parse_iso
from ..domain.model import MessageStatus
from ..ports import Receipt
from .http import MAX_BODY_BYTES, error, ok, request_time

MAX_RECEIPTS = 100
_RECEIPT_STATUSES = {MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED, MessageStatus.UNDELIVERED}


def receive(request: Request, provider: str, token: str) -> Response:
    expected = bootstrap.webhook_secrets().get(f"webhook_token_{provider}")
    if not expected or not same_secret(token, expected):
        return error(404, "not_found", "no such webhook")
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        return error(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes")
    if provider != "sandbox":
        return error(404, "not_found", f"provider {provider} has no webhook here")
    try:
        receipts = _sandbox_receipts(json.loads(raw), request)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        return error(400, "invalid", f"not a sandbox receipt: {exc}", {"body": "expected {message_id, status, at?}"})
    service = bootstrap.send_service()
    applied = sum(1 for r in receipts if service.apply_receipt(r))
    return ok({"ok": True, "applied": applied})


def _sandbox_receipts(body: Any, request: Request) -> list[Receipt]:
    items = body if isinstance(body, list) else [body]
    if len(items) > MAX_RECEIPTS:
        raise ValueError(f"at most {MAX_RECEIPTS} receipts per request")
    receipts: list[Receipt] = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("each receipt must be an object")
        status = MessageStatus(item["status"])
        if status not in _RECEIPT_STATUSES:
            raise ValueError(f"status {status.value} is not a receipt status")
        raw_at = item.get("at")
        if raw_at is not None and not isinstance(raw_at, str):
            raise ValueError("at must be an ISO 8601 string")
        at = parse_iso(raw_at) if raw_at else request_time(request)
        receipts.append(Receipt(str(item["message_id"]), None, status, at, item.get("reason")))
    return receipts
