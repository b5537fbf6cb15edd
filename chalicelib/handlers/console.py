"""The operator console (CONTRACT §8), served by the API itself: ``GET /console`` is the page and
``GET /console/{name}`` its scripts and style, files of ``chalicelib/console/`` shipped in the
Lambda package (hand-written HTML, CSS and JavaScript modules: nothing to build). The page holds
no data: it signs in with an API key and reads the ``/v1`` routes like any other client.

Every answer carries an ETag and ``Cache-Control: no-cache``: a browser keeps the files and asks
again each time (a 304 when nothing changed), so a deploy is seen at once. The page's Content
Security Policy lets it load only its own files and talk only to its own origin."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from chalice.app import Request, Response

FILES = Path(__file__).resolve().parent.parent / "console"
_NAME = re.compile(r"[a-z0-9-]{1,40}\.(?:js|css)")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


@lru_cache(maxsize=32)
def _file(name: str) -> tuple[str, str] | None:
    """(text, ETag) of a console file, or None when there is no such file."""
    path = FILES / name
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def _answer(request: Request, name: str, headers: dict[str, str]) -> Response:
    found = _file(name)
    if found is None:
        return Response(body="not found", status_code=404, headers={"Content-Type": "text/plain; charset=utf-8"})
    text, etag = found
    common: dict[str, str | list[str]] = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        **headers,
    }
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(body="", status_code=304, headers=common)
    return Response(body=text, status_code=200, headers={"Content-Type": _TYPES[Path(name).suffix], **common})


def page(request: Request) -> Response:
    return _answer(request, "index.html", {"Content-Security-Policy": POLICY, "X-Frame-Options": "DENY"})


def asset(request: Request, name: str) -> Response:
    if not _NAME.fullmatch(name):
        return Response(body="not found", status_code=404, headers={"Content-Type": "text/plain; charset=utf-8"})
    return _answer(request, name, {})
