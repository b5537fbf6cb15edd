"""MemberPulse: the router. Each function parses its event, calls one entry point, returns.

Entry points are imported inside each handler so a Lambda function loads only what its own
handler needs (the API never imports the sender's providers; the sender never imports
phonenumbers). The ARNs below are placeholders: infra/template.json points every event source
at the resources it creates (see infra/README.md)."""

from __future__ import annotations

from chalicelib.handlers import collector

collector.hold_while_loading()  # before anything is loaded (chalicelib/handlers/collector.py)

from typing import Any  # noqa: E402

from chalice.app import Chalice, DynamoDBEvent, Rate, Request, Response, SQSEvent  # noqa: E402

app = Chalice(app_name="memberpulse")


@app.middleware("all")
def collect_after_the_first_event(event: Any, get_response: Any) -> Any:
    try:
        return get_response(event)
    finally:
        collector.after_an_event()


# Placeholders: infra/template.json points each event source at the real stream / queue (Fn::GetAtt).
MEMBERS_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/members/stream/set-by-infra"
ACTIVITY_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/activity/stream/set-by-infra"
PRODUCTS_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/products/stream/set-by-infra"
ACTIVITIES_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/activities/stream/set-by-infra"
SEND_QUEUE = "arn:aws:sqs:us-east-1:000000000000:send-set-by-infra"
TIMER_QUEUE = "arn:aws:sqs:us-east-1:000000000000:timers-set-by-infra"
INBOUND_QUEUE = "arn:aws:sqs:us-east-1:000000000000:inbound-set-by-infra"
MESSAGES_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/messages/stream/set-by-infra"
CAMPAIGN_QUEUE = "arn:aws:sqs:us-east-1:000000000000:campaigns-set-by-infra"
ERASURE_QUEUE = "arn:aws:sqs:us-east-1:000000000000:erasure-set-by-infra"


def _request() -> Request:
    request = app.current_request
    assert request is not None, "only called while handling an HTTP request"
    return request


@app.middleware("http")
def require_api_key(event: Any, get_response: Any) -> Response:
    if event.path.startswith("/v1/"):
        import time

        from chalicelib.handlers import http

        if not http.authorized(event, time.time()):
            return http.unauthorized()
    response: Response = get_response(event)
    return response


