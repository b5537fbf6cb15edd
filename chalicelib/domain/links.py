"""Click tracking: links in a message's text become short signed ``{base}/r/{token}`` links. Pure.

A token is a short id (derived from the message id, the link's place in the text and its target,
so replanning the same message gives the same token) followed by a truncated HMAC-SHA256 of that
id under a secret. ``GET /r/{token}`` checks the signature before it looks anything up, so a
forged or mistyped token costs no database read and reveals nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

ID_CHARS = 10  # base64url characters of the short id (60 bits)
SIG_BYTES = 8  # truncated HMAC: 64 bits, 11 base64url characters
TOKEN_CHARS = ID_CHARS + 11
MAX_TARGET_CHARS = 2000

# A URL runs until whitespace, a quote or bracket, or CJK punctuation; trailing ASCII punctuation
# (a sentence's full stop or comma) is left outside the link.
_URL = re.compile(r"https?://[^\s<>\"'，。！？、；：（）【】「」《》]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_CHARS}}}")


@dataclass(frozen=True)
class Link:
    token: str
    message_id: str
    target: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signature(short_id: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), short_id.encode(), hashlib.sha256).digest()
    return _b64(mac[:SIG_BYTES])


def make_token(message_id: str, index: int, target: str, secret: str) -> str:
    short_id = _b64(hashlib.sha256(f"{message_id}#{index}#{target}".encode()).digest())[:ID_CHARS]
    return short_id + _signature(short_id, secret)


def verify_token(token: str, secret: str) -> bool:
    """True when ``token`` is well formed and signed with ``secret`` (constant-time comparison)."""
    if not secret or not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return False
    short_id, given = token[:ID_CHARS], token[ID_CHARS:]
    return hmac.compare_digest(given.encode(), _signature(short_id, secret).encode())


def find_urls(text: str) -> list[tuple[int, int]]:
    """Where the http(s) links in ``text`` are, as (start, end) spans."""
    return [match.span() for match in _URL.finditer(text)]


def rewrite_links(text: str, message_id: str, secret: str, base_url: str) -> tuple[str, list[Link]]:
    """``text`` with every http(s) link replaced by ``{base_url}/r/{token}``, and the links made.
    Links already pointing at ``base_url`` are left alone; without a secret or base nothing changes."""
    base = base_url.rstrip("/")
    if not secret or not base:
        return text, []
    links: list[Link] = []

    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        tail = ""
        while url and url[-1] in _TRAILING:
            url, tail = url[:-1], url[-1] + tail
        host = url.split("://", 1)[1]
        if not host or url.startswith(f"{base}/r/") or len(url) > MAX_TARGET_CHARS:
            return match.group(0)
        token = make_token(message_id, len(links), url, secret)
        links.append(Link(token, message_id, url))
        return f"{base}/r/{token}{tail}"

    return _URL.sub(replace, text), links
