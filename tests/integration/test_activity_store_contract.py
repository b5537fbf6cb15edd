"""The DynamoDB activity store keeps the ActivityStore contract (tests/activity_store_contract.py) on moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.adapters.activity_store import DynamoActivityStore
from tests.activity_store_contract import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_dynamodb_store_keeps_the_contract(aws: Any, check: Callable[[Any], None]) -> None:
    check(DynamoActivityStore())