@app.route("/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@app.route("/v1/members/{member_id}", methods=["PUT"])
def put_member(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.put_member(_request(), member_id)


@app.route("/v1/members/{member_id}", methods=["GET"])
def get_member(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.get_member(member_id)


@app.route("/v1/members/{member_id}/orders", methods=["POST"])
def post_order(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.post_order(_request(), member_id)


@app.route("/v1/members/{member_id}/points", methods=["POST"])
def post_points(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.post_points(_request(), member_id)


@app.route("/v1/members/{member_id}/coupons", methods=["POST"])
def post_coupon(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.post_coupon(_request(), member_id)


@app.route("/v1/members/{member_id}/messages", methods=["GET"])
def get_messages(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.get_messages(member_id)


@app.route("/v1/members/{member_id}", methods=["DELETE"])
def delete_member(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.delete_member(_request(), member_id)


@app.route("/v1/members/{member_id}/export", methods=["GET"])
def export_member(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.export_member(_request(), member_id)


@app.route("/v1/members/{member_id}/timeline", methods=["GET"])
def get_timeline(member_id: str) -> Response:
    from chalicelib.handlers import http

    return http.get_timeline(_request(), member_id)


@app.route("/v1/members", methods=["GET"])
def find_members() -> Response:
    from chalicelib.handlers import http

    return http.find_members(_request())


@app.route("/v1/messages", methods=["GET"])
def get_message_log() -> Response:
    from chalicelib.handlers import http

    return http.get_message_log(_request())


@app.route("/v1/analytics/funnel", methods=["GET"])
def get_funnel() -> Response:
    from chalicelib.handlers import http

    return http.get_funnel(_request())


@app.route("/v1/handoffs", methods=["GET"])
def get_handoffs() -> Response:
    from chalicelib.handlers import http

    return http.get_handoffs(_request())


@app.route("/v1/products/{sku}", methods=["PUT"])
def put_product(sku: str) -> Response:
    from chalicelib.handlers import http

    return http.put_product(_request(), sku)


@app.route("/v1/activities", methods=["GET"])
def list_activities() -> Response:
    from chalicelib.handlers import activities

    return activities.list_activities(_request())


@app.route("/v1/activities/{activity_id}", methods=["PUT"])
def put_activity(activity_id: str) -> Response:
    from chalicelib.handlers import activities

    return activities.put_activity(_request(), activity_id)


@app.route("/v1/activities/{activity_id}", methods=["GET"])
def get_activity(activity_id: str) -> Response:
    from chalicelib.handlers import activities

    return activities.get_activity(_request(), activity_id)


@app.route("/v1/activities/{activity_id}/registrations", methods=["POST"])
def register(activity_id: str) -> Response:
    from chalicelib.handlers import activities

    return activities.register(_request(), activity_id)


@app.route("/v1/activities/{activity_id}/registrations", methods=["GET"])
def get_registrations(activity_id: str) -> Response:
    from chalicelib.handlers import activities

    return activities.registrations(_request(), activity_id)


@app.route("/v1/activities/{activity_id}/registrations/{member_id}", methods=["DELETE"])
def cancel_registration(activity_id: str, member_id: str) -> Response:
    from chalicelib.handlers import activities

    return activities.cancel(_request(), activity_id, member_id)


@app.route("/v1/activities/{activity_id}/checkins", methods=["POST"])
def check_in(activity_id: str) -> Response:
    from chalicelib.handlers import activities

    return activities.check_in(_request(), activity_id)


@app.route("/v1/activities/{activity_id}/feedback", methods=["GET"])
def get_feedback(activity_id: str) -> Response:
    from chalicelib.handlers import activities

    return activities.feedback(_request(), activity_id)


@app.route(
    "/a/{activity_id}/{token}",
    methods=["GET", "POST"],
    # a browser's GET names no type (Chalice then assumes JSON); the page's button posts a form
    content_types=["application/json", "application/x-www-form-urlencoded", "text/plain"],
)
def action_link(activity_id: str, token: str) -> Response:
    from chalicelib.handlers import action_links

    return action_links.page(_request(), activity_id, token)


@app.route("/v1/segments/{segment_id}", methods=["PUT"])
def put_segment(segment_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.put_segment(_request(), segment_id)


@app.route("/v1/segments/{segment_id}", methods=["GET"])
def get_segment(segment_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.get_segment(segment_id)


@app.route("/v1/segments/{segment_id}/preview", methods=["GET"])
def preview_segment(segment_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.preview_segment(_request(), segment_id)


@app.route("/v1/campaigns", methods=["GET"])
def list_campaigns() -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.list_campaigns()


@app.route("/v1/campaigns/{campaign_id}", methods=["PUT"])
def put_campaign(campaign_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.put_campaign(_request(), campaign_id)


@app.route("/v1/campaigns/{campaign_id}", methods=["GET"])
def get_campaign(campaign_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.get_campaign(campaign_id)


@app.route("/v1/campaigns/{campaign_id}/launch", methods=["POST"])
def launch_campaign(campaign_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.campaign_action(_request(), campaign_id, "launch")


@app.route("/v1/campaigns/{campaign_id}/pause", methods=["POST"])
def pause_campaign(campaign_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.campaign_action(_request(), campaign_id, "pause")


@app.route("/v1/campaigns/{campaign_id}/resume", methods=["POST"])
def resume_campaign(campaign_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.campaign_action(_request(), campaign_id, "resume")


@app.route("/v1/campaigns/{campaign_id}/cancel", methods=["POST"])
def cancel_campaign(campaign_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.campaign_action(_request(), campaign_id, "cancel")


@app.route("/v1/campaigns/{campaign_id}/results", methods=["GET"])
def campaign_results(campaign_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.campaign_results(campaign_id)


@app.route("/v1/campaigns/{campaign_id}/poll", methods=["GET"])
def campaign_poll(campaign_id: str) -> Response:
    from chalicelib.handlers import campaign_api

    return campaign_api.campaign_poll(campaign_id)


@app.route("/console", methods=["GET"])
def console() -> Response:
    from chalicelib.handlers import console

    return console.page(_request())


@app.route("/console/{name}", methods=["GET"])
def console_file(name: str) -> Response:
    from chalicelib.handlers import console

    return console.asset(_request(), name)


@app.route(
    "/webhooks/{provider}/{token}",
    methods=["GET", "POST"],
    content_types=[
        "application/json",
        "application/x-www-form-urlencoded",
        "text/xml",
        "application/xml",
        "text/plain",
    ],
)
def webhook(provider: str, token: str) -> Response:
    from chalicelib.handlers import webhooks

    return webhooks.receive(_request(), provider, token)


@app.route("/r/{token}", methods=["GET"])
def follow_link(token: str) -> Response:
    from chalicelib.handlers import clicks

    return clicks.follow(_request(), token)


@app.on_dynamodb_record(stream_arn=MEMBERS_STREAM, batch_size=50)
def on_member_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.handlers import streams

    return streams.member_changed(event.to_dict(), event.context)


@app.on_dynamodb_record(stream_arn=ACTIVITY_STREAM, batch_size=50)
def on_activity_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.handlers import streams

    return streams.activity_changed(event.to_dict(), event.context)


@app.on_dynamodb_record(stream_arn=PRODUCTS_STREAM, batch_size=10)
def on_product_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.handlers import streams

    return streams.product_changed(event.to_dict(), event.context)


@app.on_dynamodb_record(stream_arn=ACTIVITIES_STREAM, batch_size=50)
def on_activities_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.handlers import streams

    return streams.activities_changed(event.to_dict(), event.context)


@app.on_dynamodb_record(stream_arn=MESSAGES_STREAM, batch_size=100)
def on_message_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.handlers import streams

    return streams.message_changed(event.to_dict(), event.context)


@app.on_sqs_message(queue_arn=CAMPAIGN_QUEUE, batch_size=1)
def plan_campaign(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import campaign_queue

    return campaign_queue.plan_chunks(event.to_dict(), event.context)


@app.on_sqs_message(queue_arn=TIMER_QUEUE, batch_size=5)
def fire_timers(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import schedule

    return schedule.fire_timers(event.to_dict(), event.context)


@app.on_sqs_message(queue_arn=SEND_QUEUE, batch_size=10)
def send(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import sender

    return sender.send_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue_arn=INBOUND_QUEUE, batch_size=10)
def on_inbound(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import inbound

    return inbound.handle_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue_arn=ERASURE_QUEUE, batch_size=1)
def on_erasure(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import erasure

    return erasure.purge_batch(event.to_dict(), event.context)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def on_schedule(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import schedule

    return schedule.tick(event.to_dict(), event.context)


@app.schedule(Rate(10, unit=Rate.MINUTES))
def reconcile_receipts(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import schedule

    return schedule.reconcile(event.to_dict(), event.context)
