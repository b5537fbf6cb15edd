"""HTTP entry points for segments and campaigns (CONTRACT §7). Bad input is a 400 naming the field,
an unknown id a 404, a campaign in the wrong state for the request a 409."""

from __future__ import annotations

from chalice.app import Request, Response

from .. import bootstrap
from .http import api, json_body, ok, request_time


@api
def put_segment(request: Request, segment_id: str) -> Response:
    return ok(bootstrap.app().segments.put(segment_id, json_body(request), request_time(request)))


@api
def get_segment(segment_id: str) -> Response:
    return ok(bootstrap.app().segments.get(segment_id))


@api
def preview_segment(request: Request, segment_id: str) -> Response:
    return ok(bootstrap.app().segments.preview(segment_id, request_time(request)))


@api
def list_campaigns() -> Response:
    return ok(bootstrap.app().campaigns.all())


@api
def put_campaign(request: Request, campaign_id: str) -> Response:
    body, created = bootstrap.app().campaigns.put(campaign_id, json_body(request), request_time(request))
    return ok(body, 201 if created else 200)


@api
def get_campaign(campaign_id: str) -> Response:
    return ok(bootstrap.app().campaigns.get(campaign_id))


@api
def campaign_action(request: Request, campaign_id: str, action: str) -> Response:
    service = bootstrap.app().campaigns
    verbs = {"launch": service.launch, "pause": service.pause, "resume": service.resume, "cancel": service.cancel}
    return ok(verbs[action](campaign_id, request_time(request)))


@api
def campaign_results(campaign_id: str) -> Response:
    return ok(bootstrap.app().campaigns.results(campaign_id))


@api
def campaign_poll(campaign_id: str) -> Response:
    return ok(bootstrap.app().campaigns.poll(campaign_id))
