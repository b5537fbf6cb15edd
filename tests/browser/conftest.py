"""Browser tests: one headless Chromium for the session (tests/conftest.py), a fresh context (storage, cookies) per
test, and every message the page logs collected (a test asserts there are none)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Tab:
    page: Any
    logged: list[str] = field(default_factory=list)

    def errors(self, *expected: str) -> list[str]:
        """What the page logged as an error or warning, and its uncaught exceptions, less the
        expected (e.g. the failed request of a test that asks for a 401)."""
        return [line for line in self.logged if not any(e in line for e in expected)]


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    tab = Tab(page)
    page.on("console", lambda m: tab.logged.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: tab.logged.append(f"pageerror: {e}"))
    yield tab
    context.close()
