"""Click tracking: links in planned messages become signed ``/r/{token}`` links (stored before the
message is, so a link never points nowhere), and a click on one is counted and sent on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..domain.links import Link, rewrite_links, verify_token
from ..ports import LinkStore

Log = Callable[..., None]


class TrackedLinks:
    """The links of the messages planned in one go: ``shorten`` while planning, ``save`` before the
    messages are written."""

    def __init__(self, tracker: ClickTracker) -> None:
        self.tracker = tracker
        self.links: list[Link] = []

    def shorten(self, message_id: str, text: str) -> str:
        new, links = rewrite_links(text, message_id, self.tracker.secret, self.tracker.base_url)
        self.links.extend(links)
        return new

    def save(self, now: datetime) -> None:
        if self.links:
            self.tracker.store.put(self.links, now)
            self.links = []


class ClickTracker:
    def __init__(self, store: LinkStore, secret: str, base_url: str, log: Log | None = None) -> None:
        self.store = store
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.log = log or (lambda *a, **k: None)

    @property
    def enabled(self) -> bool:
        return bool(self.secret and self.base_url)

    def batch(self) -> TrackedLinks:
        return TrackedLinks(self)

    def click(self, token: str, now: datetime) -> str | None:
        """The target of a genuine token (the click recorded); None for a forged or unknown one."""
        if not verify_token(token, self.secret):
            return None
        link = self.store.get(token)
        if link is None:
            return None
        self.store.record_click(link, now)
        self.log("link clicked", message_id=link.message_id)
        return link.target
