"""Shared by every test layer. Kept small: layer-specific fixtures live in each layer's conftest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap


@pytest.fixture
def fresh_bootstrap() -> Iterator[None]:
    """Forget every cached adapter/service/setting before and after the test."""
    bootstrap.reset()
    yield
    bootstrap.reset()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run, shared by the browser and end-to-end console tests:
    Playwright's sync API allows one instance per thread at a time."""
    from playwright.sync_api import sync_playwright

    from tests.browser.chromium import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()
