"""In-memory adapters: every port of ``chalicelib.bootstrap.Adapters``, keeping the promises of the
DynamoDB/SQS adapters (the same contract tests run against both: ``tests/integration/contract``).

``MemoryAdapters()`` passed to ``chalicelib.bootstrap.bootstrap`` gives the real services over
memory: ``memberpulse simulate`` runs the engine, the timers and the sender this way, with the
sandbox provider recording into an in-memory outbox (a dry run: nothing leaves the process). The
test doubles of ``tests/fakes.py`` build on these, adding failure injection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.providers.sandbox import SandboxProvider
from chalicelib.ports import Provider

from .catalog import MemoryCatalog, MemoryProductStore
from .inbound import (
    MemoryApiKeyStore,
    MemoryConversationLog,
    MemoryCursors,
    MemoryFollowUp,
    MemoryHandoffStore,
    MemoryInboundQueue,
    MemoryInboundStore,
    MemoryLinkStore,
    MemoryStaffNotifier,
)
from .members import MemoryAudienceStore, MemoryMemberDirectory, MemoryMemberStore
from .messages import MemoryMessageIndex, MemoryMessageStore
from .sending import MemoryOutbox, MemorySendGate, MemorySendQueue, MemorySendRetries
from .timers import MemoryTimerQueue, MemoryTimerStore

__all__ = [
    "MemoryAdapters",
    "MemoryApiKeyStore",
    "MemoryAudienceStore",
    "MemoryCatalog",
    "MemoryConversationLog",
    "MemoryCursors",
    "MemoryFollowUp",
    "MemoryHandoffStore",
    "MemoryInboundQueue",
    "MemoryInboundStore",
    "MemoryLinkStore",
    "MemoryMemberDirectory",
    "MemoryMemberStore",
    "MemoryMessageIndex",
    "MemoryMessageStore",
    "MemoryOutbox",
    "MemoryProductStore",
    "MemorySendGate",
    "MemorySendQueue",
    "MemorySendRetries",
    "MemoryStaffNotifier",
    "MemoryTimerQueue",
    "MemoryTimerStore",
]


class MemoryAdapters:
    """Every port in memory. ``providers``: by name (default: the sandbox provider over an
    in-memory outbox, ``self.outbox``); ``secrets``: the stage's secrets (default none)."""

    def __init__(self, providers: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None) -> None:
        self.members = MemoryMemberStore()
        self.products = MemoryProductStore()
        self.catalog = MemoryCatalog(self.products)
        self.messages = MemoryMessageStore()
        self.api_keys = MemoryApiKeyStore()
        self.timers = MemoryTimerStore()
        self.timer_queue = MemoryTimerQueue()
        self.audience = MemoryAudienceStore()
        self.send_queue = MemorySendQueue()
        self.send_retries = MemorySendRetries()
        self.send_gate = MemorySendGate(self.messages)
        self.outbox = MemoryOutbox()
        sandbox: Provider = SandboxProvider(self.outbox)
        self.providers: Mapping[str, Provider] = providers if providers is not None else {"sandbox": sandbox}
        self.inbound_log = MemoryInboundStore()
        self.directory = MemoryMemberDirectory(self.members)
        self.message_index = MemoryMessageIndex(self.messages)
        self.conversations = MemoryConversationLog()
        self.handoffs = MemoryHandoffStore()
        self.links = MemoryLinkStore(self.messages)
        self.cursors = MemoryCursors()
        self.inbound_queue = MemoryInboundQueue()
        self.staff = MemoryStaffNotifier()
        self.follow_up = MemoryFollowUp()
        self.secret_values: dict[str, str] = dict(secrets or {})

    def secrets(self) -> Mapping[str, str]:
        return dict(self.secret_values)
