"""HTTP entry points for store activities (CONTRACT §6): parse, call one service, shape the answer.
Bad input is a 400 naming the field, a state that does not allow it a 409 naming the field, an
unknown activity a 404; never a 5xx for anything the caller sent."""

from __future__ import annotations

from chalice.app import Request, Response

from .. import bootstrap
from ..domain.errors import ValidationFailed
from ..domain.isotime import to_iso
from ..services.activities import describe_registration
from .http import api, json_body, ok, request_time


@api
def put_activity(request: Request, activity_id: str) -> Response:
    app = bootstrap.app()
    now = request_time(request)
    activity, created = app.activities.put(activity_id, json_body(request), now)
    return ok(app.activities.get(activity.activity_id, now), 201 if created else 200)


@api
def get_activity(request: Request, activity_id: str) -> Response:
    return ok(bootstrap.app().activities.get(activity_id, request_time(request)))


@api
def list_activities(request: Request) -> Response:
    params: dict[str, str] = dict(request.query_params or {})
    since = None
    if params.get("from"):
        from ..domain.isotime import parse_iso

        try:
            since = parse_iso(params["from"])
        except ValueError:
            raise ValidationFailed({"from": "must be an ISO 8601 time with a zone"}) from None
    return ok(bootstrap.app().activities.listed(request_time(request), since))


@api
def register(request: Request, activity_id: str) -> Response:
    body = json_body(request)
    if not isinstance(body, dict):
        raise ValidationFailed({"body": "must be a JSON object with member_id"})
    member_id = body.get("member_id")
    if not isinstance(member_id, str):
        raise ValidationFailed({"member_id": "is required (a member id)"})
    unknown = sorted(set(body) - {"member_id"})
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "is not a registration field"))
    now = request_time(request)
    app = bootstrap.app()
    reg, position, created = app.registrations.register(activity_id, member_id, now)
    out: dict[str, object] = {"member_id": reg.member_id, "status": reg.status.value}
    if position is not None and reg.status.value == "waitlisted":
        out["position"] = position
    out["registered_at"] = to_iso(reg.registered_at) if reg.registered_at else None
    if reg.offer_expires_at is not None:
        out["offer_expires_at"] = to_iso(reg.offer_expires_at)
    return ok(out, 201 if created else 200)


@api
def registrations(request: Request, activity_id: str) -> Response:
    return ok(bootstrap.app().activities.registrations(activity_id, request_time(request)))


@api
def cancel(request: Request, activity_id: str, member_id: str) -> Response:
    reg = bootstrap.app().registrations.cancel(activity_id, member_id, request_time(request))
    if reg is None:
        from ..domain.errors import NotFound

        raise NotFound(f"registration of {member_id} for activity {activity_id}")
    return Response(body="", status_code=204)


@api
def check_in(request: Request, activity_id: str) -> Response:
    now = request_time(request)
    app = bootstrap.app()
    reg = app.registrations.check_in(activity_id, json_body(request), now)
    stored = app.adapters.activities.get(activity_id)
    assert stored is not None  # check_in found the activity
    return ok(describe_registration(reg, stored.book, stored.activity, now))


@api
def feedback(request: Request, activity_id: str) -> Response:
    return ok(bootstrap.app().activities.feedback(activity_id))
