"""``GET /r/{token}``: a tracked link in a message. A genuine token is counted and answered with a
302 to its target; a forged, mistyped or unknown one is a 404 (checked by signature first, so a
guess costs no database read)."""

from __future__ import annotations

from chalice.app import Request, Response

from .. import bootstrap
from .http import error, request_time


def follow(request: Request, token: str) -> Response:
    target = bootstrap.app().clicks.click(token, request_time(request))
    if target is None:
        return error(404, "not_found", "no such link")
    return Response(body="", status_code=302, headers={"Location": target, "Cache-Control": "no-store"})
