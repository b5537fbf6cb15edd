"""Waiting, in the end-to-end tests, for what the deployed stack does in its own time."""

from __future__ import annotations

import time
from typing import Any


def wait_for(what: str, check: Any, timeout: float = 180.0) -> Any:
    """``check()``'s first truthy answer, asked every second until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}")
