"""``GET``/``POST /webhooks/{provider}/{token}``: receipts and replies from providers.

Order of work, cheapest refusal first: the secret path token (constant time; unknown provider or
wrong token → 404, nothing revealed), the body size (413), then the provider adapter, which
verifies before it parses (signature, timestamp window, IP allowlist …) and answers with the
provider's expected reply or a :class:`WebhookRejected` (400/401/403). Follow-ups the adapter asks
for (an SNS subscription confirmation) are done here with a short timeout; the normalised events
(raw payload kept) go to the inbound queue in batches, and the provider gets its answer at once.
The real work (dedupe, receipts, the keyword router) happens in the ``on_inbound`` worker.

The URL an adapter verifies (Twilio signs the exact public URL) is ``PUBLIC_API_URL`` + the
route's path when that is set (a custom domain: set it), else what API Gateway says the caller
used: ``X-Forwarded-Proto``://``Host`` + ``requestContext.path`` (which, on an
``execute-api`` host, includes the stage: ``/api/webhooks/…``), plus the query string. A local
emulator (no ``domainName``) serves it at ``http://<host>/_aws/execute-api/<api id>/<stage>/…``,
the URL ``.local/stack.json`` lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from chalice.app import Request, Response

from .. import bootstrap
from ..adapters.providers.base import WebhookRejected, WebhookRequest, WebhookResult
from ..domain.api_keys import same_secret
from ..domain.inbound_codec import event_to_data
from ..observability import logger, metrics
from ..settings import get_settings
from .http import error, request_time

MAX_WEBHOOK_BYTES = 256 * 1024


def receive(request: Request, provider: str, token: str) -> Response:
    expected = bootstrap.app().adapters.secrets().get(f"webhook_token_{provider}")
    if not expected or not same_secret(token, expected):
        return error(404, "not_found", "no such webhook")
    adapter = bootstrap.app().adapters.providers.get(provider)
    if adapter is None or not hasattr(adapter, "handle_webhook"):
        return error(404, "not_found", f"provider {provider} is not configured here")
    try:
        body = request.raw_body or b""
        raw = body if isinstance(body, bytes) else body.encode()
    except Exception:  # a body marked base64 that is not
        return error(400, "invalid", "body could not be read")
    if len(raw) > MAX_WEBHOOK_BYTES:
        return error(413, "too_large", f"body larger than {MAX_WEBHOOK_BYTES} bytes")
    now = request_time(request)
    try:
        result = adapter.handle_webhook(webhook_request(request, raw, provider, token), now)
    except WebhookRejected as exc:
        logger.info("webhook rejected", extra={"provider": provider, "status": exc.status, "code": exc.code})
        # 4xx: the caller's fault. 5xx only where the adapter could not check through no fault of
        # the caller (e.g. the SNS signing certificate could not be fetched): the provider retries.
        status = exc.status if 400 <= exc.status < 600 else 400
        return error(status, exc.code, str(exc))
    except Exception:
        # An adapter must answer bad input with WebhookRejected; if one does not, the caller still
        # gets a 400 (never a 5xx for what they sent) and we get the stack trace.
        logger.exception("webhook parser failed", extra={"provider": provider})
        return error(400, "invalid", "the request could not be understood")
    return _finish(provider, result, now)


def _finish(provider: str, result: WebhookResult, now: datetime) -> Response:
    for url in result.follow_up:
        try:
            bootstrap.app().adapters.follow_up.get(url)
        except Exception as exc:
            logger.warning("webhook follow-up failed", extra={"provider": provider, "error": str(exc)[:200]})
            return error(502, "follow_up_failed", "could not complete the provider's follow-up; try again")
    if result.events:
        try:
            bootstrap.app().adapters.inbound_queue.put([event_to_data(e) for e in result.events])
        except Exception:
            logger.exception("inbound queue refused events", extra={"provider": provider})
            return error(503, "unavailable", "could not accept the events now; try again")
        metrics.add_metric(name="InboundEvents", unit="Count", value=len(result.events))
    logger.info("webhook accepted", extra={"provider": provider, "events": len(result.events)})
    answer = result.answer
    return Response(body=answer.body, status_code=answer.status, headers={"Content-Type": answer.content_type})


def webhook_request(request: Request, raw: bytes, provider: str, token: str) -> WebhookRequest:
    headers = {str(k).lower(): str(v) for k, v in (request.headers or {}).items()}
    event = request.to_original_event() if hasattr(request, "to_original_event") else {}
    query = _query(event)
    return WebhookRequest(
        method=request.method.upper(),
        url=public_url(request, headers, provider, token, query),
        headers=headers,
        query=dict(query),
        body=raw,
        source_ip=((request.context or {}).get("identity") or {}).get("sourceIp"),
    )


def _query(event: dict[str, Any]) -> list[tuple[str, str]]:
    """The query parameters in the order API Gateway kept them (last value of a repeated name)."""
    multi = event.get("multiValueQueryStringParameters") or {}
    single = event.get("queryStringParameters") or {}
    pairs: dict[str, str] = {}
    for name, values in (multi or {}).items():
        if isinstance(values, list) and values:
            pairs[str(name)] = str(values[-1])
    for name, value in (single or {}).items():
        pairs.setdefault(str(name), str(value))
    return list(pairs.items())


def public_url(
    request: Request, headers: dict[str, str], provider: str, token: str, query: list[tuple[str, str]]
) -> str:
    route = f"/webhooks/{quote(provider, safe='')}/{quote(token, safe='')}"
    base = get_settings().public_api_url.rstrip("/")
    if base:
        url = base + route
    else:
        context = request.context or {}
        host = headers.get("host") or str(context.get("domainName") or "localhost")
        path = context.get("path")
        if not isinstance(path, str) or not path.endswith(route):
            stage = context.get("stage")
            path = (f"/{stage}" if stage and host.endswith(".amazonaws.com") else "") + route
        if not context.get("domainName") and context.get("apiId"):
            # A local emulator (MiniStack, LocalStack) serves the API under /_aws/execute-api/<id>
            # over plain HTTP; real API Gateway always names its domain.
            proto = headers.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
            path = f"/_aws/execute-api/{context['apiId']}{path}"
        else:
            proto = headers.get("x-forwarded-proto", "https").split(",")[0].strip() or "https"
        url = f"{proto}://{host}{path}"
    return f"{url}?{urlencode(query)}" if query else url
