"""HTTP entry points: parse the request, call one service, shape the answer (CONTRACT §3).

Every answer is JSON. Bad input is a 400 naming the field; an unknown id a 404; never a 5xx for
anything the caller sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from chalice.app import Request, Response

from .. import bootstrap
from ..domain import api_keys
from ..domain.errors import Conflict, NotFound, ValidationFailed

MAX_BODY_BYTES = 256 * 1024
_KEY_CACHE: dict[str, tuple[bool, float]] = {}
_KEY_CACHE_SECONDS = 60.0
_KEY_CACHE_MAX = 1000


def error(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def ok(body: Any, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def request_time(request: Request) -> datetime:
    """The time API Gateway received the request; the wall clock only if it did not say."""
    epoch_ms = (request.context or {}).get("requestTimeEpoch")
    if isinstance(epoch_ms, (int, float)) and epoch_ms > 0:
        return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return datetime.now(UTC)


def json_body(request: Request) -> Any:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise _TooLarge()
    if not raw.strip():
        raise ValidationFailed({"body": "is required (a JSON object)"})
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed({"body": "is not valid JSON"}, "body is not valid JSON") from None


class _TooLarge(Exception):
    pass


def api(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Map domain errors to HTTP answers."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            return error(400, "invalid", exc.message, exc.fields)
        except NotFound as exc:
            return error(404, "not_found", str(exc))
        except Conflict as exc:
            return error(409, "conflict", str(exc), exc.fields)
        except _TooLarge:
            return error(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes")

    return wrapper


def authorized(request: Request, now: float) -> bool:
    token = api_keys.bearer_token(request.headers.get("authorization"))
    if token is None or len(token) > 200:
        return False
    key_hash = api_keys.hash_key(token)
    cached = _KEY_CACHE.get(key_hash)
    if cached and now - cached[1] < _KEY_CACHE_SECONDS:
        return cached[0]
    active = bool(bootstrap.app().adapters.api_keys.is_active(key_hash))
    if active:  # only known keys are cached, so random tokens cannot grow the cache
        if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
            _KEY_CACHE.clear()
        _KEY_CACHE[key_hash] = (True, now)
    return active


def unauthorized() -> Response:
    resp = error(401, "unauthorized", "send Authorization: Bearer <api key>")
    resp.headers["WWW-Authenticate"] = "Bearer"
    return resp


@api
def put_member(request: Request, member_id: str) -> Response:
    member, created = bootstrap.app().members.upsert(member_id, json_body(request), request_time(request))
    from ..services.members import profile

    return ok(profile(member), 201 if created else 200)


@api
def get_member(member_id: str) -> Response:
    return ok(bootstrap.app().members.get(member_id))


@api
def post_order(request: Request, member_id: str) -> Response:
    from ..adapters.codec import order_to_data

    order, created = bootstrap.app().members.record_order(member_id, json_body(request), request_time(request))
    return ok({**order_to_data(order), "member_id": member_id, "created": created}, 201 if created else 200)


@api
def post_points(request: Request, member_id: str) -> Response:
    from ..adapters.codec import points_to_data

    txn, member, created = bootstrap.app().members.record_points(member_id, json_body(request), request_time(request))
    body = {**points_to_data(txn), "member_id": member_id, "balance": member.points_balance, "created": created}
    return ok(body, 201 if created else 200)


@api
def post_coupon(request: Request, member_id: str) -> Response:
    from ..adapters.codec import coupon_to_data

    coupon, created = bootstrap.app().members.issue_coupon(member_id, json_body(request), request_time(request))
    return ok({**coupon_to_data(coupon), "member_id": member_id, "created": created}, 201 if created else 200)


@api
def put_product(request: Request, sku: str) -> Response:
    from ..adapters.codec import product_to_data

    product = bootstrap.app().members.put_product(sku, json_body(request), request_time(request))
    return ok(product_to_data(product))


@api
def get_messages(member_id: str) -> Response:
    return ok(bootstrap.app().members.messages_of(member_id))


def wants_csv(request: Request) -> bool:
    """``Accept: text/csv`` (with a quality above zero) asks for CSV."""
    for media_range in (request.headers.get("accept") or "").split(","):
        kind, *options = (part.strip().lower() for part in media_range.split(";"))
        if kind == "text/csv" and not any(o.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for o in options):
            return True
    return False


def paged(rows: Any, cursor: str | None) -> Response:
    """A page of a list: the rows (a JSON array); the next page's cursor, if any, in
    ``X-Next-Cursor`` (pass it back as ``?cursor=``)."""
    response = ok(rows)
    if cursor:
        response.headers["X-Next-Cursor"] = cursor
    return response


@api
def get_message_log(request: Request) -> Response:
    """``GET /v1/messages``: a page of the message log (JSON), or with ``Accept: text/csv`` a bounded
    CSV export of up to ``limit`` rows (1000 by default, 2000 at most); either way the next page's
    cursor in ``X-Next-Cursor``."""
    csv_export = wants_csv(request)
    rows, cursor = bootstrap.app().message_log.page(request.query_params, request_time(request), csv_export)
    if not csv_export:
        return paged(rows, cursor)
    from ..domain.message_log import to_csv

    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="messages.csv"',
    }
    if cursor:
        headers["X-Next-Cursor"] = cursor
    return Response(body=to_csv(rows), status_code=200, headers=headers)


@api
def get_funnel(request: Request) -> Response:
    """``GET /v1/analytics/funnel?from&to&group_by``: one row per group over the period."""
    return ok(bootstrap.app().funnel.rows(request.query_params, request_time(request)))


@api
def get_handoffs(request: Request) -> Response:
    rows, cursor = bootstrap.app().handoff_desk.waiting(request.query_params)
    return paged(rows, cursor)


@api
def find_members(request: Request) -> Response:
    return ok(bootstrap.app().member_search.find(request.query_params))


@api
def delete_member(request: Request, member_id: str) -> Response:
    """Erasure (CONTRACT §9): 204 once the tombstone is written (the purge finishes in the
    background); a repeated DELETE of an erased member is 204 too; an unknown id 404."""
    bootstrap.app().erasure.erase(member_id, request_time(request))
    return Response(body="", status_code=204)


@api
def export_member(request: Request, member_id: str) -> Response:
    return ok(bootstrap.app().member_data.export(member_id, request_time(request)))


@api
def get_timeline(request: Request, member_id: str) -> Response:
    """A page of the timeline (a JSON array, CONTRACT §8); the next page's cursor, if any, in the
    ``X-Next-Cursor`` header (pass it back as ``?cursor=``)."""
    entries, cursor = bootstrap.app().member_data.timeline(member_id, request.query_params)
    return paged(entries, cursor)
