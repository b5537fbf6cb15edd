"""One contract per store port, run against the in-memory adapter (``memberpulse_cli.memory``, what
``memberpulse simulate`` and the unit tests' fakes run on) and against the DynamoDB adapter on moto:
a behaviour the services rely on holds for both, or the test names which one breaks it.

Each test takes ``adapters`` (parametrised ``memory`` / ``dynamodb``): a full set of ports of one kind
(``MemoryAdapters()`` or ``bootstrap.AwsAdapters`` on the moto account of the ``aws`` fixture), so
stores that share data (the send gate and the messages) are wired as they are in production."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from memberpulse_cli.memory import MemoryAdapters, MemorySendGate, MemoryTimerStore

KINDS = ("memory", "dynamodb")
NEVER_AHEAD = datetime(1970, 1, 1, tzinfo=UTC)  # a writer's clock that never runs ahead of its ``now``


class Kind:
    """The adapters of one kind, and the constructors the contracts need with arguments."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "memory":
            self.adapters: Any = MemoryAdapters()
        else:
            from chalicelib import bootstrap
            from chalicelib.settings import get_settings

            self.adapters = bootstrap.AwsAdapters(get_settings())

    def timer_store(self, wall: Callable[[], datetime] = lambda: NEVER_AHEAD) -> Any:
        if self.name == "memory":
            return MemoryTimerStore(wall=wall)
        from chalicelib.adapters.timer_store import DynamoTimerStore

        return DynamoTimerStore(wall=wall)

    def send_gate(self, rates: dict[str, int]) -> Any:
        if self.name == "memory":
            return MemorySendGate(self.adapters.messages, rates)
        from chalicelib.adapters.send_gate import DynamoSendGate

        return DynamoSendGate(rates)

    def outbox(self) -> Any:
        if self.name == "memory":
            return self.adapters.outbox
        from chalicelib.adapters.outbox import DynamoOutbox

        return DynamoOutbox()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, aws: Any) -> Kind:
    return Kind(request.param)


@pytest.fixture
def adapters(kind: Kind) -> Any:
    return kind.adapters
