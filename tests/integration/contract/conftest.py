"""One contract per store port, run against the in-memory adapter (``memberpulse_cli.memory``, what
``memberpulse simulate`` runs on), the unit tests' fakes built on it (``tests/fakes.py``) and the
DynamoDB adapter on moto: a behaviour the services rely on holds for all three, or the test names
which one breaks it.

Each test takes ``adapters`` (parametrised ``memory`` / ``fake`` / ``dynamodb``): a full set of ports
of one kind (``MemoryAdapters()``, ``FakeAdapters()`` or ``bootstrap.AwsAdapters`` on the moto account
of the ``aws`` fixture), so stores that share data (the send gate and the messages) are wired as they
are in production."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from memberpulse_cli.memory import MemoryAdapters, MemorySendGate, MemoryTimerStore

KINDS = ("memory", "fake", "dynamodb")
NEVER_AHEAD = datetime(1970, 1, 1, tzinfo=UTC)  # a writer's clock that never runs ahead of its ``now``


class Kind:
    """The adapters of one kind, and the constructors the contracts need with arguments."""

    def __init__(self, name: str, stack: Any) -> None:
        self.name = name
        self.stack = stack
        if name == "memory":
            self.adapters: Any = MemoryAdapters()
        elif name == "fake":
            from tests.fakes import FakeAdapters, FakeOutbox

            self.adapters = FakeAdapters()
            self.adapters.outbox = FakeOutbox()
        else:
            from chalicelib import bootstrap
            from chalicelib.settings import get_settings

            self.adapters = bootstrap.AwsAdapters(get_settings())

    def timer_store(self, wall: Callable[[], datetime] = lambda: NEVER_AHEAD) -> Any:
        if self.name == "memory":
            return MemoryTimerStore(wall=wall)
        if self.name == "fake":
            from tests.fakes import FakeTimerStore

            store = FakeTimerStore()
            store.wall = wall
            return store
        from chalicelib.adapters.timer_store import DynamoTimerStore

        return DynamoTimerStore(wall=wall)

    def send_gate(self, rates: dict[str, int]) -> Any:
        if self.name == "memory":
            return MemorySendGate(self.adapters.messages, rates)
        if self.name == "fake":
            from tests.fakes import FakeSendGate

            return FakeSendGate(self.adapters.messages, rates)
        from chalicelib.adapters.send_gate import DynamoSendGate

        return DynamoSendGate(rates)

    def arrived(self) -> list[tuple[str, datetime | None]]:
        """What reached the send queue so far, in order: (message id, when it was decided)."""
        if self.name != "dynamodb":
            return self.adapters.send_queue.take(1000)
        import json

        from chalicelib.domain.isotime import parse_iso

        bodies = [json.loads(m["Body"]) for m in self.stack.drain_queue()]
        return [(b["message_id"], parse_iso(b["at"]) if b.get("at") else None) for b in bodies]

    def released(self) -> list[tuple[datetime, list[tuple[str, str]]]]:
        """What reached the timer queue so far: (released at, keys) per message."""
        if self.name != "dynamodb":
            return self.adapters.timer_queue.take()
        import json

        from chalicelib.domain.isotime import parse_iso

        bodies = [json.loads(m["Body"]) for m in self.stack.drain_queue(self.stack.queues["TimerQueue"])]
        return [(parse_iso(b["at"]), [(m, k) for m, k in b["timers"]]) for b in bodies]

    def erasures(self) -> list[tuple[str, datetime, int]]:
        """The purges requested so far: (member id, at, round)."""
        if self.name != "dynamodb":
            return [(m, at, round_no) for m, at, round_no, _ in self.adapters.erasure_queue.take()]
        import json

        from chalicelib.domain.isotime import parse_iso

        bodies = [json.loads(m["Body"]) for m in self.stack.drain_queue(self.stack.queues["ErasureQueue"])]
        return [(b["member_id"], parse_iso(b["at"]), b["round"]) for b in bodies]

    def chunks(self) -> list[dict[str, Any]]:
        """The planning chunks that reached the campaign queue so far."""
        if self.name != "dynamodb":
            return self.adapters.campaign_queue.take()  # type: ignore[no-any-return]
        import json

        return [json.loads(m["Body"]) for m in self.stack.drain_queue(self.stack.queues["CampaignQueue"])]

    def outbox(self) -> Any:
        if self.name != "dynamodb":
            return self.adapters.outbox
        from chalicelib.adapters.outbox import DynamoOutbox

        return DynamoOutbox()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, aws: Any) -> Kind:
    return Kind(request.param, aws)


@pytest.fixture
def adapters(kind: Kind) -> Any:
    return kind.adapters
