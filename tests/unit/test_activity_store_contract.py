"""The fake activity store keeps the ActivityStore contract (tests/activity_store_contract.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.activity_store_contract import CHECKS
from tests.fakes import FakeActivityStore


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_fake_keeps_the_contract(check: Callable[[Any], None]) -> None:
    check(FakeActivityStore())
