"""``FollowUp`` over HTTP: a GET an adapter asked for (an SNS subscription to confirm)."""

from __future__ import annotations

import urllib.request


class HttpFollowUp:
    """Webhook follow-ups an adapter asks for (an SNS ``SubscribeURL`` to confirm): one GET each."""

    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout

    def get(self, url: str) -> int:
        if not url.lower().startswith(("https://", "http://")):
            raise ValueError("follow-up URL must be http(s)")
        request = urllib.request.Request(url, method="GET")  # noqa: S310 (scheme checked above)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            response.read(64 * 1024)
            return int(response.status)
