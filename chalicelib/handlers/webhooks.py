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
    receipts: list[Receipt] = []
    for item in items[:100]:
        status = MessageStatus(item["status"])
        if status not in _RECEIPT_STATUSES:
            raise ValueError(f"status {status.value} is not a receipt status")
        at = parse_iso(item["at"]) if item.get("at") else request_time(request)
        receipts.append(Receipt(str(item["message_id"]), None, status, at, item.get("reason")))
    return receipts
