"""Shared by every test layer. Kept small: layer-specific fixtures live in each layer's conftest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import bootstrap


@pytest.fixture
def fresh_bootstrap() -> Iterator[None]:
    """Forget every cached adapter/service/setting before and after the test."""
    bootstrap.reset()
    yield
    bootstrap.reset()
